//! The poller Lambda's core: poll this shard's providers and write what changed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::board::{BoardItem, BoardSummary};
use super::emf::PollerMetrics;
use super::hot::{HotQueue, PollRequest, rounds_per_interval};
pub use super::shards::shard_of;
use super::shards::{ShardQueue, ShardRun};
use super::table::{Lease, ProviderMeta, Table, TableError};
use crate::config::{Config, ProviderConfig};
use crate::diff::is_move;
use crate::event::{EventType, ProviderHealth, Relocated};
use crate::model::Snapshot;
use crate::net::HttpLimits;
use crate::schedule::{is_hot_at, shows_open};
use crate::sources::Platform;
use crate::sources::{self, DEFAULT_MAX_BODY_BYTES, Fetcher, PollOutcome, Previous};
use crate::stream::{
    INCIDENT_PREFIX, MAINTENANCE_PREFIX, META_SK, MOVED_PREFIX, health_marker, item_keys,
    moved_items, provider_pk, relocation_marker, state_items,
};

/// The invocation input: an EventBridge schedule event, optionally carrying a shard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct ShardInput {
    pub shard: Option<u32>,
    pub shards: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollerReport {
    pub providers: usize,
    pub unchanged: usize,
    pub changed: usize,
    pub failed: usize,
    pub items_written: usize,
    pub meta_written: usize,
    /// Providers hot after this run (re-polled every `hot_interval` through the queue).
    pub hot: usize,
    /// Shard runs queued (the scheduled run of a sharded poller).
    pub shards_queued: usize,
    /// Shards not polled because another invocation held their lease.
    pub shards_busy: usize,
}

impl PollerReport {
    fn add(&mut self, other: PollerReport) {
        self.providers += other.providers;
        self.unchanged += other.unchanged;
        self.changed += other.changed;
        self.failed += other.failed;
        self.items_written += other.items_written;
        self.meta_written += other.meta_written;
        self.hot += other.hot;
        self.shards_queued += other.shards_queued;
        self.shards_busy += other.shards_busy;
    }
}

/// How long a shard's lease holds: past the poller's 55 s timeout, so a lease outlives its
/// invocation only when that invocation died, and then for seconds.
const LEASE_HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// How soon queued polls whose shard was busy are tried again.
const BUSY_RETRY: Duration = Duration::seconds(5);

pub struct Poller {
    /// Provider meta as last read or written. Unsharded, the poller runs with reserved
    /// concurrency 1, so it is the table's only meta writer and a warm container can trust
    /// its own copy: idle polls then cost no read either. Sharded, a shard's lease says when
    /// another container polled the shard since, and its providers' copies are dropped.
    meta_cache: Mutex<HashMap<String, ProviderMeta>>,
    /// Shards the fleet is split into (`POLLER_SHARDS`); above 1, invocations may overlap and
    /// every poll holds its shard's lease.
    shards: u32,
    shard_queue: Option<ShardQueue>,
    /// This process, as named in the shard leases it takes.
    container: String,
    /// Leases taken by this process, for unique holder names.
    leases_taken: std::sync::atomic::AtomicU64,
    /// Board summaries written since the read side's version last moved.
    board_writes: std::sync::atomic::AtomicUsize,
    interval: std::time::Duration,
    providers: Vec<ProviderConfig>,
    concurrency: usize,
    fetcher: Fetcher,
    table: Table,
    keep_finished: Duration,
    /// Failed polls in a row that make a page `provider.unreachable` (settings).
    unreachable_after: u32,
    allow_private: bool,
    /// Where hot rounds and pushes are queued (`None`: adaptive polling off).
    hot_queue: Option<HotQueue>,
    hot_interval: std::time::Duration,
    /// Hot rounds between two scheduled runs.
    rounds: u32,
    /// This invocation's counts for its EMF document (the function prints it at the end).
    metrics: PollerMetrics,
}

/// Vendor hosts one invocation may keep a connection to: Lambda allows 1,024 file
/// descriptors, and a warm container keeps one connection per host it polled (over HTTP/2;
/// the HTTPS fleet bench's watcher held 1,016 for 1,000 hosts), which the pool never gives
/// back to make room for a new one.
pub const KEPT_HOSTS: usize = 900;

/// The poller's client for `hosts` vendors per invocation: connections kept between runs
/// (one per host) while they fit in Lambda's descriptors; beyond, none are kept (sessions are
/// still resumed), since a full table of idle connections would fail every new one with
/// "too many open files".
fn lambda_fetcher(config: &Config, hosts: usize) -> Fetcher {
    let limits = HttpLimits::for_polling(config.settings.interval)
        .with_tls_sessions_for(hosts)
        .with_idle_per_host(idle_per_host(hosts));
    if hosts > KEPT_HOSTS {
        warn!(
            hosts,
            kept_hosts = KEPT_HOSTS,
            "more vendors per invocation than Lambda's file descriptors can keep connections to: connections are not kept between runs (raise PollerShards)"
        );
    }
    Fetcher::new(
        config.settings.allow_private_targets,
        limits,
        DEFAULT_MAX_BODY_BYTES,
    )
}

/// Idle connections kept per host for `hosts` vendors per invocation.
pub fn idle_per_host(hosts: usize) -> usize {
    usize::from(hosts <= KEPT_HOSTS)
}

impl Poller {
    /// A poller of `config`'s providers split into `shards` (1: unsharded); a sharded one also
    /// needs [`Poller::with_shard_queue`] to queue its shard runs.
    pub fn new(config: &Config, table: Table, keep_finished_days: i64, shards: u32) -> Poller {
        let shards = shards.max(1);
        // The client is sized for what one invocation polls: one shard.
        let per_invocation = config.providers.len().div_ceil(shards as usize);
        Poller {
            meta_cache: Mutex::new(HashMap::new()),
            shards,
            shard_queue: None,
            container: format!("{:016x}", fastrand::u64(..)),
            leases_taken: Default::default(),
            board_writes: Default::default(),
            interval: config.settings.interval,
            providers: config.providers.clone(),
            concurrency: config.settings.concurrency,
            fetcher: lambda_fetcher(config, per_invocation),
            table,
            keep_finished: Duration::days(keep_finished_days),
            unreachable_after: config.settings.unreachable_after,
            allow_private: config.settings.allow_private_targets,
            hot_queue: None,
            hot_interval: config.settings.hot_interval,
            rounds: rounds_per_interval(config.settings.interval, config.settings.hot_interval),
            metrics: PollerMetrics::default(),
        }
    }

    /// What this invocation counted so far (see [`super::emf`]).
    pub fn metrics(&self) -> &PollerMetrics {
        &self.metrics
    }

    /// Re-polls hot providers every `hot_interval` through `queue` (see [`super::hot`]).
    pub fn with_hot_queue(mut self, queue: HotQueue) -> Poller {
        self.hot_queue = Some(queue);
        self
    }

    /// Where a sharded poller's scheduled runs queue one run per shard (see [`super::shards`]).
    pub fn with_shard_queue(mut self, queue: ShardQueue) -> Poller {
        self.shard_queue = Some(queue);
        self
    }

    /// A scheduled run: polls its shard (all providers when unsharded), or, when the fleet is
    /// sharded and the input names no shard, queues one run per shard.
    pub async fn run(&self, input: ShardInput) -> Result<PollerReport, TableError> {
        let started = Utc::now();
        if input.shard.is_none() && self.shards > 1 {
            return Ok(self.dispatch(started).await);
        }
        let shards = input.shards.unwrap_or(self.shards).max(1);
        let shard = input.shard.unwrap_or(0) % shards;
        self.run_shard(shard, shards, started).await
    }

    /// Shard runs from the shard queue (one per invocation as the template sets it). A run
    /// found a whole interval after its schedule is dropped: a newer one is queued.
    pub async fn run_shards(&self, runs: Vec<ShardRun>) -> Result<PollerReport, TableError> {
        let mut total = PollerReport::default();
        for run in runs {
            let now = Utc::now();
            let late = now - run.scheduled;
            if late > Duration::from_std(self.interval).unwrap_or(Duration::MAX) {
                info!(
                    shard = run.shard,
                    shards = run.shards,
                    late_s = late.num_seconds(),
                    "shard run arrived a whole interval late; dropped"
                );
                continue;
            }
            total.add(self.run_shard(run.shard, run.shards, now).await?);
        }
        Ok(total)
    }

    async fn dispatch(&self, scheduled: DateTime<Utc>) -> PollerReport {
        let queued = match &self.shard_queue {
            Some(queue) => queue
                .dispatch(self.shards, scheduled)
                .await
                .unwrap_or_else(|err| {
                    warn!(error = %err, "shard runs not queued; the fleet waits for the next scheduled run");
                    0
                }),
            None => 0,
        };
        info!(shards = self.shards, queued, "shard runs queued");
        PollerReport {
            shards_queued: queued,
            ..PollerReport::default()
        }
    }

    async fn run_shard(
        &self,
        shard: u32,
        shards: u32,
        started: DateTime<Utc>,
    ) -> Result<PollerReport, TableError> {
        let mine: Vec<&ProviderConfig> = self
            .providers
            .iter()
            .filter(|p| shard_of(&p.id, shards) == shard)
            .collect();
        let holder = if self.shards > 1 {
            match self.lease((shard, shards), &mine).await? {
                Some(holder) => Some(holder),
                None => {
                    info!(
                        shard,
                        shards, "another invocation is polling this shard; skipped"
                    );
                    return Ok(PollerReport {
                        shards_busy: 1,
                        ..PollerReport::default()
                    });
                }
            }
        } else {
            None
        };
        let polled = self.poll_all(&mine).await;
        if let Some(holder) = holder {
            self.table
                .release_lease((shard, shards), &holder, &self.container, Utc::now())
                .await?;
        }
        let (report, hot) = polled?;
        // Every provider of the shard was polled: the last good poll of those that succeed.
        self.table.record_cycle(shard, shards, Utc::now()).await?;
        let took = (Utc::now() - started).to_std().unwrap_or_default();
        self.metrics.cycle(self.states_now(&mine), took);
        info!(
            shard,
            shards,
            providers = report.providers,
            changed = report.changed,
            unchanged = report.unchanged,
            failed = report.failed,
            items_written = report.items_written,
            hot = report.hot,
            "poll finished"
        );
        if self.rounds > 0 && !hot.is_empty() {
            let first_round = PollRequest {
                providers: hot,
                round: 1,
                due: started + Duration::from_std(self.hot_interval).unwrap_or_default(),
            };
            self.queue(&first_round).await;
        }
        Ok(report)
    }

    /// Queued polls: hot rounds and pushes (an SQS batch). Each provider is polled once
    /// however many requests name it; unknown ids are ignored (a config edit may have removed
    /// them). The rounds that are not the last queue the next for the providers still hot.
    pub async fn run_requests(
        &self,
        requests: Vec<PollRequest>,
    ) -> Result<PollerReport, TableError> {
        let now = Utc::now();
        let (current, stale): (Vec<PollRequest>, Vec<PollRequest>) = requests
            .into_iter()
            .partition(|r| !r.is_stale(now, self.hot_interval));
        for request in &stale {
            info!(round = request.round, due = %request.due, providers = request.providers.len(), "hot round arrived a whole hot_interval late; dropped");
        }
        let wanted: HashSet<&str> = current
            .iter()
            .flat_map(|r| r.providers.iter().map(String::as_str))
            .collect();
        let mut mine: Vec<&ProviderConfig> = self
            .providers
            .iter()
            .filter(|p| wanted.contains(p.id.as_str()))
            .collect();
        let (held, busy) = self.lease_shards_of(&mut mine).await?;
        let polled = self.poll_all(&mine).await;
        for (shard, holder) in &held {
            self.table
                .release_lease(*shard, holder, &self.container, Utc::now())
                .await?;
        }
        let (mut report, hot) = polled?;
        report.shards_busy = busy.len();
        self.retry_busy(&current, &busy, now).await;
        let hot: HashSet<String> = hot.into_iter().collect();
        info!(
            requests = current.len(),
            pushes = current.iter().filter(|r| r.is_push()).count(),
            providers = report.providers,
            changed = report.changed,
            failed = report.failed,
            hot = report.hot,
            "queued polls finished"
        );
        for request in &current {
            let still_hot = request.providers_in(&hot);
            if let Some(next) = request.next_round(still_hot, self.rounds, self.hot_interval) {
                self.queue(&next).await;
            }
        }
        Ok(report)
    }

    /// Takes the lease of every shard `mine` touches (sharded pollers only) and keeps in
    /// `mine` the providers of the shards it got; returns the leases held and the ids of the
    /// providers whose shard another invocation is polling.
    async fn lease_shards_of(
        &self,
        mine: &mut Vec<&ProviderConfig>,
    ) -> Result<(Vec<((u32, u32), String)>, HashSet<String>), TableError> {
        if self.shards <= 1 {
            return Ok((Vec::new(), HashSet::new()));
        }
        let mut by_shard: BTreeMap<u32, Vec<&ProviderConfig>> = BTreeMap::new();
        for provider in mine.drain(..) {
            by_shard
                .entry(shard_of(&provider.id, self.shards))
                .or_default()
                .push(provider);
        }
        let (mut held, mut busy) = (Vec::new(), HashSet::new());
        for (shard, providers) in by_shard {
            let key = (shard, self.shards);
            match self.lease(key, &providers).await? {
                Some(holder) => {
                    held.push((key, holder));
                    mine.extend(providers);
                }
                None => busy.extend(providers.iter().map(|p| p.id.clone())),
            }
        }
        Ok((held, busy))
    }

    /// Queues again, a few seconds later, the requests' providers whose shard was busy (being
    /// polled by a scheduled run, which may have read them before the push).
    async fn retry_busy(
        &self,
        requests: &[PollRequest],
        busy: &HashSet<String>,
        now: DateTime<Utc>,
    ) {
        if busy.is_empty() {
            return;
        }
        info!(
            providers = busy.len(),
            "their shard is being polled by another invocation; queued again"
        );
        for request in requests {
            let providers = request.providers_in(busy);
            if !providers.is_empty() {
                let again = PollRequest {
                    providers,
                    due: now + BUSY_RETRY,
                    ..request.clone()
                };
                self.queue(&again).await;
            }
        }
    }

    /// Takes a shard's lease for this invocation: `None` when another holds it. Cached meta
    /// of the shard's `providers` is dropped when another container polled them since.
    async fn lease(
        &self,
        shard: (u32, u32),
        providers: &[&ProviderConfig],
    ) -> Result<Option<String>, TableError> {
        let n = self
            .leases_taken
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let holder = format!("{}-{n}", self.container);
        let lease = self
            .table
            .take_lease(shard, &holder, &self.container, Utc::now(), LEASE_HOLD)
            .await?;
        match lease {
            Lease::Busy => Ok(None),
            Lease::Held { others_polled } => {
                if others_polled {
                    let mut cache = self.meta_cache.lock().unwrap_or_else(|p| p.into_inner());
                    for provider in providers {
                        cache.remove(provider_pk(&provider.id).as_str());
                    }
                }
                Ok(Some(holder))
            }
        }
    }

    /// The ids of `providers` that are hot now, by what their cached meta says after this run
    /// (read in place: a meta holds every item's hash, too much to copy for two fields).
    fn hot_now(&self, providers: &[&ProviderConfig]) -> Vec<String> {
        let now = Utc::now();
        let cache = self.meta_cache.lock().unwrap_or_else(|p| p.into_inner());
        providers
            .iter()
            .filter(|p| {
                cache
                    .get(provider_pk(&p.id).as_str())
                    .is_some_and(|m| is_hot_at(m.open, m.changed_at, now))
            })
            .map(|p| p.id.clone())
            .collect()
    }

    /// The states of `providers` after this run, by their cached meta (none: never read).
    fn states_now(&self, providers: &[&ProviderConfig]) -> Vec<crate::overview::OverallState> {
        let cache = self.meta_cache.lock().unwrap_or_else(|p| p.into_inner());
        providers
            .iter()
            .map(|p| {
                let meta = cache.get(provider_pk(&p.id).as_str());
                crate::overview::current_state(
                    meta.and_then(|m| m.shown),
                    meta.map_or(0, |m| m.failed_polls),
                )
            })
            .collect()
    }

    /// Queues a poll request; a queue that cannot be reached costs speed, not polls (the
    /// schedule still runs), so it is logged, not failed.
    async fn queue(&self, request: &PollRequest) {
        let Some(queue) = &self.hot_queue else {
            return;
        };
        if let Err(err) = queue.send(request, Utc::now()).await {
            warn!(round = request.round, providers = request.providers.len(), error = %err, "hot round not queued; these providers wait for the next scheduled run");
        }
    }

    /// Polls `mine`: the report, and which of them are hot after it.
    async fn poll_all(
        &self,
        mine: &[&ProviderConfig],
    ) -> Result<(PollerReport, Vec<String>), TableError> {
        let mut report = PollerReport {
            providers: mine.len(),
            ..PollerReport::default()
        };
        let mut polls = futures::stream::iter(mine.iter().copied())
            .map(|provider| async move { (provider, self.poll(provider).await) })
            .buffer_unordered(self.concurrency);
        while let Some((provider, result)) = polls.next().await {
            match result {
                Ok(None) => report.unchanged += 1,
                Ok(Some((items, meta))) => {
                    report.changed += 1;
                    report.items_written += items;
                    report.meta_written += meta;
                }
                Err(PollFailure::Source(reason)) => {
                    report.failed += 1;
                    warn!(provider = %provider.id, error = %reason, "poll failed; state left unchanged");
                }
                Err(PollFailure::Table(err)) => {
                    self.metrics.failed(super::emf::FailureReason::Table);
                    return Err(err);
                }
            }
        }
        let hot = self.hot_now(mine);
        report.hot = hot.len();
        self.publish_board_changes().await;
        Ok((report, hot))
    }

    /// Moves the read side's version on once per run that changed a board summary, so the
    /// dashboard's clients revalidate (see [`super::board`]).
    async fn publish_board_changes(&self) {
        if self
            .board_writes
            .swap(0, std::sync::atomic::Ordering::Relaxed)
            > 0
            && let Err(err) = self.table.bump_version().await
        {
            warn!(error = %err, "read side version not bumped");
        }
    }

    /// `None` when nothing changed; otherwise (items written, meta written).
    async fn poll(&self, config: &ProviderConfig) -> Result<Option<(usize, usize)>, PollFailure> {
        let meta = match self.cached_meta(&config.id) {
            Some(meta) => Some(meta),
            None => {
                let meta = self
                    .table
                    .meta(&config.id)
                    .await
                    .map_err(PollFailure::Table)?;
                if let Some(meta) = &meta {
                    self.cache_meta(meta);
                }
                meta
            }
        };
        let configured = config;
        let mut effective = effective(configured, meta.as_ref().and_then(|m| m.relocated.as_ref()));
        // A provider without a board summary yet (a stack upgraded to the dashboard) reads its
        // page in full once, so that the summary can be written.
        let previous = meta
            .as_ref()
            .filter(|m| m.board_hash.is_some())
            .map(|m| Previous::new(None, &m.validators));
        // Set when this poll found the page elsewhere after its place failed.
        let mut relocation = None;
        let outcome = match sources::poll(&self.fetcher, &effective, previous).await {
            Ok(outcome) => outcome,
            Err(err) => {
                let failures = meta
                    .as_ref()
                    .map_or(1, |m| m.failed_polls.saturating_add(1));
                let found = if sources::suggests_a_move(&err)
                    && relocation_due(failures, self.unreachable_after)
                {
                    self.relocate(configured, &effective).await
                } else {
                    None
                };
                match found {
                    Some((relocated, outcome)) => {
                        effective = self::effective(configured, Some(&relocated));
                        relocation = Some(relocated);
                        outcome
                    }
                    None => {
                        self.metrics.poll_failed(&err);
                        let error = err.to_string();
                        self.count_failure(&effective, meta.as_ref(), &error)
                            .await
                            .map_err(PollFailure::Table)?;
                        return Err(PollFailure::Source(error));
                    }
                }
            }
        };
        let config = &effective;
        let PollOutcome::Fetched {
            mut snapshot,
            validators,
            documents,
        } = outcome
        else {
            // Unchanged (304): still a good poll, which ends a run of failures.
            if let Some(meta) = meta.as_ref().filter(|m| m.failed_polls > 0) {
                self.announce_recovery(config, meta)
                    .await
                    .map_err(PollFailure::Table)?;
                // Poll health moves no version: only pages show it, and they revalidate by
                // the minute anyway (`web::caching`).
                self.table
                    .board_recovered(&config.id)
                    .await
                    .map_err(PollFailure::Table)?;
                let recovered = ProviderMeta {
                    failed_polls: 0,
                    unreachable_since: None,
                    ..meta.clone()
                };
                self.table
                    .put_meta(&recovered)
                    .await
                    .map_err(PollFailure::Table)?;
                self.cache_meta(&recovered);
                return Ok(Some((0, 1)));
            }
            return Ok(None);
        };
        if let Some(meta) = meta.as_ref().filter(|m| m.failed_polls > 0) {
            self.announce_recovery(config, meta)
                .await
                .map_err(PollFailure::Table)?;
        }
        let before = meta.as_ref().map(|m| &m.validators);
        if let Some(documents) = sources::documents_news(before, &validators, documents.as_deref())
        {
            info!(provider = %config.id, %documents, "documents read");
        }

        let now = Utc::now();
        // A page whose records all changed identity moved: one marker announces it, and its
        // old records are neither finished nor resolved (they did not end, they moved).
        let moved = meta.as_ref().and_then(|m| {
            let before = m.hashes.keys().filter(|sk| !sk.starts_with(MOVED_PREFIX));
            is_move(&before.cloned().collect(), &item_keys(&snapshot))
        });
        // Records of a page found elsewhere did not end either: they are not finished here.
        if let Some(meta) = &meta
            && moved.is_none()
            && relocation.is_none()
        {
            self.finish_vanished(config, meta, &validators, &mut snapshot, now)
                .await
                .map_err(PollFailure::Table)?;
        }
        let open = shows_open(&snapshot);
        let first_poll = meta.is_none();
        let baseline_at = meta.as_ref().map_or(now, |m| m.baseline_at);
        let provider = config.provider(&snapshot.page.name);
        let mut items = state_items(
            &provider,
            &snapshot,
            first_poll,
            baseline_at,
            now,
            self.keep_finished,
        );
        if let Some(counts) = moved {
            info!(provider = %config.id, records_before = counts.0, records_now = counts.1, "every record of the page changed at once: reporting provider.moved");
            items = moved_items(items, &snapshot, counts, self.keep_finished, now);
        }
        if let Some(relocated) = &relocation {
            // One provider.moved names the new place: the move marker's, or a marker of its own.
            match items.last_mut().and_then(|marker| marker.moved.as_mut()) {
                Some(move_marker) => move_marker.relocated = Some(relocated.clone()),
                None => items.push(relocation_marker(
                    &provider,
                    relocated,
                    &snapshot,
                    meta.as_ref().map_or(0, |m| m.hashes.len()),
                    now,
                    self.keep_finished,
                )),
            }
        }
        // Items first, meta last: if the invocation dies in between, the next poll compares
        // against the old hashes and the conditional puts skip what was already written.
        let known = meta.as_ref().map(|m| &m.hashes);
        let mut written = 0;
        for item in &items {
            if known.and_then(|h| h.get(&item.sk)) == Some(&item.content_hash) {
                continue;
            }
            if self
                .table
                .put_if_changed(item)
                .await
                .map_err(PollFailure::Table)?
            {
                written += 1;
            }
        }
        let hashes: BTreeMap<String, String> = items
            .iter()
            .map(|i| (i.sk.clone(), i.content_hash.clone()))
            .collect();
        let summary = BoardSummary::of(&config.id, &provider.name, &snapshot);
        let board_hash = summary.hash();
        let recovering = meta.as_ref().is_some_and(|m| m.failed_polls > 0);
        if recovering || meta.as_ref().and_then(|m| m.board_hash.as_ref()) != Some(&board_hash) {
            self.table
                .put_board(&BoardItem::of(&config.id, &summary, now))
                .await
                .map_err(PollFailure::Table)?;
            self.note_board_write();
        }
        let new_meta = ProviderMeta {
            pk: provider_pk(&config.id),
            sk: META_SK.to_owned(),
            baseline_at,
            validators,
            hashes,
            // A good poll: any run of failures is over.
            failed_polls: 0,
            unreachable_since: None,
            relocated: relocation.or_else(|| meta.as_ref().and_then(|m| m.relocated.clone())),
            open,
            // A change written now keeps the provider hot for the cool-down (the first poll's
            // baseline is not a change).
            changed_at: if written > 0 && !first_poll {
                Some(now)
            } else {
                meta.as_ref().and_then(|m| m.changed_at)
            },
            shown: Some(summary.shown),
            board_hash: Some(board_hash),
        };
        let meta_written = if meta.as_ref() != Some(&new_meta) {
            self.table
                .put_meta(&new_meta)
                .await
                .map_err(PollFailure::Table)?;
            self.cache_meta(&new_meta);
            1
        } else {
            0
        };
        if written == 0 && meta_written == 0 {
            return Ok(None);
        }
        Ok(Some((written, meta_written)))
    }
}

/// The provider as it is polled: where its page was found after its configured place failed,
/// while the config still says what it said then (an edited config wins).
fn effective(configured: &ProviderConfig, relocated: Option<&Relocated>) -> ProviderConfig {
    let mut config = configured.clone();
    if let Some(to) = relocated
        && to.from_url == configured.url.as_str()
        && to.from_platform == configured.platform.as_str()
        && let (Ok(url), Some(platform)) = (
            url::Url::parse(&to.to_url),
            Platform::parse(&to.to_platform),
        )
    {
        config.url = url;
        config.platform = platform;
    }
    config
}

/// As the local watcher: at the second failed poll in a row, then every `unreachable_after`.
fn relocation_due(failures: u32, unreachable_after: u32) -> bool {
    failures == 2 || failures.is_multiple_of(unreachable_after.max(1))
}

impl Poller {
    /// Looks for the page at its same-site permanent redirect or as another platform; when
    /// found, reads it there from scratch: where it is, and that first poll's outcome.
    async fn relocate(
        &self,
        configured: &ProviderConfig,
        current: &ProviderConfig,
    ) -> Option<(Relocated, PollOutcome)> {
        let found = sources::relocate(
            &self.fetcher,
            self.allow_private,
            &current.url,
            current.platform,
        )
        .await?;
        let mut moved = configured.clone();
        moved.url = found.url;
        moved.platform = found.platform;
        let outcome = sources::poll(&self.fetcher, &moved, None).await.ok()?;
        let relocated = Relocated {
            from_url: configured.url.to_string(),
            from_platform: configured.platform.as_str().to_owned(),
            to_url: moved.url.to_string(),
            to_platform: moved.platform.as_str().to_owned(),
        };
        warn!(provider = %configured.id, from = %relocated.from_url, to = %relocated.to_url, to_platform = %relocated.to_platform, "status page found elsewhere; following it there (update the config)");
        Some((relocated, outcome))
    }

    /// Counts a failed poll in the provider's meta and, at `unreachable_after` in a row,
    /// writes the `provider.unreachable` marker once. A provider never read once has no meta
    /// (its first good poll is its baseline): its failures are logged only.
    async fn count_failure(
        &self,
        config: &ProviderConfig,
        meta: Option<&ProviderMeta>,
        error: &str,
    ) -> Result<(), TableError> {
        let failures = meta.map_or(1, |m| m.failed_polls.saturating_add(1));
        if let Some(meta) = meta {
            let mut failing = meta.clone();
            failing.failed_polls = failures;
            if failing.failed_polls >= self.unreachable_after && meta.unreachable_since.is_none() {
                let now = Utc::now();
                let occurrence = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let marker = health_marker(
                    &config.provider(""),
                    EventType::ProviderUnreachable,
                    &occurrence,
                    ProviderHealth {
                        failed_polls: failing.failed_polls,
                        last_good_poll: None,
                        last_error: error.to_owned(),
                    },
                    now,
                    self.keep_finished,
                );
                self.table.put_if_changed(&marker).await?;
                warn!(provider = %config.id, failures = failing.failed_polls, "status page unreachable; announced");
                failing.unreachable_since = Some(occurrence);
            }
            self.table.put_meta(&failing).await?;
            self.cache_meta(&failing);
        }
        // The board last: if the invocation ends between the two, the meta counts the failure
        // and the next good poll clears the board from it (recovery follows the meta's count).
        // No version bump: a vendor page that stays down would otherwise move it every run,
        // and no feed, calendar or event list shows poll health (pages revalidate by the
        // minute anyway).
        self.table
            .board_failed(&config.id, failures, error, Utc::now())
            .await
    }

    fn note_board_write(&self) {
        self.board_writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The first good poll after an announced outage writes the `provider.recovered` marker.
    async fn announce_recovery(
        &self,
        config: &ProviderConfig,
        meta: &ProviderMeta,
    ) -> Result<(), TableError> {
        let Some(occurrence) = &meta.unreachable_since else {
            return Ok(());
        };
        let marker = health_marker(
            &config.provider(""),
            EventType::ProviderRecovered,
            occurrence,
            ProviderHealth {
                failed_polls: meta.failed_polls,
                last_good_poll: None,
                last_error: String::new(),
            },
            Utc::now(),
            self.keep_finished,
        );
        self.table.put_if_changed(&marker).await?;
        info!(provider = %config.id, failures = meta.failed_polls, "status page reachable again; announced");
        Ok(())
    }

    /// On platforms that list only open records, a record is over when it leaves the list.
    /// The local watcher sees that against its last snapshot; here the meta's item hashes
    /// tell which records vanished, and only those are read back and finished (once: a
    /// finished record is carried a week, then dropped).
    async fn finish_vanished(
        &self,
        config: &ProviderConfig,
        meta: &ProviderMeta,
        validators: &sources::Validators,
        snapshot: &mut Snapshot,
        now: DateTime<Utc>,
    ) -> Result<(), TableError> {
        let platform = match config.platform {
            Platform::Detect => sources::platform_of(validators),
            declared => Some(declared),
        };
        if !platform.is_some_and(|p| sources::lists_only_open(p, validators)) {
            return Ok(());
        }
        let listed: HashSet<String> = snapshot
            .incidents
            .iter()
            .map(|i| format!("{INCIDENT_PREFIX}{}", i.id))
            .chain(
                snapshot
                    .maintenances
                    .iter()
                    .map(|m| format!("{MAINTENANCE_PREFIX}{}", m.id)),
            )
            .collect();
        let mut vanished = Snapshot::default();
        for sk in meta.hashes.keys() {
            let record = sk.starts_with(INCIDENT_PREFIX) || sk.starts_with(MAINTENANCE_PREFIX);
            if !record || listed.contains(sk) {
                continue;
            }
            if let Some(item) = self.table.state_item(&meta.pk, sk).await? {
                vanished.incidents.extend(item.incident);
                vanished.maintenances.extend(item.maintenance);
            }
        }
        sources::finish_absent(snapshot, &vanished, now);
        Ok(())
    }

    fn cached_meta(&self, provider_id: &str) -> Option<ProviderMeta> {
        let cache = self.meta_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(provider_pk(provider_id).as_str()).cloned()
    }

    fn cache_meta(&self, meta: &ProviderMeta) {
        let mut cache = self.meta_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(meta.pk.clone(), meta.clone());
    }
}

enum PollFailure {
    Source(String),
    Table(TableError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_kept_only_while_they_fit_in_lambdas_descriptors() {
        assert_eq!(idle_per_host(1), 1);
        assert_eq!(idle_per_host(KEPT_HOSTS), 1);
        assert_eq!(idle_per_host(KEPT_HOSTS + 1), 0);
    }
}
