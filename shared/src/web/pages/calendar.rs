//! `/maintenance`: the next 30 days as a calendar by day (UTC days), each day with every
//! maintenance that overlaps it; the same windows `/maintenance.ics` publishes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Shell, capitalised, time, vendor, vendor_body};
use crate::render::humanize;
use crate::web::board::{Board, MaintenanceWindow};

pub const DAYS: i64 = 30;

/// A maintenance without an announced end is shown for this long.
const ASSUMED_LENGTH_HOURS: i64 = 1;

#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub tag: String,
}

pub fn render(board: &Board, query: &CalendarQuery, now: DateTime<Utc>) -> Markup {
    let wanted: Vec<&MaintenanceWindow> = board
        .rows
        .iter()
        .filter(|r| query.tag.is_empty() || r.tags.contains(&query.tag))
        .filter(|r| query.provider.is_empty() || r.overview.id == query.provider)
        .flat_map(|r| &r.maintenances)
        .collect();
    let today = now.date_naive();
    let days: Vec<(NaiveDate, Vec<&MaintenanceWindow>)> = (0..DAYS)
        .map(|n| today + Duration::days(n))
        .map(|day| {
            let mut on: Vec<&MaintenanceWindow> = wanted
                .iter()
                .copied()
                .filter(|m| overlaps(m, day, now))
                .collect();
            on.sort_by_key(|m| (m.starts, m.provider_name.to_lowercase()));
            (day, on)
        })
        .collect();
    let busy = days.iter().filter(|(_, on)| !on.is_empty()).count();
    let body = html! {
        h1 { "Maintenance, next " (DAYS) " days" }
        p.summary {
            (busy) " of " (DAYS) " days have maintenance. Days are UTC days. "
            a href="/maintenance.ics" { "Subscribe in your calendar" } "."
        }
        form.filters method="get" action="/maintenance" {
            label for="tag" { "Tag"
                select #tag name="tag" {
                    option value="" { "All tags" }
                    @for tag in board.tags() { option value=(tag) selected[tag == query.tag] { (tag) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @for (day, on) in &days {
            section.day aria-label=(day.format("%A %-d %B %Y").to_string()) {
                h2 { (day.format("%a %-d %b").to_string()) }
                @if on.is_empty() { p.empty { "Nothing scheduled." } }
                @else {
                    ul.cards {
                        @for window in on { (entry(window)) }
                    }
                }
            }
        }
    };
    Shell {
        title: "Maintenance",
        current: "/maintenance",
        refresh: None,
    }
    .render(body)
}

/// Whether a window overlaps a UTC day. In-progress windows without a start count from now.
fn overlaps(window: &MaintenanceWindow, day: NaiveDate, now: DateTime<Utc>) -> bool {
    let Some(starts) = window.starts.or(window.in_progress().then_some(now)) else {
        return false;
    };
    let ends = window
        .ends
        .unwrap_or(starts + Duration::hours(ASSUMED_LENGTH_HOURS));
    let day_start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let day_end = day_start + Duration::days(1);
    starts < day_end && ends > day_start && ends > now
}

fn entry(window: &MaintenanceWindow) -> Markup {
    let class = if window.in_progress() {
        "card s-maintenance"
    } else {
        "card"
    };
    html! {
        li class=(class) {
            header {
                h3 { a href={ "/providers/" (window.provider_id) } { (vendor(&window.provider_name)) } }
                span { (vendor(&window.name)) }
                span.meta { (capitalised(&humanize(window.status.as_str()))) }
            }
            p.meta {
                @if let Some(at) = window.starts { (time(at)) }
                " – "
                @if let Some(at) = window.ends { (time(at)) } @else { "end not announced" }
            }
            @if let Some(update) = &window.latest_update {
                details { summary { "Latest update" } p.update { (vendor_body(update)) } }
            }
        }
    }
}
