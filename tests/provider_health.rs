//! A status page that stops answering: after `settings.unreachable_after` failed polls in a row
//! statusrelay says so once (`provider.unreachable`), and once more at its first good poll
//! (`provider.recovered`). Webhooks get both by default; chat only where a route's `events`
//! names them.

mod support;

use support::fixture::Page;
use support::platforms::{Kind, Platforms};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_page_is_announced_once_and_its_recovery_once() {
    let server = StatusServer::start().await;
    server.publish("flaky", &Page::realistic("Flaky Co", &server.url("flaky")));
    let hook = WebhookReceiver::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
allow_private_targets = true
unreachable_after = 3

[[providers]]
id = "flaky"
url = "{page}"
platform = "statuspage"

[[destinations]]
name = "team-slack"
type = "slack"
url = "{slack}"

[[destinations]]
name = "ops-mattermost"
type = "mattermost"
url = "{mattermost}"

[[destinations]]
name = "hook"
type = "webhook"
url = "{hook}"

[[routes]]
name = "everything"
destinations = ["team-slack", "hook"]

[[routes]]
name = "ops"
destinations = ["ops-mattermost"]
events = ["provider.*"]
"#,
        page = server.url("flaky"),
        slack = platforms.slack_url(),
        mattermost = platforms.mattermost_url(),
        hook = hook.url(),
    ));
    let health_events = |hook: &WebhookReceiver| -> Vec<String> {
        hook.delivered_types()
            .into_iter()
            .filter(|t| t.starts_with("provider."))
            .collect()
    };

    assert!(run_once(&config).await.status.success());
    server.set_fault("flaky", SUMMARY, Some(Fault::Status(503)));
    for _ in 0..2 {
        run_once(&config).await;
    }
    assert!(
        health_events(&hook).is_empty(),
        "two failures are not an outage yet"
    );
    run_once(&config).await;
    assert_eq!(health_events(&hook), ["provider.unreachable"]);
    let announced = hook
        .delivered()
        .into_iter()
        .find(|r| r.event_type() == "provider.unreachable")
        .unwrap()
        .json();
    assert_eq!(announced["data"]["health"]["failed_polls"], 3);
    assert!(
        announced["data"]["health"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503"),
        "{announced}"
    );
    assert!(announced["data"]["health"]["last_good_poll"].is_string());
    // Still failing: nothing more; a restart (each `run --once` is one) does not repeat it.
    run_once(&config).await;
    run_once(&config).await;
    assert_eq!(health_events(&hook), ["provider.unreachable"]);

    server.set_fault("flaky", SUMMARY, None);
    assert!(run_once(&config).await.status.success());
    assert_eq!(
        health_events(&hook),
        ["provider.unreachable", "provider.recovered"]
    );
    let recovered = hook
        .delivered()
        .into_iter()
        .find(|r| r.event_type() == "provider.recovered")
        .unwrap()
        .json();
    assert_eq!(recovered["data"]["health"]["failed_polls"], 5);
    run_once(&config).await;
    assert_eq!(health_events(&hook).len(), 2, "recovered once");

    // Chat: only the route that asked for provider events got them.
    let ops = platforms.accepted(Kind::Mattermost);
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(
        ops[0].visible.contains("Status page unreachable"),
        "{}",
        ops[0].visible
    );
    assert!(
        ops[0].visible.contains("3 times in a row"),
        "{}",
        ops[0].visible
    );
    assert!(
        ops[1].visible.contains("reachable again"),
        "{}",
        ops[1].visible
    );
    assert!(
        platforms.accepted(Kind::Slack).is_empty(),
        "the team channel did not ask for provider events"
    );
}
