//! Fault injection on the AWS path: the real poller and notifier binaries reach moto through a
//! proxy (tests/support/fault_proxy.rs) that throttles, fails, holds or drops chosen requests,
//! and the pipeline's promises are checked against what reaches the destinations:
//! no event is lost, none reaches a destination twice, partial writes converge, a batch
//! reports exactly the record to retry from, and a cold start without its config fails loudly.
//! The fault matrix these tests establish is in docs/aws.md.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use serde_json::{Value, json};
use support::aws_cloud::{Cloud, failures, schedule_event};
use support::fault_proxy::{AwsFault, FaultProxy, Rule};
use support::fixture::{Page, epoch};
use support::lambda::{Function, RuntimeApi};
use support::*;

/// Short SDK attempt timeouts: a held request costs a second, not the Lambda's minute.
const ATTEMPT_TIMEOUT: &str = "1s";

/// One provider (a GitHub-sized Statuspage page) and one webhook route, both functions
/// reaching AWS through the fault proxy.
struct Scene {
    cloud: Cloud,
    proxy: FaultProxy,
    server: StatusServer,
    receiver: WebhookReceiver,
    page: Page,
    poller_api: RuntimeApi,
    _poller: Function,
    notifier_api: RuntimeApi,
    notifier: Function,
    notifier_env: Vec<(String, String)>,
    _work: Workspace,
}

impl Scene {
    /// `sns`: whether the notifier also publishes every event to the stack's topic.
    async fn start(sns: bool) -> Scene {
        let cloud = Cloud::start().await;
        let proxy = FaultProxy::start(&cloud.moto.endpoint).await;
        let server = StatusServer::start().await;
        let receiver = WebhookReceiver::start().await;
        let work = Workspace::new();
        let page = Page::realistic("GitHub", &server.url("github"));
        server.publish("github", &page);
        let config = work.write_config(&format!(
            "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nname = \"GitHub\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
            server.url("github"),
            receiver.url(),
        ));
        cloud.put_config(&config).await;
        let endpoint = proxy.endpoint();
        let with_timeout = |mut env: Vec<(String, String)>| {
            env.push((
                "STATUSRELAY_AWS_ATTEMPT_TIMEOUT".into(),
                ATTEMPT_TIMEOUT.into(),
            ));
            env
        };
        let poller_env = with_timeout(cloud.function_env(&endpoint));
        let notifier_env = with_timeout(if sns {
            cloud.notifier_env(&endpoint)
        } else {
            cloud.function_env(&endpoint)
        });
        let poller_api = RuntimeApi::start().await;
        let poller = Function::spawn("statusrelay-poller", &poller_api, &poller_env);
        let notifier_api = RuntimeApi::start().await;
        let notifier = Function::spawn("statusrelay-notifier", &notifier_api, &notifier_env);
        let mut scene = Scene {
            cloud,
            proxy,
            server,
            receiver,
            page,
            poller_api,
            _poller: poller,
            notifier_api,
            notifier,
            notifier_env,
            _work: work,
        };
        // The first poll is the baseline (history is silent); its batch announces nothing.
        let report = scene.poll().await.unwrap();
        assert_eq!(report["items_written"], 85, "{report}");
        let (batch, _) = scene.cloud.stream_batch().await;
        let response = scene.notify(&batch).await.unwrap();
        assert!(failures(&response).is_empty(), "{response}");
        assert!(scene.receiver.received().is_empty());
        scene
    }

    async fn poll(&self) -> Result<Value, String> {
        within(self.poller_api.invoke(&schedule_event())).await
    }

    async fn notify(&self, batch: &Value) -> Result<Value, String> {
        within(self.notifier_api.invoke(batch)).await
    }

    /// `n` new incidents on the page: one stream record and one event each.
    fn open_incidents(&mut self, n: usize) -> Vec<String> {
        let leaves = self.page.leaf_ids();
        let ids = (0..n)
            .map(|i| {
                self.page.open_incident(
                    &format!("Incident number {i}"),
                    "minor",
                    &leaves[i..=i],
                    "Investigating.",
                    epoch() + Span::minutes(i as i64 + 1),
                )
            })
            .collect();
        self.server.publish("github", &self.page);
        ids
    }

    /// A poll that must succeed, and the stream records it produced.
    async fn poll_batch(&mut self) -> (Value, usize) {
        let report = self.poll().await.unwrap();
        assert_eq!(report["failed"], 0, "{report}");
        self.cloud.stream_batch().await
    }

    /// Webhook deliveries that got a 2xx, counted per event id.
    fn deliveries(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for delivery in self.receiver.delivered() {
            *counts.entry(delivery.header("webhook-id")).or_default() += 1;
        }
        counts
    }

    /// The webhook got `events` events, each exactly once.
    fn assert_each_delivered_once(&self, events: usize) {
        let counts = self.deliveries();
        assert_eq!(counts.len(), events, "events delivered: {counts:?}");
        assert!(
            counts.values().all(|&n| n == 1),
            "an event reached the webhook twice: {counts:?}"
        );
    }
}

/// An invocation that does not answer within 30 s has hung on a fault (the runtime API's own
/// limit is 90 s).
async fn within(invocation: impl Future<Output = Result<Value, String>>) -> Result<Value, String> {
    tokio::time::timeout(Duration::from_secs(30), invocation)
        .await
        .expect("the function hung for 30 s")
}

/// The records of `batch` from the one with `sequence` on: what Lambda delivers again after a
/// batch item failure.
fn records_from(batch: &Value, sequence: &str) -> Value {
    let records = batch["Records"].as_array().unwrap();
    let at = records
        .iter()
        .position(|r| r["dynamodb"]["SequenceNumber"] == sequence)
        .expect("the failure names a record of the batch");
    json!({ "Records": records[at..] })
}

fn sequence_of(batch: &Value, index: usize) -> String {
    batch["Records"][index]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Transient faults on every operation each function calls (errors, a held request, a write
/// applied but unanswered), each absorbed by the SDK's retries within its attempt timeout:
/// the cycle completes with nothing lost and nothing repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_on_every_operation_are_absorbed_by_retries() {
    let mut scene = Scene::start(true).await;
    let proxy = &scene.proxy;
    // Poller: its state-item and meta writes.
    proxy.add(
        Rule::new("PutItem", AwsFault::DropAfterApply)
            .matching("\"I#")
            .times(1),
    );
    proxy.add(
        Rule::new("PutItem", AwsFault::Hold)
            .matching("\"I#")
            .times(1),
    );
    proxy.add(
        Rule::new("PutItem", AwsFault::Throttling)
            .matching("\"META\"")
            .times(1),
    );
    proxy.add(
        Rule::new("PutItem", AwsFault::ThroughputExceeded)
            .matching("\"META\"")
            .times(1),
    );
    // Notifier: the delivery log's read and write, and the topic.
    proxy.add(
        Rule::new("GetItem", AwsFault::ThroughputExceeded)
            .matching("DLOG#")
            .times(2),
    );
    proxy.add(
        Rule::new("PutItem", AwsFault::DropAfterApply)
            .matching("DLOG#")
            .times(1),
    );
    proxy.add(
        Rule::new("PutItem", AwsFault::ServerError)
            .matching("DLOG#")
            .times(1),
    );
    proxy.add(Rule::new("Publish", AwsFault::ServerError).times(1));
    proxy.add(Rule::new("Publish", AwsFault::Hold).times(1));
    scene.open_incidents(3);
    let (batch, records) = scene.poll_batch().await;
    assert_eq!(records, 3, "each new incident written once");
    let response = scene.notify(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    scene.assert_each_delivered_once(3);
    assert_eq!(scene.cloud.queue_types().await, vec!["incident.created"; 3]);
    for operation in ["PutItem", "GetItem", "Publish"] {
        assert!(
            scene.proxy.faulted(operation) > 0,
            "{operation} was never faulted"
        );
    }
    assert_eq!(scene.proxy.faulted("PutItem"), 6);
    assert_eq!(
        scene.proxy.requests("Publish"),
        5,
        "2 faulted, then one per event"
    );
}

/// The poller writes items first and its meta last. A run that dies after some items (a
/// state-item write failing) and a run that dies on the meta write both leave the table
/// where the next run finishes the job: the remaining items and the meta, each item once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pollers_partial_writes_converge_on_the_next_run() {
    let mut scene = Scene::start(false).await;
    scene.open_incidents(3);

    // 1. The second incident's write fails (past the SDK's retries): one item is in.
    scene.proxy.add(
        Rule::new("PutItem", AwsFault::ServerError)
            .matching("\"I#")
            .after(1),
    );
    let failed = scene.poll().await.unwrap_err();
    assert!(failed.contains("PutItem"), "{failed}");
    let (first, records) = scene.cloud.stream_batch().await;
    assert_eq!(records, 1, "the first incident was written");
    scene.proxy.clear();

    // 2. Every item gets in; the meta write fails.
    scene
        .proxy
        .add(Rule::new("PutItem", AwsFault::Throttling).matching("\"META\""));
    let failed = scene.poll().await.unwrap_err();
    assert!(failed.contains("ThrottlingException"), "{failed}");
    scene.proxy.clear();

    // 3. Nothing is left but the meta; no item is written again.
    let report = scene.poll().await.unwrap();
    assert_eq!(
        (
            report["items_written"].as_u64(),
            report["meta_written"].as_u64()
        ),
        (Some(0), Some(1)),
        "{report}"
    );
    let (rest, records) = scene.cloud.stream_batch().await;
    assert_eq!(records, 2, "the two other incidents, once each");

    // 4. An idle run: the converged meta matches the page.
    let report = scene.poll().await.unwrap();
    assert_eq!(report["unchanged"], 1, "{report}");
    assert_eq!(scene.cloud.stream_batch().await.1, 0);

    // What the runs wrote reaches the webhook once.
    for batch in [first, rest] {
        let response = scene.notify(&batch).await.unwrap();
        assert!(failures(&response).is_empty(), "{response}");
    }
    scene.assert_each_delivered_once(3);
}

/// A DynamoDB failure on the delivery log mid-batch: the response names the record whose
/// check failed, and Lambda's redelivery from there sends the rest and nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_log_failure_mid_batch_names_the_first_record_to_retry() {
    let mut scene = Scene::start(false).await;
    scene.open_incidents(4);
    let (batch, records) = scene.poll_batch().await;
    assert_eq!(records, 4);

    // The third event's dedupe read fails past the SDK's retries.
    scene.proxy.add(
        Rule::new("GetItem", AwsFault::ServerError)
            .matching("DLOG#")
            .after(2),
    );
    let response = scene.notify(&batch).await.unwrap();
    assert_eq!(failures(&response), [sequence_of(&batch, 2)], "{response}");
    scene.assert_each_delivered_once(2);

    scene.proxy.clear();
    let response = scene
        .notify(&records_from(&batch, &sequence_of(&batch, 2)))
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    scene.assert_each_delivered_once(4);

    // The whole batch again (at-least-once delivery): the log holds.
    let response = scene.notify(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    scene.assert_each_delivered_once(4);
}

/// The delivery log write after a 2xx fails past the SDK's retries. The event got through:
/// failing its record would make Lambda send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_log_write_failing_after_the_send_does_not_resend_the_event() {
    let mut scene = Scene::start(false).await;
    scene.open_incidents(3);
    let (batch, _) = scene.poll_batch().await;

    // The second event's log write fails on every attempt the SDK makes.
    scene.proxy.add(
        Rule::new("PutItem", AwsFault::ServerError)
            .matching("DLOG#")
            .after(1)
            .times(3),
    );
    let mut response = scene.notify(&batch).await.unwrap();
    // Whatever the response names is delivered again, as Lambda would.
    while let Some(sequence) = failures(&response).first().cloned() {
        response = scene
            .notify(&records_from(&batch, &sequence))
            .await
            .unwrap();
    }
    assert_eq!(scene.proxy.faulted("PutItem"), 3);
    scene.assert_each_delivered_once(3);
}

/// SNS throttles the first Publish calls: the SDK retries, then the notifier's own retries
/// take over, well within the invocation; the event is published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_publish_throttling_is_retried_within_the_time_budget() {
    let mut scene = Scene::start(true).await;
    scene.open_incidents(1);
    let (batch, _) = scene.poll_batch().await;
    // More than one Publish call's worth of SDK attempts.
    scene
        .proxy
        .add(Rule::new("Publish", AwsFault::Throttling).times(4));
    let started = Instant::now();
    let response = scene.notify(&batch).await.unwrap();
    let took = started.elapsed();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(scene.proxy.faulted("Publish"), 4);
    assert_eq!(
        scene.proxy.requests("Publish"),
        5,
        "published on the fifth attempt"
    );
    assert_eq!(scene.cloud.queue_types().await, ["incident.created"]);
    scene.assert_each_delivered_once(1);
    assert!(
        took < Duration::from_secs(15),
        "the retries took {took:?} of the notifier's 60 s"
    );
}

/// A cold start whose config cannot be read from SSM fails the init through the Runtime API
/// and exits non-zero, before touching the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssm_outage_at_cold_start_fails_the_init_loudly_and_touches_nothing() {
    let cloud = Cloud::start().await;
    let proxy = FaultProxy::start(&cloud.moto.endpoint).await;
    let work = Workspace::new();
    let config = work
        .write_config("[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n");
    cloud.put_config(&config).await;
    let mut env = cloud.notifier_env(&proxy.endpoint());
    env.push((
        "STATUSRELAY_AWS_ATTEMPT_TIMEOUT".into(),
        ATTEMPT_TIMEOUT.into(),
    ));
    for fault in [AwsFault::ServerError, AwsFault::Hold] {
        proxy.clear();
        proxy.add(Rule::new("GetParameters", fault));
        let mut started = Vec::new();
        for name in ["statusrelay-poller", "statusrelay-notifier"] {
            let api = RuntimeApi::start().await;
            let function = Function::spawn(name, &api, &env);
            started.push((name, api, function));
        }
        for (name, api, mut function) in started {
            let status = tokio::time::timeout(Duration::from_secs(20), function.child.wait())
                .await
                .unwrap_or_else(|_| panic!("{name} still starting 20 s into an SSM {fault:?}"))
                .unwrap();
            assert!(!status.success(), "{name} exited {status}");
            let reported = api.init_error().unwrap_or_default();
            assert!(
                reported.contains("SSM"),
                "{name}: init error reported: {reported:?}"
            );
            assert!(api.first_next().is_none(), "{name} asked for an invocation");
        }
    }
    assert!(proxy.faulted("GetParameters") >= 4);
    assert_eq!(proxy.requests("PutItem") + proxy.requests("GetItem"), 0);
    assert_eq!(cloud.item_count().await, 0);
}

/// The notifier is killed mid-batch (a held delivery-log read stops it after two deliveries):
/// Lambda delivers the batch again to a new container, which sends only the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_killed_mid_batch_sends_only_the_rest_on_redelivery() {
    let mut scene = Scene::start(false).await;
    scene.open_incidents(4);
    let (batch, _) = scene.poll_batch().await;
    scene.proxy.add(
        Rule::new("GetItem", AwsFault::Hold)
            .matching("DLOG#")
            .after(2),
    );
    let killer = async {
        scene
            .proxy
            .wait_faulted("GetItem", 1, Duration::from_secs(20))
            .await;
        scene.notifier.child.start_kill().unwrap();
    };
    tokio::select! {
        answer = scene.notifier_api.invoke(&batch) => panic!("answered before the kill: {answer:?}"),
        () = killer => {}
    }
    scene.notifier.child.wait().await.unwrap();
    scene.assert_each_delivered_once(2);

    scene.proxy.clear();
    let api = RuntimeApi::start().await;
    let _fresh = Function::spawn("statusrelay-notifier", &api, &scene.notifier_env);
    let response = within(api.invoke(&batch)).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    scene.assert_each_delivered_once(4);
}

/// The one fault the pipeline cannot hide: SNS applies a Publish and the answer is lost. The
/// SDK retries it and a standard topic has no deduplication, so subscribers get the event
/// twice, with the same event id (`id` in the message) to deduplicate on. Nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_applied_but_unanswered_reaches_the_topic_twice() {
    let mut scene = Scene::start(true).await;
    scene.open_incidents(1);
    let (batch, _) = scene.poll_batch().await;
    scene
        .proxy
        .add(Rule::new("Publish", AwsFault::DropAfterApply).times(1));
    let response = scene.notify(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(
        scene.cloud.queue_types().await,
        ["incident.created", "incident.created"]
    );
    scene.assert_each_delivered_once(1);
}
