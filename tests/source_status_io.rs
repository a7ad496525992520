//! Status.io's public status API through `statusrelay run --once`: numeric status codes,
//! containers, active incidents with messages, upcoming and active maintenance.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::fixture::epoch;
use support::*;

const PAGE: &str = "/1.0/status/5a5e2a7d1c4f6e0006a1b2c3";

fn document(
    codes: [u32; 3],
    incidents: Vec<Value>,
    active: Vec<Value>,
    upcoming: Vec<Value>,
) -> String {
    let names = ["Website", "API", "Git"];
    let status = (0..3)
        .map(|i| json!({"id": format!("c{i}"), "name": names[i], "status": "", "status_code": codes[i],
            "containers": [{"id": format!("k{i}a"), "name": "US East", "updated": "2026-11-20T08:00:00.000Z", "status": "", "status_code": codes[i]},
                           {"id": format!("k{i}b"), "name": "EU West", "updated": "2026-11-20T08:00:00.000Z", "status": "", "status_code": 100}]}))
        .collect::<Vec<_>>();
    let worst = codes.iter().max().unwrap();
    json!({"result": {
        "status_overall": {"updated": "2026-11-20T08:00:00.000Z", "status": "Operational", "status_code": worst},
        "status": status,
        "incidents": incidents,
        "maintenance": {"active": active, "upcoming": upcoming}
    }})
    .to_string()
}

fn incident(messages: &[(&str, &str, &str)]) -> Value {
    json!({"_id": "6731f0c2e4b0a1000a9c8d7e", "name": "Git operations degraded",
           "datetime_open": "2026-11-20T08:00:00.000Z",
           "components": [{"_id": "c2", "name": "Git"}],
           "messages": messages.iter().map(|(at, state, details)| json!({"datetime": at, "state": state, "details": details})).collect::<Vec<_>>()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_io_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let publish = |body: String| server.publish_document("sio", PAGE, body);
    publish(document([100, 100, 100], vec![], vec![], vec![]));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"forge\"\nname = \"Forge\"\nurl = \"{}{PAGE}\"\nplatform = \"statusio\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\nevents = [\"incident.*\", \"maintenance.*\"]\n",
        server.url("sio"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    let first = (
        "2026-11-20T08:00:00.000Z",
        "Investigating",
        "Git pushes are slow.",
    );
    publish(document(
        [100, 100, 400],
        vec![incident(&[first])],
        vec![],
        vec![],
    ));
    run_once(&config).await;
    let second = (
        "2026-11-20T08:20:00.000Z",
        "Identified",
        "A storage array is degraded.",
    );
    publish(document(
        [100, 100, 400],
        vec![incident(&[first, second])],
        vec![],
        vec![],
    ));
    run_once(&config).await;
    publish(document([100, 100, 100], vec![], vec![], vec![]));
    run_once(&config).await;
    let start = Utc::now() + Duration::days(3);
    let maintenance = json!({"_id": "6731f0c2e4b0a1000a9c8e00", "name": "Network upgrade",
        "datetime_planned_start": start.to_rfc3339(), "datetime_planned_end": (start + Duration::hours(2)).to_rfc3339(),
        "components": [{"_id": "c1", "name": "API"}],
        "messages": [{"datetime": epoch().to_rfc3339(), "details": "We will upgrade the network."}]});
    publish(document([100, 100, 100], vec![], vec![], vec![maintenance]));
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
    assert_eq!(
        created["data"]["incident"]["impact"], "major",
        "400 partial disruption"
    );
    assert_eq!(
        created["data"]["incident"]["components"][0]["status"],
        "partial_outage"
    );
    let updated = receiver.delivered()[1].json();
    assert_eq!(updated["data"]["update"]["status"], "identified");
    assert_eq!(
        updated["data"]["update"]["body"],
        "A storage array is degraded."
    );

    // Detected without `platform`, as `statusrelay check` reports.
    let out = statusrelay(&[
        "check",
        &format!("{}{PAGE}", server.url("sio")),
        "--allow-private",
    ])
    .await;
    assert!(
        stdout(&out).starts_with("platform: statusio\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
