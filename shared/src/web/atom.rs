//! `/feed.atom`: the recorded events as an Atom feed (RFC 4287), with the filters of
//! `/api/v1/events` as query parameters. Written by `atom_syndication`, which escapes XML;
//! every vendor string is reduced to plain text first ([`Message::from_event`]), entries are
//! `type="text"` only (a reader never renders vendor HTML), and links pass
//! [`render::web_link`] so no `javascript:` URL reaches a reader.

use std::sync::Arc;

use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::ReadSide;
use super::events::{self, ReadError};
use crate::history::{EventQuery, QueryError, StoredEvent};
use crate::render::{self, Message};

const CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

pub async fn feed(State(side): State<Arc<ReadSide>>, RawQuery(raw): RawQuery) -> Response {
    match events::read(&side, raw.as_deref().unwrap_or_default()).await {
        Ok((query, page)) => {
            let xml = build(&query, &page.events, Utc::now()).to_string();
            ([(header::CONTENT_TYPE, CONTENT_TYPE)], xml).into_response()
        }
        Err(ReadError::Query(e)) => bad_request(&e),
        Err(ReadError::Store(failure)) => super::api::unavailable(&failure),
    }
}

fn bad_request(error: &QueryError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{error}\n"),
    )
        .into_response()
}

/// The feed of `events` (newest first). Its id depends only on the filters (not on `limit`,
/// the cursor or the token), so a reader that saved the URL keeps its read marks.
pub fn build(query: &EventQuery, events: &[StoredEvent], now: DateTime<Utc>) -> Feed {
    let filters = query.to_query_string(None, false);
    let mut feed = Feed::default();
    feed.set_id(format!("urn:statusrelay:feed:{}", short_hash(&filters)));
    feed.set_title(Text::plain(if filters.is_empty() {
        "statusrelay: vendor status events".to_owned()
    } else {
        format!("statusrelay: vendor status events ({filters})")
    }));
    // An empty feed has no newest entry; "now" is the honest time it was last looked at.
    let newest = events
        .iter()
        .map(|e| e.event.timestamp)
        .max()
        .unwrap_or(now);
    feed.set_updated(fixed(newest));
    feed.set_authors(vec![person("statusrelay")]);
    feed.set_entries(events.iter().map(entry).collect::<Vec<_>>());
    feed
}

/// One event as the notification tells it: "Provider — incident — status", the update body
/// as plain text, the incident's (or the page's) link.
pub fn entry(stored: &StoredEvent) -> Entry {
    let event = &stored.event;
    let message = Message::from_event(event);
    let mut entry = Entry::default();
    entry.set_id(format!("urn:statusrelay:event:{}", event.id));
    let mut title = format!("{} — {}", message.provider, message.title);
    if !message.status.is_empty() {
        title.push_str(" — ");
        title.push_str(&message.status);
    }
    entry.set_title(Text::plain(xml_safe(&title)));
    entry.set_updated(fixed(event.timestamp));
    entry.set_published(Some(fixed(stored.recorded_at)));
    entry.set_authors(vec![person(&message.provider)]);
    entry.set_categories(vec![Category {
        term: event.kind.as_str().to_owned(),
        scheme: None,
        label: None,
    }]);
    if let Some(href) = render::web_link(&message.url) {
        entry.set_links(vec![Link {
            href,
            ..Link::default()
        }]);
    }
    entry.set_content(Some(Content {
        value: Some(xml_safe(&content_text(&message))),
        content_type: Some("text".to_owned()),
        ..Content::default()
    }));
    entry
}

/// What the entry says, in plain text: the action and status, the window and components,
/// then the vendor's words.
fn content_text(message: &Message) -> String {
    let mut text = format!("{} · {}", message.action, message.status_line());
    if let Some(window) = &message.window {
        text.push_str(&format!("\nWindow: {window}"));
    }
    if !message.components.is_empty() {
        text.push_str(&format!("\nAffected: {}", message.components.join(", ")));
    }
    if !message.body.is_empty() {
        text.push_str("\n\n");
        text.push_str(&message.body);
    }
    text
}

fn person(name: &str) -> Person {
    Person {
        name: xml_safe(name),
        ..Person::default()
    }
}

fn fixed(at: DateTime<Utc>) -> FixedDateTime {
    at.fixed_offset()
}

/// Characters XML 1.0 cannot carry even escaped (C0 controls but tab and newlines, the
/// non-characters U+FFFE/U+FFFF) are dropped: one of them would make the whole feed
/// unparseable. Message text is already free of controls; this is the last guard.
fn xml_safe(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect()
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::{Event, EventData, EventType, IncidentRef, ProviderRef, UpdateRef};
    use crate::model::{Impact, IncidentStatus};

    pub(crate) fn hostile_event() -> StoredEvent {
        let at: DateTime<Utc> = "2026-11-29T14:03:00Z".parse().unwrap();
        StoredEvent {
            seq: 7,
            recorded_at: at,
            event: Event {
                kind: EventType::IncidentCreated,
                id: "evt_0123456789abcdef0123456789abcdef".into(),
                timestamp: at,
                data: EventData {
                    provider: ProviderRef {
                        id: "evil".into(),
                        name: "Evil & Co".into(),
                        url: "https://status.evil.example".into(),
                    },
                    incident: Some(IncidentRef {
                        id: "inc1".into(),
                        name: "<script>alert(1)</script> <img src=x onerror=alert(2)>".into(),
                        status: IncidentStatus::Investigating,
                        impact: Impact::Critical,
                        url: Some("javascript:alert(3)".into()),
                        components: Vec::new(),
                        created_at: Some(at),
                        resolved_at: None,
                        scheduled_for: None,
                        scheduled_until: None,
                    }),
                    update: Some(UpdateRef {
                        id: "u1".into(),
                        status: IncidentStatus::Investigating,
                        body: "<b>We are</b> looking\u{0007} into it ]]> &amp;".into(),
                        created_at: Some(at),
                    }),
                    component: None,
                    moved: None,
                    health: None,
                },
            },
        }
    }

    #[test]
    fn hostile_titles_stay_escaped_text_and_ids_are_stable() {
        let events = [hostile_event()];
        let query = EventQuery::parse("provider=evil&type=incident.created").unwrap();
        let now = Utc::now();
        let xml = build(&query, &events, now).to_string();
        assert!(!xml.contains("<script"), "{xml}");
        assert!(!xml.contains("<img"), "{xml}");
        assert!(!xml.contains("javascript:"), "{xml}");
        assert!(!xml.contains('\u{0007}'));
        assert!(
            xml.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{xml}"
        );
        assert!(
            xml.contains("<id>urn:statusrelay:event:evt_0123456789abcdef0123456789abcdef</id>")
        );
        assert!(xml.contains(r#"type="text""#));
        assert!(!xml.contains(r#"type="html""#));
        assert!(
            xml.contains(r#"href="https://status.evil.example/""#),
            "{xml}"
        );
        // A parser reads the title back literally.
        let parsed = Feed::read_from(xml.as_bytes()).unwrap();
        let entry = &parsed.entries()[0];
        assert_eq!(
            entry.title().as_str(),
            "Evil & Co — <script>alert(1)</script> <img src=x onerror=alert(2)> — Investigating"
        );
        let body = entry.content().unwrap().value().unwrap();
        // HTML became text: the entity is a character, the markup gone.
        assert!(body.ends_with("We are looking into it ]]> &"), "{body}");
        assert_eq!(entry.updated().to_rfc3339(), "2026-11-29T14:03:00+00:00");

        // The feed's id follows the filters, not the page or the time.
        let same =
            EventQuery::parse("type=incident.created&provider=evil&limit=5&before=9").unwrap();
        assert_eq!(build(&same, &[], now).id(), parsed.id());
        let other = EventQuery::parse("provider=evil").unwrap();
        assert_ne!(build(&other, &[], now).id(), parsed.id());
    }
}
