//! Reads a state file while a watcher may be running on it: read-only, without the watcher's
//! lock (SQLite's WAL lets readers and the one writer work at once), for `statusrelay status`
//! and the HTTP read side.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::config::ProviderConfig;
use crate::event::{Event, EventType};
pub use crate::history::EventPage;
use crate::history::{EventQuery, IncidentHistory, StoredEvent, incident_timelines};
use crate::model::Snapshot;
use crate::overview::{PollHealth, ProviderOverview, overview, worst_first};
use crate::store::StoreError;

pub struct StateReader {
    conn: Connection,
}

/// Rows read per round when impact (filtered in Rust) may drop some: enough to fill most
/// pages in one round without reading the whole history for a rare impact.
const IMPACT_SCAN_BATCH: usize = 500;

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
                // The latest good poll, changed (`providers`) or not (`polled`); the
                // timestamps share one format, so text order is time order.
                "SELECT p.snapshot, MAX(COALESCE(p.last_success_at, ''), COALESCE(u.at, '')),
                        p.last_error, p.last_error_at, p.consecutive_failures
                 FROM providers p LEFT JOIN polled u ON u.id = p.id WHERE p.id = ?1",
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

    /// The events `query` selects among `providers` (the providers the caller resolved the
    /// query's `provider` and `tag` to), newest first, one page of `query.limit`. Provider,
    /// type, time and cursor filter in SQL; impact, which depends on the event's content,
    /// filters here. Events the store cannot read (written by another version) are skipped.
    pub fn events(
        &self,
        query: &EventQuery,
        providers: &[&ProviderConfig],
    ) -> Result<EventPage, StoreError> {
        let wanted: HashSet<&str> = providers.iter().map(|p| p.id.as_str()).collect();
        let mut sql = "SELECT seq, payload, created_at FROM events WHERE seq < ?".to_owned();
        let mut params: Vec<Value> = Vec::new();
        // Bound as the cursor; every round moves it down.
        params.push(Value::Integer(query.before.unwrap_or(i64::MAX)));
        if !query.filter.is_empty() {
            // An explicit selection is small; everything else is checked below, so a
            // 5,000-provider configuration does not become a 5,000-value `IN`.
            sql.push_str(&format!(
                " AND provider IN ({})",
                placeholders(wanted.len())
            ));
            params.extend(wanted.iter().map(|id| Value::Text((*id).to_owned())));
        }
        if !query.types.is_empty() {
            sql.push_str(&format!(
                " AND type IN ({})",
                placeholders(query.types.len())
            ));
            params.extend(
                query
                    .types
                    .iter()
                    .map(|t| Value::Text(t.as_str().to_owned())),
            );
        }
        if let Some(since) = &query.since {
            sql.push_str(" AND created_at >= ?");
            params.push(Value::Text(stored_time(since.resolve(Utc::now()))));
        }
        sql.push_str(" ORDER BY seq DESC LIMIT ?");
        let batch = if query.min_impact.is_some() {
            IMPACT_SCAN_BATCH.max(query.limit + 1)
        } else {
            query.limit + 1
        };
        params.push(Value::Integer(i64::try_from(batch).unwrap_or(i64::MAX)));

        let mut statement = self.conn.prepare(&sql)?;
        let mut found: Vec<StoredEvent> = Vec::new();
        // One more than a page tells whether a next page exists.
        while found.len() <= query.limit {
            let rows = statement
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let exhausted = rows.len() < batch;
            if let Some((last_seq, _, _)) = rows.last() {
                params[0] = Value::Integer(*last_seq);
            }
            for (seq, payload, created_at) in rows {
                let Some(stored) = stored_event(seq, &payload, &created_at) else {
                    continue;
                };
                if wanted.contains(stored.event.data.provider.id.as_str())
                    && query.admits(&stored.event)
                    && found.len() <= query.limit
                {
                    found.push(stored);
                }
            }
            if exhausted {
                break;
            }
        }
        let next_before = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(EventPage {
            events: found,
            next_before,
        })
    }

    /// One provider's incidents and maintenances as its events since `since` tell them
    /// (within the retention window), each with the updates its events carried, oldest
    /// first; latest activity first.
    pub fn incident_history(
        &self,
        provider_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentHistory>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT seq, payload, created_at FROM events
             WHERE provider = ?1 AND created_at >= ?2 AND type NOT IN (?3, ?4)
             ORDER BY seq ASC",
        )?;
        let rows = statement
            .query_map(
                rusqlite::params![
                    provider_id,
                    stored_time(since),
                    EventType::ComponentStatusChanged.as_str(),
                    EventType::ProviderMoved.as_str()
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(incident_timelines(rows.into_iter().filter_map(
            |(seq, payload, created_at)| stored_event(seq, &payload, &created_at),
        )))
    }

    /// The seq of the provider's latest `provider.moved` event: records seen before it
    /// changed identity, so their absence from the page says nothing about them.
    pub fn last_move_seq(&self, provider_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MAX(seq) FROM events WHERE provider = ?1 AND type = ?2",
            [provider_id, EventType::ProviderMoved.as_str()],
            |r| r.get::<_, Option<i64>>(0),
        )?)
    }
}

/// `?, ?, ?` for an `IN` list of `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Times as the store writes `created_at` (milliseconds, `Z`), so text comparison in SQL
/// orders them.
fn stored_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn stored_event(seq: i64, payload: &str, created_at: &str) -> Option<StoredEvent> {
    let event: Event = match serde_json::from_str(payload) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(seq, error = %e, "skipping an unreadable recorded event");
            return None;
        }
    };
    let recorded_at = DateTime::parse_from_rfc3339(created_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(event.timestamp);
    Some(StoredEvent {
        seq,
        recorded_at,
        event,
    })
}
