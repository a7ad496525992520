//! Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
//! received"): an Adaptive Card, version 1.4 (Workflows rejects later ones), inside the
//! `message`/`attachments` wrapper, kept under 24 KB so it stays below the 28 KB the flow
//! accepts after its own processing. Workflows answers 202 with an empty body.

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

fn card(message: &Message, body: &str) -> Value {
    let mut facts = vec![json!({"title": "Status", "value": message.status})];
    if let Some(impact) = &message.impact {
        facts.push(json!({"title": "Impact", "value": impact}));
    }
    if !message.components.is_empty() {
        let (list, _) = cut(&message.components.join(", "), 1000, |s| s.chars().count());
        facts.push(json!({"title": "Components", "value": list}));
    }
    if let Some(window) = &message.window {
        facts.push(json!({"title": "Window", "value": window}));
    }
    facts.push(json!({"title": "Time", "value": message.time_text()}));
    let mut items = vec![
        json!({"type": "TextBlock", "text": format!("{} {}", message.tone.emoji(), message.action), "weight": "Bolder", "color": colour(message.tone), "wrap": true}),
        json!({"type": "TextBlock", "text": message.headline(), "size": "Medium", "weight": "Bolder", "wrap": true}),
        json!({"type": "FactSet", "facts": facts}),
    ];
    if !body.is_empty() {
        items.push(json!({"type": "TextBlock", "text": body, "wrap": true}));
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
    let frame = serde_json::to_vec(&card(message, "")).map_or(0, |v| v.len());
    let more = format!("\n\n[Read the full update]({})", message.url);
    // Braces and the TextBlock around the body: a generous allowance.
    let budget = CARD_MAX_BYTES.saturating_sub(frame + json_len(&more) + 100);
    let (mut body, was_cut) = cut(&message.body, budget, json_len);
    if was_cut {
        body.push_str(&more);
    }
    card(message, &body)
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
