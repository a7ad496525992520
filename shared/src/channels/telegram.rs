//! Telegram Bot API `sendMessage` in HTML parse mode, at most 4096 characters after entity
//! parsing, counted in UTF-16 code units as Telegram counts them. The bot token is part of the
//! URL and never logged.
//!
//! What Telegram interprets in vendor text, and how it is neutralised:
//! - HTML tags (`<a href>`, `<b>`, `<tg-spoiler>`, `<blockquote>`…) and entities: every `<`,
//!   `>` and `&` is escaped, so vendor text is only text; our own `<b>` and `<a>` wrap it.
//! - `@username` mentions (a mentioned member of a group is notified): a word joiner follows
//!   every `@`. `#hashtags`, `/commands` and bare URLs are linked by clients but notify no one.
//! - The link is the status page's URL, checked to be http(s) ([`crate::render`]), escaped as
//!   an attribute; link previews are off.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, cut, utf16_units};

/// Characters after entity parsing, in UTF-16 code units.
pub const TEXT_MAX: usize = 4096;

pub struct Telegram {
    url: Url,
    chat_id: String,
    thread_id: Option<i64>,
}

impl Telegram {
    pub fn new(
        api_url: &Url,
        bot_token: &str,
        chat_id: String,
        thread_id: Option<i64>,
    ) -> Telegram {
        let mut url = api_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/bot{bot_token}/sendMessage"));
        Telegram {
            url,
            chat_id,
            thread_id,
        }
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn attribute(text: &str) -> String {
    escape(text).replace('"', "&quot;")
}

/// The message text in Telegram HTML. Limits apply to the visible text, so parts are
/// measured before escaping and the body gets what is left.
pub fn build_text(message: &Message) -> String {
    let (headline, _) = cut(&message.headline(), 512, utf16_units);
    let (status, _) = cut(&message.status_line(), 512, utf16_units);
    let mut visible = vec![
        (format!("{} {}", message.tone.emoji(), message.action), true),
        (headline, true),
        (status, false),
    ];
    if !message.components.is_empty() {
        let (list, _) = cut(
            &format!("Components: {}", message.components.join(", ")),
            1000,
            utf16_units,
        );
        visible.push((list, false));
    }
    if let Some(window) = &message.window {
        visible.push((format!("Window: {window}"), false));
    }
    let link_label = "View on the status page";
    let footer = format!("{link_label} · {}", message.time_text());
    let used: usize = visible
        .iter()
        .map(|(t, _)| utf16_units(t) + 1)
        .sum::<usize>()
        + utf16_units(&footer)
        + 4;
    let (body, _) = cut(&message.body, TEXT_MAX.saturating_sub(used), utf16_units);
    let mut out: Vec<String> = visible
        .iter()
        .map(|(text, bold)| {
            if *bold {
                format!("<b>{}</b>", escape(text))
            } else {
                escape(text)
            }
        })
        .collect();
    if !body.is_empty() {
        out.push(String::new());
        out.push(escape(&body));
    }
    out.push(String::new());
    out.push(format!(
        "<a href=\"{}\">{link_label}</a> · {}",
        attribute(&message.url),
        escape(&message.time_text())
    ));
    out.join("\n")
}

pub fn build_body(chat_id: &str, thread_id: Option<i64>, message: &Message) -> Value {
    let chat: Value = match chat_id.parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(chat_id),
    };
    let mut body = json!({
        "chat_id": chat,
        "text": build_text(message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    if let Some(thread) = thread_id {
        body["message_thread_id"] = json!(thread);
    }
    body
}

pub fn classify(reply: &Reply) -> Result<(), SendError> {
    let json = reply.json();
    let description = json
        .as_ref()
        .and_then(|v| v.get("description").and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let code = reply.status.as_u16();
    if reply.status.is_success()
        && json
            .as_ref()
            .and_then(|v| v.get("ok"))
            .and_then(Value::as_bool)
            != Some(false)
    {
        return Ok(());
    }
    if code == 429 {
        let wait = json
            .as_ref()
            .and_then(|v| v.pointer("/parameters/retry_after").and_then(Value::as_f64))
            .map(Duration::from_secs_f64)
            .or_else(|| reply.retry_after())
            .unwrap_or(super::http::FALLBACK_COOLDOWN);
        return Err(SendError::transient(
            format!("Telegram: {description}"),
            Some(wait),
        ));
    }
    let lower = description.to_ascii_lowercase();
    if lower.contains("chat not found")
        || lower.contains("bot was blocked")
        || lower.contains("bot was kicked")
    {
        return Err(SendError::gone(
            format!("Telegram: {description}"),
            Some(code),
            reply.excerpt(),
        ));
    }
    match classify_status(reply) {
        Err(SendError::Permanent {
            status,
            response,
            disable,
            ..
        }) if !description.is_empty() => Err(SendError::Permanent {
            reason: format!("Telegram: {description} (HTTP {code})"),
            status,
            response,
            disable,
        }),
        other => other,
    }
}

impl Platform for Telegram {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(
            self.url.clone(),
            &build_body(&self.chat_id, self.thread_id, message),
        ))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify(reply)
    }

    /// 20 messages a minute in a group (1 a second in a private chat).
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("20/min").ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::http::reply;

    #[test]
    fn classification() {
        assert!(classify(&reply(200, &[], r#"{"ok":true,"result":{"message_id":1}}"#)).is_ok());
        let err = classify(&reply(429, &[], r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#)).unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(
            classify(&reply(
                400,
                &[],
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
            ))
            .unwrap_err()
            .disables_destination()
        );
        let err = classify(&reply(
            400,
            &[],
            r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities"}"#,
        ))
        .unwrap_err();
        assert!(!err.disables_destination());
        assert!(err.to_string().contains("can't parse entities"));
        assert!(
            classify(&reply(
                401,
                &[],
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
            ))
            .unwrap_err()
            .disables_destination()
        );
    }

    #[test]
    fn token_goes_in_the_path() {
        let t = Telegram::new(
            &Url::parse("https://api.telegram.org").unwrap(),
            "123:abc",
            "1".into(),
            None,
        );
        assert_eq!(
            t.url.as_str(),
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
    }
}
