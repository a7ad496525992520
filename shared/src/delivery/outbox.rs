//! The local watcher's delivery chain over the SQLite outbox, stage by stage in
//! [`Dispatcher::deliver_route`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use tracing::{error, info, warn};

use super::{DeliveryReport, Outcome, RetryPolicy, send_with_retry};
use crate::channels::{Channel, SendError};
use crate::config::RouteConfig;
use crate::store::{PendingDelivery, Store, StoreError};

pub struct Dispatcher {
    routes: HashMap<String, Channel>,
    policy: RetryPolicy,
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
