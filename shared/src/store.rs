//! The embedded store (SQLite): provider state, validators, and the event outbox.
//!
//! Exactly-once rests on two rules. Events are inserted in the same transaction as the state
//! change that produced them, so a crash either keeps both or neither. A delivery is marked
//! sent only after the route answered 2xx, so a crash before that re-sends the same event
//! (same id, same bytes) on the next run and a crash after it never does.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::diff::ProviderState;
use crate::event::Event;
use crate::model::Snapshot;
use crate::sources::Validators;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state file {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "state file {path} is in use by another statusrelay process (lock {lock})",
        lock = .lock.display()
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database holds unreadable JSON for {what}: {reason}")]
    Corrupt { what: String, reason: String },
}

/// One good poll's outcome.
#[derive(Debug, Clone)]
pub struct PollCommit {
    pub provider_id: String,
    pub state: ProviderState,
    pub snapshot: Snapshot,
    pub validators: Validators,
    pub events: Vec<Event>,
}

/// A poll's outcome serialized as `commit_polls` stores it. Polls encode in their own tasks,
/// so serializing uses every core and a batch waiting for its commit holds text instead of
/// parsed pages (a full-size page parsed is several times its JSON).
#[derive(Debug, Clone)]
pub struct EncodedPoll {
    pub provider_id: String,
    state_json: String,
    snapshot_json: String,
    validators_json: String,
    pub events: Vec<Event>,
    /// The snapshot without its updates' texts: what metrics and the schedule read (states,
    /// components, which records are open).
    pub shown: Snapshot,
}

impl PollCommit {
    pub fn encode(self) -> EncodedPoll {
        let snapshot_json = serde_json::to_string(&self.snapshot).expect("snapshot serializes");
        let mut shown = self.snapshot;
        for record in shown.incidents.iter_mut().chain(&mut shown.maintenances) {
            record.updates = Vec::new();
        }
        EncodedPoll {
            state_json: serde_json::to_string(&self.state).expect("state serializes"),
            snapshot_json,
            validators_json: serde_json::to_string(&self.validators).expect("validators serialize"),
            provider_id: self.provider_id,
            events: self.events,
            shown,
        }
    }
}

/// One event waiting for one route.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub event_seq: i64,
    pub event_id: String,
    /// The destination name (the column predates notification groups and is still `route`).
    pub destination: String,
    /// The exact JSON bytes to send, fixed when the event was recorded.
    pub payload: String,
    pub attempts: i64,
    /// The provider whose poll produced the event.
    pub provider: String,
    /// When the event was recorded: events of one provider recorded together came from one
    /// poll (a provider is polled once per cycle and its poll committed in one transaction).
    pub recorded_at: String,
}

impl PendingDelivery {
    /// Whether `other` came from the same poll of the same provider.
    pub fn same_poll(&self, other: &PendingDelivery) -> bool {
        self.provider == other.provider && self.recorded_at == other.recorded_at
    }
}

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    // Held for the store's lifetime: two watchers on one state file would double-send.
    _lock: File,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS providers (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    snapshot TEXT,
    validators TEXT NOT NULL DEFAULT '{}',
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    event_seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
    route TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    response_status INTEGER,
    response_body TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (event_seq, route)
);
-- When each provider was last polled successfully, whether its page changed or not (a 304).
-- Apart from `providers` because SQLite rewrites a whole row, snapshot included, to change
-- one column: this row is a few dozen bytes.
CREATE TABLE IF NOT EXISTS polled (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL
) WITHOUT ROWID;
-- Providers announced `provider.unreachable` and not yet recovered: the announcement is made
-- once per outage of the page, and its recovery reuses its occurrence.
CREATE TABLE IF NOT EXISTS unreachable (
    id TEXT PRIMARY KEY,
    occurrence TEXT NOT NULL,
    failed_polls INTEGER NOT NULL
);
-- Providers found elsewhere (a permanent redirect) or as another platform after failed polls:
-- polled there while the config still says what it said then.
CREATE TABLE IF NOT EXISTS relocated (
    id TEXT PRIMARY KEY,
    config_url TEXT NOT NULL,
    config_platform TEXT NOT NULL,
    url TEXT NOT NULL,
    platform TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failing_destinations (
    name TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    reason TEXT NOT NULL,
    since TEXT NOT NULL
);
-- The read side's per-provider timelines (/api/v1/events?provider=, provider pages).
CREATE INDEX IF NOT EXISTS events_provider_seq ON events (provider, seq);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (event_seq) WHERE status = 'pending';
-- The operators' page lists each destination's latest deliveries.
CREATE INDEX IF NOT EXISTS deliveries_by_route ON deliveries (route, updated_at);
CREATE TABLE IF NOT EXISTS watcher (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A destination that answered "gone" (404/410, revoked token…): its deliveries are
/// dead-lettered without sending until its configuration (fingerprint) changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingDestination {
    pub fingerprint: String,
    pub reason: String,
    pub since: String,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_owned(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(open_err(format!(
                "folder {} does not exist",
                parent.display()
            )));
        }
        if path.is_dir() {
            return Err(open_err("is a folder, not a file".into()));
        }
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| open_err(format!("cannot create lock file: {e}")))?;
        lock.try_lock().map_err(|_| StoreError::Locked {
            path: path.to_owned(),
            lock: lock_path.clone(),
        })?;
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let setup = conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .and_then(|()| conn.execute_batch(SCHEMA));
        setup.map_err(|e| open_err(format!("not a usable statusrelay database: {e}")))?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The validators of a provider's last good poll; `None` before its first one. Cheap: an
    /// idle poll (every document 304) reads nothing else.
    pub fn validators(&self, id: &str) -> Result<Option<Validators>, StoreError> {
        self.provider_json(
            id,
            "validators",
            "SELECT validators FROM providers WHERE id = ?1 AND snapshot IS NOT NULL",
        )
    }

    /// The snapshot of a provider's last good poll.
    pub fn snapshot(&self, id: &str) -> Result<Option<Snapshot>, StoreError> {
        self.provider_json(
            id,
            "snapshot",
            "SELECT snapshot FROM providers WHERE id = ?1",
        )
    }

    /// What the change detection knows of a provider (empty before its first poll).
    pub fn state(&self, id: &str) -> Result<ProviderState, StoreError> {
        self.provider_json(id, "state", "SELECT state FROM providers WHERE id = ?1")
            .map(Option::unwrap_or_default)
    }

    /// One JSON column of a provider's row, parsed; `None` without a row or a value.
    fn provider_json<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        what: &str,
        query: &str,
    ) -> Result<Option<T>, StoreError> {
        let text: Option<Option<String>> = self
            .conn()
            .query_row(query, [id], |r| r.get(0))
            .optional()?;
        text.flatten()
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                    what: format!("{what} of provider {id}"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Stores good polls' outcomes and their events, and queues each event for the
    /// destinations `routes_for` names, all in one transaction: polls that finish together
    /// share one commit (one fsync), and a kill keeps every committed batch.
    pub fn commit_polls(
        &self,
        polls: &[EncodedPoll],
        routes_for: impl Fn(&Event) -> Vec<String>,
    ) -> Result<usize, StoreError> {
        let now = now_text();
        let mut conn = self.conn();
        // Durable at the next `persist_polls` (before anything is delivered), not at each
        // commit: one fsync per provider bound the first cycle of a large fleet.
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let committed = Store::insert_polls(&mut conn, polls, &now, routes_for);
        conn.execute_batch("PRAGMA synchronous = FULL")?;
        committed
    }

    /// Makes every poll committed so far durable (WAL mode syncs the log up to a FULL commit),
    /// so nothing is delivered from an event a crash could still take back.
    pub fn persist_polls(&self) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO watcher (key, value) VALUES ('polls_persisted_at', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [now_text()],
        )?;
        Ok(())
    }

    fn insert_polls(
        conn: &mut Connection,
        polls: &[EncodedPoll],
        now: &str,
        routes_for: impl Fn(&Event) -> Vec<String>,
    ) -> Result<usize, StoreError> {
        let tx = conn.transaction()?;
        let mut queued = 0;
        for poll in polls {
            tx.execute(
                "INSERT INTO providers (id, state, snapshot, validators, last_success_at, consecutive_failures)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot,
                   validators = excluded.validators, last_success_at = excluded.last_success_at,
                   consecutive_failures = 0",
                params![
                    poll.provider_id,
                    poll.state_json,
                    poll.snapshot_json,
                    poll.validators_json,
                    now
                ],
            )?;
            queued += Store::insert_events(&tx, &poll.provider_id, &poll.events, now, &routes_for)?;
        }
        tx.commit()?;
        Ok(queued)
    }

    /// Records events not seen before and queues each for its destinations; returns how many
    /// deliveries were queued. An event recorded earlier keeps the deliveries it has.
    fn insert_events(
        tx: &rusqlite::Transaction<'_>,
        provider_id: &str,
        events: &[Event],
        now: &str,
        routes_for: &impl Fn(&Event) -> Vec<String>,
    ) -> Result<usize, StoreError> {
        let mut queued = 0;
        for event in events {
            let payload = serde_json::to_string(event).expect("event serializes");
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO events (id, provider, type, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![event.id, provider_id, event.kind.as_str(), payload, now],
            )?;
            if inserted == 0 {
                continue;
            }
            let seq = tx.last_insert_rowid();
            for route in routes_for(event) {
                tx.execute(
                    "INSERT INTO deliveries (event_seq, route, status, updated_at) VALUES (?1, ?2, 'pending', ?3)",
                    params![seq, route, now],
                )?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Records good polls that found nothing new (a 304, or the same content): when each was
    /// polled, and the end of a run of failures, so that a provider whose page came back
    /// unchanged after an outage is no longer shown as unknown. One transaction per batch.
    pub fn record_unchanged_polls(&self, provider_ids: &[&str]) -> Result<(), StoreError> {
        let now = now_text();
        let mut conn = self.conn();
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let recorded = (|| {
            let tx = conn.transaction()?;
            for id in provider_ids {
                tx.execute(
                    "INSERT INTO polled (id, at) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    params![id, now],
                )?;
                // Matches no row (and so rewrites none) unless the provider was failing.
                tx.execute(
                    "UPDATE providers SET consecutive_failures = 0, last_success_at = ?2
                     WHERE id = ?1 AND consecutive_failures > 0",
                    params![id, now],
                )?;
            }
            tx.commit()
        })();
        conn.execute_batch("PRAGMA synchronous = FULL")?;
        Ok(recorded?)
    }

    /// Records a failed poll for diagnostics. State and validators are left as they were.
    /// Returns the failed polls in a row, this one included.
    pub fn record_poll_failure(&self, provider_id: &str, error: &str) -> Result<u32, StoreError> {
        let now = now_text();
        let failures: i64 = self.conn().query_row(
            "INSERT INTO providers (id, state, last_error, last_error_at, consecutive_failures)
             VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error,
               last_error_at = excluded.last_error_at,
               consecutive_failures = providers.consecutive_failures + 1
             RETURNING consecutive_failures",
            params![
                provider_id,
                serde_json::to_string(&ProviderState::default()).expect("state serializes"),
                error,
                now
            ],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    /// The latest good poll of a provider, changed or not.
    pub fn last_good_poll(&self, provider_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT NULLIF(MAX(COALESCE(p.last_success_at, ''), COALESCE(u.at, '')), '')
                 FROM providers p LEFT JOIN polled u ON u.id = p.id WHERE p.id = ?1",
                [provider_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(text
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Providers announced unreachable and not recovered: id → (occurrence, failed polls).
    pub fn unreachable_providers(&self) -> Result<HashMap<String, (String, u32)>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT id, occurrence, failed_polls FROM unreachable")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get::<_, String>(1)?, r.get::<_, u32>(2)?),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records `provider.unreachable` (queued for its destinations) and remembers the outage,
    /// in one transaction: announced once, and recovered once.
    pub fn announce_unreachable(
        &self,
        event: &Event,
        occurrence: &str,
        failed_polls: u32,
        routes_for: impl Fn(&Event) -> Vec<String>,
    ) -> Result<(), StoreError> {
        self.record_with(event, &routes_for, |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO unreachable (id, occurrence, failed_polls) VALUES (?1, ?2, ?3)",
                params![event.data.provider.id, occurrence, failed_polls],
            )
        })
    }

    /// Every relocation: id → the config's (url, platform) when found, and where it reads now.
    pub fn relocations(&self) -> Result<HashMap<String, crate::event::Relocated>, StoreError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare("SELECT id, config_url, config_platform, url, platform FROM relocated")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                crate::event::Relocated {
                    from_url: r.get(1)?,
                    from_platform: r.get(2)?,
                    to_url: r.get(3)?,
                    to_platform: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Commits the first poll at a page's new place (its events included), then remembers the
    /// place. A crash between the two only makes the next failed poll find the place again;
    /// its `provider.moved` has the same id, so it is not recorded twice.
    pub fn commit_relocation(
        &self,
        poll: &EncodedPoll,
        relocated: &crate::event::Relocated,
        routes_for: impl Fn(&Event) -> Vec<String>,
    ) -> Result<(), StoreError> {
        self.commit_polls(std::slice::from_ref(poll), routes_for)?;
        self.conn().execute(
            "INSERT INTO relocated (id, config_url, config_platform, url, platform)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET config_url = excluded.config_url,
               config_platform = excluded.config_platform, url = excluded.url,
               platform = excluded.platform",
            params![
                poll.provider_id,
                relocated.from_url,
                relocated.from_platform,
                relocated.to_url,
                relocated.to_platform
            ],
        )?;
        Ok(())
    }

    /// Counts a further failed poll of a page announced unreachable (its recovery says how
    /// long the outage lasted, across restarts).
    pub fn count_unreachable_polls(
        &self,
        provider_id: &str,
        failed_polls: u32,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE unreachable SET failed_polls = ?2 WHERE id = ?1",
            params![provider_id, failed_polls],
        )?;
        Ok(())
    }

    /// Records `provider.recovered` and forgets the outage, in one transaction.
    pub fn announce_recovered(
        &self,
        event: &Event,
        routes_for: impl Fn(&Event) -> Vec<String>,
    ) -> Result<(), StoreError> {
        self.record_with(event, &routes_for, |tx| {
            tx.execute(
                "DELETE FROM unreachable WHERE id = ?1",
                [&event.data.provider.id],
            )
        })
    }

    /// One event queued for its destinations, and `also` in the same transaction.
    fn record_with(
        &self,
        event: &Event,
        routes_for: &impl Fn(&Event) -> Vec<String>,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<(), StoreError> {
        let now = now_text();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        also(&tx)?;
        let events = std::slice::from_ref(event);
        Store::insert_events(&tx, &event.data.provider.id, events, &now, routes_for)?;
        tx.commit()?;
        Ok(())
    }

    /// Every delivery not yet sent nor dead-lettered, oldest event first.
    pub fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.event_seq, e.id, d.route, e.payload, d.attempts, e.provider, e.created_at
             FROM deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.status = 'pending' ORDER BY d.event_seq, d.route",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingDelivery {
                event_seq: r.get(0)?,
                event_id: r.get(1)?,
                destination: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
                provider: r.get(5)?,
                recorded_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_sent(&self, delivery: &PendingDelivery, attempts: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET status = 'sent', attempts = ?3, last_error = NULL, updated_at = ?4
             WHERE event_seq = ?1 AND route = ?2 AND status = 'pending'",
            params![delivery.event_seq, delivery.destination, attempts, now_text()],
        )?;
        Ok(())
    }

    pub fn mark_retry(
        &self,
        delivery: &PendingDelivery,
        attempts: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET attempts = ?3, last_error = ?4, updated_at = ?5
             WHERE event_seq = ?1 AND route = ?2 AND status = 'pending'",
            params![
                delivery.event_seq,
                delivery.destination,
                attempts,
                error,
                now_text()
            ],
        )?;
        Ok(())
    }

    pub fn mark_dead(
        &self,
        delivery: &PendingDelivery,
        attempts: i64,
        error: &str,
        response_status: Option<u16>,
        response_body: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET status = 'dead', attempts = ?3, last_error = ?4, response_status = ?5,
               response_body = ?6, updated_at = ?7
             WHERE event_seq = ?1 AND route = ?2 AND status = 'pending'",
            params![
                delivery.event_seq,
                delivery.destination,
                attempts,
                error,
                response_status,
                response_body,
                now_text()
            ],
        )?;
        Ok(())
    }

    /// A destination marked failing (deleted webhook, revoked token), if it is.
    pub fn failing_destination(
        &self,
        name: &str,
    ) -> Result<Option<FailingDestination>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT fingerprint, reason, since FROM failing_destinations WHERE name = ?1",
        )?;
        let mut rows = stmt.query_map([name], |r| {
            Ok(FailingDestination {
                fingerprint: r.get(0)?,
                reason: r.get(1)?,
                since: r.get(2)?,
            })
        })?;
        Ok(rows.next().transpose()?)
    }

    pub fn mark_destination_failing(
        &self,
        name: &str,
        fingerprint: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO failing_destinations (name, fingerprint, reason, since) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, reason = excluded.reason,
               since = excluded.since",
            params![name, fingerprint, reason, now_text()],
        )?;
        Ok(())
    }

    /// The names of every destination marked failing (paused), for the metrics.
    pub fn failing_destination_names(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name FROM failing_destinations ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    pub fn clear_destination_failing(&self, name: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM failing_destinations WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Drops events older than `keep` whose deliveries are all finished.
    pub fn prune(&self, keep: Duration) -> Result<usize, StoreError> {
        let cutoff: DateTime<Utc> = Utc::now() - keep;
        let removed = self.conn().execute(
            "DELETE FROM events WHERE created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.status = 'pending')",
            [cutoff.to_rfc3339_opts(SecondsFormat::Millis, true)],
        )?;
        Ok(removed)
    }

    /// Counts deliveries by status, for reports and tests.
    pub fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let conn = self.conn();
        let mut counts = DeliveryCounts::default();
        let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM deliveries GROUP BY status")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let status: String = row.get(0)?;
            let n: i64 = row.get(1)?;
            match status.as_str() {
                "pending" => counts.pending = n,
                "sent" => counts.sent = n,
                "dead" => counts.dead = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventData, EventType, ProviderRef, event_id};

    fn event(n: u32) -> Event {
        Event {
            kind: EventType::IncidentCreated,
            id: event_id(
                "p",
                "incident:i",
                &n.to_string(),
                EventType::IncidentCreated,
            ),
            timestamp: Utc::now(),
            data: EventData {
                provider: ProviderRef {
                    id: "p".into(),
                    name: "P".into(),
                    url: "https://p.test".into(),
                },
                incident: None,
                update: None,
                component: None,
                moved: None,
                health: None,
            },
        }
    }

    #[test]
    fn outbox_round_trip_and_idempotent_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let routes = |_: &Event| vec!["a".to_owned(), "b".to_owned()];
        let state = ProviderState::default();
        let snap = Snapshot::default();
        let poll = |events: Vec<Event>| {
            PollCommit {
                provider_id: "p".into(),
                state: state.clone(),
                snapshot: snap.clone(),
                validators: Validators::new(),
                events,
            }
            .encode()
        };
        let n = store
            .commit_polls(&[poll(vec![event(1), event(2)])], routes)
            .unwrap();
        assert_eq!(n, 4);
        // The same events again (a re-run) queue nothing new.
        let n = store.commit_polls(&[poll(vec![event(1)])], routes).unwrap();
        assert_eq!(n, 0);
        // Polls commit without an fsync each, but delivery marks keep full durability, and
        // the barrier before deliveries is a full commit.
        let synchronous = |store: &Store| -> i64 {
            store
                .conn()
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(synchronous(&store), 2, "FULL again after commit_polls");
        store.persist_polls().unwrap();
        let persisted: String = store
            .conn()
            .query_row(
                "SELECT value FROM watcher WHERE key = 'polls_persisted_at'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(persisted.starts_with("20"), "{persisted}");
        let pending = store.pending_deliveries().unwrap();
        assert_eq!(pending.len(), 4);
        assert_eq!(pending[0].event_id, event(1).id);
        store.mark_sent(&pending[0], 1).unwrap();
        store
            .mark_dead(&pending[1], 1, "HTTP 404", Some(404), Some("gone"))
            .unwrap();
        store.mark_retry(&pending[2], 1, "HTTP 503").unwrap();
        let counts = store.delivery_counts().unwrap();
        assert_eq!(
            counts,
            DeliveryCounts {
                pending: 2,
                sent: 1,
                dead: 1
            }
        );
        // A sent delivery cannot be flipped back by a late retry record.
        store.mark_retry(&pending[0], 2, "late").unwrap();
        assert_eq!(store.delivery_counts().unwrap().sent, 1);
    }

    #[test]
    fn second_process_on_the_same_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let _first = Store::open(&path).unwrap();
        let err = Store::open(&path).err().expect("second open must fail");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }

    #[test]
    fn unusable_paths_are_reported_with_the_path() {
        let err = Store::open(Path::new("/nonexistent-dir/x/state.db"))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent-dir/x/state.db"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("folder"), "{err}");
        let junk = dir.path().join("junk.db");
        std::fs::write(
            &junk,
            b"this is not sqlite at all, just text that is long enough",
        )
        .unwrap();
        let err = Store::open(&junk).err().unwrap();
        assert!(err.to_string().contains("junk.db"), "{err}");
    }
}
