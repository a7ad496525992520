//! CloudWatch metrics through the Embedded Metric Format (EMF): the functions count what
//! happened during an invocation in memory and print one JSON document at its end; CloudWatch
//! Logs extracts the metrics from that log line. No `PutMetricData` call, no extra IAM
//! permission, nothing on the invocation's path but one line of stdout.
//!
//! One document per invocation means one value per member, and EMF takes a dimension's value
//! from a member: a document cannot carry `Reason=timeout` and `Reason=connect` at once. So
//! the only dimension is `Stack`, and the class a metric counts is in its name, from closed
//! sets (`PollFailuresTimeout`, `ProvidersMajorOutage`, `EventsIncidentCreated`,
//! `DeliveriesSent`): the same number of metrics as a `Reason` dimension would make, billed
//! the same ($0.30 per metric-month), and no vendor or config text ever names one. Deliveries
//! per destination are a property of the document (`Destinations`: name → outcome → count),
//! readable in Logs Insights, not metrics: a destination name is config text, and the totals
//! per outcome are what the dashboard and an alarm need.
//!
//! Counts that are zero are left out (a metric is billed for the hours it receives data, and
//! most hours see no failure of a given kind), the providers per state of a cycle included: a
//! healthy fleet reports `ProvidersOperational` alone. `CycleDuration` is in every document of
//! a run over a whole shard, so its sample count is the number of such runs; the dashboard
//! divides each state's sum by it (an absent state counts 0 towards the average), rather than
//! averaging the runs that did report the state.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::event::EventType;
use crate::overview::OverallState;
use crate::sources::PollError;

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "statusrelay";
/// The CloudWatch namespace (the template sets it; empty turns the metrics off).
pub const NAMESPACE_ENV: &str = "METRICS_NAMESPACE";
/// The `Stack` dimension's value (the template sets the stack name).
pub const STACK_ENV: &str = "METRICS_STACK";

/// A CloudWatch unit; only the two these metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    Count,
    Milliseconds,
}

/// One metric of a document: its name, unit and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub unit: Unit,
    pub value: u64,
}

impl Metric {
    fn count(name: impl Into<String>, value: u64) -> Metric {
        Metric {
            name: name.into(),
            unit: Unit::Count,
            value,
        }
    }
}

/// Where documents go: the namespace and the `Stack` dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emf {
    pub namespace: String,
    pub stack: String,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata<'a>,
    /// `Stack`, the metric values and the properties, as top-level members.
    #[serde(flatten)]
    members: BTreeMap<&'a str, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: i64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: [[&'static str; 1]; 1],
    metrics: Vec<MetricName<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricName<'a> {
    name: &'a str,
    unit: Unit,
}

impl Emf {
    /// From the environment: `None` when `METRICS_NAMESPACE` is set empty (metrics off). The
    /// stack defaults to the function's name, so a function run outside the template still
    /// tells its metrics apart.
    pub fn from_env() -> Option<Emf> {
        let namespace = std::env::var(NAMESPACE_ENV).unwrap_or_else(|_| DEFAULT_NAMESPACE.into());
        if namespace.trim().is_empty() {
            return None;
        }
        let stack = std::env::var(STACK_ENV)
            .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|_| "statusrelay".into());
        Some(Emf {
            namespace: namespace.trim().to_owned(),
            stack,
        })
    }

    /// The document for `metrics` and `properties` at `timestamp_ms`, one line of JSON;
    /// `None` when there is no metric to report.
    pub fn document(
        &self,
        timestamp_ms: i64,
        metrics: &[Metric],
        properties: &BTreeMap<String, Value>,
    ) -> Option<String> {
        if metrics.is_empty() {
            return None;
        }
        let mut members: BTreeMap<&str, Value> = properties
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        members.insert("Stack", Value::from(self.stack.as_str()));
        for metric in metrics {
            members.insert(&metric.name, Value::from(metric.value));
        }
        let document = Document {
            aws: Metadata {
                timestamp: timestamp_ms,
                cloud_watch_metrics: [Directive {
                    namespace: &self.namespace,
                    dimensions: [["Stack"]],
                    metrics: metrics
                        .iter()
                        .map(|m| MetricName {
                            name: &m.name,
                            unit: m.unit,
                        })
                        .collect(),
                }],
            },
            members,
        };
        Some(serde_json::to_string(&document).expect("an EMF document serializes"))
    }

    /// Prints the document (if any) to stdout as one line, written at once so it does not
    /// interleave with log lines.
    pub fn emit(&self, metrics: &[Metric], properties: &BTreeMap<String, Value>) {
        let now = chrono::Utc::now().timestamp_millis();
        if let Some(mut line) = self.document(now, metrics, properties) {
            line.push('\n');
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }
}

/// Why a poll failed, as a metric name's suffix: a closed set, coarser than the watcher's
/// Prometheus reasons (each class is a metric billed by the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureReason {
    /// No answer in time.
    Timeout,
    /// No connection: DNS, refused or reset, TLS, a blocked private address.
    Connect,
    /// An answer, but not a 2xx or 304 (throttling and redirects to other hosts included).
    HttpStatus,
    /// An answer that is not a status page document (HTML, malformed JSON, over the size cap).
    Parse,
    /// The poll's own DynamoDB reads or writes failed.
    Table,
}

impl FailureReason {
    pub const ALL: [FailureReason; 5] = [
        FailureReason::Timeout,
        FailureReason::Connect,
        FailureReason::HttpStatus,
        FailureReason::Parse,
        FailureReason::Table,
    ];

    pub fn of(err: &PollError) -> FailureReason {
        match err {
            PollError::Timeout { .. } => FailureReason::Timeout,
            PollError::Network { .. } => FailureReason::Connect,
            PollError::Status { .. } | PollError::Throttled { .. } | PollError::Redirect { .. } => {
                FailureReason::HttpStatus
            }
            PollError::TooLarge { .. }
            | PollError::NotStatusPage { .. }
            | PollError::Malformed { .. } => FailureReason::Parse,
        }
    }

    pub fn metric_name(self) -> &'static str {
        match self {
            FailureReason::Timeout => "PollFailuresTimeout",
            FailureReason::Connect => "PollFailuresConnect",
            FailureReason::HttpStatus => "PollFailuresHttpStatus",
            FailureReason::Parse => "PollFailuresParse",
            FailureReason::Table => "PollFailuresTable",
        }
    }
}

/// The metric counting providers in `state` at the end of a cycle.
pub fn state_metric_name(state: OverallState) -> &'static str {
    match state {
        OverallState::Operational => "ProvidersOperational",
        OverallState::UnderMaintenance => "ProvidersUnderMaintenance",
        OverallState::Degraded => "ProvidersDegraded",
        OverallState::PartialOutage => "ProvidersPartialOutage",
        OverallState::MajorOutage => "ProvidersMajorOutage",
        OverallState::Unknown => "ProvidersUnknown",
    }
}

/// The metric counting events of type `kind`: `incident.created` → `EventsIncidentCreated`.
pub fn event_metric_name(kind: EventType) -> String {
    let mut name = String::from("Events");
    for word in kind.as_str().split(['.', '_']) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// How one delivery of one event to one destination ended in an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryOutcome {
    Sent,
    /// Still failing after the invocation's retries: the record is handed back to Lambda.
    Failed,
    /// Given up on (permanent failure, or a destination marked failing): dead-lettered in the
    /// delivery log.
    DeadLettered,
    /// Already in the delivery log (a replayed record): not sent again.
    Duplicate,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 4] = [
        DeliveryOutcome::Sent,
        DeliveryOutcome::Failed,
        DeliveryOutcome::DeadLettered,
        DeliveryOutcome::Duplicate,
    ];

    /// A final status as the delivery log records it (`sent`, `dead`).
    pub fn of_logged(status: &str) -> DeliveryOutcome {
        match status {
            "sent" => DeliveryOutcome::Sent,
            _ => DeliveryOutcome::DeadLettered,
        }
    }

    pub fn metric_name(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "DeliveriesSent",
            DeliveryOutcome::Failed => "DeliveriesFailed",
            DeliveryOutcome::DeadLettered => "DeliveriesDeadLettered",
            DeliveryOutcome::Duplicate => "DeliveriesDuplicate",
        }
    }

    /// The key in the document's `Destinations` property.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::DeadLettered => "dead_lettered",
            DeliveryOutcome::Duplicate => "duplicate",
        }
    }
}

/// What the poller counts during an invocation. A container serves one invocation at a time,
/// so counts taken at the end of one belong to it alone.
#[derive(Debug, Default)]
pub struct PollerMetrics {
    counts: Mutex<PollerCounts>,
}

#[derive(Debug, Default)]
struct PollerCounts {
    failures: BTreeMap<FailureReason, u64>,
    /// Set by a run that polled a whole shard (the schedule's), not by queued polls of a few
    /// hot providers: their states would not add up to the fleet.
    cycle: Option<Cycle>,
}

#[derive(Debug, Default)]
struct Cycle {
    states: BTreeMap<OverallState, u64>,
    took: Duration,
}

impl PollerMetrics {
    fn counts(&self) -> std::sync::MutexGuard<'_, PollerCounts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A poll failed at its source.
    pub fn poll_failed(&self, err: &PollError) {
        self.failed(FailureReason::of(err));
    }

    pub fn failed(&self, reason: FailureReason) {
        *self.counts().failures.entry(reason).or_default() += 1;
    }

    /// A run over a whole shard ended: its providers' states now, and how long it took. One
    /// run per invocation (the shard queue's trigger has a batch size of 1): the document's
    /// one `CycleDuration` sample stands for one run.
    pub fn cycle(&self, states: impl IntoIterator<Item = OverallState>, took: Duration) {
        let mut counts = self.counts();
        let cycle = counts.cycle.get_or_insert_with(Cycle::default);
        for state in states {
            *cycle.states.entry(state).or_default() += 1;
        }
        cycle.took += took;
    }

    /// The invocation's metrics; the counts start again from zero.
    pub fn take(&self) -> Vec<Metric> {
        let counts = std::mem::take(&mut *self.counts());
        let mut metrics: Vec<Metric> = counts
            .failures
            .iter()
            .map(|(reason, n)| Metric::count(reason.metric_name(), *n))
            .collect();
        if let Some(cycle) = counts.cycle {
            metrics.extend(OverallState::ALL.iter().filter_map(|state| {
                let n = cycle.states.get(state).copied().unwrap_or(0);
                (n > 0).then(|| Metric::count(state_metric_name(*state), n))
            }));
            // Always, even for a shard without providers: one sample per run, which the
            // dashboard divides the states' sums by.
            metrics.push(Metric {
                name: "CycleDuration".into(),
                unit: Unit::Milliseconds,
                value: u64::try_from(cycle.took.as_millis()).unwrap_or(u64::MAX),
            });
        }
        metrics
    }
}

/// What the notifier counts during an invocation (one at a time per container, as above).
#[derive(Debug, Default)]
pub struct NotifierMetrics {
    counts: Mutex<NotifierCounts>,
}

#[derive(Debug, Default)]
struct NotifierCounts {
    /// Reported in [`EventType::ALL`]'s order.
    events: std::collections::HashMap<EventType, u64>,
    /// Destination name → outcome → deliveries.
    deliveries: BTreeMap<String, BTreeMap<DeliveryOutcome, u64>>,
}

impl NotifierMetrics {
    fn counts(&self) -> std::sync::MutexGuard<'_, NotifierCounts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events whose record was processed.
    pub fn events<'e>(&self, events: impl IntoIterator<Item = &'e crate::event::Event>) {
        let mut counts = self.counts();
        for event in events {
            *counts.events.entry(event.kind).or_default() += 1;
        }
    }

    /// `n` deliveries to `destination` ended with `outcome`.
    pub fn delivered(&self, destination: &str, outcome: DeliveryOutcome, n: usize) {
        if n == 0 {
            return;
        }
        let mut counts = self.counts();
        let per_outcome = match counts.deliveries.get_mut(destination) {
            Some(per_outcome) => per_outcome,
            None => counts.deliveries.entry(destination.to_owned()).or_default(),
        };
        *per_outcome.entry(outcome).or_default() += n as u64;
    }

    /// The invocation's metrics and the `Destinations` property; the counts start again.
    pub fn take(&self) -> (Vec<Metric>, BTreeMap<String, Value>) {
        let counts = std::mem::take(&mut *self.counts());
        let mut metrics: Vec<Metric> = EventType::ALL
            .iter()
            .filter_map(|kind| {
                let n = counts.events.get(kind).copied().unwrap_or(0);
                (n > 0).then(|| Metric::count(event_metric_name(*kind), n))
            })
            .collect();
        for outcome in DeliveryOutcome::ALL {
            let n: u64 = counts
                .deliveries
                .values()
                .filter_map(|per_outcome| per_outcome.get(&outcome))
                .sum();
            if n > 0 {
                metrics.push(Metric::count(outcome.metric_name(), n));
            }
        }
        let mut properties = BTreeMap::new();
        if !counts.deliveries.is_empty() {
            let destinations: serde_json::Map<String, Value> = counts
                .deliveries
                .into_iter()
                .map(|(name, per_outcome)| {
                    let outcomes: serde_json::Map<String, Value> = per_outcome
                        .into_iter()
                        .map(|(outcome, n)| (outcome.as_str().to_owned(), Value::from(n)))
                        .collect();
                    (name, Value::Object(outcomes))
                })
                .collect();
            properties.insert("Destinations".to_owned(), Value::Object(destinations));
        }
        (metrics, properties)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::NetworkCause;

    fn emf() -> Emf {
        Emf {
            namespace: "statusrelay".into(),
            stack: "prod".into(),
        }
    }

    #[test]
    fn a_poller_document_has_the_emf_shape() {
        let metrics = PollerMetrics::default();
        metrics.poll_failed(&PollError::Timeout {
            document: "summary.json".into(),
        });
        metrics.poll_failed(&PollError::Status {
            document: "summary.json".into(),
            status: 503,
        });
        metrics.poll_failed(&PollError::Timeout {
            document: "incidents.json".into(),
        });
        metrics.cycle(
            [
                OverallState::Operational,
                OverallState::Operational,
                OverallState::MajorOutage,
                OverallState::Unknown,
            ],
            Duration::from_millis(1234),
        );
        let document = emf()
            .document(1_700_000_000_000, &metrics.take(), &BTreeMap::new())
            .unwrap();
        let golden = r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"statusrelay","Dimensions":[["Stack"]],"Metrics":[{"Name":"PollFailuresTimeout","Unit":"Count"},{"Name":"PollFailuresHttpStatus","Unit":"Count"},{"Name":"ProvidersOperational","Unit":"Count"},{"Name":"ProvidersMajorOutage","Unit":"Count"},{"Name":"ProvidersUnknown","Unit":"Count"},{"Name":"CycleDuration","Unit":"Milliseconds"}]}]},"CycleDuration":1234,"PollFailuresHttpStatus":1,"PollFailuresTimeout":2,"ProvidersMajorOutage":1,"ProvidersOperational":2,"ProvidersUnknown":1,"Stack":"prod"}"#;
        assert_eq!(document, golden);
        assert!(!document.contains('\n'), "one log line");
        // Taken: the next invocation starts from zero and, with nothing to say, says nothing.
        assert!(metrics.take().is_empty());
    }

    #[test]
    fn a_notifier_document_has_totals_as_metrics_and_destinations_as_a_property() {
        let metrics = NotifierMetrics::default();
        let event: crate::event::Event = serde_json::from_value(serde_json::json!({
            "type": "incident.created", "id": "e1", "timestamp": "2026-11-20T08:00:00Z",
            "data": {"provider": {"id": "github", "name": "GitHub", "url": "https://www.githubstatus.com"}}
        }))
        .unwrap();
        metrics.events([&event, &event]);
        metrics.delivered("slack", DeliveryOutcome::Sent, 2);
        metrics.delivered("sns", DeliveryOutcome::Sent, 1);
        metrics.delivered("sns", DeliveryOutcome::Duplicate, 1);
        metrics.delivered("hook", DeliveryOutcome::Failed, 1);
        metrics.delivered("pagerduty", DeliveryOutcome::DeadLettered, 1);
        metrics.delivered("pagerduty", DeliveryOutcome::Sent, 0);
        let (list, properties) = metrics.take();
        let document = emf()
            .document(1_700_000_000_000, &list, &properties)
            .unwrap();
        let golden = r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"statusrelay","Dimensions":[["Stack"]],"Metrics":[{"Name":"EventsIncidentCreated","Unit":"Count"},{"Name":"DeliveriesSent","Unit":"Count"},{"Name":"DeliveriesFailed","Unit":"Count"},{"Name":"DeliveriesDeadLettered","Unit":"Count"},{"Name":"DeliveriesDuplicate","Unit":"Count"}]}]},"DeliveriesDeadLettered":1,"DeliveriesDuplicate":1,"DeliveriesFailed":1,"DeliveriesSent":3,"Destinations":{"hook":{"failed":1},"pagerduty":{"dead_lettered":1},"slack":{"sent":2},"sns":{"duplicate":1,"sent":1}},"EventsIncidentCreated":2,"Stack":"prod"}"#;
        assert_eq!(document, golden);
        let (list, properties) = metrics.take();
        assert!(list.is_empty() && properties.is_empty());
        assert_eq!(emf().document(0, &list, &properties), None);
    }

    #[test]
    fn every_metric_named_by_a_document_is_a_member_of_it() {
        let metrics = PollerMetrics::default();
        for reason in FailureReason::ALL {
            metrics.failed(reason);
        }
        metrics.cycle(OverallState::ALL, Duration::ZERO);
        let document: Value = serde_json::from_str(
            &emf()
                .document(1, &metrics.take(), &BTreeMap::new())
                .unwrap(),
        )
        .unwrap();
        let named = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(named.len(), 5 + 6 + 1);
        for metric in named {
            let name = metric["Name"].as_str().unwrap();
            assert!(document[name].is_u64(), "{name} has a value");
        }
    }

    #[test]
    fn zero_states_are_left_out_but_every_run_reports_its_duration() {
        let metrics = PollerMetrics::default();
        metrics.cycle(
            [OverallState::Operational, OverallState::Operational],
            Duration::from_millis(900),
        );
        let names = |list: Vec<Metric>| -> Vec<(String, u64)> {
            list.into_iter().map(|m| (m.name, m.value)).collect()
        };
        // A healthy fleet: one state, the duration, nothing else billed.
        assert_eq!(
            names(metrics.take()),
            [
                ("ProvidersOperational".to_owned(), 2),
                ("CycleDuration".to_owned(), 900)
            ]
        );
        // A shard without providers still counts as a run (the dashboard's denominator).
        metrics.cycle([], Duration::from_millis(3));
        assert_eq!(names(metrics.take()), [("CycleDuration".to_owned(), 3)]);
        // Not a run over a whole shard (a hot round): no state, no duration.
        metrics.failed(FailureReason::Timeout);
        assert_eq!(
            names(metrics.take()),
            [("PollFailuresTimeout".to_owned(), 1)]
        );
    }

    #[test]
    fn poll_errors_map_to_five_classes_and_names_are_fixed() {
        let network = |cause| PollError::Network {
            document: "d".into(),
            reason: "vendor text".into(),
            cause,
        };
        let cases = [
            (network(NetworkCause::Dns), FailureReason::Connect),
            (network(NetworkCause::Tls), FailureReason::Connect),
            (
                PollError::Throttled {
                    document: "d".into(),
                    status: 429,
                    retry_after: Duration::from_secs(5),
                },
                FailureReason::HttpStatus,
            ),
            (
                PollError::Redirect {
                    document: "d".into(),
                    location: "https://elsewhere".into(),
                },
                FailureReason::HttpStatus,
            ),
            (
                PollError::NotStatusPage {
                    document: "d".into(),
                    reason: "<html>".into(),
                },
                FailureReason::Parse,
            ),
            (
                PollError::TooLarge {
                    document: "d".into(),
                    limit: 1,
                },
                FailureReason::Parse,
            ),
        ];
        for (err, reason) in cases {
            assert_eq!(FailureReason::of(&err), reason, "{err}");
        }
        let names: Vec<String> = EventType::ALL.into_iter().map(event_metric_name).collect();
        assert!(names.contains(&"EventsComponentStatusChanged".to_owned()));
        assert!(names.contains(&"EventsProviderUnreachable".to_owned()));
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric()))
        );
    }
}
