//! The local watcher's delivery chain over the SQLite outbox, stage by stage in
//! [`Dispatcher::deliver_destination`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use tracing::{error, info, warn};

use super::{DeliveryReport, Outcome, RetryPolicy, send_with_retry};
use crate::channels::{Channel, Clients, SendError, fingerprint};
use crate::config::DestinationConfig;
use crate::store::{PendingDelivery, Store, StoreError};

struct Destination {
    channel: Channel,
    fingerprint: String,
}

pub struct Dispatcher {
    destinations: HashMap<String, Destination>,
    policy: RetryPolicy,
}

impl Dispatcher {
    pub fn new(
        destinations: &[DestinationConfig],
        allow_private: bool,
        clients: &Clients,
        policy: RetryPolicy,
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
        let total = deliveries.len();
        for (index, delivery) in deliveries.into_iter().enumerate() {
            if let Some(reason) = &failing {
                store.mark_dead(
                    &delivery,
                    delivery.attempts,
                    &format!("not sent: destination failing: {reason}"),
                    None,
                    None,
                )?;
                report.dead += 1;
                continue;
            }
            // Stage 2, dedupe, is the outbox itself: only deliveries without a 2xx are here.
            // Stage 3, send with retry classification.
            let (outcome, attempts) = send_with_retry(
                &destination.channel,
                name,
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
                    store.mark_dead(&delivery, attempts, &err.to_string(), status, response)?;
                    report.dead += 1;
                    if err.disables_destination() {
                        error!(
                            destination = name,
                            event_id = %delivery.event_id,
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
                            event_id = %delivery.event_id,
                            error = %err,
                            response = response.unwrap_or(""),
                            "delivery rejected; dead-lettered in the state store"
                        );
                    }
                }
                Outcome::Deferred(err) => {
                    store.mark_retry(&delivery, attempts, &err.to_string())?;
                    let left = total - index;
                    warn!(
                        destination = name,
                        event_id = %delivery.event_id,
                        error = %err,
                        pending = left,
                        "delivery still failing; destination paused until the next run"
                    );
                    report.deferred += left;
                    break;
                }
            }
        }
        if report.sent > 0 {
            info!(destination = name, sent = report.sent, "delivered");
        }
        Ok(report)
    }
}
