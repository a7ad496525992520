//! Atlassian Statuspage pages, and incident.io's Statuspage-compatible ones, read as far as
//! they let themselves be read. Each poll asks the JSON API again, so a page returns to it as
//! soon as it answers:
//!
//! - **JSON API** (usual): `summary.json` gives the page and components; resolutions and
//!   postmortems come from `incidents.json` (the 50 most recent of any status), maintenance
//!   transitions from `scheduled-maintenances.json` (incident.io may 404 it: no maintenances).
//! - **Summary only** (incident.io pages that 404 `incidents.json`): components from the
//!   summary, and the open incidents and maintenances it lists when it has those keys; a record
//!   that leaves it is resolved then, once ([`lists_only_open`]).
//! - **History feed** (the API answers 401/403 or an HTML challenge page): incidents and
//!   maintenances from `/history.atom` (else `/history.rss`); components from the summary if it
//!   still answers, else the last known ones are kept as they were. Update aliases
//!   ([`update_alias`]) keep an update seen in one channel from being announced again in the
//!   other.

mod api;
mod history;
pub(crate) mod update_alias;

use url::Url;

pub use api::{
    INCIDENTS, MAINTENANCES, SUMMARY, parse_incidents, parse_maintenances, parse_summary,
};
pub use history::{HISTORY_ATOM, HISTORY_RSS};

use self::api::not_a_statuspage;
use self::history::History;
use crate::model::{PageInfo, Snapshot};
use crate::sources::{
    Fetched, Fetcher, PollError, PollOutcome, Previous, Validators, document_url, is_markup, reuse,
};

/// Polls one page. With `previous`, documents answering 304 reuse the previous snapshot's part.
pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let validator = |doc: &str| previous.and_then(|p| p.validators.get(doc));
    let urls = [SUMMARY, INCIDENTS, MAINTENANCES].map(|doc| document_url(base, doc));
    let (summary, incidents, maintenances) = tokio::join!(
        fetcher.get(&urls[0], SUMMARY, validator(SUMMARY)),
        fetcher.get(&urls[1], INCIDENTS, validator(INCIDENTS)),
        fetcher.get(&urls[2], MAINTENANCES, validator(MAINTENANCES)),
    );
    let summary = Answer::of(SUMMARY, summary)?;
    let incidents = Answer::of(INCIDENTS, incidents)?;
    let maintenances = Answer::of(MAINTENANCES, maintenances)?;
    match (summary, incidents) {
        (Answer::Read(Fetched::NotFound), _) => Err(not_a_statuspage(SUMMARY, "HTTP 404")),
        (Answer::Blocked(blocked), _) => {
            let why = format!("JSON API blocked: {}", blocked.why);
            poll_history(fetcher, base, previous, None, why, blocked.error).await
        }
        (Answer::Read(summary), Answer::Blocked(blocked)) => {
            let why = format!("{INCIDENTS} blocked: {}", blocked.why);
            poll_history(fetcher, base, previous, Some(summary), why, blocked.error).await
        }
        (Answer::Read(summary), Answer::Read(incidents)) => {
            let maintenances = match maintenances {
                Answer::Read(fetched) => Ok(fetched),
                Answer::Blocked(blocked) => Err(blocked.why),
            };
            poll_api(fetcher, base, previous, summary, incidents, maintenances).await
        }
    }
}

/// Whether a poll that left these validators read a list of open records only (the summary
/// without `incidents.json`), so that a record leaving it is over.
pub fn lists_only_open(validators: &Validators) -> bool {
    validators.contains_key(SUMMARY)
        && !validators.contains_key(INCIDENTS)
        && !history::was_read(validators)
}

/// A JSON document's answer, with the refusals that mean "blocked" (not "not a Statuspage",
/// not "down") set apart.
enum Answer {
    Read(Fetched),
    Blocked(Blocked),
}

struct Blocked {
    /// For logs and `check`: `HTTP 403`, `an HTML page instead of JSON`.
    why: String,
    /// The error the poll fails with if no other document can stand in.
    error: PollError,
}

impl Answer {
    fn of(document: &str, fetched: Result<Fetched, PollError>) -> Result<Answer, PollError> {
        let html = "an HTML page instead of JSON";
        let blocked = |why: String, error| Ok(Answer::Blocked(Blocked { why, error }));
        match fetched {
            Ok(Fetched::Body { bytes, .. }) if is_markup(&bytes) => blocked(
                html.into(),
                not_a_statuspage(document, "got HTML or XML, not JSON"),
            ),
            Ok(fetched) => Ok(Answer::Read(fetched)),
            Err(PollError::Status { status, document }) if matches!(status, 401 | 403) => blocked(
                format!("HTTP {status}"),
                PollError::Status { status, document },
            ),
            Err(error) if error.is_html_page() => blocked(html.into(), error),
            Err(error) => Err(error),
        }
    }
}

/// The JSON API: all of it, or the summary alone when `incidents.json` is missing.
/// `maintenances`: the document's answer, or why it is blocked.
async fn poll_api(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
    summary: Fetched,
    incidents: Fetched,
    maintenances: Result<Fetched, String>,
) -> Result<PollOutcome, PollError> {
    let summary_only = matches!(incidents, Fetched::NotFound);
    let mut notes = Vec::new();
    let mut used = vec![(SUMMARY, summary)];
    if summary_only {
        notes.push(format!(
            "{SUMMARY} only ({INCIDENTS}: HTTP 404; what the summary lists is resolved when it leaves it)"
        ));
    } else {
        used.push((INCIDENTS, incidents));
    }
    match maintenances {
        // incident.io's compatible API may have no maintenance document.
        Ok(Fetched::NotFound) => {}
        Ok(fetched) => used.push((MAINTENANCES, fetched)),
        Err(why) => notes.push(format!("without {MAINTENANCES} (blocked: {why})")),
    }
    if unchanged(previous, &used) {
        return Ok(PollOutcome::Unchanged);
    }
    refetch_unmodified(fetcher, base, previous, &mut used).await?;

    let base_text = base.as_str().trim_end_matches('/');
    let maintenances_read = used.iter().any(|(doc, _)| *doc == MAINTENANCES);
    let mut validators = Validators::new();
    let mut snapshot = Snapshot::default();
    for (document, fetched) in used {
        match fetched {
            Fetched::Body { bytes, validator } => {
                match document {
                    SUMMARY => {
                        let summary = api::read_summary(&bytes, base_text)?;
                        snapshot.page = summary.page;
                        snapshot.components = summary.components;
                        if summary_only {
                            snapshot.incidents = summary.open_incidents.unwrap_or_default();
                            if !maintenances_read {
                                snapshot.maintenances =
                                    summary.active_maintenances.unwrap_or_default();
                            }
                        }
                    }
                    INCIDENTS => snapshot.incidents = api::read_incidents(&bytes, base_text)?,
                    _ => snapshot.maintenances = api::read_maintenances(&bytes, base_text)?,
                }
                validators.insert(document.to_owned(), validator);
            }
            Fetched::NotModified => {
                reuse(previous, document, &mut validators, |prev| match document {
                    SUMMARY => {
                        snapshot.page = prev.page.clone();
                        snapshot.components = prev.components.clone();
                        if summary_only {
                            snapshot.incidents = prev.incidents.clone();
                            if !maintenances_read {
                                snapshot.maintenances = prev.maintenances.clone();
                            }
                        }
                    }
                    INCIDENTS => snapshot.incidents = prev.incidents.clone(),
                    _ => snapshot.maintenances = prev.maintenances.clone(),
                })?
            }
            Fetched::NotFound => {}
        }
    }
    Ok(PollOutcome::Fetched {
        snapshot,
        validators,
        documents: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// The history feed in place of the blocked JSON API: incidents and maintenances from the feed;
/// the page and components from the summary when it still answers, else as last known.
async fn poll_history(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
    summary: Option<Fetched>,
    why: String,
    blocked: PollError,
) -> Result<PollOutcome, PollError> {
    let history = match history::fetch(fetcher, base, previous.map(|p| p.validators)).await {
        Ok(history) => history,
        Err(feed_error) => {
            // The API's refusal is what the user needs to see; the feed's is detail.
            tracing::debug!(page = %base, error = %feed_error, "no history feed to fall back on");
            return Err(blocked);
        }
    };
    let mut used: Vec<(&str, Fetched)> = summary.into_iter().map(|s| (SUMMARY, s)).collect();
    let (document, history) = match history {
        History::NotModified { document } => (document, None),
        History::Read {
            document,
            snapshot,
            validator,
        } => (document, Some((snapshot, validator))),
    };
    let summary_read = !used.is_empty();
    let history_unchanged = history.is_none();
    if history_unchanged {
        used.push((document, Fetched::NotModified));
        if unchanged(previous, &used) {
            return Ok(PollOutcome::Unchanged);
        }
        used.pop();
    }
    refetch_unmodified(fetcher, base, previous, &mut used).await?;
    let history = match history {
        Some(read) => Some(read),
        // Something else changed and there is no last snapshot to take the feed's part from.
        None if previous.and_then(|p| p.snapshot()).is_none() => {
            match history::fetch_one(fetcher, base, document, None).await? {
                History::Read {
                    snapshot,
                    validator,
                    ..
                } => Some((snapshot, validator)),
                History::NotModified { .. } => None,
            }
        }
        None => None,
    };

    let base_text = base.as_str().trim_end_matches('/');
    let mut validators = Validators::new();
    let mut snapshot = Snapshot::default();
    for (document, fetched) in used {
        match fetched {
            Fetched::Body { bytes, validator } => {
                let summary = api::read_summary(&bytes, base_text)?;
                snapshot.page = summary.page;
                snapshot.components = summary.components;
                validators.insert(document.to_owned(), validator);
            }
            Fetched::NotModified => reuse(previous, document, &mut validators, |prev| {
                snapshot.page = prev.page.clone();
                snapshot.components = prev.components.clone();
            })?,
            Fetched::NotFound => {}
        }
    }
    match history {
        Some((feed, validator)) => {
            if !summary_read {
                snapshot.page = last_known_page(previous).unwrap_or(feed.page);
                snapshot.components = last_known_components(previous);
            }
            snapshot.incidents = feed.incidents;
            snapshot.maintenances = feed.maintenances;
            validators.insert(document.to_owned(), validator);
        }
        None => reuse(previous, document, &mut validators, |prev| {
            if !summary_read {
                snapshot.page = last_known_page(previous).unwrap_or_else(|| prev.page.clone());
                snapshot.components = prev.components.clone();
            }
            snapshot.incidents = prev.incidents.clone();
            snapshot.maintenances = prev.maintenances.clone();
        })?,
    }
    let documents = if summary_read {
        format!("{SUMMARY}, {document} ({why})")
    } else {
        format!("{document} ({why})")
    };
    Ok(PollOutcome::Fetched {
        snapshot,
        validators,
        documents: Some(documents),
    })
}

/// The page as last known, its status cleared: a feed does not tell it.
fn last_known_page(previous: Option<Previous<'_>>) -> Option<PageInfo> {
    let prior = previous?.snapshot()?;
    Some(PageInfo {
        indicator: None,
        description: None,
        ..prior.page.clone()
    })
}

/// A feed shows no components: the last known ones stay as they were, so that none is
/// announced again (or as recovered) when the API answers again.
fn last_known_components(previous: Option<Previous<'_>>) -> Vec<crate::model::Component> {
    previous
        .and_then(|p| p.snapshot())
        .map(|prior| prior.components.clone())
        .unwrap_or_default()
}

/// Every document this poll uses answered 304, and they are the ones the last poll used.
fn unchanged(previous: Option<Previous<'_>>, used: &[(&str, Fetched)]) -> bool {
    let Some(previous) = previous else {
        return false;
    };
    used.iter().all(|(_, f)| matches!(f, Fetched::NotModified))
        && previous.validators.len() == used.len()
        && used
            .iter()
            .all(|(doc, _)| previous.validators.contains_key(*doc))
}

/// Something changed; without the previous snapshot, unchanged documents are needed again.
async fn refetch_unmodified(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
    used: &mut [(&str, Fetched)],
) -> Result<(), PollError> {
    if previous.and_then(|p| p.snapshot()).is_some() {
        return Ok(());
    }
    for (document, fetched) in used.iter_mut() {
        if matches!(fetched, Fetched::NotModified) {
            *fetched = fetcher
                .get(&document_url(base, document), document, None)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Platform;
    use crate::sources::Validator;

    fn read(documents: &[&str]) -> Validators {
        documents
            .iter()
            .map(|d| ((*d).to_owned(), Validator::default()))
            .collect()
    }

    /// The local watcher and the Lambda poller both ask `sources::lists_only_open`.
    #[test]
    fn only_a_summary_read_alone_is_a_list_of_open_records() {
        let open_only =
            |docs: &[&str]| crate::sources::lists_only_open(Platform::Statuspage, &read(docs));
        assert!(open_only(&[SUMMARY]));
        assert!(open_only(&[SUMMARY, MAINTENANCES]));
        assert!(!open_only(&[SUMMARY, INCIDENTS, MAINTENANCES]));
        assert!(!open_only(&[SUMMARY, INCIDENTS]));
        assert!(!open_only(&[HISTORY_ATOM]));
        assert!(!open_only(&[SUMMARY, HISTORY_RSS]));
        assert_eq!(
            crate::sources::platform_of(&read(&[HISTORY_ATOM])),
            Some(Platform::Statuspage),
            "a page read through its feed is remembered as a Statuspage"
        );
    }
}
