//! `/metrics` end to end: `statusrelay run --listen` against loopback status pages (calm, an
//! open major incident, a page answering 500, a refused connection, a page of 300 hostile
//! component names) and a webhook, scraped with the token and parsed by the Python
//! `prometheus_client` library's OpenMetrics parser (a real Prometheus parser, installed into
//! `.venv` by `scripts/test`).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::fixture::{Component, Page, epoch};
use support::*;

const TOKEN: &str = "metrics-scrape-token-of-some-length";

/// Reads the watcher's log until it names the read side's URL; the rest of the log is
/// collected by the returned task (reading it also keeps the pipe from filling).
async fn served_url(
    stderr: tokio::process::ChildStderr,
) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut log = String::new();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("serving the read side")
                && let Some((_, url)) = line.split_once("url=")
            {
                return url.trim().to_owned();
            }
        }
        panic!("the watcher ended without serving:\n{log}");
    })
    .await
    .expect("the watcher did not start serving within 20 s");
    let rest = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    (url, rest)
}

/// The project's Python (`.venv`, made by `scripts/test`), which has `prometheus_client`.
fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test once to create .venv with prometheus-client",
        python.display()
    );
    python
}

/// Parses an exposition with `prometheus_client`'s OpenMetrics parser (strict: it rejects a
/// missing `# EOF`, bad names, bad escaping) and checks the classic text parser reads it too;
/// returns every sample as `{"family", "type", "name", "labels", "value"}`.
async fn parse_exposition(text: &str, work: &Workspace) -> Vec<Value> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as classic
text = open(sys.argv[1], encoding="utf-8").read()
list(classic(text))
samples = []
for family in openmetrics(text):
    for s in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": s.name,
                        "labels": s.labels, "value": s.value})
print(json.dumps(samples))
"#;
    let path = work.path("metrics.txt");
    std::fs::write(&path, text).unwrap();
    let out = tokio::process::Command::new(python())
        .args(["-c", SCRIPT, path.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

/// A page of 300 components whose names are 300 characters long, with right-to-left
/// overrides, zero-width spaces and a newline: the component label must stay bounded.
fn huge_page(url: &str) -> Page {
    let mut page = Page::realistic("Huge Co", url);
    for i in 0..300 {
        page.components.push(Component {
            id: format!("huge{i:08}"),
            name: format!("\u{202E}Region {i}\u{200B} \"edge\"\n{}", "x".repeat(280)),
            status: "operational".into(),
            group: false,
            group_id: None,
            position: 100 + i,
            updated_at: epoch(),
        });
    }
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_states_failures_events_deliveries_and_cycles() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    let mut burning = Page::realistic("Burning Co", &server.url("burning"));
    let leaves = burning.leaf_ids();
    burning.open_incident(
        "API unavailable",
        "critical",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("burning", &burning);
    server.publish(
        "broken",
        &Page::realistic("Broken Co", &server.url("broken")),
    );
    for document in [SUMMARY, INCIDENTS, MAINTENANCES] {
        server.set_fault("broken", document, Some(Fault::Status(500)));
    }
    server.publish("huge", &huge_page(&server.url("huge")));
    // Nothing listens there: connections are refused.
    let refused = format!("http://127.0.0.1:{}/", free_port());

    let provider = |id: &str, url: &str| {
        format!("\n[[providers]]\nid = \"{id}\"\nurl = \"{url}\"\nplatform = \"statuspage\"\n")
    };
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\nhttp_token = \"env:STATUSRELAY_HTTP_TOKEN\"\n{}{}{}{}{}\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        provider("calm", &server.url("calm")),
        provider("burning", &server.url("burning")),
        provider("broken", &server.url("broken")),
        provider("refused", &refused),
        provider("huge", &server.url("huge")),
        receiver.url(),
    ));
    // Port 0: the binary binds a free port and logs its URL, so no other test (or another
    // checkout's suite on this machine) can take the port between choosing and binding it.
    let mut child = tokio::process::Command::new(binary())
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("STATUSRELAY_HTTP_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (base, log) = served_url(child.stderr.take().unwrap()).await;
    let url = format!("{base}metrics");
    let client = reqwest::Client::new();

    // Two rounds at least: a failing page's state is unknown after its second failed poll.
    let mut scraped = None;
    for _ in 0..200 {
        if let Ok(answer) = client.get(&url).bearer_auth(TOKEN).send().await {
            let code = answer.status();
            assert_eq!(code, 200, "{}", answer.text().await.unwrap_or_default());
            let content_type = answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let text = answer.text().await.unwrap();
            // Providers are polled on their own schedules: both failing ones must have
            // failed twice (unknown), whatever the rounds were.
            let failed_twice = |series: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(series))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .is_some_and(|n| n >= 2.0)
            };
            let broken_unknown = failed_twice(
                "statusrelay_poll_failures_total{provider=\"broken\",reason=\"http_5xx\"}",
            ) && failed_twice(
                "statusrelay_poll_failures_total{provider=\"refused\",reason=\"connect\"}",
            );
            let cycles = text
                .lines()
                .find_map(|l| l.strip_prefix("statusrelay_cycles_total "))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            if broken_unknown && cycles >= 2.0 {
                scraped = Some((content_type, text));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (content_type, text) = scraped.expect("no scrape after two cycles within 20 s");
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    // Behind the token, like the rest of the read side.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);

    let samples = parse_exposition(&text, &work).await;
    let status = |provider: &str| {
        value(
            &samples,
            "statusrelay_provider_status",
            &[("provider", provider)],
        )
    };
    assert_eq!(status("calm"), Some(0.0), "{text}");
    assert_eq!(status("burning"), Some(4.0), "major outage: {text}");
    assert_eq!(status("broken"), Some(-1.0), "unknown: {text}");
    assert_eq!(status("refused"), Some(-1.0), "unknown: {text}");
    let up = |provider: &str| {
        value(
            &samples,
            "statusrelay_provider_up",
            &[("provider", provider)],
        )
    };
    assert_eq!(up("calm"), Some(1.0));
    assert_eq!(up("broken"), Some(0.0));
    let failures = |provider: &str, reason: &str| {
        value(
            &samples,
            "statusrelay_poll_failures_total",
            &[("provider", provider), ("reason", reason)],
        )
        .unwrap_or(0.0)
    };
    assert!(failures("broken", "http_5xx") >= 2.0, "{text}");
    assert!(failures("refused", "connect") >= 2.0, "{text}");
    let last_success = value(
        &samples,
        "statusrelay_provider_last_success_timestamp_seconds",
        &[("provider", "calm")],
    )
    .expect("a last success for calm");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!((now - last_success).abs() < 60.0, "{last_success}");
    assert!(
        value(
            &samples,
            "statusrelay_provider_last_success_timestamp_seconds",
            &[("provider", "broken")]
        )
        .is_none(),
        "never polled successfully: {text}"
    );

    assert!(
        value(
            &samples,
            "statusrelay_events_total",
            &[("type", "incident.created")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        value(
            &samples,
            "statusrelay_deliveries_total",
            &[("destination", "hook"), ("outcome", "sent")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(!receiver.delivered().is_empty());
    assert_eq!(value(&samples, "statusrelay_dead_letters", &[]), Some(0.0));
    assert_eq!(
        value(
            &samples,
            "statusrelay_destination_paused",
            &[("destination", "hook")]
        ),
        Some(0.0)
    );
    assert!(
        value(&samples, "statusrelay_cycle_duration_seconds_count", &[]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        value(
            &samples,
            "statusrelay_poll_duration_seconds_count",
            &[("platform", "statuspage")]
        )
        .is_some_and(|n| n >= 5.0),
        "{text}"
    );
    let component = value(
        &samples,
        "statusrelay_component_status",
        &[("provider", "burning"), ("component", "API Requests")],
    );
    assert!(
        component.is_some(),
        "burning's components are exported: {text}"
    );

    // Bounds: 300 components yield 50 series, no label value is longer than 64 characters,
    // and none keeps a control or bidi character.
    let huge_components = samples
        .iter()
        .filter(|s| {
            s["name"] == "statusrelay_component_status" && s["labels"]["provider"] == "huge"
        })
        .count();
    assert_eq!(huge_components, 50, "{text}");
    for sample in &samples {
        for (name, label) in sample["labels"].as_object().unwrap() {
            let label = label.as_str().unwrap();
            assert!(label.chars().count() <= 64, "{name}={label}");
            assert!(
                !label
                    .chars()
                    .any(|c| c.is_control() || c == '\u{202E}' || c == '\u{200B}'),
                "{name}={label:?}"
            );
        }
    }
    // Names follow the conventions: a prefix, units in the name, counters end in _total.
    for sample in &samples {
        let family = sample["family"].as_str().unwrap();
        assert!(family.starts_with("statusrelay_"), "{family}");
        if sample["type"] == "counter" {
            assert!(
                sample["name"].as_str().unwrap().ends_with("_total"),
                "{sample}"
            );
        }
        if sample["type"] == "histogram" {
            assert!(family.ends_with("_seconds"), "{family}");
        }
    }

    child.kill().await.unwrap();
    let log = log.await.unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains(TOKEN), "the token reached the log");
}
