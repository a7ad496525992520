//! `/providers/<id>`: one provider in full — components grouped as its page groups them, open
//! incidents and maintenances with their whole update timeline, past incidents of the retention
//! window, and how its polls are going.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::layout::{Shell, badge, capitalised, none, time, time_with_age, vendor, vendor_body};
use crate::config::ProviderConfig;
use crate::model::{Component, Incident, Snapshot};
use crate::overview::{OverallState, ProviderOverview};
use crate::render::humanize;
use crate::web::reads::PollStats;

/// What the provider page shows, as the store read it.
pub struct ProviderPage<'a> {
    pub config: &'a ProviderConfig,
    pub overview: &'a ProviderOverview,
    pub snapshot: Option<&'a Snapshot>,
    /// Incidents and maintenances no longer on the page but in the retention window, newest first.
    pub past: &'a [Incident],
    pub poll_stats: Option<PollStats>,
}

pub fn render(page: &ProviderPage, now: DateTime<Utc>) -> Markup {
    let view = page.overview;
    let snapshot = page.snapshot;
    let (open, finished): (Vec<&Incident>, Vec<&Incident>) = snapshot
        .map(|s| s.incidents.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .partition(|i| !i.status.is_finished());
    let maintenances: Vec<&Incident> = snapshot
        .map(|s| s.maintenances.iter().collect())
        .unwrap_or_default();
    let body = html! {
        h1 { (vendor(&view.name)) " " (badge(view.state)) }
        p.meta {
            a href=(page.config.url.as_str()) rel="noopener noreferrer" { "Status page" }
            @for tag in &page.config.tags { " " span.tag { (tag) } }
        }
        section aria-labelledby="open" {
            h2 #open { "Open incidents" }
            @if open.is_empty() { p.empty { "None." } }
            @for incident in &open { (record(incident, true)) }
        }
        section aria-labelledby="maintenance" {
            h2 #maintenance { "Maintenance" }
            @if maintenances.is_empty() { p.empty { "None scheduled." } }
            @for maintenance in &maintenances { (record(maintenance, !maintenance.status.is_finished())) }
        }
        section aria-labelledby="components" {
            h2 #components { "Components" }
            (components(snapshot.map_or(&[][..], |s| &s.components)))
        }
        section aria-labelledby="past" {
            h2 #past { "Past incidents" }
            @if finished.is_empty() && page.past.is_empty() { p.empty { "None in the retention window." } }
            @for incident in finished.iter().copied().chain(page.past) { (record(incident, false)) }
        }
        section aria-labelledby="health" {
            h2 #health { "Polling" }
            table {
                tbody {
                    tr { th scope="row" { "Platform" } td { (page.config.platform.as_str()) } }
                    tr { th scope="row" { "Last good poll" }
                        td { @if let Some(at) = view.last_good_poll { (time_with_age(at, now)) } @else { (none()) } } }
                    tr { th scope="row" { "Failures in a row" } td { (view.consecutive_failures) } }
                    tr { th scope="row" { "Last error" }
                        td { @if let Some(error) = &view.last_error { (vendor(error)) } @else { (none()) } } }
                    @if let Some(stats) = page.poll_stats {
                        tr { th scope="row" { "Unchanged (HTTP 304 or same content)" }
                            td { (not_modified_share(stats)) } }
                    }
                }
            }
        }
    };
    Shell {
        title: &vendor(&view.name),
        current: "",
        refresh: Some(super::overview::REFRESH_SECONDS),
    }
    .render(body)
}

fn not_modified_share(stats: PollStats) -> String {
    if stats.polls == 0 {
        return "no polls since the watcher started".into();
    }
    let share = stats.unchanged as f64 * 100.0 / stats.polls as f64;
    format!(
        "{share:.0} % of {} polls since the watcher started",
        stats.polls
    )
}

/// Components in the page's order, each group with its members under it.
fn components(all: &[Component]) -> Markup {
    let mut ordered: Vec<&Component> = all.iter().collect();
    ordered.sort_by_key(|c| c.position.unwrap_or(i64::MAX));
    let top: Vec<&Component> = ordered
        .iter()
        .copied()
        .filter(|c| {
            c.is_group
                || c.group_id
                    .as_ref()
                    .is_none_or(|g| !all.iter().any(|o| o.id == *g))
        })
        .collect();
    let members = |group: &Component| -> Vec<&Component> {
        ordered
            .iter()
            .copied()
            .filter(|c| c.group_id.as_deref() == Some(group.id.as_str()) && !c.is_group)
            .collect()
    };
    html! {
        @if all.is_empty() { p.empty { "The page lists no components." } }
        @else {
            table {
                thead { tr { th scope="col" { "Component" } th scope="col" { "Status" } } }
                tbody {
                    @for component in top {
                        @if component.is_group {
                            @let inside = members(component);
                            @let worst = inside.iter().map(|c| OverallState::of_component(&c.status)).max().unwrap_or(OverallState::Operational);
                            tr { th scope="rowgroup" { (vendor(&component.name)) } td { (badge(worst)) } }
                            @for member in inside {
                                tr { td { span aria-hidden="true" { "↳ " } (vendor(&member.name)) }
                                    td { (component_badge(member)) } }
                            }
                        } @else {
                            tr { td { (vendor(&component.name)) } td { (component_badge(component)) } }
                        }
                    }
                }
            }
        }
    }
}

fn component_badge(component: &Component) -> Markup {
    let state = OverallState::of_component(&component.status);
    html! {
        (badge(state))
        @if matches!(component.status, crate::model::ComponentStatus::Unknown(_)) {
            " " span.meta { "(" (vendor(component.status.as_str())) ")" }
        }
    }
}

/// An incident or maintenance with its whole timeline (open ones unfolded).
fn record(incident: &Incident, unfolded: bool) -> Markup {
    let state = if incident.status.is_finished() {
        OverallState::Operational
    } else {
        OverallState::of_impact(&incident.impact)
    };
    let link = incident.url.as_deref().and_then(crate::render::web_link);
    html! {
        article class={ "card " (super::layout::state_look(state).0) } {
            header {
                h3 { (vendor(&incident.name)) }
                span.meta { (capitalised(&humanize(incident.status.as_str())))
                    " · impact " (vendor(incident.impact.as_str())) }
                @if let Some(url) = link { a href=(url) rel="noopener noreferrer" { "On the status page" } }
            }
            p.meta {
                @if let (Some(from), Some(until)) = (incident.scheduled_for, incident.scheduled_until) {
                    "Scheduled " (time(from)) " – " (time(until)) ". "
                }
                @if let Some(at) = incident.created_at { "Opened " (time(at)) ". " }
                @if let Some(at) = incident.resolved_at { "Resolved " (time(at)) "." }
            }
            @if !incident.components.is_empty() {
                p.meta { "Affects: "
                    @for (n, c) in incident.components.iter().enumerate() {
                        @if n > 0 { ", " } (vendor(&c.name))
                    }
                }
            }
            details open[unfolded] {
                summary { (incident.updates.len()) " updates" }
                ol.timeline reversed {
                    @for update in incident.updates.iter().rev() {
                        li {
                            strong { (capitalised(&humanize(update.status.as_str()))) }
                            @if let Some(at) = update.created_at { " · " (time(at)) }
                            p.update { (vendor_body(&update.body)) }
                        }
                    }
                }
            }
        }
    }
}
