//! Statuspage pages that only half-work, through `statusrelay run --once` and `check`: a JSON
//! API blocked by a challenge page while `/history.atom` still answers (read from the feed, then
//! from the API again, nothing announced twice), and incident.io-style pages serving only
//! `summary.json` (watched with what it has; resolution by absence).

mod support;

use chrono::{Duration, Utc};
use support::fixture::{Page, epoch};
use support::*;

fn config(server: &StatusServer, receiver: &WebhookReceiver, slug: &str, platform: &str) -> String {
    let platform = match platform {
        "" => String::new(),
        p => format!("platform = \"{p}\"\n"),
    };
    format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"{slug}\"\nurl = \"{}\"\n{platform}\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url(slug),
        receiver.url()
    )
}

fn block_api(server: &StatusServer, slug: &str, fault: Option<Fault>) {
    for document in [SUMMARY, INCIDENTS, MAINTENANCES] {
        server.set_fault(slug, document, fault.clone());
    }
}

/// Publishes the page's JSON documents and its history feed, as Statuspage serves both.
fn publish(server: &StatusServer, slug: &str, page: &Page) {
    server.publish(slug, page);
    server.publish_document(slug, "/history.atom", page.history_atom());
}

/// No event id twice, whichever documents each poll read.
fn assert_no_repeats(receiver: &WebhookReceiver) {
    let mut ids: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "{:?}", receiver.delivered_types());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_json_api_is_read_from_the_history_feed_then_from_the_api_again() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config_path = work.write_config(&config(&server, &receiver, "github", "statuspage"));
    let t0 = epoch();

    // 1. Baseline through the JSON API: 50 incidents of history, one open on a degraded
    //    component.
    let mut page = Page::realistic("GitHub", &server.url("github"));
    let leaves = page.leaf_ids();
    let actions = leaves[6].clone();
    page.set_component(&actions, "degraded_performance", t0 - Duration::minutes(30));
    let open = page.open_incident(
        "Actions runs are delayed",
        "minor",
        std::slice::from_ref(&actions),
        "We are investigating delays in Actions runs.",
        t0 - Duration::minutes(30),
    );
    page.post_update(
        &open,
        "investigating",
        "We are still investigating.",
        t0 - Duration::minutes(20),
    );
    publish(&server, "github", &page);
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.delivered_types(), ["incident.created"]);

    // 2. The API answers 403 with a challenge page; the feed still answers. A new update and
    //    a new incident are read from it; nothing already announced is announced again.
    block_api(&server, "github", Some(Fault::Challenge));
    page.post_update(
        &open,
        "identified",
        "We identified a misconfigured job queue.",
        t0 - Duration::minutes(5),
    );
    let second = page.open_incident(
        "Webhooks delivery delayed",
        "major",
        &leaves[7..8],
        "Webhook deliveries are delayed.",
        t0,
    );
    publish(&server, "github", &page);
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains("documents read")
            && log.contains("/history.atom (JSON API blocked: HTTP 403)"),
        "the log says which documents are read and why: {log}"
    );
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.created"]
    );
    let updated = receiver.delivered()[1].json();
    assert_eq!(updated["data"]["incident"]["id"], open.as_str());
    assert_eq!(updated["data"]["update"]["status"], "identified");
    assert_eq!(
        updated["data"]["update"]["body"],
        "We identified a misconfigured job queue."
    );
    assert_eq!(
        updated["data"]["update"]["created_at"],
        "2026-11-20T07:55:00Z"
    );
    let created = receiver.delivered()[2].json();
    assert_eq!(
        created["data"]["incident"]["id"],
        second.as_str(),
        "the feed's incident is the API's (the code of its link)"
    );

    // `check` reads the page the same way and says so.
    let out = statusrelay(&["check", &server.url("github"), "--allow-private"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "platform: statuspage\ndocuments: /history.atom (JSON API blocked: HTTP 403)\nGitHub ("
        ),
        "{text}"
    );
    assert!(text.contains("Open incidents: 2"), "{text}");

    // 3. Still blocked, nothing new: the feed answers 304, nothing is sent.
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.delivered().len(), 3);

    // 4. The API answers again, and the first incident resolves: only the resolution is news
    //    (no update seen through the feed comes again, the degraded component is not
    //    announced again).
    block_api(&server, "github", None);
    page.post_update(
        &open,
        "resolved",
        "Actions runs are back to normal.",
        t0 + Duration::minutes(10),
    );
    publish(&server, "github", &page);
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(as usual)"),
        "the return is logged: {}",
        stderr(&out)
    );
    assert_eq!(
        receiver.delivered_types()[3..],
        ["incident.resolved"],
        "{:?}",
        receiver.delivered_types()
    );
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.delivered().len(), 4);

    // 5. And back to the feed once more: still nothing twice; a new update is news.
    block_api(&server, "github", Some(Fault::Challenge));
    page.post_update(
        &second,
        "monitoring",
        "Deliveries are catching up.",
        t0 + Duration::minutes(20),
    );
    publish(&server, "github", &page);
    run_once(&config_path).await;
    assert_eq!(receiver.delivered_types()[4..], ["incident.updated"]);
    assert_no_repeats(&receiver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_first_seen_through_its_feed_returns_to_the_api_silently() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    // Undeclared: detection finds the page through its feed.
    let config_path = work.write_config(&config(&server, &receiver, "claude", ""));
    // On the real clock: the page's history stays history.
    let t0 = Utc::now() - Duration::hours(1);
    let mut page = Page::realistic("Claude", &server.url("claude"));
    let leaves = page.leaf_ids();
    let open = page.open_incident(
        "Elevated errors on Claude Opus",
        "major",
        &leaves[20..21],
        "We are investigating elevated error rates.",
        t0,
    );
    let maintenance = page.schedule_maintenance(
        "Database maintenance",
        t0 + Duration::days(2),
        t0 + Duration::days(2) + Duration::hours(1),
        t0 - Duration::hours(1),
    );
    publish(&server, "claude", &page);
    // A challenge page served with 200, on every API path.
    block_api(&server, "claude", Some(Fault::Html200));

    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/history.atom (JSON API blocked: an HTML page instead of JSON)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        receiver.delivered_types(),
        ["maintenance.scheduled", "incident.created"],
        "the baseline announces what is open, once"
    );
    let created = receiver.delivered()[1].json();
    assert_eq!(created["data"]["incident"]["id"], open.as_str());
    assert_eq!(
        created["data"]["incident"]["name"],
        "Elevated errors on Claude Opus"
    );

    // While blocked, an update.
    page.post_update(
        &open,
        "identified",
        "The cause is identified.",
        t0 + Duration::minutes(10),
    );
    publish(&server, "claude", &page);
    run_once(&config_path).await;
    assert_eq!(receiver.delivered_types()[2..], ["incident.updated"]);

    // The API answers again: nothing the feed showed is announced again.
    block_api(&server, "claude", None);
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        receiver.delivered().len(),
        3,
        "{:?}",
        receiver.delivered_types()
    );
    // Later updates come with the API's own ids.
    let update = page.post_update(
        &open,
        "resolved",
        "Error rates are back to normal.",
        t0 + Duration::minutes(30),
    );
    page.post_update(
        &maintenance,
        "in_progress",
        "Maintenance has begun.",
        t0 + Duration::minutes(31),
    );
    publish(&server, "claude", &page);
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types()[3..],
        ["incident.resolved", "maintenance.started"]
    );
    assert_eq!(
        receiver.delivered()[3].json()["data"]["update"]["id"],
        update.as_str()
    );
    assert_no_repeats(&receiver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_api_without_a_feed_fails_the_poll_with_one_clear_line() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config_path = work.write_config(&config(&server, &receiver, "quiet", "statuspage"));
    let page = Page::realistic("Quiet", &server.url("quiet"));
    server.publish("quiet", &page);
    block_api(&server, "quiet", Some(Fault::Challenge));
    let out = run_once(&config_path).await;
    assert_no_panic(&out);
    let log = stderr(&out);
    assert!(
        log.contains("poll failed") && log.contains("/api/v2/summary.json: HTTP 403"),
        "{log}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_serving_only_its_summary_is_watched_with_what_it_has() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config_path = work.write_config(&config(&server, &receiver, "status", ""));
    let t0 = Utc::now() - Duration::minutes(30);
    let mut page = Page::realistic("Acme", &server.url("status"));
    let leaves = page.leaf_ids();
    let open = page.open_incident(
        "Login failures",
        "major",
        &leaves[0..1],
        "We are investigating login failures.",
        t0,
    );
    page.set_component(&leaves[0], "partial_outage", t0);
    server.publish("status", &page);
    // Only the summary: incidents.json and the maintenance document are 404.
    server.set_fault("status", INCIDENTS, Some(Fault::Missing));
    server.set_fault("status", MAINTENANCES, Some(Fault::Missing));

    let out = statusrelay(&["check", &server.url("status"), "--allow-private"]).await;
    assert!(out.status.success(), "never refused: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("platform: statuspage\ndocuments: /api/v2/summary.json only"),
        "{text}"
    );
    assert!(text.contains("Open incidents: 1"), "{text}");

    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.delivered_types(), ["incident.created"]);

    page.post_update(
        &open,
        "identified",
        "Cause found.",
        t0 + Duration::minutes(5),
    );
    server.publish("status", &page);
    run_once(&config_path).await;
    assert_eq!(receiver.delivered_types()[1..], ["incident.updated"]);

    // Resolved: it leaves the summary (whose `incidents` lists only open ones); the
    // resolution is announced once, and the component's recovery with it.
    page.post_update(&open, "resolved", "Fixed.", t0 + Duration::minutes(10));
    page.set_component(&leaves[0], "operational", t0 + Duration::minutes(10));
    server.publish("status", &page);
    run_once(&config_path).await;
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types()[2..],
        ["incident.resolved", "component.status_changed"]
    );
    assert_no_repeats(&receiver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_io_summary_without_incidents_is_watched_for_components() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config_path = work.write_config(&config(&server, &receiver, "openai", ""));
    // incident.io's summary: no `incidents`, no `scheduled_maintenances`; and no incidents.json.
    let mut page = Page::incident_io("OpenAI", &server.url("openai"));
    server.publish("openai", &page);
    server.set_fault("openai", INCIDENTS, Some(Fault::Missing));

    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    let chatgpt = page.leaf_ids()[1].clone();
    page.set_component(&chatgpt, "full_outage", Utc::now());
    server.publish("openai", &page);
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.delivered_types(), ["component.status_changed"]);
    assert_eq!(
        receiver.delivered()[0].json()["data"]["component"]["new_status"],
        "full_outage"
    );
}
