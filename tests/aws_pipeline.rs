//! The serverless pipeline end to end on a moto server, through the real Rust SDK and the real
//! Lambda binaries driven over the Lambda Runtime API:
//! status page → poller → DynamoDB (conditional writes) → the stream records read back →
//! notifier → webhook receiver and SNS → SQS subscription with a filter policy.

mod support;

use std::time::Duration;

use chrono::Duration as Span;
use serde_json::{Value, json};
use support::aws_cloud::{
    Cloud, TABLE, failures, schedule_event, start_functions, template_filter_prefixes,
};
use support::fixture::{Page, epoch};
use support::moto::Moto;
use support::platforms::{Kind, PAGERDUTY_KEY, Platforms, Scripted};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poller_to_notifier_through_dynamodb_streams_and_sns() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    // The notifier uses the same channels and routing as the local watcher: a signed webhook
    // route, and an on-call group with Slack and PagerDuty.
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nname = \"GitHub\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\n[[destinations]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"pagerduty\"\ntype = \"pagerduty\"\nurl = \"{}\"\nrouting_key = \"{PAGERDUTY_KEY}\"\n\n[[routes]]\nname = \"oncall\"\ndestinations = [\"slack\", \"pagerduty\"]\n",
        server.url("github"),
        receiver.url(),
        platforms.slack_url(),
        platforms.pagerduty_url(),
    ));
    let t0 = epoch();
    let mut page = Page::realistic("GitHub", &server.url("github"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Degraded Codespaces",
        "minor",
        &leaves[16..17],
        "Investigating.",
        t0 - Span::minutes(30),
    );
    server.publish("github", &page);
    let functions = start_functions(&cloud, &config).await;

    // 1. First poll: every item is written once, flagged as baseline.
    let report = functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    assert_eq!(report["changed"], 1, "{report}");
    // The 50 incidents of incidents.json (the open one and 49 of history) and 35 components,
    // plus the provider meta, and for the dashboard the provider's board summary, the run's end
    // and the read side's version.
    assert_eq!(report["items_written"], 85, "{report}");
    assert_eq!(report["meta_written"], 1);
    assert_eq!(cloud.item_count().await, 89);
    let (batch, records) = cloud.stream_batch().await;
    assert_eq!(records, 85);

    // The notifier applies the baseline rule: only the open incident is announced.
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    assert_eq!(cloud.queue_types().await, ["incident.created"]);
    assert_eq!(platforms.accepted(Kind::Slack).len(), 1);
    assert!(
        platforms.accepted(Kind::Slack)[0]
            .visible
            .contains("Degraded Codespaces")
    );

    // 2. An idle poll: 304s, no write, no stream record.
    let report = functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    assert_eq!(
        (
            report["unchanged"].as_u64(),
            report["items_written"].as_u64()
        ),
        (Some(1), Some(0)),
        "{report}"
    );
    assert_eq!(cloud.stream_batch().await.1, 0);

    // A sharded schedule: each provider belongs to exactly one of the shards.
    let mut polled = 0;
    for shard in 0..2 {
        let report = functions
            .poller_api
            .invoke(&json!({"shard": shard, "shards": 2}))
            .await
            .unwrap();
        polled += report["providers"].as_u64().unwrap();
        assert_eq!(report["items_written"], 0);
    }
    assert_eq!(polled, 1);

    // 3. The same batch delivered again (at-least-once): nothing is sent twice.
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(receiver.received().len(), 1);
    assert!(cloud.queue_types().await.is_empty());
    assert_eq!(platforms.messages(Kind::Slack).len(), 1);

    // 4. A new incident takes Git down; the webhook is failing for the first invocation.
    let git = leaves[0].clone();
    let incident = page.open_incident(
        "Git operations failing",
        "major",
        std::slice::from_ref(&git),
        "Investigating git push failures.",
        t0 + Span::minutes(5),
    );
    page.set_component(&git, "major_outage", t0 + Span::minutes(5));
    server.publish("github", &page);
    let report = functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    assert_eq!(
        report["items_written"], 2,
        "only the new incident and the changed component: {report}"
    );
    let (batch, records) = cloud.stream_batch().await;
    assert_eq!(records, 2);
    receiver.plan([
        Answer::Status(503),
        Answer::Status(503),
        Answer::Status(503),
    ]);
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    let failed = failures(&response);
    assert_eq!(failed.len(), 1, "{response}");
    let incident_record = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dynamodb"]["Keys"]["sk"]["S"] == format!("I#{incident}"))
        .unwrap();
    assert_eq!(
        failed[0],
        incident_record["dynamodb"]["SequenceNumber"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        receiver.delivered().len(),
        1,
        "nothing new got through the failing webhook"
    );
    assert_eq!(
        cloud.queue_types().await,
        ["incident.created"],
        "SNS is a destination of its own and got it"
    );
    assert_eq!(
        platforms.accepted(Kind::Slack).len(),
        2,
        "Slack got the incident; the component record waits behind the failed one"
    );

    // Lambda retries the batch: the webhook now gets the events, SNS is not published twice.
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(
        receiver.delivered_types()[1..],
        ["incident.created", "component.status_changed"]
    );
    let ids: Vec<String> = receiver.received()[1..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    assert!(
        ids[..4].iter().all(|id| id == &ids[0]),
        "retries keep the event id: {ids:?}"
    );
    assert!(cloud.queue_types().await.is_empty());
    assert_eq!(
        platforms.messages(Kind::Slack).len(),
        3,
        "the retried incident is not re-sent to Slack, which had it; the component change is"
    );

    // 5. Resolution: the filtered queue gets it; the component event is filtered out of it.
    // Meanwhile the Slack channel was archived: the first 410 marks the destination failing
    // and the next event is not sent to it.
    platforms.plan(Kind::Slack, [Scripted::new(410, "channel_is_archived")]);
    page.post_update(&incident, "resolved", "Resolved.", t0 + Span::minutes(30));
    page.set_component(&git, "operational", t0 + Span::minutes(30));
    server.publish("github", &page);
    functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    let (batch, _) = cloud.stream_batch().await;
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(
        receiver.delivered_types()[3..],
        ["incident.resolved", "component.status_changed"]
    );
    assert_eq!(cloud.queue_types().await, ["incident.resolved"]);
    assert_eq!(platforms.accepted(Kind::Slack).len(), 3);
    assert_eq!(
        platforms.messages(Kind::Slack).len(),
        4,
        "one 410, then the failing destination is left alone"
    );
    let marked = cloud
        .ddb
        .get_item()
        .table_name(TABLE)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("DEST#slack".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("STATUS".into()),
        )
        .send()
        .await
        .unwrap();
    let reason = marked
        .item()
        .and_then(|i| i.get("reason"))
        .and_then(|v| v.as_s().ok())
        .cloned();
    assert!(reason.is_some_and(|r| r.contains("channel_is_archived")));
    assert_eq!(
        platforms
            .alert(&format!("statusrelay/github/incident:{incident}"))
            .as_deref(),
        Some("resolved")
    );
    assert_eq!(
        platforms
            .alert(&format!("statusrelay/github/component:{git}"))
            .as_deref(),
        Some("resolved")
    );
    let resolved = receiver.delivered()[3].json();
    assert_eq!(resolved["data"]["incident"]["id"], incident.as_str());
    assert_eq!(
        resolved["data"]["update"]["created_at"],
        "2026-11-20T08:30:00Z"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The local watcher with AWS parts: a Slack URL kept in SSM (SecureString, `ssm:` in the
/// config) and an `sns` destination publishing to a topic that an SQS queue subscribes to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_watcher_reads_ssm_secrets_and_publishes_to_sns() {
    let moto = Moto::start().await;
    let sdk = moto.sdk_config().await;
    let server = StatusServer::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name("/statusrelay/slack-url")
        .value(platforms.slack_url())
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic_arn = sns
        .create_topic()
        .name("statusrelay-local")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name("local-events")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:local-events")
        .send()
        .await
        .unwrap();

    let mut page = Page::realistic("GitHub", &server.url("github"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Webhooks delayed",
        "minor",
        &leaves[2..3],
        "Investigating.",
        epoch(),
    );
    server.publish("github", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"ssm:/statusrelay/slack-url\"\n\n[[destinations]]\nname = \"email-topic\"\ntype = \"sns\"\ntopic_arn = \"{topic_arn}\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"slack\", \"email-topic\"]\n",
        server.url("github"),
    ));
    let mut command = tokio::process::Command::new(binary());
    command
        .args(["run", "--once", "--config", config.to_str().unwrap()])
        .env("STATUSRELAY_LOG", "debug");
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    let out = command.output().await.unwrap();
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("XXXXSLACKSECRETXXXX"),
        "the SSM secret reached the log"
    );

    let slack = platforms.accepted(Kind::Slack);
    assert_eq!(slack.len(), 1, "the Slack URL came from SSM");
    assert!(slack[0].visible.contains("Webhooks delayed"));
    let messages = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = messages.messages();
    assert_eq!(messages.len(), 1);
    let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(
        envelope["Subject"],
        "[GitHub] Incident created: Webhooks delayed"
    );
    let event: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "incident.created");
    assert_eq!(envelope["MessageAttributes"]["provider"]["Value"], "github");

    // A parameter that does not exist is named, with its place in the config.
    let broken = work.write_config(
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace("/statusrelay/slack-url", "/statusrelay/missing"),
    );
    let mut command = tokio::process::Command::new(binary());
    command.args(["validate", "--config", broken.to_str().unwrap()]);
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    let out = command.output().await.unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("statusrelay.toml:12:7: destinations[0].url: SSM parameter /statusrelay/missing was not found"),
        "{}",
        stderr(&out)
    );
}

/// A platform that lists only open records (Instatus), undeclared so the poller detects it:
/// on AWS, where the poller keeps validators and item hashes but no snapshot, an incident
/// that leaves the summary is still resolved, exactly once, and 304s cost no refetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_only_platform_resolves_by_absence_on_aws() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let summary = |incidents: Value| {
        json!({"page": {"name": "Manychat", "url": "https://status.manychat.com", "status": "UP"},
               "activeIncidents": incidents, "activeMaintenances": []})
        .to_string()
    };
    let incident = json!([{"id": "cm3k2x9q40001", "name": "Instagram automations delayed",
        "started": "2026-11-20T08:00:00.000Z", "status": "INVESTIGATING", "impact": "PARTIALOUTAGE",
        "url": "https://status.manychat.com/cm3k2x9q40001", "updatedAt": "2026-11-20T08:00:00.000Z"}]);
    server.publish_document("manychat", "/summary.json", summary(json!([])));
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"manychat\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        server.url("manychat"),
        receiver.url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    functions.cycle(&mut cloud).await;
    server.publish_document("manychat", "/summary.json", summary(incident));
    functions.cycle(&mut cloud).await;
    assert_eq!(receiver.delivered_types(), ["incident.created"]);

    server.take_hits();
    let idle = functions.cycle(&mut cloud).await;
    assert_eq!(idle["unchanged"], 1, "{idle}");
    let hits = server.take_hits();
    assert_eq!(
        hits.values().sum::<usize>(),
        1,
        "one conditional request, no detection probe, no refetch: {hits:?}"
    );

    server.publish_document("manychat", "/summary.json", summary(json!([])));
    let resolved = functions.cycle(&mut cloud).await;
    assert_eq!(resolved["items_written"], 1, "{resolved}");
    functions.cycle(&mut cloud).await;
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.resolved"]
    );
    let event = receiver.delivered()[1].json();
    assert_eq!(event["data"]["incident"]["status"], "resolved");
    assert_eq!(
        event["data"]["incident"]["name"],
        "Instagram automations delayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_reaches_chat_as_one_digest_on_aws() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let platforms = Platforms::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Backfill Co", &server.url("backfill"));
    let leaves = page.leaf_ids();
    server.publish("backfill", &page);
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"backfill\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[destinations]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"{}\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"hook\", \"slack\"]\n",
        server.url("backfill"),
        receiver.url(),
        platforms.slack_url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    let (_, batch) = functions.poll(&mut cloud).await;
    functions.notifier_api.invoke(&batch).await.unwrap();
    platforms.clear();

    for n in 0..12 {
        page.open_incident(
            &format!("Backfilled incident number {n}"),
            "minor",
            &leaves[..1],
            "Imported from our previous status page.",
            epoch() + Span::minutes(n),
        );
    }
    server.publish("backfill", &page);
    let (_, batch) = functions.poll(&mut cloud).await;
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(receiver.delivered_types(), vec!["incident.created"; 12]);
    let slack = platforms.accepted(Kind::Slack);
    assert_eq!(slack.len(), 1, "one digest, not 12 messages");
    assert!(
        slack[0].visible.contains("12 changes in one poll")
            && slack[0].visible.contains("Backfilled incident number 11"),
        "{}",
        slack[0].visible
    );

    // Lambda redelivers the batch (a timeout after the sends): the delivery log holds.
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(platforms.accepted(Kind::Slack).len(), 1);
    assert_eq!(receiver.delivered().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_moves_is_reported_once_on_aws() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Moving Co", &server.url("moving"));
    let leaves = page.leaf_ids();
    let open = page.open_incident(
        "Webhooks delayed",
        "minor",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("moving", &page);
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"moving\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("moving"),
        receiver.url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    functions.cycle(&mut cloud).await;
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    receiver.clear();

    page.migrate("mv");
    server.publish("moving", &page);
    functions.cycle(&mut cloud).await;
    assert_eq!(
        receiver.delivered_types(),
        ["provider.moved"],
        "one event, not a creation per record"
    );
    let event = receiver.delivered()[0].json();
    assert_eq!(
        event["data"]["moved"]["open_now"],
        json!(["Webhooks delayed"])
    );

    receiver.clear();
    page.post_update(
        &format!("mv{open}"),
        "resolved",
        "Fixed.",
        epoch() + Span::minutes(30),
    );
    server.publish("moving", &page);
    functions.cycle(&mut cloud).await;
    assert_eq!(receiver.delivered_types(), ["incident.resolved"]);
}

/// The Lambda pipeline tells a page that stops answering the way the local watcher does: one
/// `provider.unreachable` after `unreachable_after` failed polls, one `provider.recovered`
/// at the next good poll (a 304 here), to the webhook; nothing more on later polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_stops_answering_is_reported_once_on_aws() {
    for prefix in template_filter_prefixes() {
        assert!(
            statusrelay_core::stream::is_notified_key(&format!("{prefix}x")),
            "{prefix}"
        );
    }
    assert!(template_filter_prefixes().iter().any(|p| p == "HEALTH#"));
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    server.publish("flaky", &Page::realistic("Flaky Co", &server.url("flaky")));
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\nunreachable_after = 2\n\n[[providers]]\nid = \"flaky\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("flaky"),
        receiver.url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    functions.cycle(&mut cloud).await;
    assert!(receiver.delivered_types().is_empty(), "a quiet baseline");

    server.set_fault("flaky", SUMMARY, Some(Fault::Status(503)));
    let report = functions.cycle_pages(&mut cloud).await;
    assert_eq!(report["failed"], 1, "{report}");
    assert!(
        receiver.delivered_types().is_empty(),
        "one failure is a blip"
    );
    functions.cycle_pages(&mut cloud).await;
    assert_eq!(receiver.delivered_types(), ["provider.unreachable"]);
    let told = receiver.delivered()[0].json();
    assert_eq!(told["data"]["health"]["failed_polls"], 2);
    assert!(
        told["data"]["health"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503"),
        "{told}"
    );
    functions.cycle_pages(&mut cloud).await;
    assert_eq!(receiver.delivered_types().len(), 1, "told once");

    server.set_fault("flaky", SUMMARY, None);
    let report = functions.cycle_pages(&mut cloud).await;
    assert_eq!(
        receiver.delivered_types(),
        ["provider.unreachable", "provider.recovered"],
        "{report}"
    );
    let recovered = receiver.delivered()[1].json();
    assert_eq!(recovered["data"]["health"]["failed_polls"], 3);
    functions.cycle(&mut cloud).await;
    assert_eq!(receiver.delivered_types().len(), 2, "recovered once");
}

/// An invocation close to its timeout hands its records back instead of starting them: killed
/// mid-batch at the deadline, Lambda would redeliver the whole batch, resending what went out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_near_its_deadline_hands_the_batch_back() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Late Co", &server.url("late"));
    server.publish("late", &page);
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"late\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("late"),
        receiver.url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    let (batch, _) = cloud.stream_batch().await;
    functions.notifier_api.invoke(&batch).await.unwrap();

    let leaves = page.leaf_ids();
    page.open_incident(
        "Login failures",
        "major",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("late", &page);
    functions
        .poller_api
        .invoke(&schedule_event())
        .await
        .unwrap();
    let (batch, count) = cloud.stream_batch().await;
    assert!(count >= 1);
    let first = batch["Records"][0]["dynamodb"]["SequenceNumber"].clone();

    functions.notifier_api.set_time_left(Duration::from_secs(5));
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert_eq!(failures(&response), [first.as_str().unwrap()], "{response}");
    assert!(
        receiver.received().is_empty(),
        "nothing started this close to the deadline"
    );

    functions
        .notifier_api
        .set_time_left(Duration::from_secs(60));
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
}

/// A vendor moving its page to another platform at the same address, on AWS: after the second
/// failed poll the poller reads it as Instatus, one `provider.moved` names the new platform,
/// what is new there is announced, and later polls read it as Instatus without failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_changes_platform_is_followed_on_aws() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    server.publish(
        "moving",
        &Page::realistic("Moving Co", &server.url("moving")),
    );
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"moving\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("moving"),
        receiver.url(),
    ));
    let functions = start_functions(&cloud, &config).await;
    functions.cycle(&mut cloud).await;
    assert!(receiver.delivered_types().is_empty(), "a quiet baseline");

    for document in [SUMMARY, INCIDENTS, MAINTENANCES] {
        server.set_fault("moving", document, Some(Fault::Missing));
    }
    let instatus = json!({
        "page": {"name": "Moving Co", "url": server.url("moving"), "status": "HASISSUES"},
        "activeIncidents": [{
            "id": "cm9moved0001", "name": "Login failures", "started": "2026-12-01T10:00:00.000Z",
            "status": "INVESTIGATING", "impact": "MAJOROUTAGE",
            "url": format!("{}/cm9moved0001", server.url("moving")),
            "updatedAt": "2026-12-01T10:05:00.000Z"
        }],
        "activeMaintenances": []
    });
    server.publish_document("moving", "/summary.json", instatus.to_string());
    let report = functions.cycle_pages(&mut cloud).await;
    assert_eq!(report["failed"], 1, "{report}");
    assert!(
        receiver.delivered_types().is_empty(),
        "one failure is not a move"
    );
    let report = functions.cycle_pages(&mut cloud).await;
    assert_eq!(report["failed"], 0, "found elsewhere: {report}");
    let types = receiver.delivered_types();
    assert_eq!(
        types.iter().filter(|t| *t == "provider.moved").count(),
        1,
        "{types:?}"
    );
    assert!(types.contains(&"incident.created".to_owned()), "{types:?}");
    assert!(
        !types.iter().any(|t| t == "incident.resolved"),
        "the old page's records did not end: {types:?}"
    );
    let moved = receiver
        .delivered()
        .into_iter()
        .find(|r| r.event_type() == "provider.moved")
        .unwrap()
        .json();
    assert_eq!(
        moved["data"]["moved"]["relocated"]["to_platform"], "instatus",
        "{moved}"
    );

    receiver.clear();
    for _ in 0..2 {
        let report = functions.cycle(&mut cloud).await;
        assert_eq!(report["failed"], 0, "{report}");
    }
    assert!(
        receiver.delivered_types().is_empty(),
        "{:?}",
        receiver.delivered_types()
    );
}
