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

/// A vendor that moves its page to another platform at the same address: the polls as
/// Statuspage start failing (404), statusrelay finds the page as Instatus, tells the operator
/// once (`provider.moved` naming the new platform), announces what is new there, and polls it
/// as Instatus from then on — across restarts, and without calling it unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_changes_platform_is_followed_and_told_once() {
    let server = StatusServer::start().await;
    server.publish(
        "moving",
        &Page::realistic("Moving Co", &server.url("moving")),
    );
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\nunreachable_after = 3\n\n[[providers]]\nid = \"moving\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("moving"),
        hook.url()
    ));
    assert!(run_once(&config).await.status.success());
    assert!(hook.delivered().is_empty(), "a quiet baseline");

    // The vendor moves to Instatus: the Statuspage API is gone, Instatus' summary appears.
    for document in [SUMMARY, INCIDENTS, MAINTENANCES] {
        server.set_fault("moving", document, Some(Fault::Missing));
    }
    let instatus = serde_json::json!({
        "page": {"name": "Moving Co", "url": server.url("moving"), "status": "HASISSUES"},
        "activeIncidents": [{
            "id": "cm9moved0001", "name": "Login failures", "started": "2026-12-01T10:00:00.000Z",
            "status": "INVESTIGATING", "impact": "MAJOROUTAGE",
            "url": format!("{}/cm9moved0001", server.url("moving")),
            "updatedAt": "2026-12-01T10:05:00.000Z"
        }],
        "activeMaintenances": []
    });
    server.publish_document("moving", "/summary.json", instatus.to_string());
    run_once(&config).await;
    assert!(hook.delivered().is_empty(), "one failure is not a move");
    let out = run_once(&config).await;
    let log = stderr(&out);
    assert!(log.contains("found elsewhere"), "{log}");
    let types = hook.delivered_types();
    assert_eq!(
        types.iter().filter(|t| *t == "provider.moved").count(),
        1,
        "{types:?}"
    );
    assert!(types.contains(&"incident.created".to_owned()), "{types:?}");
    assert!(
        !types.iter().any(|t| t == "provider.unreachable"),
        "{types:?}"
    );
    let moved = hook
        .delivered()
        .into_iter()
        .find(|r| r.event_type() == "provider.moved")
        .unwrap()
        .json();
    let relocated = &moved["data"]["moved"]["relocated"];
    assert_eq!(relocated["from_platform"], "statuspage", "{moved}");
    assert_eq!(relocated["to_platform"], "instatus", "{moved}");

    // From now on it is polled as Instatus: nothing fails, nothing is told again.
    hook.clear();
    for _ in 0..3 {
        let out = run_once(&config).await;
        assert!(!stderr(&out).contains("poll failed"), "{}", stderr(&out));
    }
    assert!(hook.delivered().is_empty(), "{:?}", hook.delivered_types());
}
