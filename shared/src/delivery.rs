//! Delivery: the outbox drained through a short chain of stages, all visible in
//! [`deliver_route`]:
//!
//! 1. filter: routes were matched when the event was recorded; deliveries for routes no longer
//!    configured wait in the outbox (they go out if the route comes back);
//! 2. dedupe: the outbox only holds deliveries without a 2xx, so a sent event is never resent;
//! 3. send with retry classification: transient failures are retried with exponential backoff
//!    and full jitter, honouring Retry-After, within a per-run retry budget; permanent ones are
//!    not retried;
//! 4. record: sent after a 2xx, dead-lettered on a permanent failure, left pending otherwise.
//!
//! Each route is drained in event order. The first delivery still failing after its retries
//! stops that route for this run, so order holds and a dead endpoint is not hammered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tracing::{error, info, warn};

use crate::channels::{Channel, SendError};
use crate::config::RouteConfig;
use crate::store::{PendingDelivery, Store, StoreError};

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

pub struct Dispatcher {
    routes: HashMap<String, Channel>,
    policy: RetryPolicy,
}

/// The result of sending one event to one route, after retries.
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

impl Dispatcher {
    pub fn new(routes: &[RouteConfig], allow_private: bool, policy: RetryPolicy) -> Dispatcher {
        let routes = routes
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    Channel::from_config(&r.channel, allow_private),
                )
            })
            .collect();
        Dispatcher { routes, policy }
    }

    /// Sends everything pending in the outbox, routes in parallel, each route in order.
    pub async fn deliver_pending(&self, store: &Store) -> Result<DeliveryReport, StoreError> {
        let mut by_route: BTreeMap<String, Vec<PendingDelivery>> = BTreeMap::new();
        for delivery in store.pending_deliveries()? {
            by_route
                .entry(delivery.route.clone())
                .or_default()
                .push(delivery);
        }
        let budget = Arc::new(self.policy.budget());
        let mut report = DeliveryReport::default();
        let drains = by_route.into_iter().map(|(route, deliveries)| {
            let budget = budget.clone();
            async move { self.deliver_route(store, &route, deliveries, &budget).await }
        });
        for result in futures::future::join_all(drains).await {
            let part = result?;
            report.sent += part.sent;
            report.dead += part.dead;
            report.deferred += part.deferred;
        }
        Ok(report)
    }

    async fn deliver_route(
        &self,
        store: &Store,
        route: &str,
        deliveries: Vec<PendingDelivery>,
        budget: &AtomicU32,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // Stage 1, filter.
        let Some(channel) = self.routes.get(route) else {
            warn!(
                route,
                pending = deliveries.len(),
                "route is no longer configured; its deliveries stay in the outbox"
            );
            report.deferred = deliveries.len();
            return Ok(report);
        };
        let total = deliveries.len();
        for (index, delivery) in deliveries.into_iter().enumerate() {
            // Stage 2, dedupe, is the outbox itself: only deliveries without a 2xx are here.
            // Stage 3, send with retry classification.
            let (outcome, attempts) = send_with_retry(
                channel,
                &delivery.route,
                &delivery.event_id,
                &delivery.payload,
                self.policy,
                budget,
            )
            .await;
            let attempts = delivery.attempts + attempts;
            // Stage 4, record.
            match outcome {
                Outcome::Sent => {
                    store.mark_sent(&delivery, attempts)?;
                    report.sent += 1;
                }
                Outcome::Dead(err) => {
                    let (status, response) = match &err {
                        SendError::Permanent {
                            status, response, ..
                        } => (*status, response.as_deref()),
                        SendError::Transient { .. } => (None, None),
                    };
                    error!(
                        route,
                        event_id = %delivery.event_id,
                        error = %err,
                        "delivery failed permanently; dead-lettered in the state store"
                    );
                    store.mark_dead(&delivery, attempts, &err.to_string(), status, response)?;
                    report.dead += 1;
                }
                Outcome::Deferred(err) => {
                    store.mark_retry(&delivery, attempts, &err.to_string())?;
                    let left = total - index;
                    warn!(
                        route,
                        event_id = %delivery.event_id,
                        error = %err,
                        pending = left,
                        "delivery still failing; route paused until the next run"
                    );
                    report.deferred += left;
                    break;
                }
            }
        }
        if report.sent > 0 {
            info!(route, sent = report.sent, "delivered");
        }
        Ok(report)
    }
}

/// Stage 3 of the chain, shared by every store: sends one recorded event, retrying transient
/// failures with exponential backoff and full jitter, honouring Retry-After, within `budget`.
/// Returns the outcome and the number of attempts made.
pub async fn send_with_retry(
    channel: &Channel,
    route: &str,
    event_id: &str,
    payload: &str,
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
        channel.send(event_id, payload)
    };
    let result = send
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|err: &SendError| {
            err.is_transient()
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
            warn!(event_id, route, error = %err, ?delay, "delivery failed; retrying");
        })
        .await;
    let outcome = match result {
        Ok(()) => Outcome::Sent,
        Err(err) if err.is_transient() => Outcome::Deferred(err),
        Err(err) => Outcome::Dead(err),
    };
    (outcome, attempts)
}
