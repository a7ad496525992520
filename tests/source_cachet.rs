//! Cachet (API v1) through `statusrelay run --once`: paginated envelopes, integer statuses,
//! zone-less timestamps, per-incident updates, string-or-number fields.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

fn cachet_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn envelope(data: Vec<Value>) -> String {
    json!({
        "meta": {"pagination": {"total": data.len(), "count": data.len(), "per_page": "50", "current_page": 1, "total_pages": 1,
                 "links": {"next_page": null, "previous_page": null}}},
        "data": data,
    })
    .to_string()
}

struct Cachet {
    components: Vec<(u64, &'static str, u8)>,
    incidents: Vec<Value>,
    updates: Vec<(u64, Vec<Value>)>,
}

impl Cachet {
    fn publish(&self, server: &StatusServer) {
        let components = self
            .components
            .iter()
            .map(|(id, name, status)| {
                let status_name = ["", "Operational", "Performance Issues", "Partial Outage", "Major Outage"][*status as usize];
                json!({"id": id, "name": name, "description": "", "link": "", "status": status,
                    "order": id, "group_id": 1, "enabled": true, "created_at": "2024-03-01 10:00:00",
                    "updated_at": "2026-11-19 10:00:00", "deleted_at": null, "status_name": status_name, "tags": {}})
            })
            .collect();
        server.publish_document("cachet", "/api/v1/components", envelope(components));
        let mut newest_first = self.incidents.clone();
        newest_first.sort_by_key(|i| std::cmp::Reverse(i["id"].as_u64().unwrap()));
        server.publish_document("cachet", "/api/v1/incidents", envelope(newest_first));
        for (id, updates) in &self.updates {
            server.publish_document(
                "cachet",
                &format!("/api/v1/incidents/{id}/updates"),
                envelope(updates.clone()),
            );
        }
    }

    fn incident(
        &mut self,
        id: u64,
        component: u64,
        name: &str,
        status: u8,
        message: &str,
        (created, updated): (DateTime<Utc>, DateTime<Utc>),
    ) {
        let value = json!({"id": id, "component_id": component, "name": name, "status": status, "visible": 1,
            "stickied": false, "message": message, "scheduled_at": cachet_time(created), "created_at": cachet_time(created),
            "updated_at": cachet_time(updated), "deleted_at": null, "human_status": ""});
        match self.incidents.iter_mut().find(|i| i["id"] == id) {
            Some(existing) => *existing = value,
            None => self.incidents.push(value),
        }
        if !self.updates.iter().any(|(i, _)| *i == id) {
            self.updates.push((id, Vec::new()));
        }
    }

    fn update(&mut self, incident: u64, id: u64, status: u8, message: &str, at: DateTime<Utc>) {
        let list = &mut self
            .updates
            .iter_mut()
            .find(|(i, _)| *i == incident)
            .unwrap()
            .1;
        list.push(json!({"id": id.to_string(), "incident_id": incident, "status": status, "message": message, "user_id": 1,
            "created_at": cachet_time(at), "updated_at": cachet_time(at), "human_status": "", "permalink": ""}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cachet_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Cachet {
        components: vec![
            (1, "Website", 1),
            (2, "API", 1),
            (3, "Git", 1),
            (4, "CI runners", 1),
            (5, "Registry", 1),
            (6, "Email", 1),
        ],
        incidents: Vec::new(),
        updates: Vec::new(),
    };
    for n in 0..10u64 {
        let at = epoch() - Duration::days(4 + n as i64 * 5);
        page.incident(
            100 + n,
            1 + n % 6,
            "Elevated error rates",
            4,
            "We are looking into it.",
            (at, at + Duration::hours(1)),
        );
        page.update(100 + n, 1000 + n, 4, "Resolved.", at + Duration::hours(1));
    }
    page.publish(&server);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"forge\"\nname = \"Forge\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("cachet"),
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
    page.components[2].2 = 3;
    page.incident(
        200,
        3,
        "Git pushes failing",
        1,
        "Pushes over SSH fail for some users.",
        (t, t),
    );
    page.publish(&server);
    run_once(&config).await;
    page.update(
        200,
        2000,
        2,
        "A storage node is degraded; failing over.",
        t + Duration::minutes(10),
    );
    page.incident(
        200,
        3,
        "Git pushes failing",
        2,
        "Pushes over SSH fail for some users.",
        (t, t + Duration::minutes(10)),
    );
    page.publish(&server);
    run_once(&config).await;
    page.components[2].2 = 1;
    page.update(
        200,
        2001,
        4,
        "Pushes work again.",
        t + Duration::minutes(35),
    );
    page.incident(
        200,
        3,
        "Git pushes failing",
        4,
        "Pushes over SSH fail for some users.",
        (t, t + Duration::minutes(35)),
    );
    page.publish(&server);
    run_once(&config).await;
    page.incident(
        201,
        5,
        "Registry storage migration",
        0,
        "The registry will be read-only for an hour.",
        (t + Duration::days(2), t + Duration::minutes(40)),
    );
    page.publish(&server);
    run_once(&config).await;

    assert_eq!(
        receiver.delivered_types(),
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
    assert_eq!(
        created["data"]["incident"]["impact"], "major",
        "from the component's partial outage"
    );
    assert_eq!(created["data"]["incident"]["components"][0]["name"], "Git");
    assert_eq!(
        created["data"]["update"]["body"],
        "Pushes over SSH fail for some users."
    );
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "zone-less time read as UTC"
    );
    let updated = receiver.delivered()[2].json();
    assert_eq!(updated["data"]["update"]["id"], "2000");
    assert_eq!(updated["data"]["update"]["status"], "identified");

    // Detected once, remembered: a later poll asks only Cachet's own documents.
    server.take_hits();
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let hits = server.take_hits();
    assert!(
        !hits.is_empty() && hits.keys().all(|path| path.starts_with("/cachet/api/v1/")),
        "no detection probes after the first poll: {hits:?}"
    );

    let out = statusrelay(&["check", &server.url("cachet"), "--allow-private"]).await;
    assert!(
        stdout(&out).starts_with("platform: cachet\n"),
        "{}",
        stdout(&out)
    );
}
