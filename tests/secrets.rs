//! No secret ever leaves its place: a full watch cycle at the most verbose log level with
//! every kind of secret configured (webhook URLs with tokens in path and query, chat webhook
//! keys, a PagerDuty routing key, a Telegram bot token, a `whsec_` signing secret, values kept
//! in SSM), with destinations that succeed, refuse and cannot be reached, must not show any of
//! them on stdout, stderr, or anywhere in the state file (error columns, dead letters, events).

mod support;

use support::fixture::{Page, epoch};
use support::moto::Moto;
use support::platforms::{Kind, PAGERDUTY_KEY, Platforms, Scripted, TELEGRAM_TOKEN};
use support::*;

const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const HOOK_PATH_SECRET: &str = "XXXXHOOKPATHSECRETXXXX";
const HOOK_QUERY_SECRET: &str = "XXXXHOOKQUERYSECRETXXXX";
const DOWN_PATH_SECRET: &str = "XXXXDOWNPATHSECRETXXXX";
const DOWN_QUERY_SECRET: &str = "XXXXDOWNQUERYSECRETXXXX";

/// A loopback port nothing listens on: connections are refused.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_output_or_the_state_file() {
    let moto = Moto::start().await;
    let sdk = moto.sdk_config().await;
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, value) in [
        ("/statusrelay/slack-url", platforms.slack_url()),
        ("/statusrelay/signing", SIGNING_SECRET.to_owned()),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    // Discord refuses for good (the webhook was deleted), Mattermost fails for a while.
    platforms.plan(
        Kind::Discord,
        [Scripted::new(
            404,
            r#"{"message": "Unknown Webhook", "code": 10015}"#,
        )],
    );
    platforms.plan(Kind::Mattermost, (0..8).map(|_| Scripted::new(503, "")));

    let mut page = Page::realistic("Secretive Co", &server.url("secretive"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Webhooks delayed",
        "major",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("secretive", &page);
    let down = closed_port();
    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
allow_private_targets = true

[[providers]]
id = "secretive"
url = "{page}"

[[destinations]]
name = "slack"
type = "slack"
url = "ssm:/statusrelay/slack-url"

[[destinations]]
name = "discord"
type = "discord"
url = "{discord}"

[[destinations]]
name = "teams"
type = "teams"
url = "{teams}"

[[destinations]]
name = "chat"
type = "google_chat"
url = "{chat}"

[[destinations]]
name = "mattermost"
type = "mattermost"
url = "{mattermost}"

[[destinations]]
name = "pagerduty"
type = "pagerduty"
url = "{pagerduty}"
routing_key = "{PAGERDUTY_KEY}"

[[destinations]]
name = "telegram"
type = "telegram"
api_url = "{telegram}"
bot_token = "env:TEST_TELEGRAM_TOKEN"
chat_id = -1001234567890

[[destinations]]
name = "hook"
type = "webhook"
url = "{hook}/t/{HOOK_PATH_SECRET}?token={HOOK_QUERY_SECRET}"
secret = "ssm:/statusrelay/signing"

[[destinations]]
name = "down"
type = "webhook"
url = "http://127.0.0.1:{down}/t/{DOWN_PATH_SECRET}?key={DOWN_QUERY_SECRET}"
secret = "{SIGNING_SECRET}"

[[routes]]
name = "all"
destinations = ["slack", "discord", "teams", "chat", "mattermost", "pagerduty", "telegram", "hook", "down"]
"#,
        page = server.url("secretive"),
        discord = platforms.discord_url(),
        teams = platforms.teams_url(),
        chat = platforms.chat_url(),
        mattermost = platforms.mattermost_url(),
        pagerduty = platforms.pagerduty_url(),
        telegram = platforms.telegram_api(),
        hook = hook.url().trim_end_matches('/'),
    ));

    let mut outputs = Vec::new();
    for _ in 0..2 {
        let mut command = tokio::process::Command::new(binary());
        command
            .args(["run", "--once", "--config", config.to_str().unwrap()])
            .env("STATUSRELAY_LOG", "trace")
            .env("TEST_TELEGRAM_TOKEN", TELEGRAM_TOKEN);
        for (name, value) in moto.env() {
            command.env(name, value);
        }
        let out = command.output().await.unwrap();
        assert_no_panic(&out);
        assert!(out.status.success(), "{}", stderr(&out));
        outputs.push(out);
    }
    // The cycle really ran and really failed where it should: the check below means something.
    assert_eq!(
        platforms.accepted(Kind::Slack).len(),
        1,
        "Slack URL from SSM"
    );
    assert_eq!(hook.delivered().len(), 1, "signed with the SSM secret");
    let first_log = stderr(&outputs[0]);
    assert!(
        first_log.contains("TRACE") || first_log.contains("trace"),
        "not the most verbose level"
    );
    assert!(
        first_log.contains("down"),
        "the unreachable webhook was tried"
    );

    let mut secrets: Vec<String> = Platforms::secrets().iter().map(|s| s.to_string()).collect();
    secrets.extend(
        [
            PAGERDUTY_KEY,
            TELEGRAM_TOKEN,
            SIGNING_SECRET,
            // The part after `whsec_` is the key itself, base64.
            &SIGNING_SECRET["whsec_".len()..],
            HOOK_PATH_SECRET,
            HOOK_QUERY_SECRET,
            DOWN_PATH_SECRET,
            DOWN_QUERY_SECRET,
        ]
        .map(str::to_owned),
    );
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, out) in outputs.iter().enumerate() {
        places.push((format!("run {n} stdout"), out.stdout.clone()));
        places.push((format!("run {n} stderr"), out.stderr.clone()));
    }
    // The whole state file, its WAL included: every column of every table.
    for file in ["state.db", "state.db-wal"] {
        if let Ok(bytes) = std::fs::read(work.path(file)) {
            places.push((file.to_owned(), bytes));
        }
    }
    let state = String::from_utf8_lossy(&places.iter().find(|(p, _)| p == "state.db").unwrap().1)
        .into_owned()
        + &places
            .iter()
            .find(|(p, _)| p == "state.db-wal")
            .map_or(String::new(), |(_, b)| {
                String::from_utf8_lossy(b).into_owned()
            });
    assert!(
        state.contains("Unknown Webhook"),
        "Discord's refusal is dead-lettered with its answer"
    );
    for (place, bytes) in &places {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{place} holds the secret {secret}"
            );
        }
    }
}
