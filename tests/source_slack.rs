//! Slack's status API through `statusrelay run --once`: a realistic history (Pacific offsets,
//! `\r\n` in notes, integer and string ids), an incident from first note to resolution, a
//! maintenance, conditional requests, and detection without `platform`.

mod support;

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

const CURRENT: &str = "/api/v2.0.0/current";
const HISTORY: &str = "/api/v2.0.0/history";

fn pacific(at: chrono::DateTime<chrono::Utc>) -> String {
    let offset = FixedOffset::west_opt(8 * 3600).unwrap();
    let local: DateTime<FixedOffset> = offset.from_utc_datetime(&at.naive_utc());
    local.to_rfc3339()
}

const SERVICES: [&str; 6] = [
    "Messaging",
    "Login/SSO",
    "Files",
    "Notifications",
    "Search",
    "Apps/Integrations/APIs",
];

/// Slack's two documents, kept in step.
struct SlackPage {
    incidents: Vec<Value>,
}

impl SlackPage {
    fn realistic() -> SlackPage {
        let mut incidents = Vec::new();
        for n in 0..20 {
            let start = epoch() - Duration::days(3 + n * 4);
            let kind = ["incident", "outage", "notice"][n as usize % 3];
            // The docs show string ids; Slack's SDK models them as integers.
            let id = if n % 2 == 0 {
                json!(2900 - n)
            } else {
                json!((2900 - n).to_string())
            };
            incidents.push(json!({
                "id": id,
                "date_created": pacific(start),
                "date_updated": pacific(start + Duration::hours(2)),
                "title": format!("Some users may have trouble with {}", SERVICES[n as usize % 6]),
                "type": kind,
                "status": "resolved",
                "url": format!("https://slack-status.com/2026-11/{:x}", 0xabc00 + n),
                "services": [SERVICES[n as usize % 6]],
                "notes": [
                    {"date_created": pacific(start + Duration::hours(2)),
                     "body": "We've resolved the issue and all affected users should now be able to work normally.\r\n\r\nIf you're still having trouble, please reach out to us at feedback@slack.com."},
                    {"date_created": pacific(start),
                     "body": "We're investigating reports of issues. We'll share an update as soon as we have more information."}
                ]
            }));
        }
        SlackPage { incidents }
    }

    fn publish(&self, server: &StatusServer, slug: &str) {
        let active: Vec<&Value> = self
            .incidents
            .iter()
            .filter(|i| i["status"] == "active")
            .collect();
        let latest = self
            .incidents
            .iter()
            .filter_map(|i| i["date_updated"].as_str())
            .max()
            .unwrap();
        let current = json!({
            "status": if active.is_empty() { "ok" } else { "active" },
            "date_created": latest,
            "date_updated": latest,
            "active_incidents": active,
        });
        server.publish_document(slug, CURRENT, current.to_string());
        server.publish_document(
            slug,
            HISTORY,
            Value::Array(self.incidents.clone()).to_string(),
        );
    }

    fn open(
        &mut self,
        id: i64,
        kind: &str,
        title: &str,
        services: &[&str],
        body: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        self.incidents.insert(
            0,
            json!({
                "id": id, "date_created": pacific(at), "date_updated": pacific(at),
                "title": title, "type": kind, "status": "active",
                "url": format!("https://slack-status.com/2026-11/{id:x}"),
                "services": services, "notes": [{"date_created": pacific(at), "body": body}]
            }),
        );
    }

    fn note(&mut self, id: i64, body: &str, at: chrono::DateTime<chrono::Utc>, status: &str) {
        let incident = self
            .incidents
            .iter_mut()
            .find(|i| i["id"] == json!(id))
            .unwrap();
        incident["notes"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"date_created": pacific(at), "body": body}));
        incident["date_updated"] = json!(pacific(at));
        incident["status"] = json!(status);
    }
}

fn config(work: &Workspace, url: &str, hook: &str, platform: &str) -> std::path::PathBuf {
    work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"slack\"\nurl = \"{url}\"\n{platform}\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{hook}\"\nmaintenance = true\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_incident_and_maintenance_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = SlackPage::realistic();
    page.publish(&server, "slack");
    let config = config(
        &work,
        &server.url("slack"),
        &receiver.url(),
        "platform = \"slack\"\n",
    );

    // Baseline: twenty resolved incidents of history are not news.
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.received().is_empty(),
        "{:?}",
        receiver.delivered_types()
    );

    // Nothing changed: both documents answer 304.
    let (_, not_modified) = server.counts();
    run_once(&config).await;
    assert_eq!(server.counts().1 - not_modified, 2);
    assert!(receiver.received().is_empty());

    let t = epoch();
    page.open(
        3001,
        "outage",
        "Messages failing to send",
        &["Messaging", "Notifications"],
        "We're investigating reports of messages failing to send.",
        t,
    );
    page.publish(&server, "slack");
    run_once(&config).await;
    page.note(3001, "We've identified the cause and are rolling out a fix.\r\nMessages should start sending shortly.", t + Duration::minutes(20), "active");
    page.publish(&server, "slack");
    run_once(&config).await;
    page.note(
        3001,
        "Messages are sending normally again.",
        t + Duration::minutes(45),
        "resolved",
    );
    page.publish(&server, "slack");
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.resolved"]
    );
    let created = receiver.delivered()[0].json();
    let incident = &created["data"]["incident"];
    assert_eq!(incident["id"], "3001");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["components"][0]["name"], "Messaging");
    assert_eq!(incident["components"][0]["status"], "major_outage");
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "Pacific offset converted to UTC"
    );
    let resolved = receiver.delivered()[2].json();
    assert_eq!(
        resolved["data"]["update"]["body"],
        "Messages are sending normally again."
    );
    assert_eq!(resolved["data"]["incident"]["status"], "resolved");

    // Maintenance: under way, then over.
    receiver.clear();
    page.open(
        3002,
        "maintenance",
        "Scheduled maintenance for Search",
        &["Search"],
        "We're performing scheduled maintenance on search.",
        t + Duration::hours(3),
    );
    page.publish(&server, "slack");
    run_once(&config).await;
    page.note(
        3002,
        "Maintenance is complete.",
        t + Duration::hours(4),
        "resolved",
    );
    page.publish(&server, "slack");
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        ["maintenance.started", "maintenance.completed"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_page_is_detected_without_platform() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = SlackPage::realistic();
    page.open(
        3003,
        "incident",
        "Trouble loading files",
        &["Files"],
        "Investigating.",
        epoch(),
    );
    page.publish(&server, "slack");

    let out = statusrelay(&["check", &server.url("slack"), "--allow-private"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("platform: slack\nSlack ("), "{text}");
    assert!(
        text.contains("Open incidents: 1\n  [investigating, impact minor] Trouble loading files"),
        "{text}"
    );

    let config = config(&work, &server.url("slack"), &receiver.url(), "");
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created"],
        "the open incident at the baseline"
    );
}
