//! Mattermost incoming webhooks: Slack-compatible attachments, text under Mattermost's
//! 16,383-character post limit. Mattermost renders markdown and `@channel`, `@all` and
//! `@here` would notify everyone, so a word joiner is put after every `@` of incident text.

use serde_json::{Value, json};
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, chars, cut};

const TEXT_MAX: usize = 12_000;

pub struct Mattermost {
    url: Url,
}

impl Mattermost {
    pub fn new(url: Url) -> Mattermost {
        Mattermost { url }
    }
}

/// Breaks mentions (`@channel`) without changing how the text reads.
pub fn defuse(text: &str) -> String {
    text.replace('@', "@\u{2060}")
}

pub fn build_body(message: &Message) -> Value {
    let mut fields =
        vec![json!({"short": true, "title": message.action, "value": defuse(&message.status)})];
    if let Some(impact) = &message.impact {
        fields.push(json!({"short": true, "title": "Impact", "value": defuse(impact)}));
    }
    if !message.components.is_empty() {
        let (list, _) = cut(&message.components.join(", "), 2000, chars);
        fields.push(json!({"short": false, "title": "Components", "value": defuse(&list)}));
    }
    if let Some(window) = &message.window {
        fields.push(json!({"short": false, "title": "Window", "value": window}));
    }
    let (body, was_cut) = cut(&message.body, TEXT_MAX, chars);
    let mut text = defuse(&body);
    if was_cut {
        text.push_str(&format!("\n[Read the full update]({})", message.url));
    }
    let headline = defuse(&cut(&message.headline(), 500, chars).0);
    json!({
        "username": "statusrelay",
        "text": format!("{} **{}**: {headline}", message.tone.emoji(), message.action),
        "attachments": [{
            "fallback": format!("{}: {headline} ({})", message.action, defuse(&message.status)),
            "color": message.tone.hex(),
            "title": headline,
            "title_link": message.url,
            "text": text,
            "fields": fields,
            "footer": format!("statusrelay · {}", message.time_text()),
        }]
    })
}

impl Platform for Mattermost {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(self.url.clone(), &build_body(message)))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify_status(reply)
    }

    /// Self-hosted servers set their own limits (10/s per client by default).
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("10/s").ok()
    }
}
