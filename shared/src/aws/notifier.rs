//! The notifier Lambda's core: stream records → events → routes and the SNS topic.
//!
//! Each record's events are first recorded in the history the dashboard reads
//! ([`super::history`], once per event however often the record comes), then go through the
//! same delivery chain as the local watcher, with a delivery log in the table instead of
//! an outbox: filter (routes matching the event) → dedupe (skip what the log already has) →
//! send with retry classification → record the final outcome in the log. A delivery still
//! failing transiently makes its record a batch item failure, so Lambda retries from it;
//! the log keeps what already got through from being sent twice. A log write that fails after
//! the delivery does not fail the record: the delivery happened (see `record_final`).

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use tracing::{error, info, warn};

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use super::emf::{DeliveryOutcome, NotifierMetrics};
use super::history::{self, DEFAULT_HISTORY_DAYS, HistoryItem};
use super::table::{Table, TableError};
use crate::channels::sns::SnsTopic;
use crate::channels::{Channel, Clients, fingerprint};
use crate::config::{Config, RouteConfig};
use crate::delivery::{Outcome, Parcel, RetryPolicy, send_with_retry};
use crate::event::Event;
use crate::routing::destinations_for;
use crate::stream::{StateItem, is_notified_key, item_events};

/// Time kept in hand to finish one record before the invocation's deadline: a send's total
/// timeout (15 s) plus the delivery-log writes around it.
const RECORD_TIME_BUDGET: Duration = Duration::from_secs(20);

/// The route name SNS deliveries are logged under.
pub const SNS_ROUTE: &str = "sns";

struct Destination {
    name: String,
    channel: Channel,
    fingerprint: String,
    /// The SNS topic takes every event; its subscribers filter with filter policies.
    takes_everything: bool,
}

pub struct Notifier {
    destinations: Vec<Destination>,
    routes: Vec<RouteConfig>,
    /// Destinations that take `provider.*` health events by default.
    machine_destinations: std::collections::HashSet<String>,
    /// More events than this from one provider in one batch go to a chat destination as one
    /// digest (a batch holds what one poll wrote, give or take the stream's batching window).
    digest_after: usize,
    table: Table,
    policy: RetryPolicy,
    /// Destinations known to be failing (name → reason), read once per container.
    failing: Mutex<HashMap<String, Option<String>>>,
    /// Days an event stays in the history the dashboard reads.
    history_days: i64,
    /// This invocation's counts for its EMF document (the function prints it at the end).
    metrics: NotifierMetrics,
}

/// A digest planned for one chat destination and one provider of a batch: the batch's own
/// decoded events, borrowed.
struct Digest<'e> {
    events: Vec<&'e Event>,
    /// Sent (or dead-lettered) when the batch reached its first event.
    done: bool,
}

/// Per (destination, provider).
type Digests<'e> = HashMap<(String, String), Digest<'e>>;

impl Notifier {
    pub fn new(
        config: &Config,
        table: Table,
        topic: Option<SnsTopic>,
        clients: &Clients,
        policy: RetryPolicy,
    ) -> Notifier {
        let allow_private = config.settings.allow_private_targets;
        let mut destinations: Vec<Destination> = config
            .destinations
            .iter()
            .map(|destination| Destination {
                name: destination.name.clone(),
                channel: Channel::from_destination(destination, allow_private, clients),
                fingerprint: fingerprint(&destination.channel),
                takes_everything: false,
            })
            .collect();
        if let Some(topic) = topic {
            destinations.push(Destination {
                name: SNS_ROUTE.to_owned(),
                channel: Channel::Sns(topic),
                fingerprint: String::new(),
                takes_everything: true,
            });
        }
        Notifier {
            destinations,
            routes: config.routes.clone(),
            machine_destinations: crate::routing::machine_destinations(&config.destinations),
            digest_after: config.settings.digest_after,
            table,
            policy,
            failing: Mutex::new(HashMap::new()),
            history_days: DEFAULT_HISTORY_DAYS,
            metrics: NotifierMetrics::default(),
        }
    }

    /// Keeps recorded events `days` (the template's `HistoryDays`).
    pub fn with_history_days(mut self, days: i64) -> Notifier {
        self.history_days = days.max(1);
        self
    }

    /// What this invocation counted so far (see [`super::emf`]).
    pub fn metrics(&self) -> &NotifierMetrics {
        &self.metrics
    }

    /// Processes a batch in order and reports the first record that must be retried.
    /// `deadline`: when the invocation times out (from the Lambda context); records that could
    /// not finish before it are handed back as batch item failures instead.
    pub async fn handle(
        &self,
        mut batch: StreamEvent,
        deadline: Option<SystemTime>,
    ) -> DynamoDbEventResponse {
        let budget = self.policy.budget();
        let mut response = DynamoDbEventResponse::default();
        let (mut events, mut sent) = (0, 0);
        let count = batch.records.len();
        // Every record is decoded before anything is sent: whether a destination gets a
        // digest depends on how many events of one provider the whole batch holds.
        let mut decoded = Vec::with_capacity(count);
        let mut unreadable = None;
        for record in &mut batch.records {
            let sequence = record.change.sequence_number.clone();
            let recorded_at = history::recorded_at(record.change.approximate_creation_date_time);
            match record_events(record) {
                RecordEvents::Skipped => decoded.push((sequence, recorded_at, Vec::new())),
                RecordEvents::Events(events) => decoded.push((sequence, recorded_at, events)),
                RecordEvents::Unreadable(reason) => {
                    unreadable = Some((sequence, reason));
                    break;
                }
            }
        }
        let all: Vec<&Event> = decoded.iter().flat_map(|(_, _, events)| events).collect();
        let mut digests = self.plan_digests(&all);
        let mut retry = None;
        let mut recorded = 0;
        'records: for (sequence, recorded_at, record_events) in &decoded {
            // Too close to the invocation's end to finish a record (a send may take its whole
            // timeout): hand the rest back now. Past the deadline Lambda would kill us and
            // redeliver the whole batch, sending what already went out again.
            if deadline.is_some_and(|d| SystemTime::now() + RECORD_TIME_BUDGET > d) {
                retry = Some((
                    sequence.clone(),
                    "the invocation is about to time out; the rest of the batch is handed back"
                        .to_owned(),
                ));
                break 'records;
            }
            // 0. record: the history the dashboard reads holds every event once, delivered or
            // not (a redelivered record finds its events recorded already).
            match self.record_history(record_events, *recorded_at).await {
                Ok(new) => recorded += new,
                Err(err) => {
                    retry = Some((sequence.clone(), err.to_string()));
                    break 'records;
                }
            }
            for event in record_events {
                match self.deliver(event, &mut digests, &budget).await {
                    Ok(n) => sent += n,
                    Err(reason) => {
                        retry = Some((sequence.clone(), reason));
                        break 'records;
                    }
                }
            }
            events += record_events.len();
            self.metrics.events(record_events);
        }
        if recorded > 0
            && let Err(err) = self.table.bump_version().await
        {
            // Revalidating clients keep their copies until the next bump.
            warn!(error = %err, "read side version not bumped");
        }
        if let Some((sequence, reason)) = retry.or(unreadable) {
            warn!(sequence = ?sequence, error = %reason, "record will be retried");
            // Lambda retries from the lowest reported sequence number: stop here so later
            // records keep their order.
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
        }
        info!(
            records = count,
            events,
            recorded,
            sent,
            failures = response.batch_item_failures.len(),
            "batch processed"
        );
        response
    }

    /// The digests this batch calls for: per chat destination and provider, the events routed
    /// there when they are more than `digest_after`. Only providers with more events than that
    /// in the whole batch are routed here (the usual batch has none).
    fn plan_digests<'e>(&self, events: &[&'e Event]) -> Digests<'e> {
        let mut per_provider: HashMap<&str, usize> = HashMap::new();
        for event in events {
            *per_provider.entry(&event.data.provider.id).or_default() += 1;
        }
        let mut routed: HashMap<(String, String), Vec<&'e Event>> = HashMap::new();
        for &event in events {
            if per_provider[event.data.provider.id.as_str()] <= self.digest_after {
                continue;
            }
            let wanted = destinations_for(&self.routes, event, &self.machine_destinations);
            for destination in &self.destinations {
                if destination.channel.digests()
                    && (destination.takes_everything || wanted.contains(&destination.name.as_str()))
                {
                    routed
                        .entry((destination.name.clone(), event.data.provider.id.clone()))
                        .or_default()
                        .push(event);
                }
            }
        }
        routed
            .into_iter()
            .filter(|(_, events)| events.len() > self.digest_after)
            .map(|(key, events)| {
                (
                    key,
                    Digest {
                        events,
                        done: false,
                    },
                )
            })
            .collect()
    }

    /// Records a record's events in the history; how many were new.
    async fn record_history(
        &self,
        events: &[Event],
        recorded_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, TableError> {
        let mut new = 0;
        for event in events {
            let item = HistoryItem::of(event, recorded_at, self.history_days);
            if self.table.record_history(&item).await? {
                new += 1;
            }
        }
        Ok(new)
    }

    /// The chain for one event over every destination. Err means "retry the record".
    async fn deliver(
        &self,
        event: &Event,
        digests: &mut Digests<'_>,
        budget: &std::sync::atomic::AtomicU32,
    ) -> Result<usize, String> {
        let payload = serde_json::to_string(event).expect("event serializes");
        let wanted = destinations_for(&self.routes, event, &self.machine_destinations);
        let mut sent = 0;
        let mut retry = None;
        for destination in &self.destinations {
            // 1. filter: matching routes name the destination (once), and it is not failing.
            if !destination.takes_everything && !wanted.contains(&destination.name.as_str()) {
                continue;
            }
            if let Some(reason) = self
                .failing_reason(destination)
                .await
                .map_err(|e| e.to_string())?
            {
                warn!(destination = %destination.name, event_id = %event.id, reason = %reason, "destination is marked failing; dead-lettering without sending");
                self.metrics
                    .delivered(&destination.name, DeliveryOutcome::DeadLettered, 1);
                self.table
                    .log_delivery(
                        &destination.name,
                        &event.id,
                        "dead",
                        &format!("not sent: destination failing: {reason}"),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                continue;
            }
            let key = (destination.name.clone(), event.data.provider.id.clone());
            if let Some(digest) = digests.get_mut(&key) {
                if !digest.done {
                    match self.deliver_digest(destination, digest, budget).await? {
                        Some(n) => sent += n,
                        None => {
                            retry.get_or_insert(format!(
                                "destination {}: digest not delivered yet",
                                destination.name
                            ));
                        }
                    }
                }
                continue;
            }
            // 2. dedupe
            let logged = self
                .table
                .delivery_logged(&destination.name, &event.id)
                .await
                .map_err(|e: TableError| e.to_string())?;
            if logged {
                self.metrics
                    .delivered(&destination.name, DeliveryOutcome::Duplicate, 1);
                continue;
            }
            // 3. send with retry classification
            let (outcome, attempts) = send_with_retry(
                &destination.channel,
                &destination.name,
                Parcel::Event {
                    id: &event.id,
                    payload: &payload,
                },
                self.policy,
                budget,
            )
            .await;
            // 4. record
            match outcome {
                Outcome::Sent => {
                    self.record_final(destination, &event.id, "sent", "").await;
                    sent += 1;
                }
                Outcome::Dead(err) => {
                    error!(destination = %destination.name, event_id = %event.id, attempts, error = %err, "delivery failed permanently; dead-lettered in the delivery log");
                    self.record_final(destination, &event.id, "dead", &err.to_string())
                        .await;
                    self.mark_failing_if_gone(destination, &err).await?;
                }
                Outcome::Deferred(err) => {
                    self.metrics
                        .delivered(&destination.name, DeliveryOutcome::Failed, 1);
                    // Other destinations still get this event now; the record is retried for
                    // this one.
                    retry.get_or_insert(format!("destination {}: {err}", destination.name));
                }
            }
        }
        match retry {
            Some(reason) => Err(reason),
            None => Ok(sent),
        }
    }
}

impl Notifier {
    /// Stages 2–4 for a digest: the events not yet logged for this destination go out as one
    /// message, and each is logged with its outcome. `None`: still failing, retry the record.
    async fn deliver_digest(
        &self,
        destination: &Destination,
        digest: &mut Digest<'_>,
        budget: &std::sync::atomic::AtomicU32,
    ) -> Result<Option<usize>, String> {
        let mut pending = Vec::new();
        for event in &digest.events {
            let logged = self
                .table
                .delivery_logged(&destination.name, &event.id)
                .await
                .map_err(|e| e.to_string())?;
            if !logged {
                pending.push(event);
            }
        }
        let duplicates = digest.events.len() - pending.len();
        self.metrics
            .delivered(&destination.name, DeliveryOutcome::Duplicate, duplicates);
        if pending.is_empty() {
            digest.done = true;
            return Ok(Some(0));
        }
        let payloads: Vec<String> = pending
            .iter()
            .map(|event| serde_json::to_string(event).expect("event serializes"))
            .collect();
        let payloads: Vec<&str> = payloads.iter().map(String::as_str).collect();
        info!(destination = %destination.name, events = pending.len(), "one provider brought more events than settings.digest_after; sending one digest");
        let (outcome, attempts) = send_with_retry(
            &destination.channel,
            &destination.name,
            Parcel::Digest {
                payloads: &payloads,
            },
            self.policy,
            budget,
        )
        .await;
        let (state, reason) = match &outcome {
            Outcome::Sent => ("sent", String::new()),
            Outcome::Dead(err) => {
                error!(destination = %destination.name, events = pending.len(), attempts, error = %err, "digest failed permanently; dead-lettered in the delivery log");
                ("dead", err.to_string())
            }
            Outcome::Deferred(_) => {
                self.metrics
                    .delivered(&destination.name, DeliveryOutcome::Failed, pending.len());
                return Ok(None);
            }
        };
        for event in &pending {
            self.record_final(destination, &event.id, state, &reason)
                .await;
        }
        if let Outcome::Dead(err) = &outcome {
            self.mark_failing_if_gone(destination, err).await?;
        }
        digest.done = true;
        Ok(Some(if state == "sent" { pending.len() } else { 0 }))
    }

    /// Records a final outcome (sent or dead) in the delivery log. A failure to record it (the
    /// SDK's retries exhausted) is logged, not returned: the outcome already happened, and
    /// failing the record would make Lambda send the event again. Only a redelivery of this
    /// same record (the invocation dying later) can repeat it, as it would a delivery whose
    /// invocation died before its log write.
    async fn record_final(
        &self,
        destination: &Destination,
        event_id: &str,
        status: &str,
        detail: &str,
    ) {
        self.metrics
            .delivered(&destination.name, DeliveryOutcome::of_logged(status), 1);
        if let Err(err) = self
            .table
            .log_delivery(&destination.name, event_id, status, detail)
            .await
        {
            error!(destination = %destination.name, event_id, status, error = %err, "delivery done but not recorded in the delivery log; a redelivery of its record would repeat it");
        }
    }

    /// A destination that answered "gone" is marked failing: later deliveries are
    /// dead-lettered unsent until its configuration changes.
    async fn mark_failing_if_gone(
        &self,
        destination: &Destination,
        err: &crate::channels::SendError,
    ) -> Result<(), String> {
        if !err.disables_destination() {
            return Ok(());
        }
        error!(destination = %destination.name, error = %err, "destination is gone; marked failing: later deliveries are dead-lettered unsent until its configuration changes");
        self.table
            .mark_destination_failing(
                &destination.name,
                &destination.fingerprint,
                &err.to_string(),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.failing
            .lock()
            .await
            .insert(destination.name.clone(), Some(err.to_string()));
        Ok(())
    }

    /// Why a destination is failing, if it is marked so under its current configuration.
    async fn failing_reason(
        &self,
        destination: &Destination,
    ) -> Result<Option<String>, TableError> {
        if destination.takes_everything {
            return Ok(None);
        }
        let mut cache = self.failing.lock().await;
        if let Some(known) = cache.get(&destination.name) {
            return Ok(known.clone());
        }
        let reason = self
            .table
            .failing_destination(&destination.name)
            .await?
            .filter(|(fingerprint, _)| *fingerprint == destination.fingerprint)
            .map(|(_, reason)| reason);
        cache.insert(destination.name.clone(), reason.clone());
        Ok(reason)
    }
}

/// What a stream record means, before any delivery.
pub enum RecordEvents {
    /// Not a state item, or a deletion (TTL expiry is housekeeping, never news).
    Skipped,
    /// A state item whose image cannot be read: retried, then dead-lettered by Lambda.
    Unreadable(String),
    Events(Vec<Event>),
}

/// The pure part of the notifier: a record's images decoded and diffed into events (the
/// notifier throughput benchmark measures this with routing and payload building). The
/// images are taken out of the record, not copied: they are read once.
pub fn record_events(record: &mut EventRecord) -> RecordEvents {
    if record.event_name == "REMOVE" || record.change.new_image.is_empty() {
        return RecordEvents::Skipped;
    }
    let state_key = is_state_key(record);
    let new: StateItem = match image(&mut record.change.new_image) {
        Ok(item) => item,
        Err(e) if state_key => {
            return RecordEvents::Unreadable(format!("new image is not a state item: {e}"));
        }
        Err(_) => return RecordEvents::Skipped,
    };
    if !is_notified_key(&new.sk) {
        return RecordEvents::Skipped;
    }
    let old: Option<StateItem> = if record.change.old_image.is_empty() {
        None
    } else {
        match image(&mut record.change.old_image) {
            Ok(item) => Some(item),
            Err(e) => {
                return RecordEvents::Unreadable(format!("old image is not a state item: {e}"));
            }
        }
    };
    RecordEvents::Events(item_events(
        old,
        new,
        record.change.approximate_creation_date_time,
    ))
}

/// An image taken out of the record (it is read once) and decoded. `from_item` would rebuild
/// the image's hash map on the way; the map goes to serde_dynamo as it is.
fn image(image: &mut serde_dynamo::Item) -> Result<StateItem, serde_dynamo::Error> {
    let attributes = std::mem::take(image.inner_mut());
    serde_dynamo::from_attribute_value(serde_dynamo::AttributeValue::M(attributes))
}

fn is_state_key(record: &EventRecord) -> bool {
    match record.change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => is_notified_key(sk),
        _ => false,
    }
}
