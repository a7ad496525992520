//! Status page sources: one module per platform that maps the platform's documents into the
//! normalized [`Snapshot`](crate::model::Snapshot), and the dispatch of a poll to them.
//!
//! Shared by the platforms: `fetch` (HTTP with validators and limits), `detect` (finding the
//! platform of an undeclared page), `parse` (reading documents) and `absence` (resolution of
//! records that leave an open-only list).

pub mod aws_health;
pub mod better_stack;
pub mod cachet;
pub mod feed;
pub mod gcp;
pub mod incident_io;
pub mod instatus;
pub mod slack;
pub mod status_io;
pub mod statuspage;
pub mod statuspal;

mod absence;
mod detect;
mod fetch;
mod parse;
mod platform;
mod relocate;

use chrono::Utc;
use url::Url;

pub(crate) use absence::{finish_absent, status_update};
pub use detect::{DETECTABLE, detect_and_poll, platform_of};
pub use fetch::{
    DEFAULT_MAX_BODY_BYTES, Fetched, Fetcher, LazySnapshot, NetworkCause, Previous, Validator,
    Validators, document_url, error_chain,
};
pub(crate) use fetch::{fetch_single, reuse};
pub use parse::zoneless;
pub(crate) use parse::{
    Id, distinct_update_ids, id_text, instant, is_markup, not_status_page, parse_json, short_hash,
};
pub use platform::Platform;
pub use relocate::{Relocation, relocate, same_site, suggests_a_move};

use crate::config::ProviderConfig;
use crate::model::{Incident, Snapshot};

// Returned once per poll and consumed at once, never stored in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    /// Every document answered 304: nothing was parsed.
    Unchanged,
    Fetched {
        snapshot: Snapshot,
        validators: Validators,
        /// Which documents were read when they are not the platform's usual ones for the URL,
        /// and why (`/history.atom (JSON API blocked: HTTP 403)`): `check` shows it, and the
        /// watcher logs it when it changes.
        documents: Option<String>,
    },
}

impl PollOutcome {
    /// A platform read from one document: its snapshot, with that document's validator.
    pub fn single(snapshot: Snapshot, document: &str, validator: Validator) -> PollOutcome {
        PollOutcome::Fetched {
            snapshot,
            validators: Validators::from([(document.to_owned(), validator)]),
            documents: None,
        }
    }
}

/// What to log about the documents a poll read, when it is news: the first poll of a page read
/// through other documents than usual, or a poll reading other documents than the last one (a
/// page falling back, or returning to its usual documents).
pub fn documents_news(
    before: Option<&Validators>,
    after: &Validators,
    documents: Option<&str>,
) -> Option<String> {
    let switched = match before {
        None => documents.is_some(),
        Some(before) => !before.keys().eq(after.keys()),
    };
    switched.then(|| match documents {
        Some(documents) => documents.to_owned(),
        None => {
            let usual: Vec<&str> = after.keys().map(String::as_str).collect();
            format!("{} (as usual)", usual.join(", "))
        }
    })
}

/// Why a poll failed. A failed poll never changes state.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{document}: HTTP {status}")]
    Status { document: String, status: u16 },
    /// A 429 or 503 that says when to come back (`Retry-After`): the provider is not polled
    /// again before then.
    #[error("{document}: HTTP {status}, asked to retry after {}s", retry_after.as_secs())]
    Throttled {
        document: String,
        status: u16,
        retry_after: std::time::Duration,
    },
    #[error("{document}: redirect to {location} not followed (another host)")]
    Redirect { document: String, location: String },
    #[error("{document}: timed out")]
    Timeout { document: String },
    #[error("{document}: request failed: {reason}")]
    Network {
        document: String,
        reason: String,
        cause: NetworkCause,
    },
    #[error("{document}: body exceeds the {limit}-byte cap")]
    TooLarge { document: String, limit: usize },
    #[error("{document}: not a status page document: {reason}")]
    NotStatusPage { document: String, reason: String },
    #[error("{document}: invalid JSON at line {line}, column {column}: {reason}")]
    Malformed {
        document: String,
        line: usize,
        column: usize,
        reason: String,
    },
}

impl PollError {
    /// How long the vendor asked us to wait before the next request, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            PollError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// An answer served as an HTML page where a document was asked for (a marketing page, a
    /// CDN's error or challenge page).
    pub fn is_html_page(&self) -> bool {
        matches!(self, PollError::NotStatusPage { reason, .. } if reason.starts_with(fetch::HTML_PAGE))
    }

    pub(crate) fn malformed(document: &str, err: &serde_json::Error) -> PollError {
        let reason = err.to_string();
        // serde_json appends " at line L column C"; keep the reason without it.
        let reason = reason
            .rsplit_once(" at line ")
            .map_or(reason.as_str(), |(head, _)| head)
            .to_owned();
        PollError::Malformed {
            document: document.to_owned(),
            line: err.line(),
            column: err.column(),
            reason,
        }
    }
}

/// Polls a configured provider with its platform's source.
pub async fn poll(
    fetcher: &Fetcher,
    provider: &ProviderConfig,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let (platform, mut outcome) = match provider.platform {
        Platform::Detect => detect_and_poll(fetcher, &provider.url, previous).await?,
        platform => (
            platform,
            poll_as(platform, fetcher, &provider.url, previous).await?,
        ),
    };
    if let PollOutcome::Fetched {
        snapshot,
        validators,
        ..
    } = &mut outcome
    {
        if lists_only_open(platform, validators)
            && let Some(prior) = previous.and_then(|p| p.snapshot())
        {
            finish_absent(snapshot, prior, Utc::now());
        }
        if !provider.components.is_empty() {
            keep_components(snapshot, &provider.components);
        }
    }
    Ok(outcome)
}

/// Whether a poll of `platform` that left `validators` read lists of open records only, so that
/// a record leaving them is over ([`finish_absent`]). Most platforms always or never do; a
/// Statuspage-compatible page does when it serves its summary without `incidents.json`.
pub fn lists_only_open(platform: Platform, validators: &Validators) -> bool {
    platform.lists_only_open()
        || (platform == Platform::Statuspage && statuspage::lists_only_open(validators))
}

/// Component filtering at the source: keeps the watched components (by name or id, or all of
/// a watched group), and the incidents and maintenances that touch one of them or name no
/// component at all (page-wide). Everything else never reaches the change detection.
pub fn keep_components(snapshot: &mut Snapshot, watched: &[String]) {
    let matches = |id: &str, name: &str| {
        let name = name.trim().to_lowercase();
        watched.iter().any(|w| *w == id || *w == name)
    };
    let watched_groups: Vec<String> = snapshot
        .components
        .iter()
        .filter(|c| c.is_group && matches(&c.id, &c.name))
        .map(|c| c.id.clone())
        .collect();
    snapshot.components.retain(|c| {
        matches(&c.id, &c.name)
            || c.group_id
                .as_ref()
                .is_some_and(|g| watched_groups.contains(g))
    });
    let kept: Vec<String> = snapshot.components.iter().map(|c| c.id.clone()).collect();
    let touches = |record: &Incident| {
        record.components.is_empty()
            || record
                .components
                .iter()
                .any(|c| kept.contains(&c.id) || matches(&c.id, &c.name))
    };
    snapshot.incidents.retain(|i| touches(i));
    snapshot.maintenances.retain(|m| touches(m));
}

pub(crate) async fn poll_as(
    platform: Platform,
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    match platform {
        Platform::Statuspage | Platform::Detect => statuspage::poll(fetcher, url, previous).await,
        Platform::Slack => slack::poll(fetcher, url, previous).await,
        Platform::Instatus => instatus::poll(fetcher, url, previous).await,
        Platform::IncidentIo => incident_io::poll(fetcher, url, previous).await,
        Platform::BetterStack => better_stack::poll(fetcher, url, previous).await,
        Platform::Cachet => cachet::poll(fetcher, url, previous).await,
        Platform::Statuspal => statuspal::poll(fetcher, url, previous).await,
        Platform::StatusIo => status_io::poll(fetcher, url, previous).await,
        Platform::Gcp => gcp::poll(fetcher, url, previous).await,
        Platform::AwsHealth => aws_health::poll(fetcher, url, previous).await,
        Platform::Feed => feed::poll(fetcher, url, previous).await,
    }
}
