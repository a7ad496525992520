//! The dashboard function with 1,000 providers in the table (`DASHBOARD_LAMBDA_PROVIDERS`),
//! 5 % with an open incident, 2 % with a maintenance, and 3,000 recorded events: the release
//! binary through the Lambda Runtime API, the table on moto on loopback. Response times for
//! `/` with the board read (the version moved) and from a warm container's copy, the
//! provider page, the event API, the feed, the calendar and a 304 revalidation; response
//! sizes against the function URL's 6 MB.
//!
//! `cargo build --release -p statusrelay-dashboard && cargo bench --bench dashboard_lambda`

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{Duration as Span, Utc};
use serde_json::json;
use statusrelay_core::aws::board::{BoardItem, BoardSummary};
use statusrelay_core::aws::history::HistoryItem;
use statusrelay_core::aws::table::Table;
use statusrelay_core::event::Event;
use statusrelay_core::model::{Component, Incident, IncidentUpdate, Snapshot};
use support::function_url::{UrlResponse, request_event};
use support::lambda::{Function, RuntimeApi};
use support::moto::Moto;
use support::process::cpu_of;
use support::{Workspace, env_or};

const REQUESTS: usize = 30;
const EVENTS: usize = 3_000;

fn main() {
    let providers = env_or("DASHBOARD_LAMBDA_PROVIDERS", 1_000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let moto = Moto::start().await;
        let sdk = moto.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        support::moto::create_state_table(&ddb, "statusrelay", false).await;
        let table = Table::new(ddb.clone(), "statusrelay");
        let seeded = Instant::now();
        seed(&ddb, providers).await;
        table.record_cycle(0, 1, Utc::now()).await.unwrap();
        table.bump_version().await.unwrap();
        eprintln!("seeded {providers} providers and {EVENTS} events in {:.1} s", seeded.elapsed().as_secs_f64());

        let work = Workspace::new();
        let config: String = (0..providers)
            .map(|i| format!("[[providers]]\nid = \"p{i:05}\"\nurl = \"https://status.vendor{i}.example.com\"\ntags = [\"{}\"]\n\n", if i % 3 == 0 { "core" } else { "tools" }))
            .collect();
        let config = work.write_config(&config);
        let api = RuntimeApi::start().await;
        let mut env = support::moto::function_env(&moto.endpoint);
        env.extend(
            [
                ("STATUSRELAY_CONFIG", config.to_str().unwrap()),
                ("TABLE_NAME", "statusrelay"),
                ("DASHBOARD_AUTH", "aws_iam"),
                ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let function = Function::spawn("statusrelay-dashboard", &api, &env);
        let deadline = Instant::now() + Duration::from_secs(10);
        let init = loop {
            if let Some(first) = api.first_next() {
                break first - function.spawned_at;
            }
            assert!(Instant::now() < deadline, "{:?}", api.init_error());
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        println!(
            "{providers} providers in the table; dashboard init (process start to first /next, config of {providers} providers from a file): {:.1} ms",
            init.as_secs_f64() * 1000.0
        );
        println!();
        let pid = function.child.id().expect("the dashboard runs");
        println!("| request | p50 | p90 | function CPU per request | body | gzipped |");
        println!("|---|---|---|---|---|---|");
        let get = |target: &'static str, headers: Vec<(&'static str, String)>| {
            let api = &api;
            async move {
                let borrowed: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let started = Instant::now();
                let reply = api
                    .invoke(&request_event("GET", target, &borrowed))
                    .await
                    .unwrap();
                (started.elapsed(), UrlResponse::of(&reply))
            }
        };
        // The first request of a container reads everything; report it on its own.
        let (first, _) = get("/", vec![]).await;
        println!("| `/`, first request of the container | {:.1} ms | | | | |", ms(first));
        let cases: [(&str, &'static str, bool); 7] = [
            ("`/`, board read (the version moved)", "/", true),
            ("`/`, warm container's board", "/", false),
            ("`/providers/p00001`", "/providers/p00001", false),
            ("`/api/v1/providers`", "/api/v1/providers", false),
            ("`/api/v1/events` (100)", "/api/v1/events", false),
            ("`/feed.atom` (100)", "/feed.atom", false),
            ("`/maintenance.ics`", "/maintenance.ics", false),
        ];
        for (label, target, bump) in cases {
            let mut times = Vec::with_capacity(REQUESTS);
            let mut last = None;
            let cpu_before = cpu_of(pid);
            for _ in 0..REQUESTS {
                if bump {
                    table.bump_version().await.unwrap();
                }
                let (took, response) = get(target, vec![]).await;
                assert_eq!(response.status, 200, "{target}");
                times.push(took);
                last = Some(response);
            }
            let cpu = (cpu_of(pid) - cpu_before) / REQUESTS as u32;
            let response = last.unwrap();
            let (_, gzipped) = get(target, vec![("accept-encoding", "gzip".into())]).await;
            row(label, &mut times, cpu, response.body.len(), Some(gzipped.body.len()));
        }
        // A calendar app revalidating an unchanged calendar.
        let (_, calendar) = get("/maintenance.ics", vec![]).await;
        let tag = calendar.header("etag").unwrap().to_owned();
        let mut times = Vec::with_capacity(REQUESTS);
        let cpu_before = cpu_of(pid);
        for _ in 0..REQUESTS {
            let (took, response) = get("/maintenance.ics", vec![("if-none-match", tag.clone())]).await;
            assert_eq!(response.status, 304);
            times.push(took);
        }
        let cpu = (cpu_of(pid) - cpu_before) / REQUESTS as u32;
        row("`/maintenance.ics`, 304 revalidation", &mut times, cpu, 0, None);
        println!();
        println!("Against moto on loopback, which answers a Query of the 1,000 board summaries in about half a second (DynamoDB: tens of milliseconds); the function's own CPU is the column beside.");
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(label: &str, times: &mut [Duration], cpu: Duration, body: usize, gzipped: Option<usize>) {
    times.sort();
    let kib = |n: usize| format!("{:.0} KiB", n as f64 / 1024.0);
    println!(
        "| {label} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} |",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(cpu),
        if body > 0 { kib(body) } else { "—".into() },
        gzipped.map_or("—".into(), kib),
    );
}

/// Board summaries for every provider and the history, in batches of 25.
async fn seed(ddb: &aws_sdk_dynamodb::Client, providers: usize) {
    let now = Utc::now();
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
    for i in 0..providers {
        let id = format!("p{i:05}");
        let components = (0..20)
            .map(|c| Component {
                id: format!("c{c}"),
                name: format!("Component {c}"),
                status: if i % 20 == 0 && c == 0 {
                    "partial_outage"
                } else {
                    "operational"
                }
                .into(),
                is_group: false,
                group_id: None,
                position: Some(c),
                updated_at: None,
            })
            .collect();
        let mut snapshot = Snapshot {
            components,
            ..Snapshot::default()
        };
        if i % 20 == 0 {
            snapshot
                .incidents
                .push(incident(&id, "Elevated error rates", "investigating", now));
        }
        if i % 50 == 1 {
            let mut maintenance = incident(&id, "Scheduled database maintenance", "scheduled", now);
            maintenance.impact = "maintenance".into();
            maintenance.scheduled_for = Some(now + Span::days(2));
            maintenance.scheduled_until = Some(now + Span::days(2) + Span::hours(2));
            snapshot.maintenances.push(maintenance);
        }
        let summary = BoardSummary::of(&id, &format!("Vendor {i}"), &snapshot);
        items.push(serde_dynamo::to_item(BoardItem::of(&id, &summary, now)).unwrap());
    }
    for n in 0..EVENTS {
        let provider = format!("p{:05}", (n * 7) % providers);
        let at = now - Span::minutes((EVENTS - n) as i64 * 40);
        let event: Event = serde_json::from_value(json!({
            "type": "incident.updated",
            "id": format!("evt_{n:08}"),
            "timestamp": at,
            "data": {
                "provider": {"id": provider, "name": format!("Vendor {provider}"), "url": "https://status.example.com"},
                "incident": {"id": format!("inc{n}"), "name": "Elevated error rates on the API", "status": "monitoring", "impact": "minor", "url": "https://status.example.com/incidents/1", "components": [], "created_at": at, "resolved_at": null},
                "update": {"id": format!("upd{n}"), "status": "monitoring", "body": "A fix has been implemented and we are monitoring the results. Some customers may still see elevated error rates on API requests while caches warm up.", "created_at": at}
            }
        }))
        .unwrap();
        items.push(serde_dynamo::to_item(HistoryItem::of(&event, at, 90)).unwrap());
    }
    for chunk in items.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        ddb.batch_write_item()
            .request_items("statusrelay", requests)
            .send()
            .await
            .unwrap();
    }
}

fn incident(provider: &str, name: &str, status: &str, at: chrono::DateTime<Utc>) -> Incident {
    Incident {
        id: format!("{provider}-i"),
        name: name.into(),
        status: status.into(),
        impact: "minor".into(),
        url: None,
        components: vec![],
        created_at: Some(at),
        updated_at: Some(at),
        resolved_at: None,
        scheduled_for: None,
        scheduled_until: None,
        updates: vec![IncidentUpdate {
            id: format!("{provider}-u"),
            status: status.into(),
            body: "We are investigating elevated error rates affecting a subset of API requests."
                .into(),
            created_at: Some(at),
            alias: None,
        }],
    }
}
