//! The watcher's Prometheus metrics, served as OpenMetrics text on `/metrics`.
//!
//! Kept in memory and updated by the watcher as polls, events, deliveries and cycles finish,
//! so a scrape only encodes what is already here: reading 5,000 snapshots from the state file
//! per scrape would not fit its 30 ms budget. At start, [`Metrics::restore`] fills the status
//! gauges from the state file once, so a restarted watcher's first scrape is not empty.
//!
//! Status gauges use one encoding, [`status_code`]: 0 operational, 1 under maintenance,
//! 2 degraded, 3 partial outage, 4 major outage, -1 unknown (no good poll yet, or the last
//! [`UNKNOWN_AFTER_FAILURES`](crate::overview::UNKNOWN_AFTER_FAILURES) polls failed), the same
//! states `statusrelay status` shows.
//!
//! Label values are bounded: providers and destinations are the configured ids and names;
//! components are exported for at most [`COMPONENTS_PER_PROVIDER`] per provider and
//! [`COMPONENTS_TOTAL`] in all, each named by [`component_label`]; platforms, failure
//! reasons, event types and delivery outcomes are closed sets.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::event::EventType;
use crate::model::Snapshot;
use crate::overview::{OverallState, PollHealth, current_state, shown_state};
use crate::sources::{NetworkCause, PollError};

/// Components exported per provider; a page lists its most important ones first.
pub const COMPONENTS_PER_PROVIDER: usize = 50;
/// Component series in all, so a large fleet's scrape stays small and fast.
pub const COMPONENTS_TOTAL: usize = 10_000;
/// Characters kept of a component's name in its label.
pub const LABEL_MAX_CHARS: usize = 64;

/// What a scrape answers with: the type prometheus-client's text encoder produces.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Poll durations: from a quick 304 to the fetch timeout (20 s).
const POLL_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0];
/// Cycle durations: a few providers take well under a second, a large fleet minutes.
const CYCLE_BUCKETS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

type Labels<const N: usize> = [(&'static str, String); N];

/// The number a status gauge holds for a state (see the module documentation).
pub fn status_code(state: OverallState) -> i64 {
    match state {
        OverallState::Operational => 0,
        OverallState::UnderMaintenance => 1,
        OverallState::Degraded => 2,
        OverallState::PartialOutage => 3,
        OverallState::MajorOutage => 4,
        OverallState::Unknown => -1,
    }
}

/// A component's name as a label value: control and invisible formatting characters (bidi
/// overrides, zero-width spaces) dropped, whitespace collapsed, at most [`LABEL_MAX_CHARS`]
/// characters; `unnamed` when nothing is left.
pub fn component_label(name: &str) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    let cleaned: String = name.chars().filter(|c| !invisible(*c)).collect();
    let label: String = cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(LABEL_MAX_CHARS)
        .collect();
    if label.is_empty() {
        "unnamed".to_owned()
    } else {
        label
    }
}

/// Why a poll failed, as the `reason` label: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    Timeout,
    Dns,
    Connect,
    Tls,
    Http4xx,
    Http5xx,
    TooLarge,
    Parse,
    BlockedPrivate,
    Other,
}

impl FailureReason {
    pub fn of(err: &PollError) -> FailureReason {
        match err {
            PollError::Timeout { .. } => FailureReason::Timeout,
            PollError::Status { status, .. } | PollError::Throttled { status, .. } => {
                match status {
                    400..=499 => FailureReason::Http4xx,
                    500..=599 => FailureReason::Http5xx,
                    _ => FailureReason::Other,
                }
            }
            PollError::Network { cause, .. } => match cause {
                NetworkCause::Dns => FailureReason::Dns,
                NetworkCause::Connect => FailureReason::Connect,
                NetworkCause::Tls => FailureReason::Tls,
                NetworkCause::BlockedPrivate => FailureReason::BlockedPrivate,
                NetworkCause::Other => FailureReason::Other,
            },
            PollError::TooLarge { .. } => FailureReason::TooLarge,
            PollError::NotStatusPage { .. } | PollError::Malformed { .. } => FailureReason::Parse,
            PollError::Redirect { .. } => FailureReason::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Timeout => "timeout",
            FailureReason::Dns => "dns",
            FailureReason::Connect => "connect",
            FailureReason::Tls => "tls",
            FailureReason::Http4xx => "http_4xx",
            FailureReason::Http5xx => "http_5xx",
            FailureReason::TooLarge => "too_large",
            FailureReason::Parse => "parse",
            FailureReason::BlockedPrivate => "blocked_private",
            FailureReason::Other => "other",
        }
    }
}

/// How one delivery ended in a run, as the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Still failing after this run's retries: left in the outbox for the next run.
    Retried,
    /// Dead-lettered.
    Dead,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retried => "retried",
            DeliveryOutcome::Dead => "dead",
        }
    }
}

/// What the gauges of one provider are computed from.
#[derive(Default)]
struct ProviderTrack {
    /// What its last good snapshot showed; none before the first.
    shown: Option<OverallState>,
    consecutive_failures: u32,
    /// The exported components' labels and states, from the last good snapshot.
    components: Vec<(String, OverallState)>,
    /// Polls since the watcher started, and how many of them found nothing new (a 304 or the
    /// same content): for the provider page, not exported (one series per provider is enough).
    polls: u64,
    unchanged_polls: u64,
}

#[derive(Default)]
struct Tracked {
    providers: HashMap<String, ProviderTrack>,
    component_series: usize,
}

pub struct Metrics {
    registry: Registry,
    provider_status: Family<Labels<1>, Gauge>,
    provider_up: Family<Labels<1>, Gauge>,
    provider_last_success: Family<Labels<1>, Gauge<f64, AtomicU64>>,
    component_status: Family<Labels<2>, Gauge>,
    poll_duration: Family<Labels<1>, Histogram>,
    poll_failures: Family<Labels<2>, Counter>,
    events: Family<Labels<1>, Counter>,
    deliveries: Family<Labels<2>, Counter>,
    dead_letters: Gauge,
    destination_paused: Family<Labels<1>, Gauge>,
    cycle_duration: Histogram,
    cycles: Counter,
    hot_providers: Gauge,
    tracked: Mutex<Tracked>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            provider_status: Family::default(),
            provider_up: Family::default(),
            provider_last_success: Family::default(),
            component_status: Family::default(),
            poll_duration: Family::new_with_constructor(|| Histogram::new(POLL_BUCKETS)),
            poll_failures: Family::default(),
            events: Family::default(),
            deliveries: Family::default(),
            dead_letters: Gauge::default(),
            destination_paused: Family::default(),
            cycle_duration: Histogram::new(CYCLE_BUCKETS),
            cycles: Counter::default(),
            hot_providers: Gauge::default(),
            tracked: Mutex::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "statusrelay_provider_status",
            "Overall state of a provider: 0 operational, 1 under maintenance, 2 degraded, 3 partial outage, 4 major outage, -1 unknown",
            metrics.provider_status.clone(),
        );
        registry.register(
            "statusrelay_provider_up",
            "1 when the provider's last poll succeeded, else 0",
            metrics.provider_up.clone(),
        );
        registry.register_with_unit(
            "statusrelay_provider_last_success_timestamp",
            "Unix time of the provider's last successful poll",
            Unit::Seconds,
            metrics.provider_last_success.clone(),
        );
        registry.register(
            "statusrelay_component_status",
            "State of a component, encoded as statusrelay_provider_status (at most 50 components per provider, 10000 in all)",
            metrics.component_status.clone(),
        );
        registry.register_with_unit(
            "statusrelay_poll_duration",
            "Time one poll of a provider took, by platform",
            Unit::Seconds,
            metrics.poll_duration.clone(),
        );
        registry.register(
            "statusrelay_poll_failures",
            "Failed polls by provider and reason",
            metrics.poll_failures.clone(),
        );
        registry.register(
            "statusrelay_events",
            "Events recorded, by type",
            metrics.events.clone(),
        );
        registry.register(
            "statusrelay_deliveries",
            "Deliveries by destination and outcome (sent, retried: left for the next run, dead: dead-lettered)",
            metrics.deliveries.clone(),
        );
        registry.register(
            "statusrelay_dead_letters",
            "Dead-lettered deliveries in the state file",
            metrics.dead_letters.clone(),
        );
        registry.register(
            "statusrelay_destination_paused",
            "1 while a destination is marked failing (its deliveries are dead-lettered unsent until its configuration changes)",
            metrics.destination_paused.clone(),
        );
        registry.register_with_unit(
            "statusrelay_cycle_duration",
            "Time one watch cycle took (polls and deliveries)",
            Unit::Seconds,
            metrics.cycle_duration.clone(),
        );
        registry.register(
            "statusrelay_cycles",
            "Watch rounds completed (each polls the providers due and delivers)",
            metrics.cycles.clone(),
        );
        registry.register(
            "statusrelay_hot_providers",
            "Providers polled every hot_interval now (open incident, maintenance in progress, or a change in the last 30 minutes)",
            metrics.hot_providers.clone(),
        );
        metrics
    }

    pub fn set_hot_providers(&self, count: usize) {
        self.hot_providers
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The exposition, as OpenMetrics text ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Fills a provider's gauges from the state file, at start.
    pub fn restore(&self, provider: &str, snapshot: Option<&Snapshot>, health: &PollHealth) {
        let mut tracked = self.tracked();
        if let Some(snapshot) = snapshot {
            self.take_snapshot(&mut tracked, provider, snapshot);
        }
        let track = tracked.providers.entry(provider.to_owned()).or_default();
        track.consecutive_failures = health.consecutive_failures;
        let up = snapshot.is_some() && health.consecutive_failures == 0;
        self.provider_up
            .get_or_create(&label(provider))
            .set(i64::from(up));
        if let Some(at) = health.last_success_at {
            self.set_last_success(provider, at);
        }
        self.publish(provider, track);
    }

    /// A poll succeeded; `snapshot` is the new one when the page changed (`None`: unchanged).
    pub fn record_poll_success(
        &self,
        provider: &str,
        platform: &str,
        took: Duration,
        snapshot: Option<&Snapshot>,
    ) {
        self.observe_poll(platform, took);
        let mut tracked = self.tracked();
        if let Some(snapshot) = snapshot {
            self.take_snapshot(&mut tracked, provider, snapshot);
        }
        let track = tracked.providers.entry(provider.to_owned()).or_default();
        track.consecutive_failures = 0;
        track.polls += 1;
        track.unchanged_polls += u64::from(snapshot.is_none());
        self.provider_up.get_or_create(&label(provider)).set(1);
        self.set_last_success(provider, Utc::now());
        self.publish(provider, track);
    }

    pub fn record_poll_failure(
        &self,
        provider: &str,
        platform: &str,
        took: Duration,
        reason: FailureReason,
    ) {
        self.observe_poll(platform, took);
        self.poll_failures
            .get_or_create(&[
                ("provider", provider.to_owned()),
                ("reason", reason.as_str().to_owned()),
            ])
            .inc();
        let mut tracked = self.tracked();
        let track = tracked.providers.entry(provider.to_owned()).or_default();
        track.consecutive_failures = track.consecutive_failures.saturating_add(1);
        track.polls += 1;
        self.provider_up.get_or_create(&label(provider)).set(0);
        self.publish(provider, track);
    }

    /// Events committed to the state file.
    pub fn record_events(&self, kinds: impl IntoIterator<Item = EventType>) {
        for kind in kinds {
            self.events
                .get_or_create(&[("type", kind.as_str().to_owned())])
                .inc();
        }
    }

    pub fn record_deliveries(&self, destination: &str, outcome: DeliveryOutcome, count: usize) {
        if count == 0 {
            return;
        }
        self.deliveries
            .get_or_create(&[
                ("destination", destination.to_owned()),
                ("outcome", outcome.as_str().to_owned()),
            ])
            .inc_by(count as u64);
    }

    /// After a drain of the outbox: the dead letters in the state file, and which of the
    /// `destinations` (all configured) are paused (marked failing).
    pub fn record_delivery_state(
        &self,
        dead_letters: i64,
        destinations: &[String],
        paused: &[String],
    ) {
        self.dead_letters.set(dead_letters);
        for destination in destinations {
            let is_paused = paused.contains(destination);
            self.destination_paused
                .get_or_create(&[("destination", destination.clone())])
                .set(i64::from(is_paused));
        }
    }

    pub fn record_cycle(&self, took: Duration) {
        self.cycle_duration.observe(took.as_secs_f64());
        self.cycles.inc();
    }

    /// (polls, polls that found nothing new) of a provider since the watcher started.
    pub fn poll_counts(&self, provider: &str) -> (u64, u64) {
        self.tracked()
            .providers
            .get(provider)
            .map_or((0, 0), |t| (t.polls, t.unchanged_polls))
    }

    fn tracked(&self) -> std::sync::MutexGuard<'_, Tracked> {
        // Gauges are plain numbers: a panic elsewhere cannot leave them inconsistent.
        self.tracked.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn observe_poll(&self, platform: &str, took: Duration) {
        self.poll_duration
            .get_or_create(&[("platform", platform.to_owned())])
            .observe(took.as_secs_f64());
    }

    fn set_last_success(&self, provider: &str, at: DateTime<Utc>) {
        self.provider_last_success
            .get_or_create(&label(provider))
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// Takes a new snapshot's state and components (within the bounds) for `provider`; the
    /// series of components it no longer lists are removed.
    fn take_snapshot(&self, tracked: &mut Tracked, provider: &str, snapshot: &Snapshot) {
        let old = tracked
            .providers
            .get_mut(provider)
            .map(|track| std::mem::take(&mut track.components))
            .unwrap_or_default();
        for (component, _) in &old {
            self.component_status
                .remove(&component_labels(provider, component));
        }
        tracked.component_series = tracked.component_series.saturating_sub(old.len());
        let room =
            COMPONENTS_PER_PROVIDER.min(COMPONENTS_TOTAL.saturating_sub(tracked.component_series));
        let mut components: Vec<(String, OverallState)> = Vec::new();
        for component in snapshot.components.iter().filter(|c| !c.is_group) {
            let name = component_label(&component.name);
            let state = OverallState::of_component(&component.status);
            // Two components cleaned to one name (same name in two groups): the worse shows.
            if let Some(same) = components.iter_mut().find(|(n, _)| *n == name) {
                same.1 = same.1.max(state);
            } else if components.len() < room {
                components.push((name, state));
            }
        }
        tracked.component_series += components.len();
        let track = tracked.providers.entry(provider.to_owned()).or_default();
        track.shown = Some(shown_state(snapshot));
        track.components = components;
    }

    /// Sets a provider's status and component gauges from what is tracked of it.
    fn publish(&self, provider: &str, track: &ProviderTrack) {
        let state = current_state(track.shown, track.consecutive_failures);
        self.provider_status
            .get_or_create(&label(provider))
            .set(status_code(state));
        for (component, component_state) in &track.components {
            // A provider we cannot see has components we cannot see either.
            let shown = if state == OverallState::Unknown {
                OverallState::Unknown
            } else {
                *component_state
            };
            self.component_status
                .get_or_create(&component_labels(provider, component))
                .set(status_code(shown));
        }
    }
}

fn label(provider: &str) -> Labels<1> {
    [("provider", provider.to_owned())]
}

fn component_labels(provider: &str, component: &str) -> Labels<2> {
    [
        ("provider", provider.to_owned()),
        ("component", component.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Component;

    fn page(components: usize, status: &str) -> Snapshot {
        Snapshot {
            components: (0..components)
                .map(|i| Component {
                    id: format!("c{i}"),
                    name: format!("Component {i}"),
                    status: status.into(),
                    is_group: false,
                    group_id: None,
                    position: None,
                    updated_at: None,
                })
                .collect(),
            ..Snapshot::default()
        }
    }

    /// The value of the one sample line starting with `series` (name and labels).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().unwrap())
    }

    #[test]
    fn states_encode_as_documented() {
        let codes: Vec<i64> = OverallState::ALL.into_iter().map(status_code).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, -1]);
    }

    #[test]
    fn the_exposition_follows_the_naming_conventions() {
        let metrics = Metrics::new();
        metrics.record_poll_success(
            "github",
            "statuspage",
            Duration::from_millis(120),
            Some(&page(2, "major_outage")),
        );
        metrics.record_events([EventType::IncidentCreated]);
        metrics.record_deliveries("ops", DeliveryOutcome::Sent, 2);
        metrics.record_cycle(Duration::from_secs(2));
        let text = metrics.encode();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(
            sample(&text, r#"statusrelay_provider_status{provider="github"}"#),
            Some(4.0)
        );
        assert_eq!(
            sample(&text, r#"statusrelay_provider_up{provider="github"}"#),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_component_status{provider="github",component="Component 1"}"#
            ),
            Some(4.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_events_total{type="incident.created"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_deliveries_total{destination="ops",outcome="sent"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, "statusrelay_cycle_duration_seconds_count"),
            Some(1.0)
        );
        assert_eq!(sample(&text, "statusrelay_cycles_total"), Some(1.0));
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_poll_duration_seconds_count{platform="statuspage"}"#
            ),
            Some(1.0)
        );
        let at = sample(
            &text,
            r#"statusrelay_provider_last_success_timestamp_seconds{provider="github"}"#,
        )
        .unwrap();
        assert!((at - Utc::now().timestamp() as f64).abs() < 60.0, "{at}");
    }

    #[test]
    fn failing_polls_make_a_provider_unknown_then_a_good_poll_restores_it() {
        let metrics = Metrics::new();
        metrics.record_poll_success(
            "p",
            "statuspage",
            Duration::ZERO,
            Some(&page(1, "degraded_performance")),
        );
        let status =
            |m: &Metrics| sample(&m.encode(), r#"statusrelay_provider_status{provider="p"}"#);
        let component = |m: &Metrics| {
            sample(
                &m.encode(),
                r#"statusrelay_component_status{provider="p",component="Component 0"}"#,
            )
        };
        metrics.record_poll_failure("p", "statuspage", Duration::ZERO, FailureReason::Http5xx);
        // One failure is a blip, as in `statusrelay status`.
        assert_eq!(status(&metrics), Some(2.0));
        metrics.record_poll_failure("p", "statuspage", Duration::ZERO, FailureReason::Http5xx);
        assert_eq!(status(&metrics), Some(-1.0));
        assert_eq!(component(&metrics), Some(-1.0));
        let text = metrics.encode();
        assert_eq!(
            sample(&text, r#"statusrelay_provider_up{provider="p"}"#),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_poll_failures_total{provider="p",reason="http_5xx"}"#
            ),
            Some(2.0)
        );
        // An unchanged page (every document 304) is a good poll too.
        metrics.record_poll_success("p", "statuspage", Duration::ZERO, None);
        assert_eq!(status(&metrics), Some(2.0));
        assert_eq!(component(&metrics), Some(2.0));
    }

    #[test]
    fn component_series_are_bounded_per_provider_and_in_all() {
        let metrics = Metrics::new();
        metrics.record_poll_success(
            "big",
            "statuspage",
            Duration::ZERO,
            Some(&page(300, "operational")),
        );
        let count = |m: &Metrics, provider: &str| {
            let prefix = format!("statusrelay_component_status{{provider=\"{provider}\"");
            m.encode()
                .lines()
                .filter(|l| l.starts_with(&prefix))
                .count()
        };
        assert_eq!(count(&metrics, "big"), COMPONENTS_PER_PROVIDER);
        // A page that drops components drops their series.
        metrics.record_poll_success(
            "big",
            "statuspage",
            Duration::ZERO,
            Some(&page(3, "operational")),
        );
        assert_eq!(count(&metrics, "big"), 3);

        let providers = COMPONENTS_TOTAL / COMPONENTS_PER_PROVIDER + 2;
        for i in 0..providers {
            metrics.record_poll_success(
                &format!("p{i}"),
                "statuspage",
                Duration::ZERO,
                Some(&page(60, "operational")),
            );
        }
        let all = metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with("statusrelay_component_status{"))
            .count();
        assert_eq!(all, COMPONENTS_TOTAL);
    }

    #[test]
    fn component_labels_are_cleaned_and_truncated() {
        assert_eq!(component_label("API\u{202E}\u{200B} \n\t Git"), "API Git");
        assert_eq!(component_label("\u{0007}\u{FEFF}"), "unnamed");
        let long = "é".repeat(300);
        assert_eq!(component_label(&long).chars().count(), LABEL_MAX_CHARS);
        // Quotes and backslashes stay: the encoder escapes them.
        let metrics = Metrics::new();
        let mut snapshot = page(1, "operational");
        snapshot.components[0].name = r#"a "quoted" \ name"#.into();
        metrics.record_poll_success("p", "statuspage", Duration::ZERO, Some(&snapshot));
        assert!(
            metrics
                .encode()
                .contains(r#"component="a \"quoted\" \\ name""#)
        );
    }

    #[test]
    fn poll_errors_map_to_a_closed_set_of_reasons() {
        let doc = || "/api/v2/summary.json".to_owned();
        let network = |cause| PollError::Network {
            document: doc(),
            reason: "x".into(),
            cause,
        };
        let cases = [
            (PollError::Timeout { document: doc() }, "timeout"),
            (
                PollError::Status {
                    document: doc(),
                    status: 503,
                },
                "http_5xx",
            ),
            (
                PollError::Status {
                    document: doc(),
                    status: 403,
                },
                "http_4xx",
            ),
            (
                PollError::TooLarge {
                    document: doc(),
                    limit: 1,
                },
                "too_large",
            ),
            (
                PollError::NotStatusPage {
                    document: doc(),
                    reason: "html".into(),
                },
                "parse",
            ),
            (
                PollError::Malformed {
                    document: doc(),
                    line: 1,
                    column: 1,
                    reason: "eof".into(),
                },
                "parse",
            ),
            (network(NetworkCause::Dns), "dns"),
            (network(NetworkCause::Connect), "connect"),
            (network(NetworkCause::Tls), "tls"),
            (network(NetworkCause::BlockedPrivate), "blocked_private"),
            (
                PollError::Redirect {
                    document: doc(),
                    location: "https://elsewhere".into(),
                },
                "other",
            ),
        ];
        for (err, reason) in cases {
            assert_eq!(FailureReason::of(&err).as_str(), reason, "{err}");
        }
    }

    #[test]
    fn restored_gauges_match_the_state_file() {
        let metrics = Metrics::new();
        let health = PollHealth {
            last_success_at: Some(DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            consecutive_failures: 0,
            ..PollHealth::default()
        };
        metrics.restore("p", Some(&page(2, "partial_outage")), &health);
        metrics.restore("never", None, &PollHealth::default());
        let text = metrics.encode();
        assert_eq!(
            sample(&text, r#"statusrelay_provider_status{provider="p"}"#),
            Some(3.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"statusrelay_provider_last_success_timestamp_seconds{provider="p"}"#
            ),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            sample(&text, r#"statusrelay_provider_status{provider="never"}"#),
            Some(-1.0)
        );
        assert_eq!(
            sample(&text, r#"statusrelay_provider_up{provider="never"}"#),
            Some(0.0)
        );
    }
}
