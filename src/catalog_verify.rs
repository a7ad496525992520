//! `statusrelay catalog verify`: probes catalog entries live and reports, per entry, whether
//! the page is reachable, which platform it runs now against the recorded one, whether it moved
//! (a permanent redirect), or whether it is dead. Its `--json` output is what
//! `scripts/catalog/generate.py --verify-json` reads to refresh the catalog.
//!
//! Polite: a few entries at a time, starts spaced out, the SSRF guard on (private targets only
//! with `--allow-private`, for tests on loopback), redirects never followed blindly.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde::Serialize;
use statusrelay_core::catalog::Entry;
use statusrelay_core::net::{HttpLimits, client_builder};
use statusrelay_core::sources::{DEFAULT_MAX_BODY_BYTES, Fetcher, detect_and_poll};

/// Entries probed at once, and the pause between two starts: at most ten pages a second.
const CONCURRENCY: usize = 4;
const START_SPACING: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Reachable, read as the recorded platform (or any, for `auto`).
    Ok,
    /// Reachable, read as another platform than recorded.
    PlatformChanged,
    /// The page answers with a permanent redirect elsewhere.
    Moved,
    /// Reachable, but not readable as any status page platform.
    Unreadable,
    /// No answer (DNS, connection refused, TLS) or gone (404/410) and unreadable.
    Dead,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub id: String,
    pub url: String,
    pub outcome: Outcome,
    pub reachable: bool,
    pub recorded_platform: String,
    pub detected_platform: Option<String>,
    /// Where a permanent redirect points (the URL to record instead).
    pub redirects_to: Option<String>,
    /// The page's own answer to a plain GET of its URL.
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

pub async fn verify(entries: &[&Entry], allow_private: bool) -> Result<Vec<Verdict>> {
    let limits = HttpLimits::default();
    let plain = client_builder(allow_private, limits)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let fetcher = Fetcher::new(allow_private, limits, DEFAULT_MAX_BODY_BYTES);
    let mut verdicts: Vec<Verdict> = futures::stream::iter(entries.iter().enumerate())
        .map(|(n, entry)| {
            let (plain, fetcher) = (&plain, &fetcher);
            async move {
                tokio::time::sleep(START_SPACING * (n % CONCURRENCY) as u32).await;
                probe(plain, fetcher, entry).await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    verdicts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(verdicts)
}

async fn probe(plain: &reqwest::Client, fetcher: &Fetcher, entry: &Entry) -> Verdict {
    let mut verdict = Verdict {
        id: entry.id.clone(),
        url: entry.url.clone(),
        outcome: Outcome::Dead,
        reachable: false,
        recorded_platform: entry.platform.clone(),
        detected_platform: None,
        redirects_to: None,
        http_status: None,
        error: None,
    };
    let answer = match plain.get(&entry.url).send().await {
        Ok(answer) => answer,
        Err(err) => {
            verdict.error = Some(error_chain(&err));
            return verdict;
        }
    };
    verdict.reachable = true;
    let status = answer.status();
    verdict.http_status = Some(status.as_u16());
    let permanent = matches!(status.as_u16(), 301 | 308);
    let moved_to = permanent
        .then(|| answer.headers().get(reqwest::header::LOCATION))
        .flatten()
        .and_then(|location| location.to_str().ok())
        .and_then(|location| answer.url().join(location).ok())
        .map(|to| to.to_string().trim_end_matches('/').to_owned())
        .filter(|to| to != entry.url.trim_end_matches('/'));
    // Read where the page is now: the redirect's target when it moved.
    let read_at = moved_to.clone().unwrap_or_else(|| entry.url.clone());
    let Ok(base) = url::Url::parse(&read_at) else {
        verdict.error = Some(format!("{read_at}: not a valid URL"));
        return verdict;
    };
    match detect_and_poll(fetcher, &base, None).await {
        Ok((platform, _)) => {
            let detected = platform.as_str().to_owned();
            verdict.outcome = if moved_to.is_some() {
                Outcome::Moved
            } else if entry.platform != "auto" && entry.platform != detected {
                Outcome::PlatformChanged
            } else {
                Outcome::Ok
            };
            verdict.detected_platform = Some(detected);
        }
        Err(err) => {
            verdict.error = Some(err.to_string());
            verdict.outcome = if moved_to.is_some() {
                Outcome::Moved
            } else if matches!(status.as_u16(), 404 | 410) {
                Outcome::Dead
            } else {
                Outcome::Unreadable
            };
        }
    }
    verdict.redirects_to = moved_to;
    verdict
}

/// reqwest's error with its causes ("error sending request: … connection refused").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One line per entry, for a person.
pub fn print_table(verdicts: &[Verdict]) {
    println!(
        "{:<28} {:<16} {:<11} {:<11} detail",
        "id", "outcome", "recorded", "detected"
    );
    for v in verdicts {
        let outcome = serde_json::to_value(v.outcome)
            .ok()
            .and_then(|o| o.as_str().map(str::to_owned))
            .unwrap_or_default();
        let detail = match (&v.redirects_to, &v.error) {
            (Some(to), _) => format!("moved to {to}"),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        println!(
            "{:<28} {:<16} {:<11} {:<11} {detail}",
            v.id,
            outcome,
            v.recorded_platform,
            v.detected_platform.as_deref().unwrap_or("-"),
        );
    }
    let count = |o: Outcome| verdicts.iter().filter(|v| v.outcome == o).count();
    println!(
        "{} entries: {} ok, {} platform changed, {} moved, {} unreadable, {} dead",
        verdicts.len(),
        count(Outcome::Ok),
        count(Outcome::PlatformChanged),
        count(Outcome::Moved),
        count(Outcome::Unreadable),
        count(Outcome::Dead)
    );
}
