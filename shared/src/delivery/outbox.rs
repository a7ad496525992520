//! The local watcher's delivery chain over the SQLite outbox, stage by stage in
//! [`Dispatcher::deliver_destination`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use tracing::{error, info, warn};

use super::{DeliveryReport, Outcome, Parcel, RetryPolicy, send_with_retry};
use crate::channels::{Channel, Clients, SendError, fingerprint};
use crate::config::DestinationConfig;
use crate::metrics::{DeliveryOutcome, Metrics};
use crate::store::{PendingDelivery, Store, StoreError};

struct Destination {
    channel: Channel,
    fingerprint: String,
}

pub struct Dispatcher {
    destinations: HashMap<String, Destination>,
    policy: RetryPolicy,
    /// More deliveries than this from one poll go to a chat destination as one digest.
    digest_after: usize,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    pub fn new(
        destinations: &[DestinationConfig],
        allow_private: bool,
        clients: &Clients,
        policy: RetryPolicy,
        digest_after: usize,
        metrics: Arc<Metrics>,
    ) -> Dispatcher {
        let destinations = destinations
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    Destination {
                        channel: Channel::from_destination(d, allow_private, clients),
                        fingerprint: fingerprint(&d.channel),
                    },
                )
            })
            .collect();
        Dispatcher {
            destinations,
            policy,
            digest_after,
            metrics,
        }
    }

    /// Sends everything pending in the outbox, destinations in parallel, each in order.
    pub async fn deliver_pending(&self, store: &Store) -> Result<DeliveryReport, StoreError> {
        let mut by_destination: BTreeMap<String, Vec<PendingDelivery>> = BTreeMap::new();
        for delivery in store.pending_deliveries()? {
            by_destination
                .entry(delivery.destination.clone())
                .or_default()
                .push(delivery);
        }
        let budget = Arc::new(self.policy.budget());
        let mut report = DeliveryReport::default();
        let drains = by_destination.into_iter().map(|(name, deliveries)| {
            let budget = budget.clone();
            async move {
                self.deliver_destination(store, &name, deliveries, &budget)
                    .await
            }
        });
        for result in futures::future::join_all(drains).await {
            let part = result?;
            report.sent += part.sent;
            report.dead += part.dead;
            report.deferred += part.deferred;
        }
        Ok(report)
    }

    async fn deliver_destination(
        &self,
        store: &Store,
        name: &str,
        deliveries: Vec<PendingDelivery>,
        budget: &AtomicU32,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // Stage 1, filter: routes were matched when the event was recorded; a destination
        // no longer configured keeps its deliveries until it comes back.
        let Some(destination) = self.destinations.get(name) else {
            warn!(
                destination = name,
                pending = deliveries.len(),
                "destination is no longer configured; its deliveries stay in the outbox"
            );
            report.deferred = deliveries.len();
            return Ok(report);
        };
        // A destination that answered "gone" is not called again until its configuration
        // changes: its deliveries are dead-lettered unsent, so fixing it does not flood.
        let mut failing = match store.failing_destination(name)? {
            Some(failing) if failing.fingerprint == destination.fingerprint => Some(failing.reason),
            Some(_) => {
                info!(
                    destination = name,
                    "destination configuration changed; trying it again"
                );
                store.clear_destination_failing(name)?;
                None
            }
            None => None,
        };
        if let Some(reason) = &failing {
            warn!(
                destination = name,
                dead = deliveries.len(),
                reason = %reason,
                "destination is marked failing; dead-lettering its deliveries without sending (change its configuration to retry it)"
            );
        }
        let parcels = parcels(deliveries, self.digest_after, destination.channel.digests());
        let mut left: usize = parcels.iter().map(Vec::len).sum();
        for parcel in parcels {
            if let Some(reason) = &failing {
                for delivery in &parcel {
                    store.mark_dead(
                        delivery,
                        delivery.attempts,
                        &format!("not sent: destination failing: {reason}"),
                        None,
                        None,
                    )?;
                }
                report.dead += parcel.len();
                self.metrics
                    .record_deliveries(name, DeliveryOutcome::Dead, parcel.len());
                left -= parcel.len();
                continue;
            }
            // Stage 2, dedupe, is the outbox itself: only deliveries without a 2xx are here.
            // Stage 3, send with retry classification.
            let payloads: Vec<&str> = parcel.iter().map(|d| d.payload.as_str()).collect();
            let first = &parcel[0];
            let sending = match parcel.len() {
                1 => Parcel::Event {
                    id: &first.event_id,
                    payload: &first.payload,
                },
                n => {
                    info!(
                        destination = name,
                        provider = %first.provider,
                        events = n,
                        "one poll brought more events than settings.digest_after; sending one digest"
                    );
                    Parcel::Digest {
                        payloads: &payloads,
                    }
                }
            };
            let (outcome, attempts) =
                send_with_retry(&destination.channel, name, sending, self.policy, budget).await;
            // Stage 4, record: every delivery of the parcel shares its outcome.
            match outcome {
                Outcome::Sent => {
                    for delivery in &parcel {
                        store.mark_sent(delivery, delivery.attempts + attempts)?;
                    }
                    report.sent += parcel.len();
                    self.metrics
                        .record_deliveries(name, DeliveryOutcome::Sent, parcel.len());
                }
                Outcome::Dead(err) => {
                    let (status, response) = match &err {
                        SendError::Permanent {
                            status, response, ..
                        } => (*status, response.as_deref()),
                        SendError::Transient { .. } => (None, None),
                    };
                    for delivery in &parcel {
                        store.mark_dead(
                            delivery,
                            delivery.attempts + attempts,
                            &err.to_string(),
                            status,
                            response,
                        )?;
                    }
                    report.dead += parcel.len();
                    self.metrics
                        .record_deliveries(name, DeliveryOutcome::Dead, parcel.len());
                    if err.disables_destination() {
                        error!(
                            destination = name,
                            event_id = %first.event_id,
                            error = %err,
                            "destination is gone; marked failing: later deliveries are dead-lettered unsent until its configuration changes"
                        );
                        store.mark_destination_failing(
                            name,
                            &destination.fingerprint,
                            &err.to_string(),
                        )?;
                        failing = Some(err.to_string());
                    } else {
                        error!(
                            destination = name,
                            event_id = %first.event_id,
                            error = %err,
                            response = response.unwrap_or(""),
                            "delivery rejected; dead-lettered in the state store"
                        );
                    }
                }
                Outcome::Deferred(err) => {
                    for delivery in &parcel {
                        store.mark_retry(
                            delivery,
                            delivery.attempts + attempts,
                            &err.to_string(),
                        )?;
                    }
                    warn!(
                        destination = name,
                        event_id = %first.event_id,
                        error = %err,
                        pending = left,
                        "delivery still failing; destination paused until the next run"
                    );
                    report.deferred += left;
                    self.metrics
                        .record_deliveries(name, DeliveryOutcome::Retried, parcel.len());
                    break;
                }
            }
            left -= parcel.len();
        }
        if report.sent > 0 {
            info!(destination = name, sent = report.sent, "delivered");
        }
        Ok(report)
    }
}

/// A destination's deliveries (in event order) cut into what goes out as one message: each
/// delivery on its own, except that a run of more than `digest_after` deliveries from one poll
/// of one provider becomes one digest where the destination takes digests.
fn parcels(
    deliveries: Vec<PendingDelivery>,
    digest_after: usize,
    digests: bool,
) -> Vec<Vec<PendingDelivery>> {
    let mut polls: Vec<Vec<PendingDelivery>> = Vec::new();
    for delivery in deliveries {
        match polls.last_mut() {
            Some(poll) if poll[0].same_poll(&delivery) => poll.push(delivery),
            _ => polls.push(vec![delivery]),
        }
    }
    polls
        .into_iter()
        .flat_map(|poll| {
            if digests && poll.len() > digest_after {
                vec![poll]
            } else {
                poll.into_iter().map(|delivery| vec![delivery]).collect()
            }
        })
        .collect()
}
