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
        ("ProvidersMajorOutage", 1),
        ("ProvidersUnknown", 2),
    ];
    for (name, value) in expected {
        assert_eq!(metrics.get(name), Some(&json!(value)), "{name}: {document}");
    }
    assert!(metrics.contains_key("CycleDuration"), "{document}");
    // Zeros are not sent (each would be a metric billed for the hour): neither failure
    // classes that did not happen nor states no provider is in.
    for absent in [
        "PollFailuresTimeout",
        "ProvidersUnderMaintenance",
        "ProvidersDegraded",
        "ProvidersPartialOutage",
    ] {
        assert!(!metrics.contains_key(absent), "{absent}: {document}");
        assert!(document.get(absent).is_none(), "{absent}: {document}");
    }
    assert_eq!(
        metrics.len(),
        expected.len() + 1,
        "zero counts are left out: {document}"
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
    assert_eq!(metrics.get("ProvidersMajorOutage"), Some(&json!(1)));
    assert!(metrics.contains_key("CycleDuration"), "{document}");
    assert_eq!(metrics.len(), 5, "{document}");

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
/// emit is on it (a renamed metric would leave a widget silently empty). Its metric math
/// only refers to ids of its own widget, and the providers per state are each state's sum
/// (zero where absent) over the shard runs (`CycleDuration`'s sample count) times the shards.
#[test]
fn the_dashboard_graphs_every_metric_the_functions_emit_and_no_other() {
    use statusrelay_core::aws::emf::{
        DeliveryOutcome, FailureReason, event_metric_name, state_metric_name,
    };
    use statusrelay_core::overview::OverallState;
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
    // `${...}` are CloudFormation's substitutions; `7` stands in for them here (a string
    // inside quotes, a number inside an expression).
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        substituted.push('7');
        rest = &rest[start + rest[start..].find('}').unwrap() + 1..];
    }
    substituted.push_str(rest);
    let dashboard: Value = serde_json::from_str(&substituted).unwrap();
    let widgets = dashboard["widgets"].as_array().unwrap();
    let graphed: BTreeSet<String> = widgets
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().unwrap().iter())
        .filter(|m| m[0] == "statusrelay")
        .map(|m| {
            assert_eq!(m[2], "Stack", "{m}");
            m[1].as_str().unwrap().to_owned()
        })
        .collect();
    for widget in widgets {
        check_metric_math(&widget["properties"]);
    }
    // Providers per state: every state is an expression over its own sum and the runs.
    let states = widgets
        .iter()
        .map(|w| &w["properties"])
        .find(|p| {
            p["title"]
                .as_str()
                .unwrap()
                .starts_with("Providers per state")
        })
        .expect("the providers per state widget");
    assert_eq!(states["stat"], "Sum", "{states}");
    assert_eq!(states["stacked"], true, "{states}");
    let lines = states["metrics"].as_array().unwrap();
    let id_of = |name: &str, stat: Option<&str>| -> String {
        let line = lines
            .iter()
            .find(|m| m[1] == name && m[4].get("stat").and_then(Value::as_str) == stat)
            .unwrap_or_else(|| panic!("{name} ({stat:?}) in {states}"));
        assert_eq!(line[4]["visible"], false, "{line}");
        line[4]["id"].as_str().unwrap().to_owned()
    };
    let runs = id_of("CycleDuration", Some("SampleCount"));
    let mut expressions: Vec<String> = lines
        .iter()
        .filter_map(|m| m[0]["expression"].as_str().map(str::to_owned))
        .collect();
    expressions.sort();
    let mut wanted: Vec<String> = OverallState::ALL
        .iter()
        .map(|s| {
            format!(
                "FILL({}, 0) / {runs} * 7",
                id_of(state_metric_name(*s), None)
            )
        })
        .collect();
    wanted.sort();
    assert_eq!(expressions, wanted, "{states}");
    let mut emitted: BTreeSet<String> = FailureReason::ALL
        .iter()
        .map(|r| r.metric_name().to_owned())
        .chain(
            OverallState::ALL
                .iter()
                .map(|s| state_metric_name(*s).to_owned()),
        )
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

/// A widget's metric math (CloudWatch's rules): ids are unique and start with a lowercase
/// letter, functions are in capitals, an expression refers only to ids of the widget, and a
/// hidden metric is one an expression uses.
fn check_metric_math(properties: &Value) {
    use std::collections::BTreeSet;
    let lines = properties["metrics"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut used = BTreeSet::new();
    for line in lines {
        let options = line.as_array().unwrap().last().unwrap();
        if let Some(id) = options.get("id").and_then(Value::as_str) {
            assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
            assert!(
                id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{id}"
            );
            assert!(ids.insert(id.to_owned()), "{id} twice: {properties}");
        }
        let Some(expression) = options.get("expression").and_then(Value::as_str) else {
            continue;
        };
        assert!(line.as_array().unwrap().len() == 1, "{line}");
        let mut chars = expression.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if !(c.is_ascii_alphabetic() || c == '_') {
                continue;
            }
            let mut end = start + c.len_utf8();
            while let Some(&(i, c)) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let word = &expression[start..end];
            if expression[end..].trim_start().starts_with('(') {
                assert_eq!(word, word.to_ascii_uppercase(), "{expression}");
            } else {
                used.insert(word.to_owned());
            }
        }
    }
    for id in &used {
        assert!(
            ids.contains(id),
            "{id} is no id of the widget: {properties}"
        );
    }
    for line in lines {
        let options = line.as_array().unwrap().last().unwrap();
        if options.get("visible") == Some(&Value::Bool(false)) {
            let id = options["id"].as_str().unwrap();
            assert!(used.contains(id), "{id} is hidden and unused: {properties}");
        }
    }
}
