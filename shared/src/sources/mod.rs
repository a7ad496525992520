//! Status page sources: fetching with validators and limits, and one module per platform that
//! maps the platform's documents into the normalized [`Snapshot`](crate::model::Snapshot).

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

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{Platform, ProviderConfig};
use crate::model::{Incident, IncidentStatus, IncidentUpdate, Snapshot};
use crate::net::{self, HttpLimits};

/// Caching validators of one fetched document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Validators per document path of a provider (`/api/v2/incidents.json` → validator).
pub type Validators = BTreeMap<String, Validator>;

/// What a provider's previous good poll left behind, for conditional requests.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    snapshot: Prior<'a>,
    pub validators: &'a Validators,
}

#[derive(Debug, Clone, Copy)]
enum Prior<'a> {
    Known(Option<&'a Snapshot>),
    Lazy(&'a LazySnapshot<'a>),
}

impl<'a> Previous<'a> {
    /// `snapshot`: the last snapshot, to reuse the parts of documents that answer 304. Without
    /// it (the Lambda poller keeps validators only) such documents are fetched again when
    /// another document changed.
    pub fn new(snapshot: Option<&'a Snapshot>, validators: &'a Validators) -> Previous<'a> {
        Previous {
            snapshot: Prior::Known(snapshot),
            validators,
        }
    }

    /// The last snapshot read only if a source needs it (something changed).
    pub fn lazy(snapshot: &'a LazySnapshot<'a>, validators: &'a Validators) -> Previous<'a> {
        Previous {
            snapshot: Prior::Lazy(snapshot),
            validators,
        }
    }

    pub fn snapshot(&self) -> Option<&'a Snapshot> {
        match self.snapshot {
            Prior::Known(snapshot) => snapshot,
            Prior::Lazy(lazy) => lazy.get(),
        }
    }
}

/// A stored snapshot loaded on first use: an idle poll (every document 304) then costs no
/// read and no JSON parse of the last snapshot, the bulk of a steady-state cycle's CPU.
pub struct LazySnapshot<'a> {
    loaded: std::sync::OnceLock<Option<Snapshot>>,
    load: Box<dyn Fn() -> Option<Snapshot> + Send + Sync + 'a>,
}

impl<'a> LazySnapshot<'a> {
    pub fn new(load: impl Fn() -> Option<Snapshot> + Send + Sync + 'a) -> LazySnapshot<'a> {
        LazySnapshot {
            loaded: std::sync::OnceLock::new(),
            load: Box::new(load),
        }
    }

    pub fn get(&self) -> Option<&Snapshot> {
        self.loaded.get_or_init(|| (self.load)()).as_ref()
    }
}

impl std::fmt::Debug for LazySnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySnapshot")
            .field("loaded", &self.loaded.get().is_some())
            .finish()
    }
}

// Returned once per poll and consumed at once, never stored in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    /// Every document answered 304: nothing was parsed.
    Unchanged,
    Fetched {
        snapshot: Snapshot,
        validators: Validators,
    },
}

/// Why a poll failed. A failed poll never changes state.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{document}: HTTP {status}")]
    Status { document: String, status: u16 },
    #[error("{document}: redirect to {location} not followed (another host)")]
    Redirect { document: String, location: String },
    #[error("{document}: timed out")]
    Timeout { document: String },
    #[error("{document}: request failed: {reason}")]
    Network { document: String, reason: String },
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
    if let PollOutcome::Fetched { snapshot, .. } = &mut outcome {
        if platform.lists_only_open()
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

/// The platforms detection tries, in order. Statuspal goes first: it knows from the URL alone
/// whether to make a request at all.
pub const DETECTABLE: [Platform; 11] = [
    Platform::Statuspal,
    Platform::Statuspage,
    Platform::Slack,
    Platform::Instatus,
    Platform::IncidentIo,
    Platform::BetterStack,
    Platform::Cachet,
    Platform::StatusIo,
    Platform::Gcp,
    Platform::AwsHealth,
    Platform::Feed,
];

async fn poll_as(
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

/// Tries each platform in turn by its documents' shape; the first that reads wins. When none
/// does, the error lists what was tried. The platform found by the last good poll (told by
/// the documents its validators are for) is tried first, so an undeclared page costs no
/// failed probes once detected.
pub async fn detect_and_poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<(Platform, PollOutcome), PollError> {
    let remembered = previous.and_then(|p| platform_of(p.validators));
    let order = remembered
        .into_iter()
        .chain(DETECTABLE.into_iter().filter(|p| Some(*p) != remembered));
    let mut tried = Vec::new();
    for platform in order {
        match poll_as(platform, fetcher, url, previous).await {
            Ok(outcome) => return Ok((platform, outcome)),
            Err(err @ PollError::NotStatusPage { .. }) => {
                tried.push(format!("{}: {err}", platform.as_str()));
            }
            // A timeout or a 5xx says nothing about the platform: report it as it is.
            Err(other) => return Err(other),
        }
    }
    Err(PollError::NotStatusPage {
        document: url.as_str().trim_end_matches('/').to_owned(),
        reason: format!(
            "no supported platform recognised it (tried {})",
            tried.join("; ")
        ),
    })
}

/// The platform whose documents a good poll left validators for (every platform names its
/// documents differently).
pub fn platform_of(validators: &Validators) -> Option<Platform> {
    let document = validators.keys().next()?.as_str();
    Some(match document {
        statuspage::SUMMARY | statuspage::INCIDENTS | statuspage::MAINTENANCES => {
            Platform::Statuspage
        }
        slack::CURRENT | slack::HISTORY => Platform::Slack,
        instatus::SUMMARY => Platform::Instatus,
        incident_io::SUMMARY => Platform::IncidentIo,
        better_stack::INDEX => Platform::BetterStack,
        cachet::COMPONENTS | cachet::INCIDENTS => Platform::Cachet,
        statuspal::DOCUMENT => Platform::Statuspal,
        status_io::DOCUMENT => Platform::StatusIo,
        gcp::INCIDENTS => Platform::Gcp,
        aws_health::DOCUMENT => Platform::AwsHealth,
        feed::DOCUMENT => Platform::Feed,
        _ => return None,
    })
}

pub enum Fetched {
    NotModified,
    NotFound,
    Body {
        bytes: Vec<u8>,
        validator: Validator,
    },
}

/// Fetches status page documents: conditional, capped, time-limited, same-host redirects only.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
    allow_private: bool,
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

impl Fetcher {
    pub fn new(allow_private: bool, limits: HttpLimits, max_body_bytes: usize) -> Fetcher {
        let same_host_only = reqwest::redirect::Policy::custom(|attempt| {
            let first_host = attempt.previous().first().and_then(|u| u.host_str());
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if attempt.url().host_str() == first_host {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = net::client_builder(allow_private, limits)
            .redirect(same_host_only)
            .build()
            .expect("static HTTP client configuration is valid");
        Fetcher {
            client,
            max_body_bytes,
            allow_private,
        }
    }

    pub async fn get(
        &self,
        url: &Url,
        document: &str,
        validator: Option<&Validator>,
    ) -> Result<Fetched, PollError> {
        if !self.allow_private {
            net::check_url_host(url).map_err(|e| PollError::Network {
                document: document.to_owned(),
                reason: e.to_string(),
            })?;
        }
        let mut request = self
            .client
            .get(url.clone())
            .header("accept", "application/json");
        if let Some(validator) = validator {
            if let Some(etag) = &validator.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &validator.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
        }
        let network = |err: reqwest::Error| {
            if err.is_timeout() {
                PollError::Timeout {
                    document: document.to_owned(),
                }
            } else {
                PollError::Network {
                    document: document.to_owned(),
                    reason: error_chain(&err.without_url()),
                }
            }
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            return Err(PollError::Redirect {
                document: document.to_owned(),
                location,
            });
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(Fetched::NotFound);
        }
        if !status.is_success() {
            return Err(PollError::Status {
                document: document.to_owned(),
                status: status.as_u16(),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let validator = Validator {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        if content_type.contains("text/html") {
            return Err(PollError::NotStatusPage {
                document: document.to_owned(),
                reason: format!("got an HTML page (content-type {content_type})"),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(PollError::TooLarge {
                document: document.to_owned(),
                limit: self.max_body_bytes,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > self.max_body_bytes {
                return Err(PollError::TooLarge {
                    document: document.to_owned(),
                    limit: self.max_body_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body { bytes, validator })
    }
}

/// Flattens an error and its sources into one line (reqwest hides the cause otherwise).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// An id written as a string or as a number: sources disagree, sometimes with themselves
/// (Slack's docs and SDK, Cachet, Better Stack's JSON:API attributes).
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "serde_json::Value")]
pub(crate) struct Id(pub String);

impl From<serde_json::Value> for Id {
    fn from(value: serde_json::Value) -> Id {
        Id(id_text(&value))
    }
}

pub(crate) fn id_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A "this is not that platform" error; `hint` says what the document was expected to be.
pub(crate) fn not_status_page(document: &str, reason: &str, hint: &str) -> PollError {
    PollError::NotStatusPage {
        document: document.to_owned(),
        reason: format!("{reason}; {hint}"),
    }
}

/// Fetches the one document of a single-document platform, conditionally when the previous
/// snapshot can stand in for it. `Ok(None)`: unchanged since the last poll.
pub(crate) async fn fetch_single(
    fetcher: &Fetcher,
    url: &Url,
    document: &str,
    previous: Option<Previous<'_>>,
    hint: &str,
) -> Result<Option<(Vec<u8>, Validator)>, PollError> {
    // The one document answering 304 to our validator means nothing changed, whether or not
    // the caller keeps snapshots (the Lambda poller keeps validators only).
    let validator = previous.and_then(|p| p.validators.get(document));
    let fetched = fetcher.get(url, document, validator).await?;
    match fetched {
        Fetched::NotModified if validator.is_some() => Ok(None),
        Fetched::Body { bytes, validator } => Ok(Some((bytes, validator))),
        Fetched::NotFound => Err(not_status_page(document, "HTTP 404", hint)),
        Fetched::NotModified => Err(not_status_page(
            document,
            "answered 304 to an unconditional request",
            hint,
        )),
    }
}

/// The URL of a document under a page's base URL.
/// A derived id for records and updates a platform gives none: 12 hex digits of the SHA-256
/// of `seed` (stable across polls, so the same update keeps the same id).
pub(crate) fn short_hash(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(seed.as_bytes())[..6])
}

/// A document of a page: its path appended to the page's (a base path is kept).
pub fn document_url(base: &Url, document: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}{document}", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// Applies the previous snapshot's part for a document that answered 304.
pub(crate) fn reuse(
    previous: Option<Previous<'_>>,
    document: &str,
    validators: &mut Validators,
    apply: impl FnOnce(&Snapshot),
) -> Result<(), PollError> {
    // 304s are re-fetched when there is no snapshot to reuse, so a 304 here without one means
    // the server answered a request we did not make conditional.
    let (Some(snapshot), Some(previous)) = (previous.and_then(|p| p.snapshot()), previous) else {
        return Err(PollError::NotStatusPage {
            document: document.to_owned(),
            reason: "answered 304 to an unconditional request".into(),
        });
    };
    apply(snapshot);
    if let Some(v) = previous.validators.get(document) {
        validators.insert(document.to_owned(), v.clone());
    }
    Ok(())
}

/// Parses a JSON document, telling an HTML error page or a marketing page apart from broken
/// JSON; `hint` ends the "not a status page" message.
pub(crate) fn parse_json<T: DeserializeOwned>(
    document: &str,
    bytes: &[u8],
    hint: &str,
) -> Result<T, PollError> {
    let not_status_page = |reason: &str| not_status_page(document, reason, hint);
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(not_status_page("empty body")),
        Some(b'<') => return Err(not_status_page("got HTML or XML, not JSON")),
        Some(b'{' | b'[') => {}
        Some(_) => return Err(not_status_page("the body is not JSON")),
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            // Valid JSON of the wrong shape: say which field.
            not_status_page(&e.to_string())
        } else {
            PollError::malformed(document, &e)
        }
    })
}

/// Timestamps are parsed leniently: one odd date must not fail a whole page.
pub(crate) fn instant(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?;
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A time without a zone (`2026-11-20 08:00:00`, `2026-11-20T08:00:00.123`), read as UTC as
/// Cachet and Statuspal write them, or RFC 3339 with its offset.
pub fn zoneless(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(raw, format).ok())
        .map(|naive| naive.and_utc())
}

/// How long a record that left a source's list stays in the snapshot as finished.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);

/// For platforms that list only open records ([`Platform::lists_only_open`]): records of the
/// previous snapshot no longer listed are finished now (if they were open) and kept for a
/// week, so their end is seen exactly once. The local watcher passes its last snapshot; the
/// Lambda poller, which keeps none, the records it read back because they vanished.
pub(crate) fn finish_absent(snapshot: &mut Snapshot, prior: &Snapshot, now: DateTime<Utc>) {
    carry_finished(&mut snapshot.incidents, &prior.incidents, false, now);
    carry_finished(&mut snapshot.maintenances, &prior.maintenances, true, now);
}

fn carry_finished(
    listed: &mut Vec<Incident>,
    prior: &[Incident],
    maintenance: bool,
    now: DateTime<Utc>,
) {
    for record in prior {
        if listed.iter().any(|r| r.id == record.id) {
            continue;
        }
        let mut record = record.clone();
        if !record.status.is_finished() {
            let status = if maintenance {
                IncidentStatus::Completed
            } else {
                IncidentStatus::Resolved
            };
            record.updates.push(status_update(&record.id, &status, now));
            record.status = status;
            record.resolved_at = Some(now);
            record.updated_at = Some(now);
        }
        if record
            .resolved_at
            .is_none_or(|at| now - at <= KEEP_FINISHED)
        {
            listed.push(record);
        }
    }
}

pub(crate) fn status_update(
    id: &str,
    status: &IncidentStatus,
    at: DateTime<Utc>,
) -> IncidentUpdate {
    IncidentUpdate {
        id: format!("{id}-{}", status.as_str()),
        status: status.clone(),
        body: format!("Status: {}.", crate::render::humanize(status.as_str())),
        created_at: Some(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoneless_times_read_as_utc() {
        let at = |raw| zoneless(Some(raw)).map(|t| t.to_rfc3339());
        let eight = Some("2026-11-20T08:00:00+00:00".to_owned());
        assert_eq!(at("2026-11-20 08:00:00"), eight);
        assert_eq!(at("2026-11-20T08:00:00"), eight);
        assert_eq!(at("2026-11-20T09:00:00+01:00"), eight);
        assert_eq!(at("2026-11-20T00:00:00-08:00"), eight);
        assert_eq!(
            at("2026-11-20T08:00:00.250"),
            Some("2026-11-20T08:00:00.250+00:00".to_owned())
        );
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2026-11-20"), None);
    }
}
