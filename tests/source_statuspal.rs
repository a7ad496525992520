//! Statuspal through `statusrelay run --once`: one summary document with nested services,
//! zone-less times, updates with and without ids, current records only (leaving the summary
//! finishes a maintenance), and detection from the `statuspal.io/p/<subdomain>` page URL.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

const SUMMARY: &str = "/api/v1/status_pages/acme-cloud/summary";

/// Statuspal writes times without a zone, in UTC.
fn naive(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[derive(Default)]
struct Page {
    /// Service id → current incident type (`None`: operational).
    degraded: Vec<(u64, &'static str)>,
    incidents: Vec<Value>,
    maintenances: Vec<Value>,
    upcoming: Vec<Value>,
}

impl Page {
    fn service(&self, id: u64, name: &str, children: Vec<Value>) -> Value {
        let kind = self
            .degraded
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, k)| *k);
        json!({"id": id, "name": name, "description": format!("{name} for every region"),
               "current_incident_type": kind, "parent_id": null, "private": false,
               "inserted_at": "2023-11-15T10:03:20", "updated_at": "2026-11-01T10:00:00",
               "children_ids": children.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(),
               "children": children})
    }

    fn document(&self) -> String {
        let child = |id: u64, name: &str, parent: u64| {
            let mut value = self.service(id, name, vec![]);
            value["parent_id"] = json!(parent);
            value
        };
        let services = vec![
            self.service(1, "Website", vec![]),
            self.service(
                2,
                "Compute",
                vec![
                    child(21, "Virtual machines", 2),
                    child(22, "Kubernetes", 2),
                    child(23, "Functions", 2),
                ],
            ),
            self.service(
                3,
                "Storage",
                vec![
                    child(31, "Object storage", 3),
                    child(32, "Block volumes", 3),
                ],
            ),
            self.service(4, "DNS", vec![]),
            self.service(5, "Billing", vec![]),
        ];
        let worst = self
            .degraded
            .iter()
            .map(|(_, k)| *k)
            .max_by_key(|k| match *k {
                "major" => 2,
                "minor" => 1,
                _ => 0,
            });
        json!({
            "status_page": {"name": "Acme Cloud", "subdomain": "acme-cloud", "url": "https://status.acme.example",
                            "time_zone": "Europe/Berlin", "current_incident_type": worst,
                            "display_uptime_graph": true, "theme_selected": "default"},
            "services": services,
            "incidents": self.incidents,
            "maintenances": self.maintenances,
            "upcoming_maintenances": self.upcoming,
            "info_notices": [{"id": 900, "title": "New region in Frankfurt", "type": "info",
                              "starts_at": "2026-11-01T09:00:00", "ends_at": null, "service_ids": [],
                              "updates": [{"type": "update", "description": "Now open.", "inserted_at": "2026-11-01T09:00:00"}]}]
        })
        .to_string()
    }

    fn publish(&self, server: &StatusServer) {
        server.publish_document("spal", SUMMARY, self.document());
    }
}

fn record(id: u64, title: &str, kind: &str, starts: DateTime<Utc>, services: &[u64]) -> Value {
    json!({"id": id, "title": title, "type": kind, "starts_at": naive(starts), "ends_at": null,
           "service_ids": services, "url": format!("https://status.acme.example/incidents/{id}"),
           "updates": []})
}

fn add_update(record: &mut Value, id: Option<u64>, kind: &str, text: &str, at: DateTime<Utc>) {
    let mut update = json!({"type": kind, "description": text, "inserted_at": naive(at),
                            "translations": {"de": {"description": text}}});
    if let Some(id) = id {
        update["id"] = json!(id);
    }
    record["updates"].as_array_mut().unwrap().insert(0, update);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuspal_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::default();
    // Already over when first seen: part of the baseline, never announced.
    let mut old = record(
        700,
        "DNS resolution delays",
        "minor",
        epoch() - Duration::days(3),
        &[4],
    );
    add_update(
        &mut old,
        Some(7001),
        "investigating",
        "Looking into it.",
        epoch() - Duration::days(3),
    );
    old["ends_at"] = json!(naive(epoch() - Duration::days(3) + Duration::hours(1)));
    page.incidents.push(old);
    page.publish(&server);
    // Configured by the page URL on Statuspal, without a platform: detected from it.
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}/p/acme-cloud\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("spal"),
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
    page.incidents.clear();
    page.degraded = vec![(22, "major")];
    let mut outage = record(800, "Kubernetes API unavailable", "major", t, &[22]);
    add_update(
        &mut outage,
        None,
        "investigating",
        "Clusters in <b>fra1</b> do not answer.",
        t,
    );
    page.incidents.push(outage.clone());
    page.publish(&server);
    run_once(&config).await;
    add_update(
        &mut outage,
        Some(8002),
        "identified",
        "A certificate expired.",
        t + Duration::minutes(12),
    );
    add_update(
        &mut outage,
        Some(8003),
        "update",
        "Rotating certificates region by region.",
        t + Duration::minutes(20),
    );
    page.incidents[0] = outage.clone();
    page.publish(&server);
    run_once(&config).await;
    add_update(
        &mut outage,
        Some(8004),
        "resolved",
        "All clusters answer again.",
        t + Duration::minutes(41),
    );
    outage["ends_at"] = json!(naive(t + Duration::minutes(41)));
    page.incidents[0] = outage;
    page.degraded.clear();
    page.publish(&server);
    run_once(&config).await;

    let soon = Utc::now() + Duration::days(2);
    let mut window = record(
        950,
        "Block volume firmware upgrade",
        "scheduled",
        soon,
        &[32],
    );
    window["ends_at"] = json!(naive(soon + Duration::hours(2)));
    page.upcoming.push(window.clone());
    page.publish(&server);
    run_once(&config).await;
    // The window moved up and began: listed under `maintenances` now.
    let began = Utc::now() - Duration::minutes(5);
    window["starts_at"] = json!(naive(began));
    window["ends_at"] = json!(naive(began + Duration::hours(2)));
    page.upcoming.clear();
    page.maintenances.push(window);
    page.degraded = vec![(32, "scheduled")];
    page.publish(&server);
    run_once(&config).await;
    // Finished early: it leaves the summary.
    page.maintenances.clear();
    page.degraded.clear();
    page.publish(&server);
    run_once(&config).await;
    // Nothing new: nothing sent.
    run_once(&config).await;

    let delivered = receiver.delivered();
    let types = receiver.delivered_types();
    assert_eq!(
        types,
        [
            "incident.created",
            "component.status_changed",
            "incident.updated",
            "incident.updated",
            "incident.resolved",
            "component.status_changed",
            "maintenance.scheduled",
            "maintenance.started",
            "component.status_changed",
            "maintenance.completed",
            "component.status_changed",
        ]
    );
    let created = delivered[0].json();
    let incident = &created["data"]["incident"];
    assert_eq!(incident["name"], "Kubernetes API unavailable");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["components"][0]["name"], "Kubernetes");
    assert_eq!(incident["components"][0]["status"], "major_outage");
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "zone-less time read as UTC"
    );
    let derived_id = created["data"]["update"]["id"].as_str().unwrap().to_owned();
    assert!(
        derived_id.starts_with("800-") && derived_id.len() > 8,
        "an update without id gets a derived one: {derived_id}"
    );
    let component = delivered[1].json();
    assert_eq!(component["data"]["component"]["name"], "Kubernetes");
    assert_eq!(component["data"]["component"]["new_status"], "major_outage");
    let identified = delivered[2].json();
    assert_eq!(identified["data"]["update"]["id"], "8002");
    assert_eq!(identified["data"]["update"]["status"], "identified");
    let plain = delivered[3].json();
    assert_eq!(
        plain["data"]["update"]["status"], "identified",
        "a plain update keeps the status"
    );
    assert_eq!(
        plain["data"]["update"]["body"],
        "Rotating certificates region by region."
    );
    let resolved = delivered[4].json();
    assert_eq!(resolved["data"]["update"]["id"], "8004");
    assert_eq!(
        resolved["data"]["incident"]["resolved_at"],
        "2026-11-20T08:41:00Z"
    );
    let scheduled = delivered[6].json();
    assert_eq!(scheduled["data"]["incident"]["impact"], "maintenance");
    assert_eq!(
        scheduled["data"]["incident"]["components"][0]["name"],
        "Block volumes"
    );
    assert_eq!(
        scheduled["data"]["incident"]["scheduled_for"]
            .as_str()
            .unwrap()[..16],
        soon.format("%Y-%m-%dT%H:%M").to_string()
    );
    assert_eq!(
        delivered[8].json()["data"]["component"]["new_status"],
        "under_maintenance"
    );
    // The update of the first poll was not announced twice, and no info notice was.
    let ids: Vec<String> = delivered
        .iter()
        .filter_map(|d| d.json()["data"]["update"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.iter().filter(|id| **id == derived_id).count(), 1);
    assert!(!ids.iter().any(|id| id.starts_with("900")));

    let out = statusrelay(&[
        "check",
        &format!("{}/p/acme-cloud", server.url("spal")),
        "--allow-private",
    ])
    .await;
    assert!(
        stdout(&out).starts_with("platform: statuspal\n"),
        "{}",
        stdout(&out)
    );
}

/// An HTML page served with 200 at the summary URL fails the poll with a clear error and
/// keeps the state: the next good poll announces nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuspal_html_error_page_keeps_state() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::default();
    let mut outage = record(801, "Billing exports delayed", "minor", epoch(), &[5]);
    add_update(&mut outage, Some(1), "investigating", "Delayed.", epoch());
    page.incidents.push(outage);
    page.degraded = vec![(5, "minor")];
    page.publish(&server);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}{SUMMARY}\"\nplatform = \"statuspal\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("spal"),
        receiver.url()
    ));
    assert!(run_once(&config).await.status.success());
    // Open at the first poll: announced once.
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    server.set_fault("spal", SUMMARY, Some(Fault::Html200));
    let out = run_once(&config).await;
    assert_no_panic(&out);
    let err = stderr(&out);
    assert!(
        err.contains("summary") && err.contains("HTML"),
        "names the document and the cause: {err}"
    );
    server.set_fault("spal", SUMMARY, None);
    assert!(run_once(&config).await.status.success());
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created"],
        "nothing lost, nothing repeated"
    );
}
