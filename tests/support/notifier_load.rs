//! Realistic DynamoDB stream batches for the notifier, and the notifier's pure pipeline run
//! over them: images decoded and diffed into events (`record_events`), routed, and every
//! payload built (the event JSON for webhooks and SNS, a Slack body, a PagerDuty body). No
//! network: the benchmark measures what the Lambda does per record besides waiting.
//!
//! The mix, per 20 records: 12 incidents gaining an update (MODIFY, 4–7 updates of ~400 bytes
//! of HTML each), 5 components changing status (MODIFY), 2 new incidents (INSERT) and 1 baseline
//! item of history (INSERT, no event).

use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use statusrelay_core::aws::notifier::{RecordEvents, record_events};
use statusrelay_core::channels::{pagerduty, slack};
use statusrelay_core::config::RouteConfig;
use statusrelay_core::model::{Component, Incident, Provider, Snapshot};
use statusrelay_core::render::Message;
use statusrelay_core::routing::destinations_for;
use statusrelay_core::stream::{StateItem, state_items};

/// The routes the benchmark and its small mode route through: everything to a webhook, major
/// incidents to Slack.
pub const ROUTES: &str = "[[routes]]\nname = \"everything\"\nchannel = \"webhook\"\nurl = \"https://hooks.example.com/statusrelay\"\n\n[[routes]]\nname = \"oncall\"\nchannel = \"slack\"\nurl = \"https://hooks.slack.com/services/T000/B000/XXXX\"\nmin_impact = \"major\"\n";

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn provider(n: usize) -> Provider {
    Provider {
        id: format!("vendor-{n}"),
        name: format!("Vendor {n}"),
        url: format!("https://status.vendor-{n}.example"),
    }
}

fn incident(n: usize, updates: usize) -> Incident {
    let statuses = [
        "investigating",
        "identified",
        "monitoring",
        "monitoring",
        "monitoring",
        "monitoring",
        "resolved",
    ];
    let body = "<p>We are seeing <b>elevated error rates</b> for API requests in us-east-1.<br />\
                Requests to the REST and GraphQL APIs may fail with 502 or 503 responses; webhooks are \
                delayed by up to 15 minutes. Our engineers have rolled back the most recent \
                configuration change and are watching error rates recover.</p>";
    serde_json::from_value(json!({
        "id": format!("inc{n:08}"), "name": format!("Elevated API error rates ({n})"),
        "status": statuses[updates - 1], "impact": "major",
        "url": format!("https://stspg.io/inc{n:08}"),
        "components": [{"id": "cmp00000001", "name": "API Requests", "status": "partial_outage"},
                       {"id": "cmp00000002", "name": "Webhooks", "status": "degraded_performance"}],
        "created_at": at(0), "updated_at": at(10 * updates as i64), "resolved_at": null,
        "scheduled_for": null, "scheduled_until": null,
        "updates": (0..updates).map(|u| json!({"id": format!("inc{n:08}u{u}"), "status": statuses[u],
            "body": body, "created_at": at(10 * u as i64)})).collect::<Vec<_>>()
    }))
    .unwrap()
}

fn component(status: &str) -> Component {
    serde_json::from_value(
        json!({"id": "cmp00000001", "name": "API Requests", "status": status,
        "is_group": false, "group_id": "grp00000001", "position": 3, "updated_at": at(0)}),
    )
    .unwrap()
}

fn item(provider: &Provider, snapshot: Snapshot, baseline: bool) -> StateItem {
    let items = state_items(
        provider,
        &snapshot,
        baseline,
        at(-60 * 24),
        at(60),
        chrono::Duration::days(7),
    );
    items.into_iter().next().unwrap()
}

fn image(item: Option<&StateItem>) -> Value {
    item.map_or(json!({}), |item| {
        let dynamo: serde_dynamo::Item = serde_dynamo::to_item(item).unwrap();
        serde_json::to_value(dynamo).unwrap()
    })
}

/// A Lambda event of `records` stream records, as the Lambda service delivers it (JSON).
pub fn stream_batch(records: usize) -> String {
    let records: Vec<Value> = (0..records)
        .map(|n| {
            let p = provider(n % 500);
            let one = |incident: Option<Incident>, component: Option<Component>| Snapshot {
                incidents: incident.into_iter().collect(),
                components: component.into_iter().collect(),
                ..Snapshot::default()
            };
            let (old, new) = match n % 20 {
                0..12 => {
                    let updates = 4 + n % 3;
                    (
                        Some(item(&p, one(Some(incident(n, updates)), None), false)),
                        item(&p, one(Some(incident(n, updates + 1)), None), false),
                    )
                }
                12..17 => (
                    Some(item(&p, one(None, Some(component("operational"))), false)),
                    item(&p, one(None, Some(component("partial_outage"))), false),
                ),
                17..19 => (None, item(&p, one(Some(incident(n, 1)), None), false)),
                _ => (None, item(&p, one(Some(incident(n, 7)), None), true)),
            };
            json!({
                "eventID": format!("{n:032x}"),
                "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": at(60).timestamp(),
                    "Keys": {"pk": {"S": new.pk.clone()}, "sk": {"S": new.sk.clone()}},
                    "NewImage": image(Some(&new)),
                    "OldImage": image(old.as_ref()),
                    "SequenceNumber": format!("{:021}", n + 1),
                    "SizeBytes": 4096,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/statusrelay/stream/2026-11-29T00:00:00.000"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Throughput {
    pub records: usize,
    pub events: usize,
    /// Destination payloads built (event JSON, Slack, PagerDuty).
    pub payloads: usize,
    pub payload_bytes: usize,
    /// Decoding the Lambda event JSON (the runtime's part).
    pub decode: Duration,
    /// Records → events → routes → payloads (the handler's part).
    pub process: Duration,
    pub process_cpu: Duration,
    /// Wall time per stage of `process`: decode + diff, routing, message (HTML → text), event
    /// JSON, Slack body, PagerDuty body.
    pub stages: [Duration; 6],
}

pub const STAGES: [&str; 6] = [
    "decode + diff",
    "routing",
    "message",
    "event JSON",
    "Slack body",
    "PagerDuty body",
];

fn thread_cpu() -> Duration {
    // SAFETY: zeroed rusage is valid; getrusage fills it for the calling thread.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs the notifier's pure pipeline over one batch on the calling thread.
pub fn process_batch(batch: &str, routes: &[RouteConfig]) -> Throughput {
    let started = Instant::now();
    let mut event: StreamEvent = serde_json::from_str(batch).unwrap();
    let decode = started.elapsed();
    let (started, cpu) = (Instant::now(), thread_cpu());
    let mut out = Throughput {
        records: event.records.len(),
        decode,
        ..Throughput::default()
    };
    let mut clock = Instant::now();
    let mut lap = |stage: usize, stages: &mut [Duration; 6]| {
        let now = Instant::now();
        stages[stage] += now - clock;
        clock = now;
    };
    for record in &mut event.records {
        let outcome = record_events(record);
        lap(0, &mut out.stages);
        let RecordEvents::Events(events) = outcome else {
            continue;
        };
        for event in &events {
            out.events += 1;
            let wanted = destinations_for(routes, event, &Default::default());
            lap(1, &mut out.stages);
            if wanted.is_empty() {
                continue;
            }
            let message = Message::from_event(event);
            lap(2, &mut out.stages);
            let event_json = serde_json::to_vec(event).unwrap();
            lap(3, &mut out.stages);
            let slack = serde_json::to_vec(&slack::build_body(&message)).unwrap();
            lap(4, &mut out.stages);
            let pagerduty = serde_json::to_vec(&pagerduty::build_body(
                "R0UTINGKEY0123456789ABCDEFGHIJKL",
                pagerduty::Action::Trigger,
                &message,
            ))
            .unwrap();
            lap(5, &mut out.stages);
            let payloads = [event_json, slack, pagerduty];
            out.payloads += payloads.len();
            out.payload_bytes += payloads.iter().map(Vec::len).sum::<usize>();
        }
    }
    out.process = started.elapsed();
    out.process_cpu = thread_cpu() - cpu;
    out
}
