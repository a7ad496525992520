//! `/deliveries`: the operators' view — per destination, what was sent, what waits, what was
//! dead-lettered and why, and whether the destination is paused.

use maud::{Markup, html};

use chrono::{DateTime, Utc};

use super::layout::{Shell, none, time, vendor};
use crate::delivery_report::DestinationReport;

pub fn render(reports: &[DestinationReport]) -> Markup {
    let body = html! {
        h1 { "Deliveries" }
        @if reports.is_empty() { p.empty { "No destination is configured." } }
        @for report in reports {
            section aria-labelledby={ "d-" (report.name) } {
                h2 id={ "d-" (report.name) } { (report.name) }
                p.summary {
                    (report.sent) " sent · " (report.pending) " waiting · "
                    @if report.dead > 0 { strong { (report.dead) " dead-lettered" } } @else { "0 dead-lettered" }
                    " (retention window)"
                }
                @if let Some(paused) = &report.paused {
                    p.card.s-major {
                        strong { "Paused" } " since " (when(&paused.since)) ": " (vendor(&paused.reason))
                        ". Deliveries are dead-lettered without sending until its configuration changes."
                    }
                }
                @if report.recent.is_empty() { p.empty { "No delivery yet." } }
                @else {
                    table {
                        caption.muted { "Latest " (report.recent.len()) " deliveries" }
                        thead { tr {
                            th scope="col" { "When" }
                            th scope="col" { "Event" }
                            th scope="col" { "Outcome" }
                            th.optional scope="col" { "Attempts" }
                            th.optional scope="col" { "Last error" }
                        } }
                        tbody {
                            @for line in &report.recent {
                                tr {
                                    td { (when(&line.updated_at)) }
                                    td { (line.event_type) " · " (vendor(&line.provider)) br; span.meta { (vendor(&line.subject)) } }
                                    td { (line.status)
                                        @if let Some(code) = line.response_status { " (HTTP " (code) ")" } }
                                    td.optional { (line.attempts) }
                                    td.optional { @if let Some(error) = &line.last_error { (vendor(error)) } @else { (none()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Shell {
        title: "Deliveries",
        current: "/deliveries",
        refresh: Some(super::overview::REFRESH_SECONDS),
    }
    .render(body)
}

/// A time the store wrote (RFC 3339), shown like every other time; as written if unreadable.
fn when(written: &str) -> Markup {
    match DateTime::parse_from_rfc3339(written) {
        Ok(at) => time(at.with_timezone(&Utc)),
        Err(_) => html! { (written) },
    }
}
