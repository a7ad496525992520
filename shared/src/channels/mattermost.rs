//! Mattermost incoming webhooks: Slack-compatible attachments, text under Mattermost's
//! 16,383-character post limit.
//!
//! What Mattermost interprets in the strings we send, and how each is neutralised in every
//! string field built from vendor text (`text`, `attachments[].title`, `fallback`, `text`,
//! field values):
//! - Slack compatibility: the server rewrites `<!channel>`, `<!here>`, `<!all>`, `<@USERID>`,
//!   `<USERID>` into mentions and `<https://host|label>` into links before rendering. Every
//!   `<` and `>` of vendor text becomes its full-width form (`＜`, `＞`), so none of these
//!   sequences (all start with `<`) exists in what the server receives.
//! - Markdown: links `[label](url)`, images `![alt](url)` (loaded by every client), reference
//!   links `[label][ref]` and autolinks `<url>`. `[`, `]` and `\` are backslash-escaped
//!   (CommonMark shows them literally), autolinks are gone with `<`.
//! - Mentions: `@channel`, `@all`, `@here`, `@user` get a word joiner after the `@`.
//!
//! Bare URLs still autolink, showing the real address, never a forged label.

use serde_json::{Value, json};
use url::Url;

use super::http::{Reply, classify_status};
use super::markup::{escape_markdown, markdown_link_target, neutralised_cut};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, chars};

const TEXT_MAX: usize = 12_000;

pub struct Mattermost {
    url: Url,
}

impl Mattermost {
    pub fn new(url: Url) -> Mattermost {
        Mattermost { url }
    }
}

/// Vendor text as inert Mattermost text: no Slack-compatibility sequence, no markdown link or
/// image, no mention; it reads the same.
pub fn defuse(text: &str) -> String {
    escape_markdown(text, &['[', ']'])
        .replace('<', "＜")
        .replace('>', "＞")
}

/// Vendor text defused and cut so that what Mattermost receives has at most `max` characters.
fn safe(text: &str, max: usize) -> (String, bool) {
    neutralised_cut(text, max, defuse, chars)
}

pub fn build_body(message: &Message) -> Value {
    let mut fields = vec![
        json!({"short": true, "title": message.action, "value": safe(&message.status, 500).0}),
    ];
    if let Some(impact) = &message.impact {
        fields.push(json!({"short": true, "title": "Impact", "value": safe(impact, 200).0}));
    }
    if !message.components.is_empty() {
        let (list, _) = safe(&message.components.join(", "), 2000);
        fields.push(json!({"short": false, "title": "Components", "value": list}));
    }
    if let Some(window) = &message.window {
        fields.push(json!({"short": false, "title": "Window", "value": window}));
    }
    let (mut text, was_cut) = safe(&message.body, TEXT_MAX);
    if was_cut {
        text.push_str(&format!(
            "\n[Read the full update]({})",
            markdown_link_target(&message.url)
        ));
    }
    let (headline, _) = safe(&message.headline(), 500);
    json!({
        "username": "statusrelay",
        "text": format!("{} **{}**: {headline}", message.tone.emoji(), message.action),
        "attachments": [{
            "fallback": format!("{}: {headline} ({})", message.action, safe(&message.status, 500).0),
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
