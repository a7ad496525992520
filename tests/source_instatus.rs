//! Instatus through `statusrelay run --once`: only active records are listed, with no update
//! texts or ids, dates as JavaScript strings or ISO 8601; resolution shows as absence.

mod support;

use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

/// `Date.toString()` as the Instatus docs show it.
fn js_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
        .to_string()
}

fn publish(server: &StatusServer, status: &str, incidents: Vec<Value>, maintenances: Vec<Value>) {
    let summary = json!({
        "page": {"name": "Manychat", "url": "https://status.manychat.com", "status": status},
        "activeIncidents": incidents,
        "activeMaintenances": maintenances,
    });
    server.publish_document("manychat", "/summary.json", summary.to_string());
}

fn incident(status: &str) -> Value {
    json!({
        "id": "cm3k2x9q40001",
        "name": "Instagram automations delayed",
        "started": js_date(epoch()),
        "status": status,
        "impact": "PARTIALOUTAGE",
        "url": "https://status.manychat.com/cm3k2x9q40001",
        "updatedAt": "2026-11-20T08:20:00.000Z",
    })
}

fn maintenance(status: &str) -> Value {
    // No id in this one: statusrelay derives it from the URL.
    json!({
        "name": "Database upgrade",
        "start": "2026-11-21T02:00:00.000Z",
        "status": status,
        "duration": "90",
        "url": "https://status.manychat.com/maintenance/cm3k2xa0p0002",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instatus_lifecycle_with_resolution_by_absence() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    publish(&server, "UP", vec![], vec![]);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"manychat\"\nurl = \"{}\"\nplatform = \"instatus\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("manychat"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    // Observed on real pages: `page.status` stays UP while an incident is open.
    publish(&server, "UP", vec![incident("INVESTIGATING")], vec![]);
    run_once(&config).await;
    publish(&server, "HASISSUES", vec![incident("IDENTIFIED")], vec![]);
    run_once(&config).await;
    publish(&server, "UP", vec![], vec![]);
    run_once(&config).await;
    // An unchanged document (304), then a changed one without the incident: no repeats.
    run_once(&config).await;
    publish(&server, "UP", vec![], vec![maintenance("NOTSTARTEDYET")]);
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        [
            "incident.created",
            "incident.updated",
            "incident.resolved",
            "maintenance.scheduled"
        ]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(created["data"]["incident"]["impact"], "major");
    assert_eq!(
        created["data"]["incident"]["created_at"], "2026-11-20T08:00:00Z",
        "JavaScript date read"
    );
    assert_eq!(created["data"]["update"]["body"], "Status: Investigating.");
    let updated = receiver.delivered()[1].json();
    assert_eq!(updated["data"]["update"]["id"], "cm3k2x9q40001-identified");
    let resolved = receiver.delivered()[2].json();
    assert_eq!(resolved["data"]["incident"]["status"], "resolved");
    let scheduled = receiver.delivered()[3].json();
    assert_eq!(
        scheduled["data"]["incident"]["scheduled_until"], "2026-11-21T03:30:00Z",
        "duration is minutes as a string"
    );

    receiver.clear();
    publish(
        &server,
        "UNDERMAINTENANCE",
        vec![],
        vec![maintenance("INPROGRESS")],
    );
    run_once(&config).await;
    publish(&server, "UP", vec![], vec![]);
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        ["maintenance.started", "maintenance.completed"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instatus_page_is_detected() {
    let server = StatusServer::start().await;
    publish(&server, "HASISSUES", vec![incident("MONITORING")], vec![]);
    let out = statusrelay(&["check", &server.url("manychat"), "--allow-private"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("platform: instatus\nManychat ("), "{text}");
    assert!(
        text.contains("[monitoring, impact major] Instagram automations delayed"),
        "{text}"
    );
}
