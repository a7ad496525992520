//! The sample events in events/ (for `sam local invoke -e`): generated from the real item
//! code, checked to be current, and each one run through the notifier binary over the Lambda
//! Runtime API against moto.
//!
//! Regenerate after a change to the item format:
//! `cargo test --test sample_events -- --ignored regenerate_sample_events`

mod support;

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use statusrelay_core::model::{Component, Incident, IncidentUpdate, Provider, Snapshot};
use statusrelay_core::stream::{StateItem, state_items};
use support::lambda::{Function, RuntimeApi};
use support::moto::Moto;
use support::*;

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, hour, minute, 0).unwrap()
}

fn provider() -> Provider {
    Provider {
        id: "github".into(),
        name: "GitHub".into(),
        url: "https://www.githubstatus.com".into(),
    }
}

fn update(id: &str, status: &str, body: &str, when: DateTime<Utc>) -> IncidentUpdate {
    IncidentUpdate {
        id: id.into(),
        status: status.into(),
        body: body.into(),
        created_at: Some(when),
        alias: None,
    }
}

fn record(id: &str, name: &str, impact: &str, updates: Vec<IncidentUpdate>) -> Incident {
    Incident {
        id: id.into(),
        name: name.into(),
        status: updates.last().unwrap().status.clone(),
        impact: impact.into(),
        url: Some(format!("https://www.githubstatus.com/incidents/{id}")),
        components: vec![statusrelay_core::model::AffectedComponent {
            id: "8l4ygp009s5s".into(),
            name: "Git Operations".into(),
            status: "major_outage".into(),
        }],
        created_at: updates.first().and_then(|u| u.created_at),
        updated_at: updates.last().and_then(|u| u.created_at),
        resolved_at: updates
            .iter()
            .find(|u| u.status.is_finished())
            .and_then(|u| u.created_at),
        scheduled_for: None,
        scheduled_until: None,
        updates,
    }
}

fn component(status: &str) -> Component {
    Component {
        id: "8l4ygp009s5s".into(),
        name: "Git Operations".into(),
        status: status.into(),
        is_group: false,
        group_id: Some("q9v8d5gk3c1x".into()),
        position: Some(1),
        updated_at: Some(at(8, 5)),
    }
}

/// The one item a snapshot holding a single record produces.
fn item(snapshot: Snapshot) -> StateItem {
    let baseline_at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    state_items(
        &provider(),
        &snapshot,
        false,
        baseline_at,
        at(9, 0),
        Duration::days(30),
    )
    .remove(0)
}

fn image(item: &StateItem) -> Value {
    let typed: serde_dynamo::Item = serde_dynamo::to_item(item).unwrap();
    serde_json::to_value(typed).unwrap()
}

fn stream_event(
    name: &str,
    sequence: &str,
    old: Option<&StateItem>,
    new: Option<&StateItem>,
    when: DateTime<Utc>,
) -> Value {
    let key_of = new.or(old).unwrap();
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": when.timestamp(),
        "Keys": {"pk": {"S": key_of.pk}, "sk": {"S": key_of.sk}},
        "SequenceNumber": sequence,
        "SizeBytes": 2048,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(new) = new {
        dynamodb["NewImage"] = image(new);
    }
    if let Some(old) = old {
        dynamodb["OldImage"] = image(old);
    }
    let mut record = json!({
        "eventID": format!("c4ca4238a0b923820dcc509a6f75849{}", &sequence[sequence.len() - 1..]),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/statusrelay-StateTable-1ABCDEF/stream/2026-11-01T00:00:00.000"
    });
    if name == "REMOVE" {
        record["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    json!({ "Records": [record] })
}

/// (file name, event, event types the notifier must deliver for it)
fn samples() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let opened = record(
        "x7bq0n2v9k3m",
        "Git operations failing",
        "major",
        vec![update(
            "4hf8d0bsn1lm",
            "investigating",
            "We are investigating failures of git push over HTTPS.",
            at(8, 5),
        )],
    );
    let resolved = record(
        "x7bq0n2v9k3m",
        "Git operations failing",
        "major",
        vec![
            update(
                "4hf8d0bsn1lm",
                "investigating",
                "We are investigating failures of git push over HTTPS.",
                at(8, 5),
            ),
            update(
                "kq1m8b0c2d3e",
                "resolved",
                "This incident has been resolved.<br />Thank you for your patience.",
                at(8, 40),
            ),
        ],
    );
    let incidents = |i: &Incident| Snapshot {
        incidents: vec![i.clone()],
        ..Snapshot::default()
    };
    let mut scheduled = record(
        "mnt5r2k8w1q0",
        "Database maintenance",
        "maintenance",
        vec![update(
            "s1a2b3c4d5e6",
            "scheduled",
            "We will be upgrading our primary database cluster.\r\nGit operations may be slower.",
            at(7, 0),
        )],
    );
    scheduled.scheduled_for = Some(at(10, 0));
    scheduled.scheduled_until = Some(at(12, 0));
    let mut started = scheduled.clone();
    started.updates.push(update(
        "s7f8g9h0j1k2",
        "in_progress",
        "Scheduled maintenance is currently in progress.",
        at(10, 0),
    ));
    started.status = "in_progress".into();
    let maintenances = |m: &Incident| Snapshot {
        maintenances: vec![m.clone()],
        ..Snapshot::default()
    };
    let components = |status: &str| Snapshot {
        components: vec![component(status)],
        ..Snapshot::default()
    };
    let mut resolved_old = item(incidents(&resolved));
    resolved_old.expires_at = Some((at(9, 0) + Duration::days(30)).timestamp());

    vec![
        (
            "dynamodb-incident-insert.json",
            stream_event(
                "INSERT",
                "100000000000000000001",
                None,
                Some(&item(incidents(&opened))),
                at(8, 6),
            ),
            vec!["incident.created"],
        ),
        (
            "dynamodb-incident-update.json",
            stream_event(
                "MODIFY",
                "100000000000000000002",
                Some(&item(incidents(&opened))),
                Some(&item(incidents(&resolved))),
                at(8, 41),
            ),
            vec!["incident.resolved"],
        ),
        (
            "dynamodb-maintenance.json",
            stream_event(
                "MODIFY",
                "100000000000000000003",
                Some(&item(maintenances(&scheduled))),
                Some(&item(maintenances(&started))),
                at(10, 1),
            ),
            vec!["maintenance.started"],
        ),
        (
            "dynamodb-component-change.json",
            stream_event(
                "MODIFY",
                "100000000000000000004",
                Some(&item(components("operational"))),
                Some(&item(components("major_outage"))),
                at(8, 6),
            ),
            vec!["component.status_changed"],
        ),
        (
            "dynamodb-ttl-removal.json",
            stream_event(
                "REMOVE",
                "100000000000000000005",
                Some(&resolved_old),
                None,
                at(9, 0) + Duration::days(31),
            ),
            vec![],
        ),
    ]
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

#[test]
#[ignore = "writes events/; run by hand after changing the item format"]
fn regenerate_sample_events() {
    for (name, event, _) in samples() {
        std::fs::write(
            events_dir().join(name),
            serde_json::to_string_pretty(&event).unwrap() + "\n",
        )
        .unwrap();
    }
}

#[test]
fn sample_events_match_the_item_format() {
    for (name, event, _) in samples() {
        let path = events_dir().join(name);
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            on_disk,
            event,
            "{} is stale: regenerate it (see this file's header)",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sample_event_drives_the_notifier() {
    let moto = Moto::start().await;
    let sdk = moto.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    support::moto::create_state_table(&ddb, "statusrelay", false).await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        receiver.url()
    ));
    let mut env = moto.env();
    env.push(("STATUSRELAY_CONFIG".into(), config.display().to_string()));
    env.push(("TABLE_NAME".into(), "statusrelay".into()));
    let api = RuntimeApi::start().await;
    let function = Function::spawn("statusrelay-notifier", &api, &env);

    for (name, _, expected) in samples() {
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(events_dir().join(name)).unwrap())
                .unwrap();
        receiver.clear();
        let response = api
            .invoke(&event)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response["batchItemFailures"], json!([]), "{name}");
        assert_eq!(receiver.delivered_types(), expected, "{name}");
        // Replayed: the delivery log keeps it from going out twice.
        receiver.clear();
        api.invoke(&event).await.unwrap();
        assert!(receiver.received().is_empty(), "{name} was delivered twice");
    }
    let init = api.first_next().unwrap() - function.spawned_at;
    println!("notifier init (process start to first /next): {init:?}");
}
