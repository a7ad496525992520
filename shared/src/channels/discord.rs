//! Discord webhooks: one embed coloured by impact, `?wait=true` so failures are reported, and
//! every embed limit enforced before sending (title 256, description 4096, field value 1024,
//! 6000 in all).
//!
//! What Discord interprets in vendor text, and how it is neutralised:
//! - Mentions (`@everyone`, `@here`, `<@id>`, `<@&role>`, `<#channel>`): the body says
//!   `allowed_mentions: {"parse": []}`, so nothing in it can notify anyone; in the embed's
//!   description and field values, where mentions and masked links render, `<` is
//!   backslash-escaped and a word joiner follows every `@`, so they show as typed.
//! - Masked links `[label](url)` (rendered in embed descriptions and field values): `[` and `]`
//!   are backslash-escaped, which Discord shows literally. Formatting (`*`, `_`, `~`) is
//!   inactive and left as the vendor wrote it; bare URLs still link to their real address.
//! - The embed title renders neither links nor mentions; a word joiner still follows `@`. The
//!   embed's `url` is the status page's, checked to be http(s) ([`crate::render`]).

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use super::http::{FALLBACK_COOLDOWN, Reply, classify_status};
use super::markup::{escape_markdown, markdown_link_target, neutralised_cut};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, chars, cut};

const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_VALUE_MAX: usize = 1024;
/// The sum over title, description, field names and values, footer and author.
const EMBED_TOTAL_MAX: usize = 6000;

pub struct Discord {
    url: Url,
}

impl Discord {
    pub fn new(url: Url) -> Discord {
        Discord { url }
    }

    /// `?wait=true`: without it, a message Discord drops is not reported.
    pub fn request_url(&self) -> Url {
        let mut url = self.url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "wait")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("wait", "true");
        url
    }
}

/// What opens a masked link, a mention or a timestamp; `\\` before it shows it literally.
/// Formatting (`*`, `_`, `~`) is left alone: it is not active, and escaping it would break the
/// bare URLs Discord links in vendor text.
const ACTIVE: [char; 3] = ['[', ']', '<'];

/// Vendor text as inert Discord markdown: shows as written, links and mentions do nothing.
pub fn escape(text: &str) -> String {
    escape_markdown(text, &ACTIVE)
}

/// Vendor text escaped and cut so that what Discord receives has at most `max` characters.
fn safe(text: &str, max: usize) -> String {
    neutralised_cut(text, max, escape, chars).0
}

pub fn build_body(message: &Message) -> Value {
    let (title, _) = cut(
        &format!("{} {}", message.tone.emoji(), message.headline()),
        TITLE_MAX,
        chars,
    );
    let mut fields = vec![(
        message.action.to_owned(),
        safe(&message.status, FIELD_VALUE_MAX),
        true,
    )];
    if let Some(impact) = &message.impact {
        fields.push(("Impact".into(), safe(impact, FIELD_VALUE_MAX), true));
    }
    if !message.components.is_empty() {
        fields.push((
            "Components".into(),
            safe(&message.components.join(", "), FIELD_VALUE_MAX),
            false,
        ));
    }
    if let Some(window) = &message.window {
        fields.push(("Window".into(), window.clone(), false));
    }
    let footer = "statusrelay".to_owned();
    let used = chars(&title)
        + fields
            .iter()
            .map(|(n, v, _)| chars(n) + chars(v))
            .sum::<usize>()
        + chars(&footer);
    let more = format!(
        "\n[Read the full update]({})",
        markdown_link_target(&message.url)
    );
    let budget = DESCRIPTION_MAX.min(EMBED_TOTAL_MAX.saturating_sub(used));
    let description = if message.body.is_empty() {
        String::new()
    } else {
        let (body, was_cut) = neutralised_cut(
            &message.body,
            budget.saturating_sub(chars(&more)),
            escape,
            chars,
        );
        if was_cut { body + &more } else { body }
    };
    let mut embed = json!({
        "title": title,
        "url": message.url,
        "color": message.tone.colour(),
        "fields": fields.into_iter().map(|(name, value, inline)| json!({"name": name, "value": value, "inline": inline})).collect::<Vec<_>>(),
        "footer": {"text": footer},
        "timestamp": message.time_rfc3339(),
    });
    if !description.is_empty() {
        embed["description"] = Value::String(description);
    }
    json!({
        "username": "statusrelay",
        "allowed_mentions": {"parse": []},
        "embeds": [embed],
    })
}

pub fn classify(reply: &Reply) -> Result<(), SendError> {
    if reply.status.as_u16() == 429 {
        // The body's `retry_after` is float seconds; a Cloudflare ban is an HTML page with
        // no headers at all.
        let from_body = reply
            .json()
            .and_then(|v| v.get("retry_after").and_then(Value::as_f64))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let wait = from_body
            .or_else(|| reply.retry_after())
            .unwrap_or(FALLBACK_COOLDOWN);
        let scope = reply.header("x-ratelimit-scope").unwrap_or("unknown");
        return Err(SendError::transient(
            format!("Discord: rate limited (scope {scope})"),
            Some(wait),
        ));
    }
    classify_status(reply)
}

impl Platform for Discord {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(self.request_url(), &build_body(message)))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify(reply)
    }

    /// The bucket is spent: wait for it to refill before the next message.
    fn pause_after(&self, reply: &Reply) -> Option<Duration> {
        if reply.header("x-ratelimit-remaining")? != "0" {
            return None;
        }
        let seconds: f64 = reply.header("x-ratelimit-reset-after")?.parse().ok()?;
        (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds))
    }

    /// About 5 per 2 s per webhook and 30 per minute per channel (observed).
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("30/min").ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::http::reply;

    #[test]
    fn rate_limits_read_body_headers_or_fall_back() {
        let err = classify(&reply(
            429,
            &[("retry-after", "1")],
            r#"{"message":"You are being rate limited.","retry_after":0.35,"global":false}"#,
        ))
        .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_millis(350)));
        let err = classify(&reply(
            429,
            &[],
            "<!DOCTYPE html><title>Access denied | error code: 1015</title>",
        ))
        .unwrap_err();
        assert_eq!(err.retry_after(), Some(FALLBACK_COOLDOWN));
        assert!(
            classify(&reply(
                404,
                &[],
                r#"{"message": "Unknown Webhook", "code": 10015}"#
            ))
            .unwrap_err()
            .disables_destination()
        );
        let discord = Discord::new(
            Url::parse("https://discord.test/api/webhooks/1/t?thread_id=9&wait=false").unwrap(),
        );
        assert_eq!(discord.request_url().query(), Some("thread_id=9&wait=true"));
        let spent = reply(
            200,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset-after", "1.5"),
            ],
            "{}",
        );
        assert_eq!(
            discord.pause_after(&spent),
            Some(Duration::from_millis(1500))
        );
    }
}
