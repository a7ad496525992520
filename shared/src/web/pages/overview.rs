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

/// Operational providers listed by name at most, unless asked (`?all=1`) or filtered: at 5,000
/// providers the names alone would be most of the page, and what one looks for there is a
/// problem, or one vendor by name (the search).
const CALM_NAMES_MAX: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub tag: String,
    /// List every operational provider by name however many there are.
    #[serde(default)]
    pub all: Option<String>,
}

impl OverviewQuery {
    fn lists_everything(&self) -> bool {
        self.all.is_some() || !self.q.trim().is_empty() || !self.tag.is_empty()
    }

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
                @if calm.len() <= CALM_NAMES_MAX || query.lists_everything() {
                    ul.names {
                        @for row in &calm {
                            li { a href={ "/providers/" (row.overview.id) } { (vendor(&row.overview.name)) } }
                        }
                    }
                } @else {
                    p {
                        "Too many to list here: search by name above, or "
                        a href="/?all=1" { "list all " (calm.len()) " by name" } "."
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
            // How the polls go matters on the card only when they fail (the provider page
            // has it always).
            @if view.state == OverallState::Unknown {
                p.meta {
                    "Last good poll: "
                    @if let Some(at) = view.last_good_poll { (time_with_age(at, now)) } @else { (none()) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;
    use crate::overview::{PollHealth, overview};

    fn board(operational: usize) -> Board {
        let health = PollHealth {
            last_success_at: Some(Utc::now()),
            ..PollHealth::default()
        };
        let rows = (0..operational)
            .map(|n| BoardRow {
                overview: overview(
                    &format!("p{n}"),
                    &format!("Vendor {n}"),
                    Some(&Snapshot::default()),
                    &health,
                ),
                tags: vec!["saas".into()],
                maintenances: Vec::new(),
            })
            .collect();
        Board {
            rows,
            built_at: Utc::now(),
        }
    }

    #[test]
    fn thousands_of_operational_providers_are_counted_not_listed_unless_asked() {
        let few = render(&board(3), &OverviewQuery::default(), Utc::now()).into_string();
        assert!(few.contains(">Vendor 2</a>"));
        let many = board(CALM_NAMES_MAX + 1);
        let page = render(&many, &OverviewQuery::default(), Utc::now()).into_string();
        assert!(!page.contains(">Vendor 7</a>"), "names listed");
        assert!(page.contains("list all 501 by name"));
        let all = OverviewQuery {
            all: Some("1".into()),
            ..OverviewQuery::default()
        };
        let listed = render(&many, &all, Utc::now()).into_string();
        assert!(listed.contains(">Vendor 7</a>") && listed.contains(">Vendor 500</a>"));
        let searched = OverviewQuery {
            q: "vendor 7".into(),
            ..OverviewQuery::default()
        };
        let found = render(&many, &searched, Utc::now()).into_string();
        assert!(found.contains(">Vendor 7</a>") && !found.contains(">Vendor 8</a>"));
    }
}
