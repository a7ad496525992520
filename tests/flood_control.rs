//! Flood control end to end: a vendor backfills forty incidents in one poll. Chat destinations
//! get one digest listing them; the webhook and PagerDuty still get every event; a poll with
//! no more events than `settings.digest_after` is delivered one message per event.

mod support;

use support::fixture::{Page, epoch};
use support::platforms::{Kind, PAGERDUTY_KEY, Platforms};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_reaches_chat_as_one_digest_and_machines_event_by_event() {
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Backfill Co", &server.url("backfill"));
    let leaves = page.leaf_ids();
    server.publish("backfill", &page);
    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
allow_private_targets = true

[[providers]]
id = "backfill"
url = "{page}"

[[destinations]]
name = "slack"
type = "slack"
url = "{slack}"

[[destinations]]
name = "mattermost"
type = "mattermost"
url = "{mattermost}"

[[destinations]]
name = "pagerduty"
type = "pagerduty"
url = "{pagerduty}"
routing_key = "{PAGERDUTY_KEY}"
rate_limit = "100/s"

[[destinations]]
name = "hook"
type = "webhook"
url = "{hook}"

[[routes]]
name = "everything"
destinations = ["slack", "mattermost", "pagerduty", "hook"]
"#,
        page = server.url("backfill"),
        slack = platforms.slack_url(),
        mattermost = platforms.mattermost_url(),
        pagerduty = platforms.pagerduty_url(),
        hook = hook.url(),
    ));

    let baseline = run_once(&config).await;
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    platforms.clear();
    hook.clear();

    for n in 0..40 {
        page.open_incident(
            &format!("Backfilled incident number {n}"),
            "minor",
            &leaves[n % leaves.len()..][..1],
            "Imported from our previous status page.",
            epoch() + chrono::Duration::minutes(n as i64),
        );
    }
    server.publish("backfill", &page);
    let flood = run_once(&config).await;
    assert!(flood.status.success(), "{}", stderr(&flood));

    assert_eq!(
        hook.delivered_types(),
        vec!["incident.created"; 40],
        "the webhook gets every event"
    );
    let triggers = platforms.accepted(Kind::PagerDuty);
    assert_eq!(triggers.len(), 40, "PagerDuty gets every alert");
    for kind in [Kind::Slack, Kind::Mattermost] {
        let messages = platforms.accepted(kind);
        assert_eq!(messages.len(), 1, "{kind:?}: one digest, not 40 messages");
        let text = &messages[0].visible;
        assert!(text.contains("40 changes in one poll"), "{kind:?}:\n{text}");
        assert!(
            text.contains("40 × new incident"),
            "{kind:?}: counts missing:\n{text}"
        );
        for n in [0, 17, 39] {
            assert!(
                text.contains(&format!("Backfilled incident number {n}")),
                "{kind:?}: incident {n} not listed:\n{text}"
            );
        }
    }

    // Sent once: the next run sends nothing again.
    platforms.clear();
    hook.clear();
    let again = run_once(&config).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(platforms.messages(Kind::Slack).is_empty());
    assert!(hook.received().is_empty());

    // Five events (the default threshold) are an ordinary busy poll: one message each.
    for n in 0..5 {
        page.open_incident(
            &format!("Ordinary incident {n}"),
            "major",
            &leaves[..1],
            "Investigating.",
            epoch() + chrono::Duration::hours(2) + chrono::Duration::minutes(n),
        );
    }
    server.publish("backfill", &page);
    let busy = run_once(&config).await;
    assert!(busy.status.success(), "{}", stderr(&busy));
    for kind in [Kind::Slack, Kind::Mattermost] {
        let messages = platforms.accepted(kind);
        assert_eq!(messages.len(), 5, "{kind:?}: one message per event");
        assert!(messages[0].visible.contains("Ordinary incident 0"));
    }
    assert_eq!(hook.delivered().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_moves_is_reported_once_as_provider_moved() {
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Moving Co", &server.url("moving"));
    let leaves = page.leaf_ids();
    let open = page.open_incident(
        "Webhooks delayed",
        "minor",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("moving", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"moving\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"slack\", \"hook\"]\n",
        server.url("moving"),
        platforms.slack_url(),
        hook.url(),
    ));
    assert!(run_once(&config).await.status.success());
    assert_eq!(hook.delivered_types(), ["incident.created"]);
    platforms.clear();
    hook.clear();

    page.migrate("mv");
    server.publish("moving", &page);
    let moved = run_once(&config).await;
    assert!(moved.status.success(), "{}", stderr(&moved));
    assert_eq!(
        hook.delivered_types(),
        ["provider.moved"],
        "one event, not a resolution and a creation per record"
    );
    let event = hook.delivered()[0].json();
    assert_eq!(
        event["data"]["moved"]["open_now"],
        serde_json::json!(["Webhooks delayed"])
    );
    let slack = platforms.accepted(Kind::Slack);
    assert_eq!(slack.len(), 1);
    assert!(
        slack[0].visible.contains("Status page moved")
            && slack[0].visible.contains("Open now: Webhooks delayed"),
        "{}",
        slack[0].visible
    );

    // The new page is followed from there: its next update is an ordinary one.
    hook.clear();
    page.post_update(
        &format!("mv{open}"),
        "resolved",
        "Fixed.",
        epoch() + chrono::Duration::minutes(30),
    );
    server.publish("moving", &page);
    assert!(run_once(&config).await.status.success());
    assert_eq!(hook.delivered_types(), ["incident.resolved"]);
}
