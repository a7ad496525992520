//! Google Chat incoming webhooks: a cardsV2 message, one thread per incident
//! (`thread.threadKey` in the body, `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`),
//! under the 32,000-byte message limit.
//!
//! What Google Chat interprets in vendor text, and how it is neutralised:
//! - Card widgets' text (`decoratedText.text`, `textParagraph.text`) renders an HTML subset
//!   (`<a href>`, `<b>`, `<font color>`, `<br>`…): `&`, `<` and `>` of vendor text are escaped,
//!   so no tag opens; line breaks become our own `<br>`.
//! - The message `text` field interprets `<users/all>` (notifies everyone), `<users/ID>` and
//!   `<url|label>` links, plus markdown-like `*bold*`: we never send `text`, only a card, and
//!   even there `<` is escaped. `@all` typed as text is not a mention.
//! - The card header's title and subtitle are plain text. The button's link is the status
//!   page's URL, checked to be http(s) ([`crate::render`]).

use serde_json::{Value, json};
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::Event;
use crate::render::{Message, cut};

const BODY_MAX_BYTES: usize = 16_000;
const THREAD_KEY_MAX: usize = 4000;

pub struct GoogleChat {
    url: Url,
}

impl GoogleChat {
    pub fn new(url: Url) -> GoogleChat {
        GoogleChat { url }
    }

    pub fn request_url(&self) -> Url {
        let mut url = self.url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "messageReplyOption" && k != "threadKey")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
        url
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escaped_bytes(text: &str) -> usize {
    escape(text).len()
}

pub fn build_body(message: &Message) -> Value {
    let mut widgets = vec![
        json!({"decoratedText": {"topLabel": message.action, "text": escape(&message.status), "wrapText": true}}),
    ];
    if let Some(impact) = &message.impact {
        widgets.push(json!({"decoratedText": {"topLabel": "Impact", "text": escape(impact)}}));
    }
    if !message.components.is_empty() {
        let (list, _) = cut(&message.components.join(", "), 2000, escaped_bytes);
        widgets.push(json!({"decoratedText": {"topLabel": "Components", "text": escape(&list), "wrapText": true}}));
    }
    if let Some(window) = &message.window {
        widgets.push(json!({"decoratedText": {"topLabel": "Window", "text": escape(window)}}));
    }
    if !message.body.is_empty() {
        let (body, was_cut) = cut(&message.body, BODY_MAX_BYTES, escaped_bytes);
        let mut text = escape(&body).replace('\n', "<br>");
        if was_cut {
            text.push_str(&format!(
                "<br><a href=\"{}\">Read the full update</a>",
                escape(&message.url).replace('"', "%22")
            ));
        }
        widgets.push(json!({"textParagraph": {"text": text}}));
    }
    widgets.push(json!({"buttonList": {"buttons": [{"text": "View on the status page", "onClick": {"openLink": {"url": message.url}}}]}}));
    let (title, _) = cut(
        &format!("{} {}", message.tone.emoji(), message.headline()),
        300,
        |s| s.chars().count(),
    );
    let (thread_key, _) = cut(
        &format!("statusrelay/{}", message.thread_key),
        THREAD_KEY_MAX,
        |s| s.chars().count(),
    );
    json!({
        "cardsV2": [{
            "cardId": "statusrelay",
            "card": {
                "header": {"title": title, "subtitle": format!("{} · {}", message.provider, message.time_text())},
                "sections": [{"widgets": widgets}],
            }
        }],
        "thread": {"threadKey": thread_key},
    })
}

impl Platform for GoogleChat {
    fn request(&self, _event: &Event, message: &Message) -> Option<Request> {
        Some(Request::json(self.request_url(), &build_body(message)))
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify_status(reply)
    }

    /// 60 messages per minute per space, shared by every app posting there.
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("60/min").ok()
    }
}
