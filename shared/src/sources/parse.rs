//! Reading documents: JSON told apart from HTML and broken bodies, lenient timestamps, ids
//! written as strings or numbers, and derived ids for what a platform leaves unnamed.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::PollError;

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

/// A derived id for records and updates a platform gives none: 12 hex digits of the SHA-256
/// of `seed` (stable across polls, so the same update keeps the same id).
pub(crate) fn short_hash(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(seed.as_bytes())[..6])
}

/// Ids derived from a note's time collide when two notes share a second. The first keeps its
/// id (it may have been announced under it already); each later one gets `#2`, `#3`… in listing
/// order, so no note is lost to the dedupe of repeated ids.
pub(crate) fn distinct_update_ids(updates: &mut [crate::model::IncidentUpdate]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for update in updates {
        let count = seen.entry(update.id.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            update.id = format!("{}#{count}", update.id);
        }
    }
}

const MARKUP_NOT_JSON: &str = "got HTML or XML, not JSON";

/// Whether a body is markup (an HTML page, a challenge page) rather than the JSON asked for.
pub(crate) fn is_markup(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
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
        Some(b'<') => return Err(not_status_page(MARKUP_NOT_JSON)),
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

#[cfg(test)]
mod distinct_ids {
    use super::*;
    use crate::model::IncidentUpdate;

    #[test]
    fn notes_sharing_a_derived_id_are_told_apart_in_order() {
        let note = |id: &str| IncidentUpdate {
            id: id.into(),
            status: "investigating".into(),
            body: String::new(),
            created_at: None,
            alias: None,
        };
        let mut updates = vec![note("n-a"), note("n-b"), note("n-a"), note("n-a")];
        distinct_update_ids(&mut updates);
        let ids: Vec<&str> = updates.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["n-a", "n-b", "n-a#2", "n-a#3"]);
    }
}
