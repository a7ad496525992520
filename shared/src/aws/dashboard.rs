//! The AWS table as the read side's store: what the dashboard function serves. Each question
//! is one or two Queries ([`super::board`], [`super::history`]):
//!
//! | read | queries |
//! |---|---|
//! | board (`/`, `/maintenance`, `/api/v1/providers`) | read index `B` + `CYCLE` |
//! | one provider | its partition `P#<id>` + its history `H#<id>` |
//! | events (`/api/v1/events`, `/feed.atom`, `/incidents`) | read index `T`, newest first |
//! | calendar (`/maintenance.ics`) | read index `B` |
//! | version (revalidation) | one GetItem |
//!
//! A warm container keeps the last board while the version and the minute stay the same, so
//! the 30 s reloads of an open dashboard cost two GetItems each (the revalidation reads the
//! version, then the board does).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::board::{BOARD_SK, BoardItem, BoardSummary, cycle_key};
use super::history::{HistoryPage, first_seq_at};
use super::shards::shard_of;
use super::table::{ProviderMeta, Table, TableError};
use crate::config::ProviderConfig;
use crate::event::EventType;
use crate::history::{EventPage, EventQuery, incident_timelines};
use crate::model::Snapshot;
use crate::overview::{PollHealth, ProviderOverview, overview};
use crate::stream::{COMPONENT_PREFIX, INCIDENT_PREFIX, MAINTENANCE_PREFIX, META_SK, StateItem};
use crate::web::board::{Board, BoardRow, MaintenanceWindow};
use crate::web::calendar::{self, MaintenanceEntry};
use crate::web::reads::{ProviderRecord, ReadFailure, ReadFuture, Reads};

/// Timeline items read per Query page.
const TIMELINE_BATCH: i32 = 200;
/// At most this many Query pages per events request: a filter that matches rarely answers
/// with what it found and a cursor instead of reading the whole retention window at once.
const TIMELINE_PAGES: usize = 10;
/// A filter naming at most this many providers reads their own partitions (one Query each).
const PER_PROVIDER_QUERIES: usize = 10;
/// How long a warm container reuses a board whose version has not moved (the ages and the
/// last run it shows move with the clock).
const BOARD_REUSE: Duration = Duration::from_secs(30);

pub struct TableReads {
    table: Table,
    providers: Vec<ProviderConfig>,
    /// The poller's shard count: which run is each provider's last good poll.
    shards: u32,
    board: Mutex<Option<CachedBoard>>,
}

struct CachedBoard {
    version: u64,
    read: Instant,
    board: Arc<Board>,
}

impl TableReads {
    pub fn new(table: Table, providers: Vec<ProviderConfig>, shards: u32) -> TableReads {
        TableReads {
            table,
            providers,
            shards: shards.max(1),
            board: Mutex::new(None),
        }
    }

    fn last_run(
        &self,
        cycles: &HashMap<String, DateTime<Utc>>,
        provider_id: &str,
    ) -> Option<DateTime<Utc>> {
        let shard = shard_of(provider_id, self.shards);
        cycles.get(&cycle_key(shard, self.shards)).copied()
    }

    /// A provider's overview from its board item (none: never polled yet), and its summary.
    fn provider_view(
        &self,
        provider: &ProviderConfig,
        item: Option<&BoardItem>,
        cycles: &HashMap<String, DateTime<Utc>>,
    ) -> (ProviderOverview, Option<BoardSummary>) {
        match item {
            Some(item) => item.overview(
                &provider.id,
                provider.name.as_deref(),
                self.last_run(cycles, &provider.id),
            ),
            None => (
                overview(
                    &provider.id,
                    &provider.provider("").name,
                    None,
                    &PollHealth::default(),
                ),
                None,
            ),
        }
    }

    async fn read_board(&self) -> Result<Board, TableError> {
        let (boards, cycles) = tokio::try_join!(self.table.boards(), self.table.cycles())?;
        let mut by_id: HashMap<String, BoardItem> = boards
            .into_iter()
            .map(|b| (b.provider_id().to_owned(), b))
            .collect();
        let rows = self
            .providers
            .iter()
            .map(|provider| {
                let (view, summary) =
                    self.provider_view(provider, by_id.remove(&provider.id).as_ref(), &cycles);
                let maintenances = MaintenanceWindow::unfinished(
                    &view,
                    summary.iter().flat_map(|s| &s.maintenances),
                );
                BoardRow {
                    overview: view,
                    tags: provider.tags.clone(),
                    maintenances,
                }
            })
            .collect();
        Ok(Board::of(rows))
    }

    async fn read_provider(&self, config: &ProviderConfig) -> Result<ProviderRecord, TableError> {
        let (items, history, cycles) = tokio::try_join!(
            self.table.provider_items(&config.id),
            self.table.history_of(&config.id),
            self.table.cycles(),
        )?;
        let mut snapshot = Snapshot::default();
        let mut board = None;
        // The meta names the items the page showed at its last read; the others are kept
        // for a while on purpose (records of a page that moved, finished ones until their
        // TTL) but are not on the page now.
        let mut meta: Option<ProviderMeta> = None;
        let mut states = Vec::new();
        for item in items {
            let Some(sk) = item.get("sk").and_then(|v| v.as_s().ok()).cloned() else {
                continue;
            };
            if sk == BOARD_SK {
                board = serde_dynamo::from_item::<_, BoardItem>(item).ok();
            } else if sk == META_SK {
                meta = serde_dynamo::from_item::<_, ProviderMeta>(item).ok();
            } else if [INCIDENT_PREFIX, MAINTENANCE_PREFIX, COMPONENT_PREFIX]
                .iter()
                .any(|prefix| sk.starts_with(prefix))
            {
                match serde_dynamo::from_item::<_, StateItem>(item) {
                    Ok(state) => states.push(state),
                    Err(e) => {
                        tracing::warn!(provider = %config.id, %sk, error = %e, "skipping an unreadable state item")
                    }
                }
            }
        }
        let now = Utc::now().timestamp();
        for state in states {
            let on_page = meta
                .as_ref()
                .is_none_or(|m| m.hashes.contains_key(&state.sk));
            let expired = state.expires_at.is_some_and(|at| at <= now);
            if on_page && !expired {
                snapshot.incidents.extend(state.incident);
                snapshot.maintenances.extend(state.maintenance);
                snapshot.components.extend(state.component);
            }
        }
        // The page's order, not the keys'.
        snapshot
            .components
            .sort_by_key(|c| (c.position.is_none(), c.position));
        let (view, summary) = self.provider_view(config, board.as_ref(), &cycles);
        snapshot.page.name = summary
            .map(|s| s.name)
            .unwrap_or_else(|| config.provider("").name);
        let read_once = board.as_ref().is_some_and(|b| b.summary.is_some());
        let events = history
            .iter()
            // As the state file's history: no incident is made of these.
            .filter(|h| {
                h.kind != EventType::ComponentStatusChanged.as_str()
                    && h.kind != EventType::ProviderMoved.as_str()
            })
            .filter_map(|h| h.stored());
        Ok(ProviderRecord {
            overview: view,
            snapshot: read_once.then_some(snapshot),
            history: incident_timelines(events),
            poll_stats: None,
        })
    }

    async fn read_events(
        &self,
        query: &EventQuery,
        providers: &[&ProviderConfig],
    ) -> Result<EventPage, TableError> {
        let from = query
            .since
            .as_ref()
            .map_or(0, |since| first_seq_at(since.resolve(Utc::now())));
        let below = query.before.unwrap_or(i64::MAX);
        let selection = if !query.filter.is_empty() && providers.len() <= PER_PROVIDER_QUERIES {
            // A few providers: their own partitions hold all of their events, however quiet
            // they are beside the rest of the fleet.
            let mut found = Vec::new();
            let mut exhausted = true;
            for provider in providers {
                let scan = self
                    .scan(
                        query,
                        |start| {
                            self.table.provider_timeline(
                                &provider.id,
                                from,
                                below,
                                TIMELINE_BATCH,
                                start,
                            )
                        },
                        |_| true,
                    )
                    .await?;
                found.extend(scan.found);
                exhausted &= scan.exhausted;
            }
            found.sort_by_key(|e| std::cmp::Reverse(e.seq));
            Selection {
                found,
                exhausted,
                last_scanned: None,
            }
        } else {
            let wanted: HashSet<&str> = providers.iter().map(|p| p.id.as_str()).collect();
            self.scan(
                query,
                |start| self.table.timeline(from, below, TIMELINE_BATCH, start),
                |provider| wanted.contains(provider),
            )
            .await?
        };
        let Selection {
            mut found,
            exhausted,
            last_scanned,
        } = selection;
        // One more than a page tells whether a next page exists.
        let next_before = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|e| e.seq)
        } else if !exhausted {
            // The read budget ran out before the page filled: continue below what was read.
            last_scanned.or_else(|| found.last().map(|e| e.seq))
        } else {
            None
        };
        Ok(EventPage {
            events: found,
            next_before,
        })
    }

    /// Reads query pages from `page` (newest first) until one more event than a page passes
    /// the filters, the range is exhausted, or the read budget ([`TIMELINE_PAGES`]) is spent.
    async fn scan<F, Fut, P>(
        &self,
        query: &EventQuery,
        page: F,
        provider_wanted: P,
    ) -> Result<Selection, TableError>
    where
        F: Fn(Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>) -> Fut,
        Fut: std::future::Future<Output = Result<HistoryPage, TableError>>,
        P: Fn(&str) -> bool,
    {
        let mut found = Vec::new();
        let mut start = None;
        let mut last_scanned = None;
        for _ in 0..TIMELINE_PAGES {
            let read = page(start).await?;
            for item in read.items {
                last_scanned = Some(item.seq);
                if !provider_wanted(&item.provider_id)
                    || (!query.types.is_empty()
                        && !query.types.iter().any(|t| t.as_str() == item.kind))
                {
                    continue;
                }
                let Some(stored) = item.stored() else {
                    continue;
                };
                if query.admits(&stored.event) {
                    found.push(stored);
                    if found.len() > query.limit {
                        return Ok(Selection {
                            found,
                            exhausted: false,
                            last_scanned,
                        });
                    }
                }
            }
            start = read.last_key;
            if start.is_none() {
                return Ok(Selection {
                    found,
                    exhausted: true,
                    last_scanned,
                });
            }
        }
        Ok(Selection {
            found,
            exhausted: false,
            last_scanned,
        })
    }
}

/// What a scan of the timeline found.
struct Selection {
    found: Vec<crate::history::StoredEvent>,
    /// The range was read to its end.
    exhausted: bool,
    /// The seq of the last item read, filtered out or not.
    last_scanned: Option<i64>,
}

fn failure(err: TableError) -> ReadFailure {
    ReadFailure(err.to_string())
}

impl Reads for TableReads {
    fn board(&self) -> ReadFuture<'_, Arc<Board>> {
        Box::pin(async move {
            let version = self.table.version().await.map_err(failure)?;
            let cached = self
                .board
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .filter(|c| c.version == version && c.read.elapsed() < BOARD_REUSE)
                .map(|c| c.board.clone());
            if let Some(board) = cached {
                return Ok(board);
            }
            let board = Arc::new(self.read_board().await.map_err(failure)?);
            *self.board.lock().unwrap_or_else(|e| e.into_inner()) = Some(CachedBoard {
                version,
                read: Instant::now(),
                board: board.clone(),
            });
            Ok(board)
        })
    }

    fn provider<'a>(&'a self, config: &'a ProviderConfig) -> ReadFuture<'a, ProviderRecord> {
        Box::pin(async move { self.read_provider(config).await.map_err(failure) })
    }

    fn events<'a>(
        &'a self,
        query: &'a EventQuery,
        providers: &'a [&'a ProviderConfig],
    ) -> ReadFuture<'a, EventPage> {
        Box::pin(async move { self.read_events(query, providers).await.map_err(failure) })
    }

    fn maintenance_entries<'a>(
        &'a self,
        providers: &'a [&'a ProviderConfig],
        now: DateTime<Utc>,
    ) -> ReadFuture<'a, Vec<MaintenanceEntry>> {
        Box::pin(async move {
            let boards: HashMap<String, BoardItem> = self
                .table
                .boards()
                .await
                .map_err(failure)?
                .into_iter()
                .map(|b| (b.provider_id().to_owned(), b))
                .collect();
            let mut entries = Vec::new();
            for provider in providers {
                let Some(summary) = boards.get(&provider.id).and_then(BoardItem::summary) else {
                    continue;
                };
                let BoardSummary {
                    name, maintenances, ..
                } = summary;
                let snapshot = Snapshot {
                    maintenances,
                    ..Snapshot::default()
                };
                // What left the page before its end is not known here (the watcher tells it
                // from its events); the poller finishes such records instead.
                entries.extend(calendar::entries(
                    provider,
                    &name,
                    &snapshot,
                    &[],
                    None,
                    now,
                ));
            }
            Ok(entries)
        })
    }

    fn version(&self) -> ReadFuture<'_, Option<String>> {
        Box::pin(async move {
            let version = self.table.version().await.map_err(failure)?;
            Ok(Some(version.to_string()))
        })
    }
}
