//! `/maintenance.ics`: an iCalendar (RFC 5545) feed of every provider's scheduled and running
//! maintenances, for Google Calendar, Outlook and Apple Calendar subscriptions (filters:
//! `provider`, `tag`; the token as `?token=`, the only way a calendar app can send one).
//!
//! - `UID` is `<maintenance id>.<provider id>@statusrelay`: the same maintenance stays one
//!   calendar entry across fetches, reschedules and cancellation.
//! - `SEQUENCE` is the whole minutes from the maintenance's creation to its last activity (the
//!   latest of its updates and the vendor's `updated_at`): it grows whenever the vendor changes
//!   the maintenance, needs no state of its own, and stays the same while nothing changes, as
//!   RFC 5545 asks. A cancellation adds one to the last value published. `LAST-MODIFIED` is
//!   that last activity.
//! - `STATUS:CANCELLED` when the vendor's status reads cancelled/canceled, or when a
//!   maintenance the recorded events know (retention window) is no longer on the page although
//!   its window has not ended. The page moving to other ids (`provider.moved`) is no
//!   cancellation. A maintenance that left the page after its end simply ended.
//! - Times are UTC (`…Z`); a maintenance without a start is left out, one without an end is
//!   shown as one hour (its description says so).
//!
//! The `icalendar` crate writes and escapes the text; its folding counts a continuation's
//! leading space outside the 75 octets, so the output is refolded by [`fold_content_lines`].

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

use super::ReadSide;
use crate::config::ProviderConfig;
use crate::history::{IncidentHistory, ProviderFilter};
use crate::model::{EntityKind, Incident, IncidentStatus, Snapshot};
use crate::render;

const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";
const PRODID: &str = "-//statusrelay//vendor maintenance//EN";
/// The most octets of a content line, CRLF excluded (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// One maintenance as the calendar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceEntry {
    pub provider_id: String,
    pub provider_name: String,
    pub id: String,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The vendor gave no end: `end` is `start` plus an hour.
    pub end_assumed: bool,
    pub description: String,
    pub url: Option<String>,
    pub last_modified: DateTime<Utc>,
    pub sequence: u32,
    pub cancelled: bool,
}

pub async fn maintenance(State(side): State<Arc<ReadSide>>, RawQuery(raw): RawQuery) -> Response {
    let selected = match ProviderFilter::parse(raw.as_deref().unwrap_or_default())
        .and_then(|filter| filter.select(&side.providers))
    {
        Ok(selected) => selected,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{e}\n"),
            )
                .into_response();
        }
    };
    let now = Utc::now();
    match side.reads.maintenance_entries(&selected, now).await {
        Ok(entries) => {
            let body = render_calendar(&entries, now);
            ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
        }
        Err(failure) => super::api::unavailable(&failure),
    }
}

/// The calendar entries of one provider: what its page schedules now, and what it scheduled
/// and took back (known from `history`, absent from `snapshot`).
pub fn entries(
    provider: &ProviderConfig,
    provider_name: &str,
    snapshot: &Snapshot,
    history: &[IncidentHistory],
    last_move_seq: Option<i64>,
    now: DateTime<Utc>,
) -> Vec<MaintenanceEntry> {
    let provider_name = render::single_line(provider_name);
    let mut out = Vec::new();
    for maintenance in &snapshot.maintenances {
        let cancelled = is_cancelled_status(&maintenance.status);
        if maintenance.status.is_finished() && !cancelled {
            continue;
        }
        let Some(start) = maintenance.scheduled_for else {
            continue;
        };
        let (end, end_assumed) = end_of(start, maintenance.scheduled_until);
        let last_modified = maintenance.last_activity().unwrap_or(start);
        let created = maintenance.created_at.unwrap_or(last_modified);
        out.push(MaintenanceEntry {
            provider_id: provider.id.clone(),
            provider_name: provider_name.clone(),
            id: maintenance.id.clone(),
            name: render::single_line(&maintenance.name),
            start,
            end,
            end_assumed,
            description: description(maintenance),
            url: maintenance.url.as_deref().and_then(render::web_link),
            last_modified,
            sequence: minutes_between(created, last_modified),
            cancelled,
        });
    }
    let on_page = |id: &str| {
        snapshot
            .maintenances
            .iter()
            .chain(&snapshot.incidents)
            .any(|m| m.id == id)
    };
    for gone in history.iter().filter(|h| {
        h.kind == EntityKind::Maintenance
            && !on_page(&h.id)
            && !h.status.is_finished()
            && last_move_seq.is_none_or(|moved| h.last_seq > moved)
    }) {
        let Some(start) = gone.scheduled_for else {
            continue;
        };
        let (end, end_assumed) = end_of(start, gone.scheduled_until);
        if end <= now {
            continue;
        }
        let last_modified = gone
            .updates
            .iter()
            .filter_map(|u| u.created_at)
            .max()
            .unwrap_or(gone.last_seen);
        let created = gone.created_at.unwrap_or(gone.first_seen);
        out.push(MaintenanceEntry {
            provider_id: provider.id.clone(),
            provider_name: provider_name.clone(),
            id: gone.id.clone(),
            name: render::single_line(&gone.name),
            start,
            end,
            end_assumed,
            description: format!(
                "No longer on the status page: cancelled.{}",
                gone.updates
                    .last()
                    .map(|u| format!("\n\n{}", render::plain_text(&u.body)))
                    .unwrap_or_default()
            ),
            url: gone.url.clone(),
            last_modified,
            sequence: minutes_between(created, last_modified).saturating_add(1),
            cancelled: true,
        });
    }
    out
}

fn is_cancelled_status(status: &IncidentStatus) -> bool {
    matches!(
        status.as_str().to_ascii_lowercase().as_str(),
        "cancelled" | "canceled"
    )
}

fn end_of(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> (DateTime<Utc>, bool) {
    match end {
        Some(end) if end > start => (end, false),
        _ => (start + Duration::hours(1), true),
    }
}

/// The latest update's words, as plain text.
fn description(maintenance: &Incident) -> String {
    maintenance
        .updates
        .last()
        .map(|u| render::plain_text(&u.body))
        .unwrap_or_default()
}

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from((to - from).num_minutes().max(0)).unwrap_or(u32::MAX)
}

/// The whole calendar, as served: CRLF line ends, lines folded at 75 octets.
pub fn render_calendar(entries: &[MaintenanceEntry], now: DateTime<Utc>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name("Vendor maintenance (statusrelay)")
        // Calendar apps poll subscriptions slowly by default; ask for hourly.
        .ttl(&Duration::hours(1));
    for entry in entries {
        calendar.push(event(entry, now));
    }
    fold_content_lines(&calendar.to_string())
}

fn event(entry: &MaintenanceEntry, now: DateTime<Utc>) -> icalendar::Event {
    let mut description = clean_text(&entry.description);
    if entry.end_assumed {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str("The vendor gave no end time: shown as one hour.");
    }
    let mut event = icalendar::Event::new();
    event
        .uid(&format!(
            "{}.{}@statusrelay",
            clean_text(&entry.id),
            entry.provider_id
        ))
        .summary(&format!(
            "{}: {}",
            clean_text(&entry.provider_name),
            clean_text(&entry.name)
        ))
        .description(&description)
        .starts(entry.start)
        .ends(entry.end)
        .timestamp(now)
        .last_modified(entry.last_modified)
        .sequence(entry.sequence)
        .status(if entry.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(url) = entry.url.as_deref().and_then(render::web_link) {
        event.url(&url);
    }
    event.done()
}

/// TEXT values may hold any character but controls (RFC 5545 §3.3.11); newlines are kept for
/// the crate to escape as `\n`.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || !c.is_control())
        .map(|c| if c == '\r' { '\n' } else { c })
        .collect()
}

/// Unfolds `ics` and folds every content line again so that no line exceeds 75 octets with
/// its continuation space, never inside a UTF-8 character; lines end with CRLF.
pub fn fold_content_lines(ics: &str) -> String {
    let mut logical: Vec<String> = Vec::new();
    for line in ics.split("\r\n").flat_map(|l| l.split('\n')) {
        match (line.strip_prefix([' ', '\t']), logical.last_mut()) {
            (Some(rest), Some(previous)) => previous.push_str(rest),
            _ if line.is_empty() => {}
            _ => logical.push(line.to_owned()),
        }
    }
    let mut out = String::with_capacity(ics.len() + ics.len() / 20);
    for line in &logical {
        fold_line(line, &mut out);
    }
    out
}

fn fold_line(line: &str, out: &mut String) {
    let mut rest = line;
    let mut budget = LINE_OCTETS;
    loop {
        if rest.len() <= budget {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let cut = rest.floor_char_boundary(budget);
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // The continuation's leading space is one of its 75 octets.
        budget = LINE_OCTETS - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> MaintenanceEntry {
        let start: DateTime<Utc> = "2026-11-30T02:00:00Z".parse().unwrap();
        MaintenanceEntry {
            provider_id: "github".into(),
            provider_name: "GitHub; Inc, \\ Ünïcödé".into(),
            id: "mnt1".into(),
            name: name.into(),
            start,
            end: start + Duration::hours(2),
            end_assumed: false,
            description: "Line one; with, punctuation \\ and\r\nline two 🚀".into(),
            url: Some("https://www.githubstatus.com/incidents/mnt1".into()),
            last_modified: start - Duration::hours(20),
            sequence: 42,
            cancelled: false,
        }
    }

    #[test]
    fn folding_counts_octets_and_never_splits_a_character() {
        let line = format!("SUMMARY:{}", "é🚀a".repeat(60));
        let mut folded = String::new();
        fold_line(&line, &mut folded);
        assert!(folded.ends_with("\r\n"));
        let lines: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(lines.len() > 5);
        for (n, l) in lines.iter().enumerate() {
            assert!(l.len() <= 75, "line {n} has {} octets", l.len());
            assert_eq!(n > 0, l.starts_with(' '));
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        // Already-folded input (the crate's) refolds to the same lines.
        assert_eq!(fold_content_lines(&folded), folded);
    }

    #[test]
    fn hostile_names_are_escaped_folded_and_read_back() {
        let name = format!(
            "Ünïcödé; maintenance, of \\ the\nAPI {}",
            "δοκιμή 🚀 ".repeat(30)
        );
        assert!(name.chars().count() >= 300);
        let now: DateTime<Utc> = "2026-11-29T08:00:00Z".parse().unwrap();
        let ics = render_calendar(&[entry(&name)], now);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF");
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        for expected in [
            "METHOD:PUBLISH",
            "PRODID:-//statusrelay//vendor maintenance//EN",
            "X-WR-CALNAME:Vendor maintenance (statusrelay)",
            "UID:mnt1.github@statusrelay",
            "DTSTART:20261130T020000Z",
            "DTEND:20261130T040000Z",
            "DTSTAMP:20261129T080000Z",
            "LAST-MODIFIED:20261129T060000Z",
            "SEQUENCE:42",
            "STATUS:CONFIRMED",
            "URL:https://www.githubstatus.com/incidents/mnt1",
            r"SUMMARY:GitHub\; Inc\, \\ Ünïcödé: Ünïcödé\; maintenance\, of \\ the\nAPI δοκιμή",
            r"DESCRIPTION:Line one\; with\, punctuation \\ and\nline two 🚀",
        ] {
            assert!(
                unfolded.contains(expected),
                "{expected} missing from\n{ics}"
            );
        }
        let mut cancelled = entry("x");
        cancelled.cancelled = true;
        cancelled.end_assumed = true;
        let ics = render_calendar(&[cancelled], now).replace("\r\n ", "");
        assert!(ics.contains("STATUS:CANCELLED"));
        assert!(ics.contains("shown as one hour"));
    }

    #[test]
    fn cancelled_statuses_in_either_spelling() {
        assert!(is_cancelled_status(&"canceled".into()));
        assert!(is_cancelled_status(&"Cancelled".into()));
        assert!(!is_cancelled_status(&IncidentStatus::Scheduled));
        assert_eq!(
            minutes_between(
                "2026-11-29T08:00:00Z".parse().unwrap(),
                "2026-11-29T09:30:59Z".parse().unwrap()
            ),
            90
        );
    }
}
