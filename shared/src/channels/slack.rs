//! Slack incoming webhooks: Block Kit with a `text` fallback, cut to Slack's limits: header
//! 150, section 3000, field 2000 characters, and about 5,000 characters in all, well under the
//! undocumented ~12k `msg_blocks_too_long` ceiling.
//!
//! What Slack interprets in vendor text, and how it is neutralised:
//! - mrkdwn control sequences `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>`, `<#C…>`,
//!   `<!subteam^…>`, `<!date^…>` and links `<https://host|label>`: `&`, `<` and `>` are
//!   escaped (`&amp;`, `&lt;`, `&gt;`, Slack's own escaping), so no sequence can open.
//! - Plain `@channel`/`@here` and `#channel` names, which Slack parses in mrkdwn text unless the
//!   text object is `verbatim`: every mrkdwn object is sent with `verbatim: true`, and a word
//!   joiner follows every `@` of vendor text as well.
//! - Bare URLs are still linked by Slack, showing the real address; unfurling is off.

use serde::Serialize;
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, cut};

const HEADER_MAX: usize = 150;
const BODY_MAX: usize = 2900;
const FIELD_MAX: usize = 1000;
const FALLBACK_MAX: usize = 300;

/// Error strings Slack answers with when the webhook itself is dead or revoked.
const DEAD_WEBHOOK_ERRORS: [&str; 8] = [
    "channel_not_found",
    "channel_is_archived",
    "no_service",
    "no_team",
    "invalid_token",
    "action_prohibited",
    "team_disabled",
    "posting_to_general_channel_denied",
];

pub struct Slack {
    url: Url,
}

impl Slack {
    pub fn new(url: Url) -> Slack {
        Slack { url }
    }
}

/// Slack's escaping: exactly these three characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn escaped_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '&' => 5,
            '<' | '>' => 4,
            _ => 1,
        })
        .sum()
}

/// Untrusted text, escaped and cut so that the escaped form fits `max`.
fn safe(text: &str, max: usize) -> (String, bool) {
    let (text, was_cut) = cut(text, max, escaped_len);
    (escape(&text), was_cut)
}

/// `<url|label>`: the URL must not close the link or start a label.
fn link(url: &str, label: &str) -> String {
    let url = escape(url).replace('|', "%7C");
    format!("<{url}|{}>", escape(label))
}

/// A Block Kit message. Typed rather than built as a `serde_json::Value`: a tree of maps cost
/// the notifier more than everything else in the message (BENCHMARKS.md).
#[derive(Debug, Serialize)]
pub struct Body {
    text: String,
    blocks: Vec<Block>,
    unfurl_links: bool,
    unfurl_media: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
    },
    Context {
        elements: Vec<Text>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Text {
    PlainText {
        text: String,
        emoji: bool,
    },
    /// `verbatim`: Slack would otherwise link `@here` and channel names it finds in the text.
    Mrkdwn {
        text: String,
        verbatim: bool,
    },
}

fn mrkdwn(text: String) -> Text {
    Text::Mrkdwn {
        text,
        verbatim: true,
    }
}

pub fn build_body(message: &Message) -> Body {
    let (header, _) = cut(
        &format!("{} {}", message.tone.emoji(), message.headline()),
        HEADER_MAX,
        |s| s.chars().count(),
    );
    let mut fields = vec![mrkdwn(format!(
        "*{}*\n{}",
        message.action,
        safe(&message.status, 200).0
    ))];
    if let Some(impact) = &message.impact {
        fields.push(mrkdwn(format!("*Impact*\n{}", safe(impact, 100).0)));
    }
    if !message.components.is_empty() {
        let (list, _) = safe(&message.components.join(", "), FIELD_MAX);
        fields.push(mrkdwn(format!("*Components*\n{list}")));
    }
    if let Some(window) = &message.window {
        fields.push(mrkdwn(format!("*Window*\n{}", safe(window, 200).0)));
    }
    let mut blocks = vec![
        Block::Header {
            text: Text::PlainText {
                text: header,
                emoji: true,
            },
        },
        Block::Section { fields, text: None },
    ];
    if !message.body.is_empty() {
        let (mut body, was_cut) = safe(&message.body, BODY_MAX);
        if was_cut {
            body.push('\n');
            body.push_str(&link(&message.url, "Read the full update"));
        }
        blocks.push(Block::Section {
            fields: Vec::new(),
            text: Some(mrkdwn(body)),
        });
    }
    blocks.push(Block::Context {
        elements: vec![mrkdwn(format!(
            "{} · {}",
            message.time_text(),
            link(&message.url, &format!("{} status", message.provider))
        ))],
    });
    let (fallback, _) = safe(
        &format!(
            "{} {}: {} ({})",
            message.tone.emoji(),
            message.action,
            message.headline(),
            message.status
        ),
        FALLBACK_MAX,
    );
    Body {
        text: fallback,
        blocks,
        unfurl_links: false,
        unfurl_media: false,
    }
}

/// Slack answers `ok` or a plain-text error string.
pub fn classify(reply: &Reply) -> Result<(), SendError> {
    let error = reply.body.trim();
    if DEAD_WEBHOOK_ERRORS.contains(&error) {
        return Err(SendError::gone(
            format!(
                "Slack: {error} (HTTP {}): the webhook is dead; create a new one",
                reply.status.as_u16()
            ),
            Some(reply.status.as_u16()),
            reply.excerpt(),
        ));
    }
    match classify_status(reply) {
        Err(SendError::Permanent {
            status,
            response,
            disable,
            ..
        }) if !error.is_empty() && error.len() < 100 => Err(SendError::Permanent {
            reason: format!("Slack: {error} (HTTP {})", reply.status.as_u16()),
            status,
            response,
            disable,
        }),
        other => other,
    }
}

impl Platform for Slack {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(self.url.clone(), &build_body(message)))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify(reply)
    }

    /// "No more than one message per second" per webhook.
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("1/s").ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::http::reply;

    #[test]
    fn classification() {
        assert!(classify(&reply(200, &[], "ok")).is_ok());
        assert!(
            classify(&reply(404, &[], "channel_not_found"))
                .unwrap_err()
                .disables_destination()
        );
        assert!(
            classify(&reply(410, &[], "channel_is_archived"))
                .unwrap_err()
                .disables_destination()
        );
        let err = classify(&reply(400, &[], "invalid_blocks")).unwrap_err();
        assert!(!err.disables_destination() && !err.is_transient());
        assert!(err.to_string().contains("invalid_blocks"), "{err}");
        let err = classify(&reply(429, &[("retry-after", "3")], "")).unwrap_err();
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));
    }

    #[test]
    fn links_cannot_be_forged() {
        assert_eq!(
            link("https://x.test/a?b=1&c=2|d", "<!channel>"),
            "<https://x.test/a?b=1&amp;c=2%7Cd|&lt;!channel&gt;>"
        );
    }
}
