//! Sharded polling on the serverless pipeline: a moto server through the real SDK and two
//! poller containers (the real Lambda binary, twice) driven over the Lambda Runtime API, as
//! the template's shard queue would invoke them. Twelve shards: the scheduled run queues one
//! run per shard, the runs spread over both containers, and every provider is polled exactly
//! once per cycle — a shard run delivered twice at once polls once, and a container that meets
//! a shard another container polled since reads that shard's meta again instead of trusting
//! its cache.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::Message;
use serde_json::{Value, json};
use statusrelay_core::aws::shards::shard_of;
use statusrelay_core::sources::statuspage::{INCIDENTS, SUMMARY};
use support::aws_cloud::{Cloud, schedule_event, sqs_event, start_functions_with};
use support::fixture::{Page, epoch};
use support::lambda::{Function, RuntimeApi};
use support::*;

const SHARDS: u32 = 12;
const PROVIDERS: usize = 48;

fn provider_id(i: usize) -> String {
    format!("vendor-{i:02}")
}

/// Every shard run the scheduled run queued (waiting up to a few seconds for all of them).
async fn shard_runs(cloud: &Cloud, queue: &str) -> BTreeMap<u32, Message> {
    let mut runs = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while runs.len() < SHARDS as usize && std::time::Instant::now() < deadline {
        for message in cloud.receive_and_delete(queue, 1).await {
            let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let shard = body["shard"].as_u64().unwrap() as u32;
            assert_eq!(body["shards"], SHARDS, "{body}");
            assert!(
                runs.insert(shard, message).is_none(),
                "shard {shard} queued twice"
            );
        }
    }
    runs
}

/// Runs the shard messages, those of `first`'s shards on container `a`, the others on `b`,
/// both containers at once, one message per invocation (the trigger's batch size): the sum
/// of their reports.
async fn run_shards(
    (a, b): (&RuntimeApi, &RuntimeApi),
    runs: &BTreeMap<u32, Message>,
    first: impl Fn(u32) -> bool,
) -> Value {
    let on = |api: &'static str, pick: bool| {
        let messages: Vec<Message> = runs
            .iter()
            .filter(|(shard, _)| first(**shard) == pick)
            .map(|(_, m)| m.clone())
            .collect();
        let api = if api == "a" { a } else { b };
        async move {
            let mut reports = Vec::new();
            for message in messages {
                let report = api.invoke(&sqs_event(&[message])).await.unwrap();
                reports.push(report);
            }
            reports
        }
    };
    let (left, right) = tokio::join!(on("a", true), on("b", false));
    sum(left.iter().chain(&right))
}

fn sum<'a>(reports: impl Iterator<Item = &'a Value>) -> Value {
    let mut total = json!({});
    for report in reports {
        for (key, value) in report.as_object().unwrap() {
            let so_far = total[key].as_u64().unwrap_or(0);
            total[key] = json!(so_far + value.as_u64().unwrap_or(0));
        }
    }
    total
}

/// Each provider's summary requested exactly once since the last call; the 304s among all
/// requests.
fn assert_each_polled_once(server: &StatusServer) -> usize {
    let hits = server.take_hits();
    for i in 0..PROVIDERS {
        let path = format!("/{}{SUMMARY}", provider_id(i));
        assert_eq!(hits.get(&path), Some(&1), "{path}: {hits:?}");
    }
    let summaries = hits.keys().filter(|p| p.ends_with(SUMMARY)).count();
    assert_eq!(summaries, PROVIDERS, "{hits:?}");
    hits.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_is_polled_once_per_cycle_across_twelve_shards() {
    let cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let work = Workspace::new();
    let mut config = String::from("[settings]\nallow_private_targets = true\ninterval = \"60s\"\n");
    let mut pages = Vec::new();
    for i in 0..PROVIDERS {
        let id = provider_id(i);
        let mut page = Page::realistic(&format!("Vendor {i}"), &server.url(&id));
        page.incidents.drain(..page.incidents.len() - 3);
        server.publish(&id, &page);
        config.push_str(&format!(
            "\n[[providers]]\nid = \"{id}\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
            server.url(&id)
        ));
        pages.push(page);
    }
    let path = work.write_config(&config);
    let queue = cloud.create_queue("statusrelay-shards").await;
    let env = [
        ("POLLER_SHARDS".to_owned(), SHARDS.to_string()),
        ("SHARD_QUEUE_URL".to_owned(), queue.clone()),
    ];
    let functions = start_functions_with(&cloud, &path, &env).await;
    let a = &functions.poller_api;
    let b_api = RuntimeApi::start().await;
    let mut b_env = cloud.function_env(&cloud.moto.endpoint);
    b_env.extend_from_slice(&env);
    let _b = Function::spawn("statusrelay-poller", &b_api, &b_env);
    let b = &b_api;

    // The schedule's run polls nothing itself: it queues one run per shard.
    let report = a.invoke(&schedule_event()).await.unwrap();
    assert_eq!(report["shards_queued"], SHARDS, "{report}");
    assert_eq!(report["providers"], 0, "{report}");
    assert!(server.take_hits().is_empty());
    let runs = shard_runs(&cloud, &queue).await;
    assert_eq!(runs.len(), SHARDS as usize);

    // Cycle 1: even shards on a, odd ones on b, side by side. One shard's run is delivered
    // to both at once (SQS delivers at least once); a slow page keeps the first one's lease
    // held while the second arrives.
    let twice = 5;
    let slow = (0..PROVIDERS)
        .map(provider_id)
        .find(|id| shard_of(id, SHARDS) == twice)
        .expect("a provider in the shard");
    server.set_delay(&slow, SUMMARY, Some(Duration::from_secs(2)));
    let duplicate = sqs_event(&[runs[&twice].clone()]);
    let (first, second) = tokio::join!(a.invoke(&duplicate), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.invoke(&duplicate).await
    });
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first["shards_busy"], 0, "{first}");
    assert_eq!(second["shards_busy"], 1, "{second}");
    assert_eq!(second["providers"], 0, "{second}");
    server.set_delay(&slow, SUMMARY, None);
    let others: BTreeMap<u32, Message> = runs
        .iter()
        .filter(|(shard, _)| **shard != twice)
        .map(|(s, m)| (*s, m.clone()))
        .collect();
    let rest = run_shards((a, b), &others, |shard| shard.is_multiple_of(2)).await;
    let total = sum([&first, &second, &rest].into_iter());
    assert_eq!(total["providers"], PROVIDERS, "{total}");
    assert_eq!(total["failed"], 0, "{total}");
    assert_eq!(total["shards_busy"], 1, "{total}");
    assert_each_polled_once(&server);
    let (_, not_modified_before) = server.counts();

    // Between cycles a vendor of an even shard (polled by a in cycle 1) posts an incident.
    // Cycle 2 swaps the containers: b polls the even shards, and reads the changed page.
    let (index, changed) = (0..PROVIDERS)
        .map(|i| (i, provider_id(i)))
        .find(|(_, id)| shard_of(id, SHARDS).is_multiple_of(2))
        .expect("a provider in an even shard");
    let changed_shard = shard_of(&changed, SHARDS);
    let leaves = pages[index].leaf_ids();
    pages[index].open_incident(
        "Elevated API errors",
        "minor",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish(&changed, &pages[index]);
    a.invoke(&schedule_event()).await.unwrap();
    let runs = shard_runs(&cloud, &queue).await;
    let report = run_shards((a, b), &runs, |shard| !shard.is_multiple_of(2)).await;
    assert_eq!(report["providers"], PROVIDERS, "{report}");
    assert_eq!(report["changed"], 1, "{report}");
    assert_eq!(report["shards_busy"], 0, "{report}");
    assert_each_polled_once(&server);

    // Cycle 3: back to a, which polled the changed page's shard in cycle 1. It must send
    // the validators b stored in cycle 2, not its own from cycle 1: every answer is a 304
    // and nothing is written.
    let (requests_before, not_modified_mid) = server.counts();
    assert!(not_modified_mid > not_modified_before);
    a.invoke(&schedule_event()).await.unwrap();
    let runs = shard_runs(&cloud, &queue).await;
    let report = run_shards((a, b), &runs, |shard| shard.is_multiple_of(2)).await;
    assert_eq!(report["providers"], PROVIDERS, "{report}");
    assert_eq!(report["changed"], 0, "{report}");
    assert_eq!(report["items_written"], 0, "{report}");
    let hits = server.take_hits();
    let changed_docs = [SUMMARY, INCIDENTS].map(|d| format!("/{changed}{d}"));
    for doc in &changed_docs {
        assert_eq!(
            hits.get(doc),
            Some(&1),
            "{doc} in shard {changed_shard}: {hits:?}"
        );
    }
    let (requests_after, not_modified_after) = server.counts();
    assert_eq!(
        not_modified_after - not_modified_mid,
        requests_after - requests_before,
        "every request of cycle 3 answered 304"
    );
}
