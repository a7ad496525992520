//! Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
//! received"): an Adaptive Card, version 1.4 (Workflows rejects later ones), inside the
//! `message`/`attachments` wrapper, kept under 24 KB so it stays below the 28 KB the flow
//! accepts after its own processing. Workflows answers 202 with an empty body.
//!
//! What Teams interprets in vendor text, and how it is neutralised: a `TextBlock` and a
//! `FactSet` render a markdown subset, links `[label](url)` among it, so vendor text never goes
//! into one. It is carried by `TextRun`s of `RichTextBlock`s, which Adaptive Cards render as
//! plain text: no markdown, no link, and no HTML (cards render none anywhere). Mentions need
//! `<at>` plus an entity in `msteams.entities`, which we never send, so `<at>` is shown as
//! typed. Our own text (the action line) stays in a `TextBlock`; the links are card actions
//! and `selectAction`s with the status page's URL, checked to be http(s) ([`crate::render`]).

use serde_json::{Value, json};
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, Tone, cut};

/// Request budget in bytes; Teams fails flows past 28,672 bytes *after* processing.
pub const CARD_MAX_BYTES: usize = 24_000;

pub struct Teams {
    url: Url,
}

impl Teams {
    pub fn new(url: Url) -> Teams {
        Teams { url }
    }
}

/// Bytes a string takes inside a JSON string literal.
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len(), |s| s.len() - 2)
}

fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Critical => "Attention",
        Tone::Major | Tone::Minor => "Warning",
        Tone::Resolved => "Good",
        Tone::Maintenance => "Accent",
        Tone::Info => "Default",
    }
}

/// Plain text: a `TextRun` renders no markdown.
fn run(text: &str) -> Value {
    json!({"type": "TextRun", "text": text})
}

/// A labelled line; the value is cut so that no vendor string can crowd out the body.
fn fact(label: &str, value: &str) -> Value {
    let (value, _) = cut(value, 1000, |s| s.chars().count());
    json!({"type": "RichTextBlock", "spacing": "None", "inlines": [
        {"type": "TextRun", "text": format!("{label}: "), "weight": "Bolder"},
        run(&value),
    ]})
}

fn card(message: &Message, body: &str, more: Option<&str>) -> Value {
    let mut items = vec![
        json!({"type": "TextBlock", "text": format!("{} {}", message.tone.emoji(), message.action), "weight": "Bolder", "color": colour(message.tone), "wrap": true}),
        json!({"type": "RichTextBlock", "inlines": [
            {"type": "TextRun", "text": message.headline(), "size": "Medium", "weight": "Bolder"},
        ]}),
        fact("Status", &message.status),
    ];
    if let Some(impact) = &message.impact {
        items.push(fact("Impact", impact));
    }
    if !message.components.is_empty() {
        items.push(fact("Components", &message.components.join(", ")));
    }
    if let Some(window) = &message.window {
        items.push(fact("Window", window));
    }
    items.push(fact("Time", &message.time_text()));
    if !body.is_empty() {
        let mut inlines = vec![run(body)];
        if let Some(label) = more {
            inlines.push(json!({"type": "TextRun", "text": label, "selectAction": {"type": "Action.OpenUrl", "url": message.url}}));
        }
        items.push(json!({"type": "RichTextBlock", "inlines": inlines}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": items,
                "actions": [{"type": "Action.OpenUrl", "title": "View on the status page", "url": message.url}],
            }
        }]
    })
}

pub fn build_body(message: &Message) -> Value {
    let (title, _) = cut(&message.title, 500, |s| s.chars().count());
    let message = &Message {
        title,
        ..message.clone()
    };
    let frame = serde_json::to_vec(&card(message, "", None)).map_or(0, |v| v.len());
    let more = " Read the full update";
    // Braces, the RichTextBlock and the link's TextRun around the body: a generous allowance.
    let budget = CARD_MAX_BYTES.saturating_sub(frame + json_len(&message.url) + 250);
    let (body, was_cut) = cut(&message.body, budget, json_len);
    card(message, &body, was_cut.then_some(more))
}

pub fn classify(reply: &Reply) -> Result<(), SendError> {
    // Legacy connectors reported failures as 200 with an error string; a Workflows trigger
    // answers 202 with nothing.
    let text = reply.body.trim();
    if reply.status.is_success() && text.contains("delivery failed") {
        return if text.contains("429") {
            Err(SendError::transient(
                format!("Teams: {text}"),
                Some(super::http::FALLBACK_COOLDOWN),
            ))
        } else {
            Err(SendError::rejected(
                format!("Teams: {text}"),
                Some(reply.status.as_u16()),
                reply.excerpt(),
            ))
        };
    }
    classify_status(reply)
}

impl Platform for Teams {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(self.url.clone(), &build_body(message)))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify(reply)
    }

    /// Power Automate throttles flows that are called continuously; one a second is plenty.
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("60/min").ok()
    }
}
