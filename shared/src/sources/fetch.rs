//! Fetching a page's documents: conditional requests with the validators a previous good poll
//! left, body caps, same-host redirects only, and reuse of the previous snapshot's part for a
//! document that answered 304.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};
use url::Url;

use super::PollError;
use super::parse::not_status_page;
use crate::model::Snapshot;
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

/// How a fetch refusing an answer served as `text/html` starts its reason.
pub(crate) const HTML_PAGE: &str = "got an HTML page";

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
                cause: NetworkCause::BlockedPrivate,
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
                    cause: NetworkCause::of(&err),
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
            let throttled = matches!(status.as_u16(), 429 | 503);
            if throttled
                && let Some(retry_after) = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, chrono::Utc::now()))
            {
                return Err(PollError::Throttled {
                    document: document.to_owned(),
                    status: status.as_u16(),
                    retry_after,
                });
            }
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
                reason: format!("{HTML_PAGE} (content-type {content_type})"),
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
        // Sized from Content-Length when there is one: growing by doubling copied a
        // 190 KiB document about twice and left it in a 256 KiB allocation.
        let announced = response.content_length().unwrap_or(0) as usize;
        let mut bytes = Vec::with_capacity(announced.min(self.max_body_bytes));
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

/// What kind of network failure a request met, for the poll failure metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCause {
    /// The name did not resolve.
    Dns,
    /// No connection: refused, reset, unreachable.
    Connect,
    /// The TLS handshake failed (untrusted certificate, protocol mismatch).
    Tls,
    /// The target is a private address and private targets are not allowed.
    BlockedPrivate,
    Other,
}

impl NetworkCause {
    /// Read from the error's types where they are reachable: our resolver's
    /// [`net::PrivateTargetError`] and the `io::Error` kinds below reqwest.
    pub fn of(err: &reqwest::Error) -> NetworkCause {
        use std::io::ErrorKind;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = source {
            if cause.downcast_ref::<net::PrivateTargetError>().is_some() {
                return NetworkCause::BlockedPrivate;
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NotConnected => return NetworkCause::Connect,
                    // rustls reports a failed handshake as an InvalidData I/O error.
                    ErrorKind::InvalidData if err.is_connect() => return NetworkCause::Tls,
                    _ => {}
                }
            }
            source = cause.source();
        }
        if !err.is_connect() {
            return NetworkCause::Other;
        }
        // hyper-util's connector error type is private: a failed resolution is only told
        // apart from other connect failures by its message.
        if error_chain(err).contains("dns error") {
            NetworkCause::Dns
        } else {
            NetworkCause::Connect
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(err: PollError) -> NetworkCause {
        match err {
            PollError::Network { cause, .. } => cause,
            other => panic!("not a network error: {other}"),
        }
    }

    #[tokio::test]
    async fn network_failures_are_classified_by_their_types() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = Url::parse(&format!("http://{closed}/")).unwrap();
        let open = Fetcher::new(true, HttpLimits::default(), DEFAULT_MAX_BODY_BYTES);
        let refused = open.get(&url, "/", None).await.err().unwrap();
        assert_eq!(cause(refused), NetworkCause::Connect);
        let guarded = Fetcher::new(false, HttpLimits::default(), DEFAULT_MAX_BODY_BYTES);
        let private = guarded.get(&url, "/", None).await.err().unwrap();
        assert_eq!(cause(private), NetworkCause::BlockedPrivate);
    }
}

/// The longest wait a `Retry-After` is obeyed for: a vendor asking for a day is polled again
/// within the hour (and asked again).
pub const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3), capped at
/// [`MAX_RETRY_AFTER`]; `None` when unreadable.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<std::time::Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => std::time::Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now)
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod retry_after_tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            retry_after("120", now),
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(
            retry_after("Mon, 07 Dec 2026 08:01:30 GMT", now),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Mon, 07 Dec 2026 07:00:00 GMT", now),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }
}
