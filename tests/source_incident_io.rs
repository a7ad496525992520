//! incident.io's Widget API through `statusrelay run --once`: ongoing incidents with only their
//! latest update, maintenances in progress and scheduled, resolution as absence.

mod support;

use serde_json::{Value, json};
use support::*;

fn summary(incidents: Vec<Value>, in_progress: Vec<Value>, scheduled: Vec<Value>) -> String {
    json!({
        "page_title": "Dub",
        "page_url": "https://status.dub.co",
        "ongoing_incidents": incidents,
        "in_progress_maintenances": in_progress,
        "scheduled_maintenances": scheduled,
    })
    .to_string()
}

fn incident(status: &str, at: &str, message: &str) -> Value {
    json!({
        "id": "01JN8Q4Z7M3X9K2V5B6C1D0E4F",
        "name": "Link redirects slow in Europe",
        "status": status,
        "url": "https://status.dub.co/incidents/01JN8Q4Z7M3X9K2V5B6C1D0E4F",
        "last_update_at": at,
        "last_update_message": message,
        "current_worst_impact": "partial_outage",
        "affected_components": [
            {"id": "01JN8Q50000000000000000001", "name": "Link redirects", "group_name": "Core", "current_status": "partial_outage"},
            {"id": "01JN8Q50000000000000000002", "name": "Analytics", "current_status": "full_outage"}
        ]
    })
}

fn maintenance(status: &str) -> Value {
    let mut value = json!({
        "id": "01JN9A0000000000000000MAIN",
        "name": "Database migration",
        "status": status,
        "url": "https://status.dub.co/maintenances/01JN9A0000000000000000MAIN",
        "last_update_at": "2026-11-21T02:00:00.000Z",
        "last_update_message": "Migrating the analytics database.",
        "affected_components": [{"id": "01JN8Q50000000000000000002", "name": "Analytics", "current_status": "under_maintenance"}]
    });
    if status == "maintenance_scheduled" {
        value["starts_at"] = json!("2026-11-21T02:00:00.000Z");
        value["ends_at"] = json!("2026-11-21T04:00:00.000Z");
    } else {
        value["started_at"] = json!("2026-11-21T02:00:00.000Z");
        value["scheduled_end_at"] = json!("2026-11-21T04:00:00.000Z");
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_api_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let publish = |body: String| server.publish_document("dub", "/api/v1/summary", body);
    publish(summary(vec![], vec![], vec![]));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"dub\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("dub"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    publish(summary(
        vec![incident(
            "investigating",
            "2026-11-20T08:00:00.000Z",
            "We're investigating slow redirects.",
        )],
        vec![],
        vec![],
    ));
    run_once(&config).await;
    publish(summary(
        vec![incident(
            "identified",
            "2026-11-20T08:25:00.000Z",
            "A CDN region is degraded; traffic is being moved.",
        )],
        vec![],
        vec![],
    ));
    run_once(&config).await;
    // Gone from the list: resolved.
    publish(summary(vec![], vec![], vec![]));
    run_once(&config).await;
    publish(summary(
        vec![],
        vec![],
        vec![maintenance("maintenance_scheduled")],
    ));
    run_once(&config).await;
    publish(summary(
        vec![],
        vec![maintenance("maintenance_in_progress")],
        vec![],
    ));
    run_once(&config).await;
    publish(summary(vec![], vec![], vec![]));
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        [
            "incident.created",
            "incident.updated",
            "incident.resolved",
            "maintenance.scheduled",
            "maintenance.started",
            "maintenance.completed"
        ]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(created["data"]["incident"]["impact"], "major");
    assert_eq!(
        created["data"]["incident"]["components"][1]["status"], "major_outage",
        "full_outage read"
    );
    let updated = receiver.delivered()[1].json();
    assert_eq!(
        updated["data"]["update"]["body"],
        "A CDN region is degraded; traffic is being moved."
    );
    assert_eq!(updated["data"]["update"]["status"], "identified");
    let scheduled = receiver.delivered()[3].json();
    assert_eq!(
        scheduled["data"]["incident"]["scheduled_until"],
        "2026-11-21T04:00:00Z"
    );

    // Detected without `platform`, as `statusrelay check` reports.
    let out = statusrelay(&["check", &server.url("dub"), "--allow-private"]).await;
    assert!(
        stdout(&out).starts_with("platform: incidentio\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
