//! A whole incident lifecycle replayed step by step through `statusrelay run --once`, against a
//! real status page server and webhook receiver on loopback.

mod support;

use base64::Engine;
use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::fixture::{Page, epoch};
use support::*;

fn config(server: &StatusServer, receiver: &WebhookReceiver, slug: &str) -> String {
    format!(
        r#"[settings]
state = "state.db"
interval = "1s"
allow_private_targets = true

[[providers]]
id = "{slug}"
name = "GitHub"
url = "{page}"
platform = "statuspage"

[[routes]]
name = "hook"
channel = "webhook"
url = "{hook}"
secret = "{SECRET}"
maintenance = true

[[routes]]
name = "terminal"
channel = "console"
maintenance = true
"#,
        page = server.url(slug),
        hook = receiver.url(),
    )
}

/// Verifies a Standard Webhooks signature independently of statusrelay's own code.
fn signature_is_valid(received: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(received.header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(received.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    received
        .header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_lifecycle_is_delivered_exactly_once_in_order() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config_path = work.write_config(&config(&server, &receiver, "github"));
    let t0 = epoch();

    // History (50 resolved incidents), one incident open and one maintenance upcoming.
    let mut page = Page::realistic("GitHub", &server.url("github"));
    let leaves = page.leaf_ids();
    let open_a = page.open_incident(
        "Degraded Codespaces",
        "minor",
        &leaves[16..17],
        "We are investigating.",
        t0 - Duration::minutes(30),
    );
    page.post_update(
        &open_a,
        "identified",
        "Cause found.<br />Fix in progress.",
        t0 - Duration::minutes(10),
    );
    let maint = page.schedule_maintenance(
        "Database upgrade",
        t0 + Duration::days(2),
        t0 + Duration::days(2) + Duration::hours(2),
        t0 - Duration::days(1),
    );
    server.publish("github", &page);
    assert!(
        server.document_size("github", INCIDENTS) > 100_000,
        "fixture must be full size"
    );

    // 1. Baseline: history stays silent, the open incident and the maintenance are announced.
    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        receiver.delivered_types(),
        ["maintenance.scheduled", "incident.created"]
    );
    let console = stdout(&out);
    assert_eq!(
        console.lines().count(),
        2,
        "console route prints one line per event:\n{console}"
    );
    assert!(
        console.contains("GitHub incident.created: Degraded Codespaces [identified, impact minor]"),
        "{console}"
    );

    // 2. Nothing changed: conditional requests answer 304, nothing is sent.
    let (requests_before, not_modified_before) = server.counts();
    let out = run_once(&config_path).await;
    assert!(out.status.success());
    let (requests, not_modified) = server.counts();
    assert_eq!(requests - requests_before, 3);
    assert_eq!(
        not_modified - not_modified_before,
        3,
        "all three documents revalidated with 304"
    );
    assert_eq!(receiver.delivered().len(), 2);
    assert!(stdout(&out).is_empty());

    // 3. A new incident with a component going down.
    let git = leaves[0].clone();
    let incident_b = page.open_incident(
        "Git operations failing",
        "major",
        std::slice::from_ref(&git),
        "We are investigating failures of git push.",
        t0 + Duration::minutes(5),
    );
    page.set_component(&git, "major_outage", t0 + Duration::minutes(5));
    server.publish("github", &page);
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types()[2..],
        ["incident.created", "component.status_changed"]
    );
    let created = receiver.delivered()[2].json();
    assert_eq!(created["data"]["incident"]["id"], incident_b.as_str());
    assert_eq!(created["data"]["incident"]["impact"], "major");
    assert_eq!(created["data"]["provider"]["id"], "github");
    assert_eq!(
        created["data"]["incident"]["url"],
        format!("{}/incidents/{incident_b}", server.url("github"))
    );
    assert_eq!(
        created["data"]["incident"]["components"][0]["name"],
        "Git Operations"
    );
    // The page writes -08:00; the event carries the same instant in UTC.
    assert_eq!(
        created["data"]["update"]["created_at"],
        "2026-11-20T08:05:00Z"
    );
    assert_eq!(created["timestamp"], "2026-11-20T08:05:00Z");
    let component = receiver.delivered()[3].json();
    assert_eq!(component["data"]["component"]["old_status"], "operational");
    assert_eq!(component["data"]["component"]["new_status"], "major_outage");

    // 4. Two updates between polls: two events, oldest first.
    page.post_update(
        &incident_b,
        "identified",
        "We identified a faulty load balancer.",
        t0 + Duration::minutes(10),
    );
    page.post_update(
        &incident_b,
        "monitoring",
        "A fix is deployed.\r\nWe are monitoring.",
        t0 + Duration::minutes(15),
    );
    server.publish("github", &page);
    run_once(&config_path).await;
    let delivered = receiver.delivered();
    assert_eq!(
        receiver.delivered_types()[4..],
        ["incident.updated", "incident.updated"]
    );
    assert_eq!(
        delivered[4].json()["data"]["update"]["status"],
        "identified"
    );
    assert_eq!(
        delivered[5].json()["data"]["update"]["status"],
        "monitoring"
    );

    // 5. Failed polls between good ones: an HTML page with 200, a 502, a truncated body and
    //    invalid UTF-8. Each is logged, changes nothing and sends nothing.
    page.post_update(
        &incident_b,
        "resolved",
        "This incident has been resolved.",
        t0 + Duration::minutes(20),
    );
    page.set_component(&git, "operational", t0 + Duration::minutes(20));
    server.publish("github", &page);
    for (fault, expected_log) in [
        (Fault::Html200, "HTML"),
        (Fault::Status(502), "HTTP 502"),
        (Fault::Truncated, "line"),
        (Fault::InvalidUtf8, "invalid"),
    ] {
        server.set_fault("github", INCIDENTS, Some(fault.clone()));
        let out = run_once(&config_path).await;
        assert!(out.status.success());
        let log = stderr(&out);
        assert!(
            log.contains("poll failed") && log.contains(expected_log),
            "{fault:?}: {log}"
        );
        assert_eq!(
            receiver.delivered().len(),
            6,
            "{fault:?} must not emit anything"
        );
    }
    server.set_fault("github", INCIDENTS, None);
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types()[6..],
        ["incident.resolved", "component.status_changed"]
    );

    // 6. Postmortem, published on the incident itself.
    page.publish_postmortem(
        &incident_b,
        "Root cause: a configuration change to our load balancers.",
    );
    server.publish("github", &page);
    run_once(&config_path).await;
    assert_eq!(receiver.delivered_types()[8..], ["incident.postmortem"]);
    assert!(
        receiver.delivered()[8].json()["data"]["update"]["body"]
            .as_str()
            .unwrap()
            .contains("Root cause")
    );

    // 7. The maintenance starts and completes between two polls.
    page.post_update(
        &maint,
        "in_progress",
        "Maintenance has begun.",
        t0 + Duration::days(2),
    );
    page.post_update(
        &maint,
        "completed",
        "Maintenance is complete.",
        t0 + Duration::days(2) + Duration::hours(1),
    );
    // 8. The incident open at baseline resolves.
    page.post_update(
        &open_a,
        "resolved",
        "Codespaces are healthy again.",
        t0 + Duration::minutes(40),
    );
    server.publish("github", &page);
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types()[9..],
        [
            "incident.resolved",
            "maintenance.started",
            "maintenance.completed"
        ]
    );
    let started = receiver.delivered()[10].json();
    assert_eq!(
        started["data"]["incident"]["scheduled_for"],
        "2026-11-22T08:00:00Z"
    );

    // Once more with nothing new: nothing is sent.
    run_once(&config_path).await;
    let all = receiver.received();
    assert_eq!(all.len(), 12, "no retries or duplicates were needed");
    let mut ids: Vec<String> = all.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "every event has its own id");
    for received in &all {
        assert!(
            signature_is_valid(received),
            "bad signature on {}",
            received.header("webhook-id")
        );
        assert_eq!(
            received.header("webhook-id"),
            received.json()["id"].as_str().unwrap()
        );
        assert_eq!(received.header("content-type"), "application/json");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_io_compatible_page_works() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::incident_io("OpenAI", &server.url("openai"));
    server.publish("openai", &page);
    // incident.io pages are configured with a trailing slash and no platform.
    let text = format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"openai\"\nurl = \"{}/\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("openai"),
        receiver.url()
    );
    let config_path = work.write_config(&text);

    let out = run_once(&config_path).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.delivered().is_empty(),
        "history only: nothing to announce"
    );

    // Opened and resolved between two polls, after the baseline (so on the real clock: the
    // history guard keeps incidents whose activity predates the baseline silent).
    let t0 = chrono::Utc::now() - Duration::minutes(1);
    let leaves = page.leaf_ids();
    let id = page.open_incident(
        "Elevated error rates for ChatGPT",
        "major",
        &leaves[1..2],
        "We are investigating.",
        t0,
    );
    page.post_update(&id, "resolved", "Resolved.", t0 + Duration::seconds(30));
    server.publish("openai", &page);
    run_once(&config_path).await;
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.resolved"]
    );
    let event = receiver.delivered()[0].json();
    assert_eq!(event["data"]["incident"]["id"], id.as_str());
    assert_eq!(
        event["data"]["provider"]["name"], "OpenAI",
        "name comes from the page when not configured"
    );
    assert_eq!(event["data"]["provider"]["url"], server.url("openai"));
}
