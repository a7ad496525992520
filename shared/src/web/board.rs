//! The dashboard's read model: every provider's overview, tags and maintenance windows, built
//! from the state file once per change of it and shared by `/` and `/maintenance`. Building it
//! parses every provider's snapshot (about a second at 5,000 full-size pages); SQLite's
//! `data_version` tells when the watcher has written since, so between two cycles every request
//! is served from memory.

use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::ProviderConfig;
use crate::model::{Incident, IncidentStatus};
use crate::overview::{ProviderOverview, attention_order};
use crate::state_reader::StateReader;
use crate::store::StoreError;

/// One provider as the dashboard lists it.
pub struct BoardRow {
    pub overview: ProviderOverview,
    pub tags: Vec<String>,
    pub maintenances: Vec<MaintenanceWindow>,
}

/// A scheduled or in-progress maintenance, as the calendar and the overview show it.
#[derive(Clone)]
pub struct MaintenanceWindow {
    pub provider_id: String,
    pub provider_name: String,
    pub name: String,
    pub status: IncidentStatus,
    pub starts: Option<DateTime<Utc>>,
    pub ends: Option<DateTime<Utc>>,
    pub latest_update: Option<String>,
}

impl MaintenanceWindow {
    fn of(provider: &ProviderOverview, maintenance: &Incident) -> MaintenanceWindow {
        MaintenanceWindow {
            provider_id: provider.id.clone(),
            provider_name: provider.name.clone(),
            name: maintenance.name.clone(),
            status: maintenance.status.clone(),
            starts: maintenance.scheduled_for,
            ends: maintenance.scheduled_until,
            latest_update: maintenance.updates.last().map(|u| u.body.clone()),
        }
    }

    pub fn in_progress(&self) -> bool {
        self.status.is_in_progress()
    }
}

/// Every provider, worst first, as of one version of the state file.
pub struct Board {
    pub rows: Vec<BoardRow>,
    pub built_at: DateTime<Utc>,
}

impl Board {
    pub fn build(reader: &StateReader, providers: &[ProviderConfig]) -> Result<Board, StoreError> {
        let mut rows = Vec::with_capacity(providers.len());
        for provider in providers {
            let (overview, snapshot) = reader.overview(provider)?;
            let maintenances = snapshot
                .iter()
                .flat_map(|s| &s.maintenances)
                .filter(|m| !m.status.is_finished())
                .map(|m| MaintenanceWindow::of(&overview, m))
                .collect();
            rows.push(BoardRow {
                overview,
                tags: provider.tags.clone(),
                maintenances,
            });
        }
        rows.sort_by_cached_key(|row| attention_order(&row.overview));
        Ok(Board {
            rows,
            built_at: Utc::now(),
        })
    }

    /// Every tag any provider carries, sorted, for the filter.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// Every unfinished maintenance of every provider, soonest first.
    pub fn maintenances(&self) -> impl Iterator<Item = &MaintenanceWindow> {
        let mut all: Vec<_> = self.rows.iter().flat_map(|r| &r.maintenances).collect();
        all.sort_by_key(|m| (m.starts, m.provider_name.to_lowercase()));
        all.into_iter()
    }
}

/// A build may start only when the last one is older than this many times its own duration:
/// during a cycle the watcher commits every few hundred milliseconds, and a build parses every
/// snapshot (~0.2 s of CPU at 5,000 providers), so rebuilding at each commit took a core from
/// the polls. At most a tenth of one core goes to builds; a small fleet still sees each
/// change at once.
const BUILD_SPACING: u32 = 10;

/// The board of the state file's latest version, rebuilt only when the watcher has written,
/// never more often than [`BUILD_SPACING`] allows, and never making a request wait for a
/// build while an older board can answer it.
#[derive(Default)]
pub struct BoardCache {
    latest: Mutex<Option<Latest>>,
    /// The reader and the state file version the latest board shows; held while building.
    builder: Mutex<Option<Builder>>,
}

#[derive(Clone)]
struct Latest {
    board: Arc<Board>,
    /// When the last build ended, and how long it took.
    built: Instant,
    took: Duration,
}

struct Builder {
    reader: StateReader,
    /// `None` until the first build.
    version: Option<i64>,
}

impl BoardCache {
    /// Blocking (SQLite): call from a blocking task.
    pub fn board(
        &self,
        state_path: &std::path::Path,
        providers: &[ProviderConfig],
    ) -> Result<Arc<Board>, StoreError> {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut builder = match &latest {
            Some(current) => {
                if current.built.elapsed() < current.took * BUILD_SPACING {
                    return Ok(current.board.clone());
                }
                match self.builder.try_lock() {
                    Ok(builder) => builder,
                    // Another request is building: the current board answers this one.
                    Err(TryLockError::WouldBlock) => return Ok(current.board.clone()),
                    Err(TryLockError::Poisoned(e)) => e.into_inner(),
                }
            }
            None => self.builder.lock().unwrap_or_else(|e| e.into_inner()),
        };
        if builder.is_none() {
            let reader = StateReader::open(state_path)?;
            *builder = Some(Builder {
                reader,
                version: None,
            });
        }
        let Builder { reader, version } = builder.as_mut().expect("opened above");
        let now = reader.data_version()?;
        // Another request may have built while this one waited for the builder.
        let fresh = self
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(current) = fresh.filter(|_| *version == Some(now)) {
            return Ok(current.board);
        }
        let started = Instant::now();
        let board = Arc::new(Board::build(reader, providers)?);
        *version = Some(now);
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(Latest {
            board: board.clone(),
            built: Instant::now(),
            took: started.elapsed(),
        });
        Ok(board)
    }
}
