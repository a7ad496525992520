//! Reads a state file while a watcher may be running on it: read-only, without the watcher's
//! lock (SQLite's WAL lets readers and the one writer work at once), for `statusrelay status`.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::config::ProviderConfig;
use crate::model::Snapshot;
use crate::overview::{PollHealth, ProviderOverview, overview, worst_first};
use crate::store::StoreError;

pub struct StateReader {
    conn: Connection,
}

impl StateReader {
    pub fn open(path: &Path) -> Result<StateReader, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_owned(),
            reason,
        };
        if !path.is_file() {
            return Err(open_err(
                "no such state file yet (run the watcher first)".into(),
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| open_err(e.to_string()))?;
        Ok(StateReader { conn })
    }

    /// Changes whenever another connection (the watcher) has committed since this one last
    /// looked: what lets the dashboard keep what it built until the watcher writes again.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A provider's last good snapshot and its poll health; `(None, default)` for a provider
    /// never polled.
    pub fn provider(&self, id: &str) -> Result<(Option<Snapshot>, PollHealth), StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT snapshot, last_success_at, last_error, last_error_at, consecutive_failures
                 FROM providers WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((snapshot, success, error, error_at, failures)) = row else {
            return Ok((None, PollHealth::default()));
        };
        let snapshot = snapshot
            .map(|json| serde_json::from_str::<Snapshot>(&json))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                what: format!("provider {id}'s snapshot"),
                reason: e.to_string(),
            })?;
        let time = |text: Option<String>| {
            text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        Ok((
            snapshot,
            PollHealth {
                last_success_at: time(success),
                last_error: error,
                last_error_at: time(error_at),
                consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
            },
        ))
    }

    /// One provider's overview, named as events name it (the configured name, else the page's
    /// own, else the id), with its last good snapshot.
    pub fn overview(
        &self,
        provider: &ProviderConfig,
    ) -> Result<(ProviderOverview, Option<Snapshot>), StoreError> {
        let (snapshot, health) = self.provider(&provider.id)?;
        let name = provider
            .provider(snapshot.as_ref().map_or("", |s| s.page.name.as_str()))
            .name;
        let view = overview(&provider.id, &name, snapshot.as_ref(), &health);
        Ok((view, snapshot))
    }

    /// Every provider's overview, worst first: `status` and `/api/v1/providers`.
    pub fn overviews(
        &self,
        providers: &[ProviderConfig],
    ) -> Result<Vec<ProviderOverview>, StoreError> {
        let mut all = providers
            .iter()
            .map(|provider| Ok(self.overview(provider)?.0))
            .collect::<Result<Vec<_>, StoreError>>()?;
        worst_first(&mut all);
        Ok(all)
    }
}
