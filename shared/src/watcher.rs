//! One watch cycle: poll every provider (bounded concurrency), commit each good poll with its
//! events, then drain the outbox.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use futures::StreamExt;
use tracing::{debug, error, info, warn};

use crate::channels::Clients;
use crate::config::Platform;
use crate::config::{Config, ProviderConfig, RouteConfig};
use crate::delivery::{DeliveryReport, Dispatcher, RetryPolicy};
use crate::diff::detect_changes;
use crate::event::{Event, EventType, ProviderHealth, ProviderMove, ProviderRef, Relocated};
use crate::metrics::{FailureReason, Metrics};
use crate::net::HttpLimits;
use crate::routing;
use crate::schedule::{Cadence, Finished, Pushed, Schedule, shows_open};
use crate::sources::{
    self, DEFAULT_MAX_BODY_BYTES, Fetcher, LazySnapshot, PollError, PollOutcome, Previous,
    suggests_a_move,
};
use crate::state_reader::StateReader;
use crate::store::{EncodedPoll, PollCommit, Store, StoreError};

/// Most polls committed in one transaction (those that finished together).
const COMMIT_BATCH: usize = 64;
/// Between two rounds: what falls due meanwhile is polled together, so thousands of providers
/// spread over an interval make a few rounds a second, not one per provider.
const ROUND_GATHER: std::time::Duration = std::time::Duration::from_millis(250);

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
    providers: Vec<Arc<ProviderConfig>>,
    routes: Vec<RouteConfig>,
    concurrency: usize,
    fetcher: Fetcher,
    dispatcher: Dispatcher,
    store: Arc<Store>,
    /// Delivered events older than this are pruned (settings.retention).
    retention: Duration,
    /// Updated as polls, events, deliveries and cycles finish; `/metrics` encodes it.
    metrics: Arc<Metrics>,
    /// Every configured destination's name, for the paused-destination gauge.
    destinations: Vec<String>,
    /// Destinations that take `provider.*` health events by default ([`routing::destinations_for`]).
    machine_destinations: std::collections::HashSet<String>,
    /// Pages found elsewhere or as another platform ([`sources::relocate`]), by provider id.
    relocations: std::sync::Mutex<std::collections::HashMap<String, Relocated>>,
    allow_private: bool,
    /// Failed polls in a row that make a page `provider.unreachable` (settings).
    unreachable_after: u32,
    /// How often providers are polled (settings.interval and settings.hot_interval).
    cadence: Cadence,
    /// Pages announced unreachable and not recovered: id → (occurrence, failed polls so far).
    /// Kept in the state file too, so a restart neither repeats nor forgets an announcement.
    unreachable: std::sync::Mutex<std::collections::HashMap<String, (String, u32)>>,
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
        let metrics = Arc::new(Metrics::new());
        Watcher {
            providers: config.providers.iter().cloned().map(Arc::new).collect(),
            routes: config.routes.clone(),
            concurrency: config.settings.concurrency,
            retention: Duration::from_std(config.settings.retention).unwrap_or(Duration::MAX),
            fetcher: Fetcher::new(
                allow_private,
                HttpLimits::for_polling(config.settings.interval)
                    .with_tls_sessions_for(config.providers.len()),
                DEFAULT_MAX_BODY_BYTES,
            ),
            dispatcher: Dispatcher::new(
                &config.destinations,
                allow_private,
                clients,
                policy,
                config.settings.digest_after,
                metrics.clone(),
            ),
            relocations: std::sync::Mutex::new(store.relocations().unwrap_or_else(|err| {
                warn!(error = %err, "cannot read which pages were found elsewhere");
                Default::default()
            })),
            allow_private,
            unreachable_after: config.settings.unreachable_after,
            cadence: Cadence {
                interval: config.settings.interval,
                hot_interval: config.settings.hot_interval,
            },
            unreachable: std::sync::Mutex::new(store.unreachable_providers().unwrap_or_else(
                |err| {
                    warn!(error = %err, "cannot read which pages were announced unreachable");
                    Default::default()
                },
            )),
            store: Arc::new(store),
            metrics,
            destinations: config.destinations.iter().map(|d| d.name.clone()).collect(),
            machine_destinations: routing::machine_destinations(&config.destinations),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Fills the metrics' gauges from the state file, so the first scrape after a restart
    /// shows every provider's last known state. Once, at start, when metrics are served.
    pub fn restore_metrics(&self) -> Result<(), StoreError> {
        let reader = StateReader::open(self.store.path())?;
        for provider in &self.providers {
            let (snapshot, health) = reader.provider(&provider.id)?;
            self.metrics
                .restore(&provider.id, snapshot.as_ref(), &health);
        }
        Ok(())
    }

    /// One poll of every provider, then delivery (`run --once`, and tests).
    pub async fn run_cycle(&self) -> Result<CycleReport, StoreError> {
        self.store.prune(self.retention)?;
        let all: Vec<&Arc<ProviderConfig>> = self.providers.iter().collect();
        Ok(self.run_round(&all).await?.0)
    }

    /// Watches until `stop` says so: each provider polled on its own schedule (hot ones every
    /// `hot_interval`, the rest every `interval`, pushes moving a poll earlier), due providers
    /// polled together in rounds, each round delivered at once. `beat` is called after every
    /// round and at least every interval while idle (the health check's heartbeat).
    pub async fn watch(
        &self,
        stop: &std::sync::atomic::AtomicBool,
        wake: &tokio::sync::Notify,
        pushes: &crate::intake::PushInbox,
        beat: impl Fn(),
    ) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let mut schedule = Schedule::new(
            self.providers
                .iter()
                .map(|p| (p.id.clone(), self.shows_open(&p.id))),
            self.cadence,
            Instant::now(),
        );
        let by_id: std::collections::HashMap<&str, &Arc<ProviderConfig>> =
            self.providers.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut pruned_at: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            for id in pushes.drain() {
                match schedule.pushed(&id, Instant::now()) {
                    Pushed::PollAt(_) => {
                        debug!(provider = %id, "push received: poll moved earlier")
                    }
                    Pushed::Coalesced => {
                        debug!(provider = %id, "push received: a poll is due anyway")
                    }
                    Pushed::Unknown => {}
                }
            }
            let now = Instant::now();
            let due = schedule.take_due(now);
            if due.is_empty() {
                let idle = schedule
                    .next_due()
                    .map_or(self.cadence.interval, |at| {
                        at.saturating_duration_since(now)
                    })
                    .min(self.cadence.interval);
                tokio::select! {
                    () = tokio::time::sleep(idle) => {}
                    () = pushes.arrived() => {}
                    () = wake.notified() => {}
                }
                beat();
                continue;
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= self.cadence.interval) {
                if let Err(err) = self.store.prune(self.retention) {
                    error!(error = %err, state = %self.store.path().display(), "pruning the history failed");
                }
                pruned_at = Some(Instant::now());
            }
            let chosen: Vec<&Arc<ProviderConfig>> = due
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .collect();
            match self.run_round(&chosen).await {
                Ok((_, finished)) => {
                    let now = Instant::now();
                    for (id, how) in finished {
                        schedule.finished(&id, now, how, fastrand::f64());
                    }
                }
                Err(err) => {
                    // Tried again on their interval; the state is as the store left it.
                    error!(error = %err, state = %self.store.path().display(), "round failed");
                    let now = Instant::now();
                    for id in &due {
                        schedule.finished(id, now, Finished::default(), fastrand::f64());
                    }
                }
            }
            self.metrics
                .set_hot_providers(schedule.hot_count(Instant::now()));
            beat();
            // Gather what falls due in the next moment into one round (one commit, one drain).
            tokio::time::sleep(ROUND_GATHER).await;
        }
        Ok(())
    }

    /// Whether a provider's last snapshot shows an open incident or a maintenance in progress.
    fn shows_open(&self, id: &str) -> bool {
        self.store
            .snapshot(id)
            .ok()
            .flatten()
            .is_some_and(|snapshot| shows_open(&snapshot))
    }

    /// Polls `providers`, commits what changed, delivers: a round's report and how each
    /// provider's poll ended (for its next one).
    async fn run_round(
        &self,
        providers: &[&Arc<ProviderConfig>],
    ) -> Result<(CycleReport, Vec<(String, Finished)>), StoreError> {
        let started = Instant::now();
        let mut report = CycleReport {
            providers: providers.len(),
            ..CycleReport::default()
        };
        let mut finished: Vec<(String, Finished)> = Vec::with_capacity(providers.len());

        // Polls are committed as soon as they are done, so a kill mid-cycle keeps finished
        // work; those that finish together share one transaction (one fsync instead of one
        // per provider, which bound the first cycle of a large fleet).
        // Each poll is a task of its own, so parsing and change detection use every core.
        let mut polls = futures::stream::iter(providers.iter().copied())
            .map(|provider| {
                let (fetcher, store) = (self.fetcher.clone(), self.store.clone());
                let polling = Instant::now();
                // Timed in the task: the stream may notice a finished poll late, while a
                // batch is being committed.
                let task = tokio::spawn(timed(poll(fetcher, store, self.effective(provider))));
                async move {
                    let (result, took) = task.await.unwrap_or_else(|panic| {
                        let failure = Err(PollFailure::Panic(panic.to_string()));
                        (failure, polling.elapsed())
                    });
                    (provider, result, took)
                }
            })
            .buffer_unordered(self.concurrency)
            .ready_chunks(COMMIT_BATCH);
        while let Some(batch) = polls.next().await {
            let mut commits = Vec::new();
            // Each commit's provider platform and poll time, for the metrics once committed.
            let mut committed_polls = Vec::new();
            let mut unchanged = Vec::new();
            for (provider, result, took) in batch {
                let platform = provider.platform.as_str();
                match result {
                    Ok(None) => {
                        report.unchanged += 1;
                        finished.push((provider.id.clone(), Finished::default()));
                        unchanged.push(provider.id.as_str());
                        self.metrics
                            .record_poll_success(&provider.id, platform, took, None);
                    }
                    Ok(Some(commit)) => {
                        report.changed += 1;
                        report.events += commit.events.len();
                        finished.push((
                            provider.id.clone(),
                            Finished {
                                open: Some(shows_open(&commit.shown)),
                                changed: !commit.events.is_empty(),
                                retry_after: None,
                            },
                        ));
                        commits.push(commit);
                        committed_polls.push((platform, took));
                    }
                    Err(PollFailure::Source(err)) => {
                        report.failed += 1;
                        if let Some(wait) = err.retry_after() {
                            info!(provider = %provider.id, retry_after_s = wait.as_secs(), "the vendor asked to wait; next poll not before then");
                        }
                        finished.push((
                            provider.id.clone(),
                            Finished {
                                retry_after: err.retry_after(),
                                ..Finished::default()
                            },
                        ));
                        warn!(provider = %provider.id, error = %err, "poll failed; state left unchanged");
                        let failures = self
                            .store
                            .record_poll_failure(&provider.id, &err.to_string())?;
                        // A page found elsewhere is not unreachable: it moved.
                        let relocated = suggests_a_move(&err)
                            && self.relocation_due(failures)
                            && self.try_relocation(provider).await?;
                        if relocated {
                            if let Some((_, how)) = finished.last_mut() {
                                how.changed = true;
                            }
                        } else {
                            self.note_failure(provider, failures, &err.to_string())?;
                        }
                        let reason = FailureReason::of(&err);
                        self.metrics
                            .record_poll_failure(&provider.id, platform, took, reason);
                    }
                    Err(PollFailure::Panic(reason)) => {
                        report.failed += 1;
                        finished.push((provider.id.clone(), Finished::default()));
                        error!(provider = %provider.id, error = %reason, "poll panicked; state left unchanged");
                        self.metrics.record_poll_failure(
                            &provider.id,
                            platform,
                            took,
                            FailureReason::Other,
                        );
                    }
                    Err(PollFailure::Store(err)) => return Err(err),
                }
            }
            if !unchanged.is_empty() {
                self.store.record_unchanged_polls(&unchanged)?;
                for id in &unchanged {
                    self.note_success(id)?;
                }
            }
            if !commits.is_empty() {
                self.store
                    .commit_polls(&commits, |event| self.destinations_for(event))?;
                for commit in &commits {
                    self.note_success(&commit.provider_id)?;
                }
                for (commit, (platform, took)) in commits.iter().zip(committed_polls) {
                    self.metrics.record_poll_success(
                        &commit.provider_id,
                        platform,
                        took,
                        Some(&commit.shown),
                    );
                    self.metrics
                        .record_events(commit.events.iter().map(|e| e.kind));
                }
                for event in commits.iter().flat_map(|c| &c.events) {
                    debug!(provider = %event.data.provider.id, event_id = %event.id, kind = %event.kind, "event recorded");
                }
            }
        }
        drop(polls);
        self.store.persist_polls()?;

        report.delivery = self.dispatcher.deliver_pending(&self.store).await?;
        self.record_delivery_state();
        self.metrics.record_cycle(started.elapsed());
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
            "round finished"
        );
        Ok((report, finished))
    }

    /// Dead letters and paused destinations, read back from the store after a drain. A failed
    /// read leaves the gauges as they were: metrics never fail a cycle.
    fn record_delivery_state(&self) {
        let state = self
            .store
            .delivery_counts()
            .and_then(|counts| Ok((counts.dead, self.store.failing_destination_names()?)));
        match state {
            Ok((dead, paused)) => {
                self.metrics
                    .record_delivery_state(dead, &self.destinations, &paused)
            }
            Err(err) => warn!(error = %err, "cannot read delivery counts for the metrics"),
        }
    }

    fn destinations_for(&self, event: &Event) -> Vec<String> {
        routing::destinations_for(&self.routes, event, &self.machine_destinations)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

impl Watcher {
    fn unreachable(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (String, u32)>> {
        self.unreachable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After `unreachable_after` failed polls in a row, announces `provider.unreachable` once.
    fn note_failure(
        &self,
        provider: &ProviderConfig,
        failures: u32,
        error: &str,
    ) -> Result<(), StoreError> {
        if let Some((_, counted)) = self.unreachable().get_mut(&provider.id) {
            *counted = failures;
            return self.store.count_unreachable_polls(&provider.id, failures);
        }
        if failures < self.unreachable_after {
            return Ok(());
        }
        let now = Utc::now();
        let occurrence = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let event = Event::provider_health(
            EventType::ProviderUnreachable,
            self.provider_ref(provider)?,
            &occurrence,
            now,
            ProviderHealth {
                failed_polls: failures,
                last_good_poll: self.store.last_good_poll(&provider.id)?,
                last_error: error.to_owned(),
            },
        );
        self.store
            .announce_unreachable(&event, &occurrence, failures, |e| self.destinations_for(e))?;
        warn!(provider = %provider.id, failures, "status page unreachable; announced");
        self.unreachable()
            .insert(provider.id.clone(), (occurrence, failures));
        Ok(())
    }

    /// The first good poll after an announced outage announces `provider.recovered`.
    fn note_success(&self, provider_id: &str) -> Result<(), StoreError> {
        let Some((occurrence, failures)) = self.unreachable().get(provider_id).cloned() else {
            return Ok(());
        };
        let Some(provider) = self.providers.iter().find(|p| p.id == provider_id) else {
            return Ok(());
        };
        let event = Event::provider_health(
            EventType::ProviderRecovered,
            self.provider_ref(provider)?,
            &occurrence,
            Utc::now(),
            ProviderHealth {
                failed_polls: failures,
                last_good_poll: None,
                last_error: String::new(),
            },
        );
        self.store
            .announce_recovered(&event, |e| self.destinations_for(e))?;
        info!(provider = %provider_id, failures, "status page reachable again; announced");
        self.unreachable().remove(provider_id);
        Ok(())
    }

    /// The provider as it is polled: where its page was found after its configured place
    /// failed, while the config still says what it said then (an edited config wins).
    fn effective(&self, provider: &Arc<ProviderConfig>) -> Arc<ProviderConfig> {
        let relocations = self.relocations.lock().unwrap_or_else(|p| p.into_inner());
        let Some(to) = relocations.get(&provider.id) else {
            return provider.clone();
        };
        let still_configured =
            to.from_url == provider.url.as_str() && to.from_platform == provider.platform.as_str();
        match (
            still_configured,
            url::Url::parse(&to.to_url),
            Platform::parse(&to.to_platform),
        ) {
            (true, Ok(url), Some(platform)) => {
                let mut moved = (**provider).clone();
                moved.url = url;
                moved.platform = platform;
                Arc::new(moved)
            }
            _ => provider.clone(),
        }
    }

    /// Tried at the second failed poll in a row, then every `unreachable_after` failures:
    /// soon after a move, without probing a page that is simply down at every poll.
    fn relocation_due(&self, failures: u32) -> bool {
        failures == 2 || failures.is_multiple_of(self.unreachable_after.max(1))
    }

    /// Looks for the page at its permanent redirect or as another platform; when found, polls
    /// it there, records what is new without repeating what was announced, tells the operator
    /// once with `provider.moved`, and polls it there from then on.
    async fn try_relocation(&self, provider: &Arc<ProviderConfig>) -> Result<bool, StoreError> {
        let current = self.effective(provider);
        let Some(found) = sources::relocate(
            &self.fetcher,
            self.allow_private,
            &current.url,
            current.platform,
        )
        .await
        else {
            return Ok(false);
        };
        let relocated = Relocated {
            from_url: provider.url.to_string(),
            from_platform: provider.platform.as_str().to_owned(),
            to_url: found.url.to_string(),
            to_platform: found.platform.as_str().to_owned(),
        };
        let mut moved = (**provider).clone();
        moved.url = found.url;
        moved.platform = found.platform;
        // Read again the way every poll reads (component filter, open-only lists), from scratch.
        let Ok(PollOutcome::Fetched {
            snapshot,
            validators,
            ..
        }) = sources::poll(&self.fetcher, &moved, None).await
        else {
            return Ok(false);
        };
        let state = self.store.state(&provider.id)?;
        let now = Utc::now();
        let named = moved.provider(&snapshot.page.name);
        let mut changes = detect_changes(&named, &state, &snapshot, now);
        let told = changes
            .events
            .iter_mut()
            .find(|e| e.kind == EventType::ProviderMoved)
            .and_then(|e| e.data.moved.as_mut());
        match told {
            Some(move_event) => move_event.relocated = Some(relocated.clone()),
            None => changes.events.push(Event::provider_moved(
                named.clone().into(),
                &format!("relocated:{}:{}", relocated.to_url, relocated.to_platform),
                now,
                ProviderMove {
                    records_before: state.entities.len() + state.components.len(),
                    records_now: snapshot.incidents.len()
                        + snapshot.maintenances.len()
                        + snapshot.components.len(),
                    open_now: crate::diff::open_records(&snapshot),
                    relocated: Some(relocated.clone()),
                },
            )),
        }
        let commit = PollCommit {
            provider_id: provider.id.clone(),
            state: changes.state,
            snapshot,
            validators,
            events: changes.events,
        }
        .encode();
        self.store
            .commit_relocation(&commit, &relocated, |e| self.destinations_for(e))?;
        self.metrics
            .record_events(commit.events.iter().map(|e| e.kind));
        warn!(
            provider = %provider.id,
            from = %relocated.from_url,
            from_platform = %relocated.from_platform,
            to = %relocated.to_url,
            to_platform = %relocated.to_platform,
            "status page found elsewhere; following it there (update the config)"
        );
        self.relocations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.id.clone(), relocated);
        self.note_success(&provider.id)?;
        Ok(true)
    }

    /// The provider as events name it (the page's own name from the last good poll).
    fn provider_ref(&self, provider: &ProviderConfig) -> Result<ProviderRef, StoreError> {
        let page_name = self
            .store
            .snapshot(&provider.id)?
            .map(|s| s.page.name)
            .unwrap_or_default();
        Ok(provider.provider(&page_name).into())
    }
}

async fn timed<T>(work: impl std::future::Future<Output = T>) -> (T, std::time::Duration) {
    let started = Instant::now();
    let output = work.await;
    (output, started.elapsed())
}

/// Polls one provider; `Some` holds what changed, to be committed.
async fn poll(
    fetcher: Fetcher,
    store: Arc<Store>,
    config: Arc<ProviderConfig>,
) -> Result<Option<EncodedPoll>, PollFailure> {
    let validators = store.validators(&config.id).map_err(PollFailure::Store)?;
    // The last snapshot is read only when a document changed: a steady-state cycle is
    // mostly 304s, and parsing every stored snapshot was most of its CPU.
    let load_error = std::sync::Mutex::new(None);
    let prior = LazySnapshot::new(|| {
        store.snapshot(&config.id).unwrap_or_else(|err| {
            *load_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
            None
        })
    });
    let previous = validators.as_ref().map(|v| Previous::lazy(&prior, v));
    let load_failed = || match load_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(err) => Err(PollFailure::Store(err)),
        None => Ok(()),
    };
    let outcome = sources::poll(&fetcher, &config, previous).await;
    load_failed()?;
    let (snapshot, validators_now) = match outcome.map_err(PollFailure::Source)? {
        PollOutcome::Unchanged => {
            debug!(provider = %config.id, "not modified");
            return Ok(None);
        }
        PollOutcome::Fetched {
            snapshot,
            validators: validators_now,
            documents,
        } => {
            let news =
                sources::documents_news(validators.as_ref(), &validators_now, documents.as_deref());
            if let Some(documents) = news {
                info!(provider = %config.id, %documents, "documents read");
            }
            (snapshot, validators_now)
        }
    };
    let state = store.state(&config.id).map_err(PollFailure::Store)?;
    let provider = config.provider(&snapshot.page.name);
    let changes = detect_changes(&provider, &state, &snapshot, Utc::now());
    let unchanged = changes.state == state
        && changes.events.is_empty()
        && validators.as_ref() == Some(&validators_now)
        && prior.get() == Some(&snapshot);
    // The comparison may be what first reads the last snapshot: a failed read is a store
    // error, not a changed snapshot.
    load_failed()?;
    if unchanged {
        return Ok(None);
    }
    Ok(Some(
        PollCommit {
            provider_id: config.id.clone(),
            state: changes.state,
            snapshot,
            validators: validators_now,
            events: changes.events,
        }
        .encode(),
    ))
}

enum PollFailure {
    Source(PollError),
    Store(StoreError),
    Panic(String),
}
