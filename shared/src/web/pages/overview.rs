//! `/`: every provider, worst first. Providers that need attention get a card (state, open
//! incidents with their latest update, maintenance, poll health); operational ones a compact
//! list of names, so that 5,000 providers stay a page a browser opens at once. Filter by tag and
//! search by name work as a plain form; the script filters as one types.

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Shell, badge, none, time, time_with_age, vendor};
use crate::overview::OverallState;
use crate::web::board::{Board, BoardRow, MaintenanceWindow};

/// Seconds between reloads: a new cycle's results are at most this late on screen.
pub const REFRESH_SECONDS: u32 = 30;

/// Characters of an update shown on the overview (the provider page has it all).
const UPDATE_PREVIEW_CHARS: usize = 280;

/// Maintenance shown on the overview when it starts within this many days.
const UPCOMING_DAYS: i64 = 7;

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub tag: String,
}

impl OverviewQuery {
    fn keeps(&self, row: &BoardRow) -> bool {
        let wanted = self.q.trim().to_lowercase();
        (self.tag.is_empty() || row.tags.contains(&self.tag))
            && (wanted.is_empty()
                || row.overview.name.to_lowercase().contains(&wanted)
                || row.overview.id.contains(&wanted))
    }
}

pub fn render(board: &Board, query: &OverviewQuery, now: DateTime<Utc>) -> Markup {
    let rows: Vec<&BoardRow> = board.rows.iter().filter(|r| query.keeps(r)).collect();
    let (calm, attention): (Vec<&BoardRow>, Vec<&BoardRow>) = rows
        .iter()
        .partition(|r| r.overview.state == OverallState::Operational && !has_upcoming(r, now));
    let body = html! {
        h1 { "Your vendors" }
        p.summary {
            @if attention.is_empty() {
                "All " span #shown { (rows.len()) } " providers are operational."
            } @else {
                (attention.len()) " of " span #shown { (rows.len()) } " providers need attention or have maintenance coming."
            }
            " " span.muted { "As of " (time(board.built_at)) "." }
        }
        (filters(board, query))
        @if !attention.is_empty() {
            section aria-labelledby="attention" {
                h2 #attention { "Needs attention" }
                ul.cards {
                    @for row in &attention { (card(row, now)) }
                }
            }
        }
        @if !calm.is_empty() {
            section aria-labelledby="calm" {
                h2 #calm { (badge(OverallState::Operational)) " " (calm.len()) " operational" }
                ul.names {
                    @for row in &calm {
                        li { a href={ "/providers/" (row.overview.id) } { (vendor(&row.overview.name)) } }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p.empty { "No provider matches this filter." }
        }
    };
    Shell {
        title: "Overview",
        current: "/",
        refresh: Some(REFRESH_SECONDS),
    }
    .render(body)
}

fn filters(board: &Board, query: &OverviewQuery) -> Markup {
    html! {
        form.filters method="get" action="/" role="search" {
            label for="q" { "Search by name"
                input #q type="search" name="q" value=(query.q) autocomplete="off";
            }
            label for="tag" { "Tag"
                select #tag name="tag" {
                    option value="" { "All tags" }
                    @for tag in board.tags() {
                        option value=(tag) selected[tag == query.tag] { (tag) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

fn has_upcoming(row: &BoardRow, now: DateTime<Utc>) -> bool {
    row.maintenances.iter().any(|m| upcoming(m, now))
}

fn upcoming(window: &MaintenanceWindow, now: DateTime<Utc>) -> bool {
    window.in_progress()
        || window
            .starts
            .is_some_and(|at| at <= now + chrono::Duration::days(UPCOMING_DAYS))
}

fn card(row: &BoardRow, now: DateTime<Utc>) -> Markup {
    let view = &row.overview;
    let (class, _) = layout::state_look(view.state);
    html! {
        li class={ "card " (class) } data-name=(view.name.to_lowercase()) {
            header {
                h3 { a href={ "/providers/" (view.id) } { (vendor(&view.name)) } }
                (badge(view.state))
                @if let Some(known) = view.last_known_state {
                    span.meta { "last seen: " (known.as_str()) }
                }
                @for tag in &row.tags { span.tag { (tag) } }
            }
            @if !view.open_incidents.is_empty() {
                ul {
                    @for incident in &view.open_incidents {
                        li {
                            strong { (vendor(&incident.name)) }
                            " " span.meta { (layout::capitalised(&crate::render::humanize(&incident.status)))
                                " · impact " (vendor(&incident.impact)) }
                            @if let Some(update) = &incident.latest_update {
                                p.update { (preview(update)) }
                            }
                        }
                    }
                }
            }
            @let windows: Vec<_> = row.maintenances.iter().filter(|m| upcoming(m, now)).collect();
            @if !windows.is_empty() {
                ul {
                    @for window in windows {
                        li {
                            @if window.in_progress() { "Maintenance in progress: " } @else { "Maintenance: " }
                            strong { (vendor(&window.name)) }
                            @if let Some(starts) = window.starts { " from " (time(starts)) }
                            @if let Some(ends) = window.ends { " until " (time(ends)) }
                        }
                    }
                }
            }
            p.meta {
                "Last good poll: "
                @if let Some(at) = view.last_good_poll { (time_with_age(at, now)) } @else { (none()) }
                @if view.state == OverallState::Unknown {
                    @if let Some(error) = &view.last_error {
                        br; "Last error: " (vendor(error))
                    }
                }
            }
        }
    }
}

fn preview(update: &str) -> String {
    let text = layout::vendor_body(update);
    let (cut, was_cut) = crate::render::cut(&text, UPDATE_PREVIEW_CHARS, crate::render::chars);
    if was_cut { format!("{cut}…") } else { cut }
}
