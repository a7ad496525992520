//! Better Stack through `statusrelay run --once`: the JSON:API `index.json` with resources,
//! status reports and their updates; a manual report from first update to resolution, a
//! maintenance, and detection.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use support::fixture::epoch;
use support::*;

struct Report {
    id: u64,
    title: &'static str,
    kind: &'static str,
    state: &'static str,
    starts: DateTime<Utc>,
    ends: Option<DateTime<Utc>>,
    resources: Vec<(u64, &'static str)>,
    updates: Vec<(u64, DateTime<Utc>, &'static str)>,
}

const RESOURCES: [(u64, &str, u64); 6] = [
    (8001, "Website", 501),
    (8002, "API", 501),
    (8003, "Dashboard", 501),
    (8004, "Webhooks", 502),
    (8005, "Email delivery", 502),
    (8006, "SMS delivery", 502),
];

fn index(reports: &[Report], down: &[u64]) -> String {
    let mut included = vec![
        json!({"id": "501", "type": "status_page_section", "attributes": {"name": "Core", "position": 0}}),
        json!({"id": "502", "type": "status_page_section", "attributes": {"name": "Notifications", "position": 1}}),
    ];
    for (id, name, section) in RESOURCES {
        included.push(json!({"id": id.to_string(), "type": "status_page_resource", "attributes": {
            "status_page_section_id": section, "resource_id": id + 100000, "resource_type": "Monitor",
            "public_name": name, "explanation": "", "widget_type": "history", "position": 0,
            "availability": 0.9998, "status": if down.contains(&id) { "downtime" } else { "operational" },
            "status_history": []}}));
    }
    for report in reports {
        included.push(json!({"id": report.id.to_string(), "type": "status_report", "attributes": {
            "title": report.title, "report_type": report.kind, "starts_at": report.starts.to_rfc3339(),
            "ends_at": report.ends.map(|e| e.to_rfc3339()), "aggregate_state": report.state,
            "affected_resources": report.resources.iter().map(|(id, status)| json!({"status_page_resource_id": id.to_string(), "status": status})).collect::<Vec<_>>()},
            "relationships": {"status_updates": {"data": report.updates.iter().map(|(id, _, _)| json!({"id": id.to_string(), "type": "status_update"})).collect::<Vec<_>>()}}}));
        for (id, at, message) in &report.updates {
            included.push(json!({"id": id.to_string(), "type": "status_update", "attributes": {
                "message": message, "published_at": at.to_rfc3339(), "notify_subscribers": true},
                "relationships": {"status_report": {"data": {"id": report.id.to_string(), "type": "status_report"}}}}));
        }
    }
    json!({
        "data": {"id": "117", "type": "status_page", "attributes": {
            "company_name": "Acme Mail", "company_url": "https://acme.test", "subdomain": "acme",
            "timezone": "UTC", "aggregate_state": if down.is_empty() { "operational" } else { "downtime" },
            "created_at": "2024-01-10T10:00:00.000Z", "updated_at": "2026-11-20T08:00:00.000Z"},
            "relationships": {"sections": {"data": []}, "resources": {"data": []}, "status_reports": {"data": []}}},
        "included": included,
    })
    .to_string()
}

fn history() -> Vec<Report> {
    (0..12)
        .map(|n| {
            let start = epoch() - Duration::days(3 + n * 7);
            Report {
                id: 40000 + n as u64,
                title: "Delayed webhooks",
                kind: "manual",
                state: "operational",
                starts: start,
                ends: Some(start + Duration::hours(1)),
                resources: vec![(8004, "operational")],
                updates: vec![
                    (
                        90000 + 2 * n as u64,
                        start,
                        "We are investigating delayed webhooks.",
                    ),
                    (
                        90001 + 2 * n as u64,
                        start + Duration::hours(1),
                        "Webhooks are delivered on time again.",
                    ),
                ],
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn better_stack_lifecycle_and_detection() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut reports = history();
    server.publish_document("acme", "/index.json", index(&reports, &[]));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("acme"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.received().is_empty(),
        "{:?}",
        receiver.delivered_types()
    );

    let t = epoch();
    reports.push(Report {
        id: 41000,
        title: "Email delivery outage",
        kind: "manual",
        state: "downtime",
        starts: t,
        ends: None,
        resources: vec![(8005, "downtime")],
        updates: vec![(95000, t, "Emails are not being delivered. We are on it.")],
    });
    server.publish_document("acme", "/index.json", index(&reports, &[8005]));
    run_once(&config).await;
    reports.last_mut().unwrap().updates.push((
        95001,
        t + Duration::minutes(15),
        "A fix is being deployed.",
    ));
    server.publish_document("acme", "/index.json", index(&reports, &[8005]));
    run_once(&config).await;
    let report = reports.last_mut().unwrap();
    report.updates.push((
        95002,
        t + Duration::minutes(50),
        "Emails are flowing again; the backlog is cleared.",
    ));
    report.ends = Some(t + Duration::minutes(50));
    report.state = "operational";
    report.resources = vec![(8005, "operational")];
    server.publish_document("acme", "/index.json", index(&reports, &[]));
    run_once(&config).await;

    let now = Utc::now();
    reports.push(Report {
        id: 42000,
        title: "Database upgrade",
        kind: "maintenance",
        state: "maintenance",
        starts: now + Duration::days(2),
        ends: Some(now + Duration::days(2) + Duration::hours(2)),
        resources: vec![(8002, "maintenance")],
        updates: vec![(
            96000,
            now,
            "We will upgrade our database; the API may be read-only.",
        )],
    });
    server.publish_document("acme", "/index.json", index(&reports, &[]));
    run_once(&config).await;

    let types = receiver.delivered_types();
    assert_eq!(
        types,
        [
            "incident.created",
            "component.status_changed",
            "incident.updated",
            "incident.resolved",
            "component.status_changed",
            "maintenance.scheduled"
        ]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(created["data"]["incident"]["impact"], "major");
    assert_eq!(
        created["data"]["incident"]["components"][0]["name"],
        "Email delivery"
    );
    assert_eq!(
        created["data"]["incident"]["components"][0]["status"],
        "major_outage"
    );
    assert_eq!(created["data"]["update"]["id"], "95000");
    let resolved = receiver.delivered()[3].json();
    assert_eq!(
        resolved["data"]["update"]["body"],
        "Emails are flowing again; the backlog is cleared."
    );

    let out = statusrelay(&["check", &server.url("acme"), "--allow-private"]).await;
    let text = stdout(&out);
    assert!(
        text.starts_with("platform: betterstack\nAcme Mail ("),
        "{text}"
    );
    assert_eq!(text.matches("operational ").count(), 6, "{text}");
}
