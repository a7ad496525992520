//! The functions' CloudWatch metrics (Embedded Metric Format) on a moto server, through the
//! real Lambda binaries: their stdout is what CloudWatch Logs would receive, and the EMF
//! documents in it must carry what a known scenario did.

mod support;

use chrono::Duration as Span;
use serde_json::{Value, json};
use support::aws_cloud::{Cloud, failures, schedule_event};
use support::fixture::{Page, epoch};
use support::lambda::{Function, RuntimeApi, Stdout};
use support::*;

const STACK: &str = "metrics-test";

/// The metric values of a document, by name, after checking its EMF shape: one directive in
/// the `statusrelay` namespace, `Stack` as the only dimension, every named metric a member.
fn metrics_of(document: &Value) -> serde_json::Map<String, Value> {
    let directives = document["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives.len(), 1, "{document}");
    assert_eq!(directives[0]["Namespace"], "statusrelay");
    assert_eq!(directives[0]["Dimensions"], json!([["Stack"]]));
    assert_eq!(document["Stack"], STACK);
    assert!(document["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    directives[0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let name = m["Name"].as_str().unwrap().to_owned();
            let value = document[&name].clone();
            assert!(value.is_u64(), "{name} has a value: {document}");
            (name, value)
        })
        .collect()
}

/// The one document an invocation printed: documents so far must be `before + 1`.
async fn document_of_invocation(stdout: &Stdout, before: usize) -> Value {
    let documents = stdout.wait_for_documents(before + 1).await;
    // A moment for a second document, which must not come.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let documents_now = stdout.emf_documents();
    assert_eq!(
        documents_now.len(),
        before + 1,
        "one document per invocation: {documents_now:?}"
    );
    documents[before].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_print_one_emf_document_per_invocation_with_what_it_did() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let t0 = epoch();
    // Four providers: one operational, one in a major outage, one answering 503, one answering
    // an HTML page. The last two were never read: their state is unknown.
    server.publish("calm", &Page::realistic("Calm", &server.url("calm")));
    let mut down = Page::realistic("Down", &server.url("down"));
    let leaves = down.leaf_ids();
    down.open_incident(
        "Git operations failing",
        "major",
        &leaves[0..1],
        "Investigating.",
        t0 - Span::minutes(5),
    );
    down.set_component(&leaves[0], "major_outage", t0 - Span::minutes(5));
    server.publish("down", &down);
    server.publish(
        "failing",
        &Page::realistic("Failing", &server.url("failing")),
    );
    server.set_fault("failing", SUMMARY, Some(Fault::Status(503)));
    server.publish("html", &Page::realistic("Html", &server.url("html")));
    server.set_fault("html", SUMMARY, Some(Fault::Html200));
    let mut config =
        String::from("[settings]\nallow_private_targets = true\nunreachable_after = 5\n");
    for id in ["calm", "down", "failing", "html"] {
        config.push_str(&format!(
            "\n[[providers]]\nid = \"{id}\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
            server.url(id)
        ));
    }
    config.push_str(&format!(
        "\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        receiver.url()
    ));
    let config = work.write_config(&config);
    cloud.put_config(&config).await;
    let metrics_env = [
        ("METRICS_NAMESPACE".to_owned(), "statusrelay".to_owned()),
        ("METRICS_STACK".to_owned(), STACK.to_owned()),
    ];
    let poller_api = RuntimeApi::start().await;
    let mut env = cloud.function_env(&cloud.moto.endpoint);
    env.extend_from_slice(&metrics_env);
    let (_poller, poller_out) = Function::spawn_capturing("statusrelay-poller", &poller_api, &env);
    let notifier_api = RuntimeApi::start().await;
    let mut env = cloud.notifier_env(&cloud.moto.endpoint);
    env.extend_from_slice(&metrics_env);
    let (_notifier, notifier_out) =
        Function::spawn_capturing("statusrelay-notifier", &notifier_api, &env);

    // 1. A scheduled run: two failures of two classes, providers per state, the duration.
    let report = poller_api.invoke(&schedule_event()).await.unwrap();
    assert_eq!(report["failed"], 2, "{report}");
    let document = document_of_invocation(&poller_out, 0).await;
    let metrics = metrics_of(&document);
    let expected = [
        ("PollFailuresHttpStatus", 1),
        ("PollFailuresParse", 1),
        ("ProvidersOperational", 1),
        ("ProvidersUnderMaintenance", 0),
        ("ProvidersDegraded", 0),
        ("ProvidersPartialOutage", 0),
        ("ProvidersMajorOutage", 1),
        ("ProvidersUnknown", 2),
    ];
    for (name, value) in expected {
        assert_eq!(metrics.get(name), Some(&json!(value)), "{name}: {document}");
    }
    assert!(metrics.contains_key("CycleDuration"), "{document}");
    assert_eq!(
        metrics.len(),
        expected.len() + 1,
        "failure classes that did not happen are left out: {document}"
    );
    let units = &document["_aws"]["CloudWatchMetrics"][0]["Metrics"];
    assert!(
        units
            .as_array()
            .unwrap()
            .contains(&json!({"Name": "CycleDuration", "Unit": "Milliseconds"}))
    );
    // Neither provider ids nor vendor answers reach the document.
    let text = document.to_string();
    for leak in ["calm", "failing", "html", "HTTP", "summary.json"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }

    // 2. The next run starts from zero: one failure each again, not two.
    server.set_fault("html", SUMMARY, None);
    poller_api.invoke(&schedule_event()).await.unwrap();
    let document = document_of_invocation(&poller_out, 1).await;
    let metrics = metrics_of(&document);
    assert_eq!(metrics.get("PollFailuresHttpStatus"), Some(&json!(1)));
    assert_eq!(metrics.get("PollFailuresParse"), None, "html answers again");
    assert_eq!(metrics.get("ProvidersOperational"), Some(&json!(2)));
    assert_eq!(metrics.get("ProvidersUnknown"), Some(&json!(1)));

    // 3. The notifier: the baseline announces the open incident once, to the webhook and SNS.
    let (batch, records) = cloud.stream_batch().await;
    assert!(records > 0);
    let response = notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    let document = document_of_invocation(&notifier_out, 0).await;
    let metrics = metrics_of(&document);
    assert_eq!(metrics.get("EventsIncidentCreated"), Some(&json!(1)));
    assert_eq!(metrics.get("DeliveriesSent"), Some(&json!(2)), "{document}");
    assert_eq!(metrics.len(), 2, "{document}");
    assert_eq!(
        document["Destinations"],
        json!({"hook": {"sent": 1}, "sns": {"sent": 1}})
    );

    // 4. The same batch again (at-least-once): both deliveries are duplicates, none sent.
    notifier_api.invoke(&batch).await.unwrap();
    let document = document_of_invocation(&notifier_out, 1).await;
    let metrics = metrics_of(&document);
    assert_eq!(metrics.get("DeliveriesDuplicate"), Some(&json!(2)));
    assert_eq!(metrics.get("DeliveriesSent"), None, "{document}");
    assert_eq!(
        document["Destinations"],
        json!({"hook": {"duplicate": 1}, "sns": {"duplicate": 1}})
    );

    // 5. A new incident while the webhook answers 503: failed there, sent to SNS; the retried
    // record then gets through and SNS's copy is a duplicate.
    down.open_incident(
        "API errors",
        "minor",
        &leaves[1..2],
        "Investigating.",
        t0 + Span::minutes(1),
    );
    server.publish("down", &down);
    poller_api.invoke(&schedule_event()).await.unwrap();
    let (batch, _) = cloud.stream_batch().await;
    receiver.plan([
        Answer::Status(503),
        Answer::Status(503),
        Answer::Status(503),
    ]);
    let response = notifier_api.invoke(&batch).await.unwrap();
    assert_eq!(failures(&response).len(), 1, "{response}");
    let document = document_of_invocation(&notifier_out, 2).await;
    let metrics = metrics_of(&document);
    assert_eq!(
        metrics.get("DeliveriesFailed"),
        Some(&json!(1)),
        "{document}"
    );
    assert_eq!(metrics.get("DeliveriesSent"), Some(&json!(1)), "{document}");
    assert_eq!(
        metrics.get("EventsIncidentCreated"),
        None,
        "the record's events count once it is done: {document}"
    );
    assert_eq!(
        document["Destinations"],
        json!({"hook": {"failed": 1}, "sns": {"sent": 1}})
    );
    let response = notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let document = document_of_invocation(&notifier_out, 3).await;
    let metrics = metrics_of(&document);
    assert_eq!(metrics.get("EventsIncidentCreated"), Some(&json!(1)));
    assert_eq!(
        document["Destinations"]["hook"],
        json!({"sent": 1}),
        "{document}"
    );
    assert_eq!(
        document["Destinations"]["sns"]["duplicate"],
        json!(1),
        "{document}"
    );
}

/// The dashboard in `infra/template.yaml` graphs what the functions emit: every metric it
/// reads from the `statusrelay` namespace is one the code names, and every one the code can
/// emit is on it (a renamed metric would leave a widget silently empty).
#[test]
fn the_dashboard_graphs_every_metric_the_functions_emit_and_no_other() {
    use statusrelay_core::aws::emf::{
        DeliveryOutcome, FailureReason, STATES, event_metric_name, state_metric_name,
    };
    use std::collections::BTreeSet;
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/infra/template.yaml"))
            .unwrap();
    let mut lines = template.lines();
    lines
        .by_ref()
        .find(|l| l.trim() == "DashboardBody: !Sub |")
        .expect("the dashboard's body");
    let body: String = lines
        .take_while(|l| l.starts_with("        "))
        .map(|l| format!("{l}\n"))
        .collect();
    // `${...}` are CloudFormation's substitutions; any string stands in for them here.
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        substituted.push('x');
        rest = &rest[start + rest[start..].find('}').unwrap() + 1..];
    }
    substituted.push_str(rest);
    let dashboard: Value = serde_json::from_str(&substituted).unwrap();
    let graphed: BTreeSet<String> = dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().unwrap().iter())
        .filter(|m| m[0] == "statusrelay")
        .map(|m| {
            assert_eq!(m[2], "Stack", "{m}");
            m[1].as_str().unwrap().to_owned()
        })
        .collect();
    let mut emitted: BTreeSet<String> = FailureReason::ALL
        .iter()
        .map(|r| r.metric_name().to_owned())
        .chain(STATES.iter().map(|s| state_metric_name(*s).to_owned()))
        .chain(
            statusrelay_core::event::EventType::ALL
                .iter()
                .map(|k| event_metric_name(*k)),
        )
        .chain(
            DeliveryOutcome::ALL
                .iter()
                .map(|o| o.metric_name().to_owned()),
        )
        .collect();
    emitted.insert("CycleDuration".into());
    assert_eq!(graphed, emitted);
    // The functions get the namespace and stack the dashboard reads.
    assert!(template.contains(r#"METRICS_NAMESPACE: !If [HasCustomMetrics, statusrelay, ""]"#));
    assert!(template.contains("METRICS_STACK: !Ref AWS::StackName"));
}
