//! The board of the state file, built once per change of it. Building it parses every
//! provider's snapshot (about a second at 5,000 full-size pages); SQLite's `data_version`
//! tells when the watcher has written since, so between two cycles every request is served
//! from memory.

use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use super::board::{Board, BoardRow, MaintenanceWindow};
use crate::config::ProviderConfig;
use crate::state_reader::StateReader;
use crate::store::StoreError;

/// Every configured provider's row, read from the state file.
pub fn build(reader: &StateReader, providers: &[ProviderConfig]) -> Result<Board, StoreError> {
    let mut rows = Vec::with_capacity(providers.len());
    for provider in providers {
        let (overview, snapshot) = reader.overview(provider)?;
        let maintenances =
            MaintenanceWindow::unfinished(&overview, snapshot.iter().flat_map(|s| &s.maintenances));
        rows.push(BoardRow {
            overview,
            tags: provider.tags.clone(),
            maintenances,
        });
    }
    Ok(Board::of(rows))
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
        let board = Arc::new(build(reader, providers)?);
        *version = Some(now);
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(Latest {
            board: board.clone(),
            built: Instant::now(),
            took: started.elapsed(),
        });
        Ok(board)
    }
}
