//! `/incidents`: the cross-provider timeline of events, newest first — what the notifications
//! said — filtered by provider, tag, impact, event type and age with the same parameters as
//! `/api/v1/events` and `/feed.atom` ([`EventQuery`]), a page at a time.

use maud::{Markup, html};

use super::layout::{Shell, time, vendor, vendor_body};
use crate::config::ProviderConfig;
use crate::event::EventType;
use crate::history::{EventPage, EventQuery};
use crate::render::Message;

/// Characters of an update body shown per event (the provider page has it all).
const BODY_PREVIEW_CHARS: usize = 600;

/// The choices of the "since" filter: (value, label).
const SINCE: [(&str, &str); 5] = [
    ("", "All recorded"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
];

const IMPACTS: [&str; 5] = ["none", "maintenance", "minor", "major", "critical"];

/// The form's choices as they came in, to show them selected again.
#[derive(Default)]
pub struct Chosen {
    pub provider: String,
    pub tag: String,
    pub impact: String,
    pub kind: String,
    pub since: String,
}

impl Chosen {
    pub fn from_query(raw: &str) -> Chosen {
        let mut chosen = Chosen::default();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = value.into_owned();
            match &*key {
                "provider" => chosen.provider = value,
                "tag" => chosen.tag = value,
                "impact" => chosen.impact = value,
                "type" => chosen.kind = value,
                "since" => chosen.since = value,
                _ => {}
            }
        }
        chosen
    }
}

pub fn render(
    providers: &[ProviderConfig],
    query: &EventQuery,
    chosen: &Chosen,
    page: &EventPage,
) -> Markup {
    let mut tags: Vec<&str> = providers
        .iter()
        .flat_map(|p| p.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let body = html! {
        h1 { "Incidents and changes" }
        form.filters method="get" action="/incidents" {
            label for="provider" { "Provider"
                select #provider name="provider" {
                    option value="" { "All providers" }
                    @for p in providers {
                        option value=(p.id) selected[p.id == chosen.provider] { (p.name.as_deref().unwrap_or(&p.id)) }
                    }
                }
            }
            label for="tag" { "Tag"
                select #tag name="tag" {
                    option value="" { "All tags" }
                    @for tag in &tags { option value=(tag) selected[*tag == chosen.tag] { (tag) } }
                }
            }
            label for="impact" { "Least impact"
                select #impact name="impact" {
                    option value="" { "Any" }
                    @for impact in IMPACTS { option value=(impact) selected[impact == chosen.impact] { (impact) } }
                }
            }
            label for="type" { "Event"
                select #type name="type" {
                    option value="" { "Every type" }
                    @for kind in EventType::ALL {
                        option value=(kind.as_str()) selected[kind.as_str() == chosen.kind] { (kind.as_str()) }
                    }
                }
            }
            label for="since" { "Since"
                select #since name="since" {
                    @for (value, label) in SINCE { option value=(value) selected[value == chosen.since] { (label) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if page.events.is_empty() { p.empty { "No recorded event matches." } }
        ol.cards reversed {
            @for stored in &page.events {
                @let message = Message::from_event(&stored.event);
                li.card {
                    header {
                        h2.event {
                            a href={ "/providers/" (message.provider_id) } { (vendor(&message.provider)) }
                            ": " (vendor(&message.title))
                        }
                        span.meta { (message.action) " · " (vendor(&message.status_line())) }
                    }
                    p.meta { (time(message.time))
                        @if let Some(window) = &message.window { " · window " (window) } }
                    @if !message.body.is_empty() {
                        p.update { (preview(&message.body)) }
                    }
                }
            }
        }
        @if let Some(before) = page.next_before {
            p { a href={ "/incidents?" (query.to_query_string(Some(before), false)) } rel="next" { "Older events →" } }
        }
    };
    Shell {
        title: "Incidents",
        current: "/incidents",
        refresh: None,
    }
    .render(body)
}

fn preview(body: &str) -> String {
    let text = vendor_body(body);
    let (cut, was_cut) = crate::render::cut(&text, BODY_PREVIEW_CHARS, crate::render::chars);
    if was_cut { format!("{cut}…") } else { cut }
}
