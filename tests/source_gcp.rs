//! Google Cloud's `incidents.json` through `statusrelay run --once`: the whole history as one
//! array, updates newest first without ids, `end` absent while ongoing.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn incident(
    id: &str,
    title: &str,
    begin: DateTime<Utc>,
    updates: &[(DateTime<Utc>, &str, &str)],
    end: Option<DateTime<Utc>>,
) -> Value {
    let newest_first: Vec<Value> = updates
        .iter()
        .rev()
        .map(|(at, status, text)| {
            json!({"created": ts(*at), "modified": ts(*at), "when": ts(*at), "text": text, "status": status,
                   "affected_locations": [{"title": "Iowa (us-central1)", "id": "us-central1"}]})
        })
        .collect();
    let mut value = json!({
        "id": id, "number": "1234567890123456789", "begin": ts(begin), "created": ts(begin),
        "modified": ts(updates.last().unwrap().0), "external_desc": title,
        "updates": newest_first, "most_recent_update": newest_first[0],
        "status_impact": "SERVICE_DISRUPTION", "severity": "medium",
        "service_key": "oW4vJ7VNqyxTWNzSHopX", "service_name": "Cloud Run",
        "affected_products": [{"title": "Cloud Run", "id": "9D7d2iNBQWN24zc1VamE"}],
        "uri": format!("incidents/{id}"),
        "currently_affected_locations": [], "previously_affected_locations": [{"title": "Iowa (us-central1)", "id": "us-central1"}]
    });
    if let Some(end) = end {
        value["end"] = json!(ts(end));
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_incident_lifecycle_and_detection() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut all: Vec<Value> = (0..40)
        .map(|n| {
            let begin = epoch() - Duration::days(5 + n * 6);
            incident(&format!("hist{n:016}"), "Elevated error rates for Cloud Run", begin,
                &[(begin, "SERVICE_DISRUPTION", "**Summary:** We are investigating elevated errors.\n**Description:** Mitigation work is under way."),
                  (begin + Duration::hours(2), "AVAILABLE", "The issue with Cloud Run has been resolved for all affected users as of Monday, 2026-11-02 08:00 US/Pacific.")],
                Some(begin + Duration::hours(2)))
        })
        .collect();
    server.publish_document(
        "gcp",
        "/incidents.json",
        Value::Array(all.clone()).to_string(),
    );
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"gcp\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("gcp"),
        receiver.url()
    ));
    // No `platform`: detected (Statuspage, Slack and Instatus documents are not there).
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    let t = epoch();
    let mut updates = vec![(
        t,
        "SERVICE_DISRUPTION",
        "We are investigating elevated latency in us-central1.",
    )];
    all.insert(
        0,
        incident(
            "kQ3nR7dF2xWcV9bYt1Zm",
            "Cloud Run deployments failing",
            t,
            &updates,
            None,
        ),
    );
    server.publish_document(
        "gcp",
        "/incidents.json",
        Value::Array(all.clone()).to_string(),
    );
    run_once(&config).await;
    updates.push((
        t + Duration::minutes(30),
        "SERVICE_DISRUPTION",
        "Mitigation is in progress.",
    ));
    all[0] = incident(
        "kQ3nR7dF2xWcV9bYt1Zm",
        "Cloud Run deployments failing",
        t,
        &updates,
        None,
    );
    server.publish_document(
        "gcp",
        "/incidents.json",
        Value::Array(all.clone()).to_string(),
    );
    run_once(&config).await;
    updates.push((
        t + Duration::minutes(75),
        "AVAILABLE",
        "The issue has been resolved for all affected projects.",
    ));
    all[0] = incident(
        "kQ3nR7dF2xWcV9bYt1Zm",
        "Cloud Run deployments failing",
        t,
        &updates,
        Some(t + Duration::minutes(75)),
    );
    server.publish_document(
        "gcp",
        "/incidents.json",
        Value::Array(all.clone()).to_string(),
    );
    run_once(&config).await;

    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.resolved"]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(created["data"]["incident"]["impact"], "major");
    assert_eq!(
        created["data"]["incident"]["components"][0]["name"],
        "Cloud Run"
    );
    assert_eq!(
        created["data"]["incident"]["url"],
        format!("{}/incidents/kQ3nR7dF2xWcV9bYt1Zm", server.url("gcp"))
    );
    let resolved = receiver.delivered()[2].json();
    assert_eq!(
        resolved["data"]["update"]["body"],
        "The issue has been resolved for all affected projects."
    );

    let out = statusrelay(&["check", &server.url("gcp"), "--allow-private"]).await;
    assert!(
        stdout(&out).starts_with("platform: gcp\nGoogle Cloud ("),
        "{}",
        stdout(&out)
    );
}
