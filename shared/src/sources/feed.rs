//! Any RSS or Atom history feed (`platform = "feed"`, `url` = the feed itself): Statuspage's
//! `/history.atom` and `/history.rss` when its JSON API is blocked, incident.io's feeds,
//! Azure's status feed, or any vendor's. Parsed with `feed-rs` (lenient dates, both formats).
//!
//! What a feed cannot express, and how it is handled:
//! - **Statuspage-style entries** (one `<p>` per update: `<small>Jun 19, 12:53 UTC</small><br>
//!   <strong>Resolved</strong> - text`) are split into updates; their dates have **no year**,
//!   which comes from the entry's date (a month later than the entry's is the previous year);
//!   the label gives the status ("Update" keeps the previous one); an update's id is derived
//!   from the entry id, its date text and label, and its alias from the incident code and the
//!   minute shown, as the JSON API's update gets it (`statuspage::update_alias`). The incident
//!   id is the `/incidents/<code>` of the entry's link, as in the JSON API. "THIS IS A SCHEDULED EVENT" entries are
//!   maintenances.
//! - **Other entries** are one update per version of their text: an edited entry is a new
//!   update (id derived from the entry id and a hash of the text); the status is `resolved`
//!   when the title or text starts by saying so, else `investigating`; impact is unknown.
//! - Feeds that list only open items (Azure): an open entry that leaves the feed is resolved
//!   then, once.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::statuspage::update_alias;
use super::{Fetcher, PollError, PollOutcome, Previous, fetch_single, not_status_page};
use crate::model::{Impact, Incident, IncidentStatus, IncidentUpdate, PageInfo, Snapshot};
use crate::render::plain_text;

pub const DOCUMENT: &str = "feed";
const FEED_HINT: &str = "is this an RSS or Atom feed?";

pub async fn poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let Some((bytes, validator)) =
        fetch_single(fetcher, url, DOCUMENT, previous, FEED_HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let snapshot = read(DOCUMENT, &bytes, url)?.snapshot;
    Ok(PollOutcome::single(snapshot, DOCUMENT, validator))
}

/// The snapshot of an RSS or Atom document; `url` is the feed's (the page's link when the
/// feed names none). What `poll` reads, as a pure function (fuzzed).
pub fn parse(bytes: &[u8], url: &Url) -> Result<Snapshot, PollError> {
    read(DOCUMENT, bytes, url).map(|read| read.snapshot)
}

/// A feed read into a snapshot.
pub(crate) struct FeedRead {
    pub snapshot: Snapshot,
    /// The feed is a Statuspage incident history (`tag:<host>,2005:/history`, "… Incident
    /// History", entries linking to `/incidents/<code>`).
    pub statuspage_history: bool,
}

/// Reads an RSS or Atom body fetched from `url` as `document`.
pub(crate) fn read(document: &str, bytes: &[u8], url: &Url) -> Result<FeedRead, PollError> {
    let not_a_feed = |reason: String| not_status_page(document, &reason, FEED_HINT);
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF);
    if first != Some(&b'<') {
        return Err(not_a_feed("the body is not XML".into()));
    }
    let parsed = feed_rs::parser::parse(bytes).map_err(|e| not_a_feed(e.to_string()))?;
    let title = parsed
        .title
        .as_ref()
        .map(|t| plain_text(&t.content))
        .unwrap_or_default();
    let statuspage_history = parsed.id.ends_with(":/history")
        || title.ends_with("Incident History")
        || parsed
            .entries
            .iter()
            .any(|e| e.links.iter().any(|l| l.href.contains("/incidents/")));
    let mut snapshot = Snapshot {
        page: PageInfo {
            name: feed_name(&title),
            url: parsed
                .links
                .iter()
                .find(|l| l.rel.as_deref() != Some("self"))
                .map(|l| l.href.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| url.as_str().to_owned()),
            time_zone: None,
            indicator: None,
            description: None,
        },
        ..Snapshot::default()
    };
    for entry in parsed.entries {
        let (record, maintenance) = entry_record(entry);
        if maintenance {
            snapshot.maintenances.push(record);
        } else {
            snapshot.incidents.push(record);
        }
    }
    Ok(FeedRead {
        snapshot,
        statuspage_history,
    })
}

/// "GitHub Status - Incident History" → "GitHub".
fn feed_name(title: &str) -> String {
    title
        .split(" Status - ")
        .next()
        .unwrap_or(title)
        .trim()
        .to_owned()
}

fn hash_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..6])
}

fn entry_record(entry: feed_rs::model::Entry) -> (Incident, bool) {
    let link = entry.links.first().map(|l| l.href.clone());
    let id = link
        .as_deref()
        .and_then(|l| l.split("/incidents/").nth(1))
        .map(|code| code.trim_end_matches('/').to_owned())
        .filter(|code| !code.is_empty() && !code.contains('/'))
        .unwrap_or_else(|| entry.id.clone());
    let title = entry
        .title
        .as_ref()
        .map(|t| plain_text(&t.content))
        .unwrap_or_default();
    let html = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .or_else(|| entry.summary.as_ref().map(|s| s.content.clone()))
        .unwrap_or_default();
    let dated = entry.published.or(entry.updated);
    let text = plain_text(&html);
    let maintenance = text.contains("THIS IS A SCHEDULED EVENT");
    let mut updates = statuspage_updates(&id, &text, dated);
    if updates.is_empty() {
        let status = if starts_resolved(&title) || starts_resolved(&text) {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        updates.push(IncidentUpdate {
            id: format!("{id}-{}", hash_hex(&[&id, &text])),
            status,
            body: text.clone(),
            created_at: entry.updated.or(entry.published),
            alias: None,
        });
    }
    let status = updates
        .last()
        .map(|u| u.status.clone())
        .unwrap_or(IncidentStatus::Investigating);
    let created_at = updates.first().and_then(|u| u.created_at).or(dated);
    let updated_at = updates.last().and_then(|u| u.created_at).or(entry.updated);
    let record = Incident {
        id,
        name: title,
        status: status.clone(),
        impact: if maintenance {
            Impact::Maintenance
        } else {
            Impact::Unknown("unknown".into())
        },
        url: link,
        components: Vec::new(),
        created_at,
        updated_at,
        resolved_at: status.is_finished().then_some(updated_at).flatten(),
        scheduled_for: None,
        scheduled_until: None,
        updates,
    };
    (record, maintenance)
}

fn starts_resolved(text: &str) -> bool {
    let lower = text.trim_start().to_lowercase();
    lower.starts_with("resolved")
        || lower.starts_with("[resolved]")
        || lower.contains(": [resolved]")
}

/// Statuspage's per-update paragraphs, as text: "Jun 19, 12:53 UTC" then "Label - body".
fn statuspage_updates(id: &str, text: &str, dated: Option<DateTime<Utc>>) -> Vec<IncidentUpdate> {
    let mut updates = Vec::new();
    let mut status = IncidentStatus::Investigating;
    let paragraphs: Vec<&str> = text.split("\n\n").collect();
    // Newest first in the feed: read oldest first so "Update" inherits the status before it.
    for paragraph in paragraphs.iter().rev() {
        let mut lines = paragraph.lines();
        let (Some(when), Some(rest)) = (lines.next(), lines.next()) else {
            continue;
        };
        let Some((label, first_line)) = rest.split_once(" - ") else {
            continue;
        };
        let Some(at) = update_time(when.trim(), dated) else {
            continue;
        };
        status = match label.trim().to_lowercase().as_str() {
            "update" => status,
            other => IncidentStatus::from(other.replace(' ', "_")),
        };
        let mut body = first_line.to_owned();
        for line in lines {
            body.push('\n');
            body.push_str(line);
        }
        updates.push(IncidentUpdate {
            id: format!("{id}-{}", hash_hex(&[id, when.trim(), label.trim()])),
            status: status.clone(),
            body,
            created_at: Some(at),
            alias: None,
        });
    }
    // The page shows each update's time: it names the update in the JSON API's terms too.
    let shown_at: Vec<_> = updates.iter().map(|u| u.created_at).collect();
    update_alias::assign(id, &mut updates, &shown_at);
    updates
}

/// "Jun 19, 12:53 UTC" (no year: taken from `dated`, the entry's own date).
pub fn update_time(text: &str, dated: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let (rest, zone) = text.rsplit_once(' ')?;
    let offset_hours: f64 = match zone {
        "UTC" | "GMT" | "Z" => 0.0,
        "EST" | "CDT" => -5.0,
        "EDT" => -4.0,
        "CST" | "MDT" => -6.0,
        "MST" | "PDT" => -7.0,
        "PST" => -8.0,
        "BST" | "CET" | "WAT" => 1.0,
        "CEST" | "EET" => 2.0,
        "EEST" | "MSK" => 3.0,
        "IST" => 5.5,
        "JST" | "KST" => 9.0,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        _ => return None,
    };
    let dated = dated?;
    let offset = FixedOffset::east_opt((offset_hours * 3600.0) as i32)?;
    let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let parse = |year: i32| {
        NaiveDateTime::parse_from_str(&format!("{rest} {year}"), "%b %d, %H:%M %Y")
            .ok()
            .and_then(|naive| offset.from_local_datetime(&naive).single())
            .map(|at| at.with_timezone(&Utc))
    };
    let at = parse(dated.year())?;
    // An update cannot be much later than the entry's date: December updates of an entry
    // dated in January belong to the year before.
    if at > dated + chrono::Duration::days(2) {
        return parse(dated.year() - 1);
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_times_take_their_year_from_the_entry() {
        let dated = Utc.with_ymd_and_hms(2026, 1, 3, 10, 0, 0).unwrap();
        let at = update_time("Dec 31, 23:10 PST", Some(dated)).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-01T07:10:00+00:00");
        let at = update_time("Dec 30, 12:53 UTC", Some(dated)).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-12-30T12:53:00+00:00");
        assert_eq!(
            update_time("Jan  2, 09:05 UTC", Some(dated)).unwrap().day(),
            2
        );
        assert_eq!(update_time("Jan 2, 09:05 XYZ", Some(dated)), None);
    }
}
