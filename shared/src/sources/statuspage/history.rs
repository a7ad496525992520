//! Statuspage's incident history feeds, `/history.atom` and `/history.rss`: read when the page's
//! JSON API is blocked (a 403 or a challenge page on `/api/v2/*` while the feeds still answer).
//! The generic feed source parses them; what a feed cannot express is listed there (no
//! components, impact unknown, updates split from the entry's HTML, ids derived from it).

use url::Url;

use crate::model::Snapshot;
use crate::sources::feed;
use crate::sources::{Fetched, Fetcher, PollError, Validator, Validators, document_url};

pub const HISTORY_ATOM: &str = "/history.atom";
pub const HISTORY_RSS: &str = "/history.rss";

const HINT: &str = "is this a Statuspage incident history feed?";

// Returned once per poll and consumed at once, never stored in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum History {
    NotModified {
        document: &'static str,
    },
    Read {
        document: &'static str,
        snapshot: Snapshot,
        validator: Validator,
    },
}

/// Whether the poll these validators come from read a history feed.
pub(super) fn was_read(validators: &Validators) -> bool {
    validators.contains_key(HISTORY_ATOM) || validators.contains_key(HISTORY_RSS)
}

/// Reads the page's history: the feed the last poll read first (conditionally), then the other.
/// When neither reads, the first one's error.
pub(super) async fn fetch(
    fetcher: &Fetcher,
    base: &Url,
    validators: Option<&Validators>,
) -> Result<History, PollError> {
    let order = if validators.is_some_and(|v| v.contains_key(HISTORY_RSS)) {
        [HISTORY_RSS, HISTORY_ATOM]
    } else {
        [HISTORY_ATOM, HISTORY_RSS]
    };
    let mut first_error = None;
    for document in order {
        let validator = validators.and_then(|v| v.get(document));
        match fetch_one(fetcher, base, document, validator).await {
            Ok(history) => return Ok(history),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    Err(first_error.expect("both feeds were tried"))
}

/// Fetches one feed; without `validator`, unconditionally.
pub(super) async fn fetch_one(
    fetcher: &Fetcher,
    base: &Url,
    document: &'static str,
    validator: Option<&Validator>,
) -> Result<History, PollError> {
    let url = document_url(base, document);
    let not_history = |reason: &str| crate::sources::not_status_page(document, reason, HINT);
    match fetcher.get(&url, document, validator).await? {
        Fetched::NotModified if validator.is_some() => Ok(History::NotModified { document }),
        Fetched::NotModified => Err(not_history("answered 304 to an unconditional request")),
        Fetched::NotFound => Err(not_history("HTTP 404")),
        Fetched::Body { bytes, validator } => {
            let read = feed::read(document, &bytes, &url)?;
            if !read.statuspage_history {
                return Err(not_history("a feed, but not a Statuspage incident history"));
            }
            Ok(History::Read {
                document,
                snapshot: read.snapshot,
                validator,
            })
        }
    }
}
