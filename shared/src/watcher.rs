//! One watch cycle: poll every provider (bounded concurrency), commit each good poll with its
//! events, then drain the outbox.

use std::time::Instant;

use chrono::{Duration, Utc};
use futures::StreamExt;
use tracing::{debug, info, warn};

use crate::channels::Clients;
use crate::config::{Config, ProviderConfig, RouteConfig};
use crate::delivery::{DeliveryReport, Dispatcher, RetryPolicy};
use crate::diff::detect_changes;
use crate::event::Event;
use crate::net::HttpLimits;
use crate::routing;
use crate::sources::{self, DEFAULT_MAX_BODY_BYTES, Fetcher, PollError, PollOutcome, Previous};
use crate::store::{Store, StoreError};

/// Finished events are kept this long in the store for inspection.
const KEEP_EVENTS_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub providers: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub events: usize,
    pub delivery: DeliveryReport,
}

pub struct Watcher {
    providers: Vec<ProviderConfig>,
    routes: Vec<RouteConfig>,
    concurrency: usize,
    fetcher: Fetcher,
    dispatcher: Dispatcher,
    store: Store,
}

impl Watcher {
    pub fn new(config: &Config, store: Store, clients: &Clients) -> Watcher {
        Watcher::with_policy(config, store, clients, RetryPolicy::default())
    }

    pub fn with_policy(
        config: &Config,
        store: Store,
        clients: &Clients,
        policy: RetryPolicy,
    ) -> Watcher {
        let allow_private = config.settings.allow_private_targets;
        Watcher {
            providers: config.providers.clone(),
            routes: config.routes.clone(),
            concurrency: config.settings.concurrency,
            fetcher: Fetcher::new(allow_private, HttpLimits::default(), DEFAULT_MAX_BODY_BYTES),
            dispatcher: Dispatcher::new(&config.destinations, allow_private, clients, policy),
            store,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn run_cycle(&self) -> Result<CycleReport, StoreError> {
        let started = Instant::now();
        let mut report = CycleReport {
            providers: self.providers.len(),
            ..CycleReport::default()
        };
        self.store.prune(Duration::days(KEEP_EVENTS_DAYS))?;

        let mut polls = futures::stream::iter(&self.providers)
            .map(|provider| async move { (provider, self.poll(provider).await) })
            .buffer_unordered(self.concurrency);
        // Each poll is committed as soon as it is done, so a kill mid-cycle keeps finished work.
        while let Some((provider, result)) = polls.next().await {
            match result {
                Ok(PollResult::Unchanged) => report.unchanged += 1,
                Ok(PollResult::Changed(events)) => {
                    report.changed += 1;
                    report.events += events;
                }
                Err(PollFailure::Source(err)) => {
                    report.failed += 1;
                    warn!(provider = %provider.id, error = %err, "poll failed; state left unchanged");
                    self.store
                        .record_poll_failure(&provider.id, &err.to_string())?;
                }
                Err(PollFailure::Store(err)) => return Err(err),
            }
        }
        drop(polls);

        report.delivery = self.dispatcher.deliver_pending(&self.store).await?;
        info!(
            providers = report.providers,
            changed = report.changed,
            unchanged = report.unchanged,
            failed = report.failed,
            events = report.events,
            sent = report.delivery.sent,
            dead = report.delivery.dead,
            deferred = report.delivery.deferred,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "cycle finished"
        );
        Ok(report)
    }

    async fn poll(&self, config: &ProviderConfig) -> Result<PollResult, PollFailure> {
        let stored = self
            .store
            .provider(&config.id)
            .map_err(PollFailure::Store)?;
        let previous = stored.snapshot.as_ref().map(|snapshot| Previous {
            snapshot: Some(snapshot),
            validators: &stored.validators,
        });
        let outcome = sources::poll(&self.fetcher, config, previous)
            .await
            .map_err(PollFailure::Source)?;
        let (snapshot, validators) = match outcome {
            PollOutcome::Unchanged => {
                debug!(provider = %config.id, "not modified");
                return Ok(PollResult::Unchanged);
            }
            PollOutcome::Fetched {
                snapshot,
                validators,
            } => (snapshot, validators),
        };
        let provider = config.provider(&snapshot.page.name);
        let changes = detect_changes(&provider, &stored.state, &snapshot, Utc::now());
        if changes.state == stored.state
            && changes.events.is_empty()
            && stored.snapshot.as_ref() == Some(&snapshot)
            && stored.validators == validators
        {
            return Ok(PollResult::Unchanged);
        }
        self.store
            .commit_poll(
                &config.id,
                &changes.state,
                &snapshot,
                &validators,
                &changes.events,
                |event| self.destinations_for(event),
            )
            .map_err(PollFailure::Store)?;
        for event in &changes.events {
            debug!(provider = %config.id, event_id = %event.id, kind = %event.kind, "event recorded");
        }
        Ok(PollResult::Changed(changes.events.len()))
    }

    fn destinations_for(&self, event: &Event) -> Vec<String> {
        routing::destinations_for(&self.routes, event)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

enum PollResult {
    Unchanged,
    Changed(usize),
}

enum PollFailure {
    Source(PollError),
    Store(StoreError),
}
