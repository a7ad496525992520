//! Every chat and paging channel end to end: the real `statusrelay` binary polls a loopback
//! status page and delivers to a loopback server that enforces each platform's limits and
//! markup. A hostile incident (mentions, script tags, broken HTML, a 50 KB body, emoji and
//! combining characters) must be accepted everywhere, notify no one, and read correctly.

mod support;

use support::fixture::{Page, epoch};
use support::platforms::{Kind, PAGERDUTY_KEY, Platforms, Scripted, TELEGRAM_CHAT, TELEGRAM_TOKEN};
use support::*;

const HOSTILE_TITLE: &str = "<!channel> @everyone @here <script>alert(1)</script> <users/all> <https://evil.example|click> [login](https://evil.example/a) Ünïcödé e\u{301} 👩‍👩‍👧 outage & more";

fn hostile_body() -> String {
    let chunk = "Broken <b>HTML <i>unclosed <a href='javascript:alert(1)'>click</a> <!here> <@U024BE7LH> \
                 @channel @all 🚀 e\u{301} 中文 &amp; &bogus; <table><tr><td>cell \
                 [verify your account](https://evil.example/v) ![pixel](https://evil.example/p.png) ";
    let mut body = String::from("<p>Start of the update.</p>");
    while body.len() < 50_000 {
        body.push_str(chunk);
    }
    body.push_str(" END-OF-BODY");
    body
}

const ALL: [Kind; 7] = [
    Kind::Slack,
    Kind::Discord,
    Kind::Teams,
    Kind::GoogleChat,
    Kind::PagerDuty,
    Kind::Telegram,
    Kind::Mattermost,
];

fn destinations(platforms: &Platforms) -> String {
    format!(
        r#"
[[destinations]]
name = "slack"
type = "slack"
url = "{slack}"

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
name = "pagerduty"
type = "pagerduty"
url = "{pagerduty}"
routing_key = "{PAGERDUTY_KEY}"

[[destinations]]
name = "telegram"
type = "telegram"
api_url = "{telegram}"
bot_token = "env:TEST_TELEGRAM_TOKEN"
chat_id = {TELEGRAM_CHAT}

[[destinations]]
name = "mattermost"
type = "mattermost"
url = "{mattermost}"
"#,
        slack = platforms.slack_url(),
        discord = platforms.discord_url(),
        teams = platforms.teams_url(),
        chat = platforms.chat_url(),
        pagerduty = platforms.pagerduty_url(),
        telegram = platforms.telegram_api(),
        mattermost = platforms.mattermost_url(),
    )
}

async fn run(config: &std::path::Path) -> std::process::Output {
    let output = tokio::process::Command::new(binary())
        .args(["run", "--once", "--config", config.to_str().unwrap()])
        .env("STATUSRELAY_LOG", "debug")
        .env("TEST_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert_no_panic(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    for secret in Platforms::secrets() {
        assert!(
            !stderr(&output).contains(secret),
            "a secret reached the log: {secret}"
        );
    }
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_incident_renders_safely_on_every_channel() {
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Hostile Co", &server.url("hostile"));
    let leaves = page.leaf_ids();
    let component = page.component_name(&leaves[0]);
    let incident = page.open_incident(
        HOSTILE_TITLE,
        "critical",
        &leaves[0..1],
        &hostile_body(),
        epoch(),
    );
    server.publish("hostile", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"hostile\"\nurl = \"{}\"\n{}\n[[routes]]\nname = \"everything\"\ndestinations = [\"slack\", \"discord\", \"teams\", \"chat\", \"pagerduty\", \"telegram\", \"mattermost\"]\n",
        server.url("hostile"),
        destinations(&platforms)
    ));

    run(&config).await;
    page.post_update(
        &incident,
        "identified",
        "Fix <b>identified</b> for @everyone.",
        epoch() + chrono::Duration::minutes(5),
    );
    server.publish("hostile", &page);
    run(&config).await;
    page.post_update(
        &incident,
        "resolved",
        "All good <!channel>.",
        epoch() + chrono::Duration::minutes(9),
    );
    server.publish("hostile", &page);
    run(&config).await;

    for kind in ALL {
        let messages = platforms.messages(kind);
        let rejected: Vec<_> = messages.iter().filter_map(|m| m.rejected.clone()).collect();
        assert!(rejected.is_empty(), "{kind:?} refused: {rejected:?}");
        assert_eq!(
            messages.len(),
            3,
            "{kind:?}: one message per change, no retries"
        );
        for message in &messages {
            assert!(
                message.pings.is_empty(),
                "{kind:?} would notify {:?}",
                message.pings
            );
        }
        let created = &messages[0].visible;
        for expected in ["Ünïcödé e\u{301} 👩‍👩‍👧 outage", "Hostile Co"] {
            assert!(
                created.contains(expected),
                "{kind:?} lost {expected:?}:\n{created}"
            );
        }
        if kind != Kind::PagerDuty {
            assert!(
                created.contains("Critical"),
                "{kind:?}: impact missing:\n{created}"
            );
            assert!(
                created.contains(&component),
                "{kind:?}: component missing:\n{created}"
            );
            assert!(
                created.contains("Start of the update."),
                "{kind:?}: body missing"
            );
            // 50 KB never fits: the body is cut and the reader is pointed to the rest.
            assert!(!created.contains("END-OF-BODY"), "{kind:?}: body not cut");
            assert!(created.contains("…"), "{kind:?}: no ellipsis");
            assert!(
                created.contains("Read the full update") || kind == Kind::Telegram,
                "{kind:?}: no link to the rest:\n{}",
                &created[created.len().saturating_sub(300)..]
            );
            assert!(
                !created.contains("<table>") && !created.contains("<b>"),
                "{kind:?}: source HTML leaked into the text"
            );
        }
        if kind == Kind::PagerDuty {
            let actions: Vec<&str> = messages
                .iter()
                .map(|m| m.body["event_action"].as_str().unwrap())
                .collect();
            assert_eq!(actions, ["trigger", "trigger", "resolve"]);
        } else {
            assert!(
                messages[2].visible.contains("Resolved"),
                "{kind:?}: {}",
                messages[2].visible
            );
        }
    }

    let telegram = platforms.messages(Kind::Telegram);
    assert!(
        telegram
            .iter()
            .all(|m| m.visible.encode_utf16().count() <= 4096)
    );
    let discord = platforms.messages(Kind::Discord);
    assert!(discord.iter().all(|m| m.query == "wait=true"));
    assert_eq!(
        discord[0].body["allowed_mentions"],
        serde_json::json!({"parse": []})
    );
    assert!(
        platforms
            .messages(Kind::Teams)
            .iter()
            .all(|m| m.bytes <= 28_672)
    );
    let chat = platforms.messages(Kind::GoogleChat);
    let thread = &chat[0].body["thread"]["threadKey"];
    assert!(
        chat.iter()
            .all(|m| &m.body["thread"]["threadKey"] == thread),
        "one thread per incident"
    );
    assert_eq!(
        platforms
            .alert(&format!("statusrelay/hostile/incident:{incident}"))
            .as_deref(),
        Some("resolved"),
        "PagerDuty: triggered by the incident, resolved by its resolution"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_honoured_and_dead_destinations_are_marked_failing() {
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Acme", &server.url("acme"));
    let leaves = page.leaf_ids();
    let first = page.open_incident(
        "Login failures",
        "major",
        &leaves[0..1],
        "Investigating.",
        epoch(),
    );
    server.publish("acme", &page);
    let write = |slack_url: &str| {
        work.write_config(&format!(
            "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}\"\n{}\n[[routes]]\nname = \"all\"\ndestinations = [\"slack\", \"discord\", \"telegram\"]\n",
            server.url("acme"),
            destinations(&platforms).replace(&platforms.slack_url(), slack_url)
        ))
    };
    let config = write(&platforms.slack_url());
    // Discord: a 429 with `retry_after` in float seconds. Telegram: `parameters.retry_after`.
    // Slack: the webhook was deleted.
    platforms.plan(
        Kind::Discord,
        [Scripted::new(
            429,
            r#"{"message": "You are being rate limited.", "retry_after": 0.6, "global": false}"#,
        )
        .header("retry-after", "1")
        .header("x-ratelimit-scope", "user")],
    );
    platforms.plan(
        Kind::Telegram,
        [Scripted::new(429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#)],
    );
    platforms.plan(Kind::Slack, [Scripted::new(404, "channel_not_found")]);
    let out = run(&config).await;
    let log = stderr(&out);

    let discord = platforms.messages(Kind::Discord);
    assert_eq!(discord.len(), 2, "one 429, then the retry");
    assert!(
        discord[1].at - discord[0].at >= std::time::Duration::from_millis(600),
        "retry_after honoured"
    );
    assert_eq!(platforms.accepted(Kind::Discord).len(), 1);
    let telegram = platforms.messages(Kind::Telegram);
    assert_eq!(telegram.len(), 2);
    assert!(telegram[1].at - telegram[0].at >= std::time::Duration::from_secs(1));
    assert_eq!(
        platforms.messages(Kind::Slack).len(),
        1,
        "404 is not retried"
    );
    assert!(log.contains("destination is gone; marked failing"), "{log}");
    assert!(log.contains("channel_not_found"), "{log}");

    // Next change: the failing Slack destination is not called; the others are.
    page.post_update(
        &first,
        "identified",
        "Cause found.",
        epoch() + chrono::Duration::minutes(3),
    );
    server.publish("acme", &page);
    let out = run(&config).await;
    assert_eq!(
        platforms.messages(Kind::Slack).len(),
        1,
        "a failing destination is not called again"
    );
    assert_eq!(platforms.accepted(Kind::Discord).len(), 2);
    let log = stderr(&out);
    assert_eq!(
        log.matches("destination is marked failing").count(),
        1,
        "told once per run:\n{log}"
    );
    assert!(
        !log.contains("destination is gone"),
        "the failure is reported once, when it happens"
    );

    // The operator points it at a new webhook: it is tried again, from the next change on.
    let config = write(
        &platforms
            .slack_url()
            .replace("XXXXSLACKSECRETXXXX", "XXXXSLACKSECRETXXXX2"),
    );
    page.post_update(
        &first,
        "resolved",
        "Fixed.",
        epoch() + chrono::Duration::minutes(8),
    );
    server.publish("acme", &page);
    let out = run(&config).await;
    assert!(
        stderr(&out).contains("destination configuration changed"),
        "{}",
        stderr(&out)
    );
    let slack = platforms.accepted(Kind::Slack);
    assert_eq!(slack.len(), 1);
    assert!(
        slack[0].visible.contains("Incident resolved"),
        "{}",
        slack[0].visible
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_route_reports_each_destination() {
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n{}\n[[routes]]\nname = \"oncall\"\ndestinations = [\"slack\", \"pagerduty\", \"telegram\", \"discord\", \"teams\", \"chat\", \"mattermost\"]\n",
        destinations(&platforms)
    ));
    let test_route = |config: std::path::PathBuf| async move {
        tokio::process::Command::new(binary())
            .args(["test-route", "oncall", "--config", config.to_str().unwrap()])
            .env("TEST_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
            .output()
            .await
            .unwrap()
    };
    let out = test_route(config.clone()).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    for name in [
        "slack (slack): sent",
        "pagerduty (pagerduty): sent",
        "telegram (telegram): sent",
        "chat (google_chat): sent",
    ] {
        assert!(stdout(&out).contains(name), "{}", stdout(&out));
    }
    for kind in ALL {
        let accepted = platforms.accepted(kind);
        assert!(!accepted.is_empty(), "{kind:?} got nothing");
        assert!(
            accepted[0].visible.contains("[TEST]"),
            "{kind:?}: {}",
            accepted[0].visible
        );
    }
    // The test alert is resolved right away, so it pages no one for long.
    assert_eq!(platforms.messages(Kind::PagerDuty).len(), 2);

    platforms.plan(Kind::Mattermost, [Scripted::new(404, r#"{"id":"web.incoming_webhook.invalid.app_error","message":"Invalid webhook","status_code":404}"#)]);
    let out = test_route(config).await;
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("mattermost (mattermost): FAILED: HTTP 404"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("1 of 7 destinations failed"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_destination_keeps_to_its_rate_limit() {
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Acme", &server.url("acme"));
    let leaves = page.leaf_ids();
    for (i, name) in ["API errors", "Slow dashboard", "Webhooks delayed"]
        .into_iter()
        .enumerate()
    {
        page.open_incident(name, "minor", &leaves[i..i + 1], "Investigating.", epoch());
    }
    server.publish("acme", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"fast\"\ntype = \"mattermost\"\nurl = \"{}\"\nrate_limit = \"2/s\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"slack\", \"fast\"]\n",
        server.url("acme"),
        platforms.slack_url(),
        platforms.mattermost_url(),
    ));
    run(&config).await;
    // Slack: one message a second per webhook.
    let slack = platforms.accepted(Kind::Slack);
    assert_eq!(slack.len(), 3);
    for pair in slack.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= std::time::Duration::from_millis(900),
            "Slack faster than 1/s"
        );
    }
    // A configured rate replaces the default (10/s): 2 a second in a burst of 2, so the third
    // message waits for the bucket.
    let mattermost = platforms.accepted(Kind::Mattermost);
    assert_eq!(mattermost.len(), 3);
    assert!(mattermost[2].at - mattermost[0].at >= std::time::Duration::from_millis(400));
}
