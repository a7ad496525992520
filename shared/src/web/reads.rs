//! What the read side reads, whichever store holds it: the watcher's state file
//! ([`super::state_file::StateFile`]) or the AWS table (`aws::dashboard::TableReads`). The
//! pages, the API and the feeds are written once against [`Reads`]; each store answers these
//! questions its own cheapest way.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::board::Board;
use super::calendar::MaintenanceEntry;
use crate::config::ProviderConfig;
use crate::history::{EventPage, EventQuery, IncidentHistory};
use crate::model::Snapshot;
use crate::overview::ProviderOverview;

/// A read in flight (boxed: the router holds the store as `dyn Reads`).
pub type ReadFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ReadFailure>> + Send + 'a>>;

/// The store could not answer: shown as "not available yet" (503) with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure(pub String);

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadFailure {}

/// One provider in full: what the provider page and `/api/v1/providers/{id}` show.
pub struct ProviderRecord {
    pub overview: ProviderOverview,
    /// Its last good snapshot (none before the first good poll).
    pub snapshot: Option<Snapshot>,
    /// Its incidents and maintenances as the recorded events tell them (retention window).
    pub history: Vec<IncidentHistory>,
    /// Poll counts, where the store keeps them (the watcher does, in memory).
    pub poll_stats: Option<PollStats>,
}

/// Counts the watcher keeps while it runs (they restart with it).
#[derive(Debug, Clone, Copy, Default)]
pub struct PollStats {
    pub polls: u64,
    /// Polls that found nothing new: a 304, or the same content.
    pub unchanged: u64,
}

pub trait Reads: Send + Sync {
    /// Every configured provider's overview, worst first, with its tags and maintenances.
    fn board(&self) -> ReadFuture<'_, Arc<Board>>;

    /// One configured provider in full.
    fn provider<'a>(&'a self, config: &'a ProviderConfig) -> ReadFuture<'a, ProviderRecord>;

    /// One page of the events `query` selects among `providers` (what the query's `provider`
    /// and `tag` resolved to), newest first.
    fn events<'a>(
        &'a self,
        query: &'a EventQuery,
        providers: &'a [&'a ProviderConfig],
    ) -> ReadFuture<'a, EventPage>;

    /// The calendar entries of `providers`: scheduled, running and cancelled maintenances.
    fn maintenance_entries<'a>(
        &'a self,
        providers: &'a [&'a ProviderConfig],
        now: DateTime<Utc>,
    ) -> ReadFuture<'a, Vec<MaintenanceEntry>>;

    /// A cheap token that changes whenever anything the read side shows may have changed,
    /// where the store keeps one: a client revalidating its copy then costs one small read
    /// instead of all of them. `None`: responses are compared by their content instead.
    fn version(&self) -> ReadFuture<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }
}
