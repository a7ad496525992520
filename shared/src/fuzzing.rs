//! Fuzz targets: every parser of untrusted bytes, each a `fn(&[u8])` that must never panic.
//!
//! One copy serves two runners: the coverage-guided fuzzers in `fuzz/` (cargo fuzz,
//! libFuzzer) and the bounded property-based run in `tests/fuzz_targets.rs`, which keeps them
//! compiling and passing on stable in the normal suite. A target calls the real code: the
//! pure parse function each source's `poll` uses, the config parser, the notifier's stream
//! record decoding, the webhook signature check. A parsed snapshot then goes through the
//! change detection and the message rendering, as a polled one would.
//!
//! Inputs that hold several documents (a platform with more than one document, a signature
//! with its key and header) separate them with NUL bytes: JSON and XML documents contain
//! none, so every part stays a plausible document for the fuzzer to mutate.
//!
//! Besides "no panic", targets check properties that must hold for any input: a second poll
//! of the same snapshot announces nothing, and a signature always verifies.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use url::Url;

use crate::diff::{ProviderState, detect_changes, known_after};
use crate::event::Event;
use crate::model::{Provider, Snapshot};
use crate::render::{self, Message};
use crate::signing::SigningKey;
use crate::sources;

/// A fuzz target: any bytes in, no panic.
pub type Target = fn(&[u8]);

/// Every target by name; `fuzz/fuzz_targets/<name>.rs` and the seed folder `fuzz/seeds/<name>`
/// use these names.
pub const TARGETS: &[(&str, Target)] = &[
    ("statuspage", statuspage),
    ("slack", slack),
    ("instatus", instatus),
    ("incident_io", incident_io),
    ("better_stack", better_stack),
    ("cachet", cachet),
    ("statuspal", statuspal),
    ("status_io", status_io),
    ("gcp", gcp),
    ("aws_health", aws_health),
    ("feed", feed),
    ("html", html),
    ("config", config),
    ("state_item", state_item),
    #[cfg(feature = "aws")]
    ("dynamodb_stream", dynamodb_stream),
    ("signing", signing),
];

/// A fixed clock: a fuzz input must behave the same on every run to be reproducible.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

const BASE: &str = "https://status.example.com";

fn base_url() -> Url {
    Url::parse(BASE).unwrap()
}

/// The first `N - 1` NUL-separated parts of `data`, the rest in the last; missing parts are
/// empty.
fn parts<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut rest = data;
    for slot in out.iter_mut().take(N - 1) {
        match rest.iter().position(|b| *b == 0) {
            Some(at) => {
                *slot = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *slot = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out[N - 1] = rest;
    out
}

/// What happens to a polled snapshot: two polls' worth of change detection (a baseline, and
/// one after a baseline, as a provider added later sees it), then the same snapshot again,
/// which must announce nothing; every event is rendered as a message.
fn downstream(snapshot: &Snapshot) {
    let provider = Provider {
        id: "fuzz".into(),
        name: snapshot.page.name.clone(),
        url: snapshot.page.url.clone(),
    };
    let after_baseline = ProviderState {
        baseline_at: Some(now() - Duration::days(1)),
        ..ProviderState::default()
    };
    for previous in [ProviderState::default(), after_baseline] {
        let first = detect_changes(&provider, &previous, snapshot, now());
        let mut ids: Vec<&str> = first.events.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        assert!(
            ids.windows(2).all(|w| w[0] != w[1]),
            "one poll emitted an event id twice: {ids:?}"
        );
        render_all(&first.events);
        let again = detect_changes(
            &provider,
            &first.state,
            snapshot,
            now() + Duration::minutes(1),
        );
        assert!(
            again.events.is_empty(),
            "a second poll of the same snapshot announced {:?}",
            again.events.iter().map(|e| &e.id).collect::<Vec<_>>()
        );
        assert_eq!(
            known_after(&provider, &previous, snapshot, now()),
            first.state,
            "the replayed state differs from the state the events were built with"
        );
    }
}

fn render_all(events: &[Event]) {
    for event in events {
        let message = Message::from_event(event);
        let _ = (
            message.headline(),
            message.status_line(),
            message.time_text(),
            message.time_rfc3339(),
        );
        let _ = render::cut(&message.body, 280, render::utf16_units);
    }
}

/// Atlassian Statuspage: `summary.json`, `incidents.json`, `scheduled-maintenances.json`.
pub fn statuspage(data: &[u8]) {
    let [summary, incidents, maintenances] = parts::<3>(data);
    let mut snapshot = Snapshot::default();
    if let Ok((page, components)) = sources::statuspage::parse_summary(summary) {
        snapshot.page = page;
        snapshot.components = components;
    }
    if let Ok(incidents) = sources::statuspage::parse_incidents(incidents, BASE) {
        snapshot.incidents = incidents;
    }
    if let Ok(maintenances) = sources::statuspage::parse_maintenances(maintenances, BASE) {
        snapshot.maintenances = maintenances;
    }
    downstream(&snapshot);
}

/// Slack: `history`, then `current` over it.
pub fn slack(data: &[u8]) {
    let [history, current] = parts::<2>(data);
    let mut snapshot = Snapshot::default();
    let _ = sources::slack::read_history(history, BASE, &mut snapshot);
    let _ = sources::slack::read_current(current, BASE, &mut snapshot);
    downstream(&snapshot);
}

/// Instatus `summary.json`, read once alone and once over its own snapshot (the path that
/// keeps the updates of the previous poll).
pub fn instatus(data: &[u8]) {
    if let Ok(first) = sources::instatus::parse(data, BASE, None) {
        downstream(&first);
        let again = sources::instatus::parse(data, BASE, Some(&first)).unwrap();
        downstream(&again);
    }
}

/// incident.io's widget `summary`, alone and over its own snapshot.
pub fn incident_io(data: &[u8]) {
    if let Ok(first) = sources::incident_io::parse(data, BASE, None) {
        downstream(&first);
        let again = sources::incident_io::parse(data, BASE, Some(&first)).unwrap();
        downstream(&again);
    }
}

/// Better Stack `index.json`.
pub fn better_stack(data: &[u8]) {
    if let Ok(snapshot) = sources::better_stack::parse(data, BASE, now()) {
        downstream(&snapshot);
    }
}

/// Cachet: components, incidents, and one updates document given to every incident.
pub fn cachet(data: &[u8]) {
    let [components, incidents, updates] = parts::<3>(data);
    let mut snapshot = Snapshot {
        components: sources::cachet::parse_components(components).unwrap_or_default(),
        ..Snapshot::default()
    };
    let updates = sources::cachet::parse_updates("updates", updates).unwrap_or_default();
    for record in sources::cachet::parse_incidents(incidents).unwrap_or_default() {
        let record = record.into_incident(updates.clone(), &snapshot.components, BASE);
        sources::cachet::file(&mut snapshot, record);
    }
    snapshot.page = sources::cachet::page(&snapshot.components, None, &base_url());
    downstream(&snapshot);
}

/// Statuspal summary.
pub fn statuspal(data: &[u8]) {
    let url = Url::parse("https://statuspal.io/api/v1/status_pages/example/summary").unwrap();
    if let Ok(snapshot) = sources::statuspal::parse(data, &url, now()) {
        downstream(&snapshot);
    }
}

/// Status.io status document, alone and over its own snapshot.
pub fn status_io(data: &[u8]) {
    let url = Url::parse("https://api.status.io/1.0/status/0123456789abcdef01234567").unwrap();
    if let Ok(first) = sources::status_io::parse(data, &url, None, now()) {
        downstream(&first);
        let again = sources::status_io::parse(data, &url, Some(&first), now()).unwrap();
        downstream(&again);
    }
}

/// Google Cloud `incidents.json`.
pub fn gcp(data: &[u8]) {
    if let Ok(snapshot) = sources::gcp::parse(data, BASE) {
        downstream(&snapshot);
    }
}

/// AWS Health Dashboard RSS.
pub fn aws_health(data: &[u8]) {
    let url = Url::parse("https://status.aws.amazon.com/rss/all.rss").unwrap();
    if let Ok(snapshot) = sources::aws_health::parse(data, &url) {
        downstream(&snapshot);
    }
}

/// Any RSS or Atom feed.
pub fn feed(data: &[u8]) {
    let url = Url::parse("https://status.example.com/history.atom").unwrap();
    if let Ok(snapshot) = sources::feed::parse(data, &url) {
        downstream(&snapshot);
    }
}

/// HTML update bodies → text, directly and through [`render::plain_text`] (which decides
/// whether a body is HTML at all).
pub fn html(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = render::html::to_text(&text);
    let plain = render::plain_text(&text);
    let _ = render::single_line(&plain);
}

/// A config file (read as UTF-8 text, as `Config::load` does), in both scopes.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let _ = crate::config::ssm_references(text);
    let _ = crate::config::Config::parse(path, text);
    let _ = crate::config::Config::parse_providers(path, text);
}

/// A table item as JSON (its new image, then optionally its old one), diffed as the notifier
/// diffs a stream record.
pub fn state_item(data: &[u8]) {
    use crate::stream::{StateItem, item_events};
    let [new, old] = parts::<2>(data);
    let Ok(new) = serde_json::from_slice::<StateItem>(new) else {
        return;
    };
    let old = serde_json::from_slice::<StateItem>(old).ok();
    render_all(&item_events(old, new, now()));
}

/// A DynamoDB stream batch as the Lambda runtime hands it to the notifier (JSON), each record
/// decoded and diffed by the notifier's own [`record_events`](crate::aws::notifier::record_events).
#[cfg(feature = "aws")]
pub fn dynamodb_stream(data: &[u8]) {
    use crate::aws::notifier::{RecordEvents, record_events};
    use aws_lambda_events::event::dynamodb::Event as StreamEvent;
    let Ok(mut batch) = serde_json::from_slice::<StreamEvent>(data) else {
        return;
    };
    for record in &mut batch.records {
        if let RecordEvents::Events(events) = record_events(record) {
            render_all(&events);
        }
    }
}

/// Standard Webhooks: `secret NUL id NUL timestamp NUL header NUL body`. Any header must be
/// checked without a panic, and what a key signs it must accept.
pub fn signing(data: &[u8]) {
    let [secret, id, timestamp, header, body] = parts::<5>(data);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Ok(key) = SigningKey::parse(&text(secret)) else {
        return;
    };
    let (id, header) = (text(id), text(header));
    let timestamp = text(timestamp).trim().parse::<i64>().unwrap_or_default();
    let _ = key.verify(&id, timestamp, body, &header);
    let signature = key.sign(&id, timestamp, body);
    assert!(
        key.verify(&id, timestamp, body, &signature),
        "a key rejected its own signature"
    );
    assert!(key.verify(&id, timestamp, body, &format!("{header} {signature}")));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds")
            .join(target)
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A seed the parser rejects would leave the fuzzer to rediscover the format by chance.
    #[test]
    fn every_source_seed_reads_as_a_snapshot_with_records() {
        let url = |u: &str| Url::parse(u).unwrap();
        let records = |s: &Snapshot| s.incidents.len() + s.maintenances.len();
        let statuspage = seed("statuspage", "github");
        let [summary, incidents, maintenances] = parts::<3>(&statuspage);
        assert_eq!(
            sources::statuspage::parse_summary(summary).unwrap().1.len(),
            3
        );
        assert_eq!(
            sources::statuspage::parse_incidents(incidents, BASE)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            sources::statuspage::parse_maintenances(maintenances, BASE)
                .unwrap()
                .len(),
            1
        );
        let slack_docs = seed("slack", "history");
        let [history, current] = parts::<2>(&slack_docs);
        let mut slack = Snapshot::default();
        sources::slack::read_history(history, BASE, &mut slack).unwrap();
        sources::slack::read_current(current, BASE, &mut slack).unwrap();
        assert_eq!(records(&slack), 3);
        let read = [
            sources::instatus::parse(&seed("instatus", "active"), BASE, None),
            sources::incident_io::parse(&seed("incident_io", "summary"), BASE, None),
            sources::better_stack::parse(&seed("better_stack", "index"), BASE, now()),
            sources::statuspal::parse(&seed("statuspal", "summary"), &url(BASE), now()),
            sources::status_io::parse(&seed("status_io", "status"), &url(BASE), None, now()),
            sources::gcp::parse(&seed("gcp", "incidents"), BASE),
            sources::aws_health::parse(&seed("aws_health", "all.rss"), &url(BASE)),
            sources::feed::parse(&seed("feed", "history.atom"), &url(BASE)),
            sources::feed::parse(&seed("feed", "azure.rss"), &url(BASE)),
        ];
        for (index, snapshot) in read.into_iter().enumerate() {
            let snapshot = snapshot.unwrap_or_else(|e| panic!("seed {index}: {e}"));
            assert!(records(&snapshot) > 0, "seed {index} has no records");
        }
        let cachet = seed("cachet", "page");
        let [components, incidents, updates] = parts::<3>(&cachet);
        assert_eq!(
            sources::cachet::parse_components(components).unwrap().len(),
            1
        );
        assert_eq!(
            sources::cachet::parse_incidents(incidents).unwrap().len(),
            2
        );
        assert_eq!(
            sources::cachet::parse_updates("u", updates).unwrap().len(),
            2
        );
    }

    /// Every input that once crashed a target (`fuzz/regressions/<target>/`, the fuzzer's
    /// artifact or a hand-cut version of it) runs clean now.
    #[test]
    fn past_crashes_stay_fixed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        let mut ran = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
            let target = TARGETS
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("{}: no such target", dir.display()))
                .1;
            for file in std::fs::read_dir(&dir).unwrap() {
                target(&std::fs::read(file.unwrap().path()).unwrap());
                ran += 1;
            }
        }
        assert!(ran > 0);
    }

    #[test]
    fn parts_split_on_nul_and_pad_with_empty() {
        assert_eq!(parts::<3>(b"a\0b\0c\0d"), [&b"a"[..], b"b", b"c\0d"]);
        assert_eq!(parts::<3>(b"a"), [&b"a"[..], b"", b""]);
        assert_eq!(parts::<1>(b"a\0b"), [&b"a\0b"[..]]);
    }
}
