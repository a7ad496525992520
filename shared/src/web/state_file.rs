//! The watcher's state file as the read side's store. SQLite reads block: every read runs on
//! tokio's blocking pool, so serving never stalls a poll.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::board::Board;
use super::board_cache::BoardCache;
use super::calendar::{self, MaintenanceEntry};
use super::reads::{PollStats, ProviderRecord, ReadFailure, ReadFuture, Reads};
use crate::config::ProviderConfig;
use crate::history::{EventPage, EventQuery};
use crate::metrics::Metrics;
use crate::state_reader::StateReader;
use crate::store::StoreError;

pub struct StateFile {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    providers: Vec<ProviderConfig>,
    board: BoardCache,
    /// The watcher's in-memory metrics: the provider page's poll counts.
    metrics: Arc<Metrics>,
}

impl StateFile {
    pub fn new(path: PathBuf, providers: Vec<ProviderConfig>, metrics: Arc<Metrics>) -> StateFile {
        StateFile {
            inner: Arc::new(Inner {
                path,
                providers,
                board: BoardCache::default(),
                metrics,
            }),
        }
    }

    /// Runs `read` on the blocking pool with the state file open.
    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Inner, &StateReader) -> Result<T, StoreError> + Send + 'static,
    ) -> ReadFuture<'static, T> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let reader = StateReader::open(&inner.path)?;
                read(&inner, &reader)
            })
            .await
            .map_err(|e| ReadFailure(format!("the read stopped: {e}")))?
            .map_err(|e| ReadFailure(e.to_string()))
        })
    }
}

impl Reads for StateFile {
    fn board(&self) -> ReadFuture<'_, Arc<Board>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.board.board(&inner.path, &inner.providers))
                .await
                .map_err(|e| ReadFailure(format!("the read stopped: {e}")))?
                .map_err(|e| ReadFailure(e.to_string()))
        })
    }

    fn provider<'a>(&'a self, config: &'a ProviderConfig) -> ReadFuture<'a, ProviderRecord> {
        let config = config.clone();
        self.read(move |inner, reader| {
            let (overview, snapshot) = reader.overview(&config)?;
            let history = reader.incident_history(&config.id, DateTime::UNIX_EPOCH)?;
            let (polls, unchanged) = inner.metrics.poll_counts(&config.id);
            Ok(ProviderRecord {
                overview,
                snapshot,
                history,
                poll_stats: Some(PollStats { polls, unchanged }),
            })
        })
    }

    fn events<'a>(
        &'a self,
        query: &'a EventQuery,
        providers: &'a [&'a ProviderConfig],
    ) -> ReadFuture<'a, EventPage> {
        let query = query.clone();
        let providers: Vec<ProviderConfig> = providers.iter().map(|p| (*p).clone()).collect();
        self.read(move |_, reader| {
            let selected: Vec<&ProviderConfig> = providers.iter().collect();
            reader.events(&query, &selected)
        })
    }

    fn maintenance_entries<'a>(
        &'a self,
        providers: &'a [&'a ProviderConfig],
        now: DateTime<Utc>,
    ) -> ReadFuture<'a, Vec<MaintenanceEntry>> {
        let providers: Vec<ProviderConfig> = providers.iter().map(|p| (*p).clone()).collect();
        self.read(move |_, reader| {
            let mut entries = Vec::new();
            for provider in &providers {
                let (snapshot, _) = reader.provider(&provider.id)?;
                let Some(snapshot) = snapshot else {
                    continue;
                };
                // The store holds the retention window only; everything in it counts.
                let history = reader.incident_history(&provider.id, DateTime::<Utc>::MIN_UTC)?;
                let moved = reader.last_move_seq(&provider.id)?;
                let name = provider.provider(&snapshot.page.name).name;
                entries.extend(calendar::entries(
                    provider, &name, &snapshot, &history, moved, now,
                ));
            }
            Ok(entries)
        })
    }
}
