//! Delivery as a short chain of stages, per destination. The local watcher's chain is
//! `Dispatcher::deliver_destination` (`outbox.rs`, over the SQLite outbox); the notifier
//! Lambda's is `aws::notifier` (over the delivery log in DynamoDB). Both share stage 3,
//! [`send_with_retry`], and every channel's classification of answers:
//!
//! 1. filter: routes (notification groups) pick destinations when the event is recorded,
//!    each destination once however many routes match; a destination marked failing (it
//!    answered "gone") is not called until its configuration changes;
//! 2. dedupe: the outbox only holds deliveries without a 2xx (the Lambda checks its delivery
//!    log), so a sent event is never resent;
//! 3. send with retry classification: the destination's rate limiter, then transient
//!    failures (5xx, connection errors, 429) retried with exponential backoff and full jitter,
//!    honouring Retry-After, within a per-run retry budget; a timeout is retried in the next
//!    run (a destination that hangs costs one timeout per run); permanent ones are not retried;
//! 4. record: sent after a 2xx, dead-lettered (with the response) on a permanent failure,
//!    left pending otherwise.
//!
//! Each destination is drained in event order. The first delivery still failing after its
//! retries stops that destination for this run, so order holds and a dead endpoint is not
//! hammered.

#[cfg(feature = "sqlite")]
mod outbox;
pub mod test_route;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tracing::warn;

use crate::channels::{Channel, SendError};
#[cfg(feature = "sqlite")]
pub use outbox::Dispatcher;

/// Bounds on retrying within one run.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Retries of one delivery within a run (attempts = retries + 1).
    pub retries_per_delivery: usize,
    /// Retries across all deliveries of a run, so an outage cannot stretch a cycle.
    pub retries_per_run: u32,
    /// A Retry-After longer than this defers the delivery to the next run instead of sleeping.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            retries_per_delivery: 3,
            retries_per_run: 30,
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// What one drain of the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub dead: usize,
    /// Left in the outbox for a later run.
    pub deferred: usize,
}

/// The result of sending one event to one destination, after retries.
#[derive(Debug)]
pub enum Outcome {
    /// A 2xx: record it as sent.
    Sent,
    /// Retrying cannot help: dead-letter it.
    Dead(SendError),
    /// Still failing transiently after this run's retries: keep it for later.
    Deferred(SendError),
}

impl RetryPolicy {
    /// A retry budget for one run (or one Lambda invocation).
    pub fn budget(&self) -> AtomicU32 {
        AtomicU32::new(self.retries_per_run)
    }
}

/// What one send carries: one recorded event, or a digest of several recorded events from one
/// provider's poll (chat destinations, see [`crate::channels::Channel::digests`]).
#[derive(Debug, Clone, Copy)]
pub enum Parcel<'a> {
    Event { id: &'a str, payload: &'a str },
    Digest { payloads: &'a [&'a str] },
}

impl Parcel<'_> {
    /// For logs: the event id, or how many events the digest holds.
    fn label(&self) -> String {
        match self {
            Parcel::Event { id, .. } => (*id).to_owned(),
            Parcel::Digest { payloads } => format!("digest of {} events", payloads.len()),
        }
    }
}

/// Stage 3 of the chain, shared by every store: sends one parcel, retrying transient failures
/// with exponential backoff and full jitter, honouring Retry-After, within `budget`. Returns
/// the outcome and the number of attempts made.
pub async fn send_with_retry(
    channel: &Channel,
    destination: &str,
    parcel: Parcel<'_>,
    policy: RetryPolicy,
    budget: &AtomicU32,
) -> (Outcome, i64) {
    let mut attempts = 0i64;
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.first_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.retries_per_delivery)
        .build()
        // Full jitter: sleep a uniform random share of the exponential delay, so many
        // failing deliveries do not retry in lockstep.
        .map(|delay: Duration| delay.mul_f64(fastrand::f64()));
    let send = || {
        attempts += 1;
        channel.send_parcel(parcel)
    };
    let result = send
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|err: &SendError| {
            err.retry_in_this_run()
                && err
                    .retry_after()
                    .is_none_or(|d| d <= policy.max_retry_after)
                && budget
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                        left.checked_sub(1)
                    })
                    .is_ok()
        })
        .adjust(|err: &SendError, delay| match (err.retry_after(), delay) {
            (Some(asked), Some(_)) => Some(asked),
            (_, delay) => delay,
        })
        .notify(|err: &SendError, delay| {
            // Labelled only when a send failed: the happy path allocates nothing for logs.
            warn!(event_id = %parcel.label(), destination, error = %err, ?delay, "delivery failed; retrying");
        })
        .await;
    let outcome = match result {
        Ok(()) => Outcome::Sent,
        Err(err) if err.is_transient() => Outcome::Deferred(err),
        Err(err) => Outcome::Dead(err),
    };
    (outcome, attempts)
}
