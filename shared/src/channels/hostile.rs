//! One hostile incident through every channel's body builder: title, body, status and component
//! names full of each platform's mentions, links, HTML, script, bidi overrides, Zalgo and
//! 300-character names. Each test asserts that nothing the platform would interpret survives
//! in what we would send, and that the platform's limits still hold.

use chrono::{TimeZone, Utc};
use serde_json::Value;

use super::{console, discord, google_chat, mattermost, pagerduty, slack, teams, telegram};
use crate::event::{Event, EventData, EventType, IncidentRef, ProviderRef, UpdateRef};
use crate::model::{AffectedComponent, ComponentStatus, Impact, IncidentStatus};
use crate::render::WORD_JOINER;
use crate::render::{Message, utf16_units};

const PAGE: &str = "https://status.vendor.test";
const EVIL: &str = "evil.example";

/// Every markup of every platform, in one string.
const HOSTILE: &str = "<!channel> <!here> <!everyone> <!all> <@U024BE7LH> <U024BE7LH> <#C024BE7LR> \
    <!subteam^S123> @channel @here @all @everyone @someone <@&123456> <#987654> <t:1700000000:R> \
    <users/all> <users/123> <at>Everyone</at> <https://evil.example|click here> \
    [click](https://evil.example/a) ![pixel](https://evil.example/p.png) [ref][x]\n[x]: https://evil.example/r \
    <https://evil.example/auto> <script>alert(1)</script> <img src=x onerror=alert(1)> \
    <a href=\"https://evil.example/h\">html link</a> <b>bold</b> <tg-spoiler>s</tg-spoiler> \
    \u{202E}txet desrever\u{202C} \u{2066}isolate\u{2069} \x1b]0;pwned\x07 \x1b[2J \
    Z\u{0336}\u{0301}\u{0302}\u{0303}\u{0304}\u{0305}\u{0306}\u{0307}a\u{0334}\u{0335}\u{0336}\u{0337}\u{0338}lgo";

fn long_name(n: usize) -> String {
    format!("{n}:{HOSTILE}").chars().cycle().take(300).collect()
}

pub fn hostile_event() -> Event {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 14, 3, 0).unwrap();
    Event {
        kind: EventType::IncidentCreated,
        id: "evt_hostile".into(),
        timestamp: at,
        data: EventData {
            provider: ProviderRef {
                id: "vendor".into(),
                name: "Vendor @here <!channel>".into(),
                url: PAGE.into(),
            },
            incident: Some(IncidentRef {
                id: "inc1".into(),
                name: HOSTILE.into(),
                status: IncidentStatus::Unknown(format!("investigating {HOSTILE}")),
                impact: Impact::Unknown(format!("major {HOSTILE}")),
                url: Some("javascript:alert(document.cookie)".into()),
                components: (0..12)
                    .map(|n| AffectedComponent {
                        id: format!("c{n}"),
                        name: long_name(n),
                        status: ComponentStatus::Unknown(format!("down {HOSTILE}")),
                    })
                    .collect(),
                created_at: Some(at),
                resolved_at: None,
                scheduled_for: None,
                scheduled_until: None,
            }),
            update: Some(UpdateRef {
                id: "u1".into(),
                status: IncidentStatus::Unknown(format!("investigating {HOSTILE}")),
                body: format!("{HOSTILE}\n<p>{HOSTILE}</p>\n").repeat(40),
                created_at: Some(at),
            }),
            component: None,
            moved: None,
            health: None,
        },
    }
}

fn message() -> Message {
    Message::from_event(&hostile_event())
}

/// Every string in a JSON body, with its path.
fn strings(value: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, path: String, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(s) => out.push((path, s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, format!("{path}.{key}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// Checks every platform shares: no `javascript:` link, every `@` broken, no terminal escape,
/// no bidi override, no stack of combining marks.
fn assert_common(name: &str, texts: &[(String, String)]) {
    for (path, text) in texts {
        assert!(
            !text.contains("javascript:"),
            "{name}{path}: javascript: URL survived"
        );
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c == '@' {
                assert_eq!(
                    chars.get(i + 1),
                    Some(&WORD_JOINER),
                    "{name}{path}: unbroken mention in {text:?}"
                );
            }
            assert!(
                !c.is_control() || *c == '\n',
                "{name}{path}: control character {c:?}"
            );
            assert!(
                !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'),
                "{name}{path}: bidi control {c:?}"
            );
        }
        let mut stacked = 0;
        for c in &chars {
            stacked = if ('\u{0300}'..='\u{036F}').contains(c) {
                stacked + 1
            } else {
                0
            };
            assert!(stacked <= 3, "{name}{path}: Zalgo survived");
        }
    }
}

/// Whether every occurrence of `special` in `text` is backslash-escaped.
fn all_escaped(text: &str, special: &[char]) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().all(|(i, c)| {
        if !special.contains(c) {
            return true;
        }
        let backslashes = chars[..i].iter().rev().take_while(|&&b| b == '\\').count();
        backslashes % 2 == 1
    })
}

/// `text` without our own markdown link to the status page.
fn without_our_link(text: &str) -> String {
    text.replace(&format!("[Read the full update]({PAGE})"), "")
}

#[test]
fn vendor_links_fall_back_to_the_status_page() {
    assert_eq!(message().url, PAGE);
}

#[test]
fn slack() {
    let body = serde_json::to_value(slack::build_body(&message())).unwrap();
    let texts = strings(&body);
    assert_common("slack", &texts);
    // The header is a `plain_text` object: Slack parses nothing in it.
    for (path, text) in texts
        .iter()
        .filter(|(path, _)| path != ".blocks[0].text.text")
    {
        // Our links are `<https://status.vendor.test|…>`; any other `<` would be markup.
        let rest = text.replace(&format!("<{PAGE}|"), "");
        assert!(!rest.contains('<'), "slack{path}: {text:?}");
    }
    for block in body["blocks"].as_array().unwrap() {
        for text in block["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(block.get("text"))
            .chain(block["elements"].as_array().into_iter().flatten())
        {
            if text["type"] == "mrkdwn" {
                assert_eq!(text["verbatim"], true, "{text}");
            }
        }
    }
    assert!(serde_json::to_string(&body).unwrap().len() < 12_000);
}

#[test]
fn discord() {
    let body = discord::build_body(&message());
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let texts = strings(&body);
    assert_common("discord", &texts);
    let embed = &body["embeds"][0];
    let mut rendered = vec![without_our_link(embed["description"].as_str().unwrap())];
    for field in embed["fields"].as_array().unwrap() {
        rendered.push(field["value"].as_str().unwrap().to_owned());
    }
    for text in &rendered {
        assert!(all_escaped(text, &['[', ']', '<']), "discord: {text:?}");
    }
    assert!(!embed["url"].as_str().unwrap().contains(EVIL));
    let total: usize = rendered.iter().map(|t| t.chars().count()).sum::<usize>()
        + embed["title"].as_str().unwrap().chars().count();
    assert!(total <= 6000, "embed is {total} characters");
}

#[test]
fn mattermost() {
    let body = mattermost::build_body(&message());
    let texts = strings(&body);
    assert_common("mattermost", &texts);
    for (path, text) in &texts {
        assert!(
            !text.contains(['<', '>']),
            "mattermost{path}: Slack-compatible markup survived: {text:?}"
        );
        assert!(
            all_escaped(&without_our_link(text), &['[', ']']),
            "mattermost{path}: markdown link survived: {text:?}"
        );
    }
    assert!(body["text"].as_str().unwrap().chars().count() <= 16_383);
    assert!(
        body["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 16_383
    );
}

#[test]
fn teams() {
    let body = teams::build_body(&message());
    assert_common("teams", &strings(&body));
    let items = body["attachments"][0]["content"]["body"]
        .as_array()
        .unwrap();
    for item in items {
        match item["type"].as_str().unwrap() {
            // Markdown renders here: only our own text may be in one.
            "TextBlock" => {
                let text = item["text"].as_str().unwrap();
                assert!(text.ends_with("New incident"), "teams: {text:?}");
            }
            "RichTextBlock" => {
                for inline in item["inlines"].as_array().unwrap() {
                    assert_eq!(inline["type"], "TextRun");
                    if let Some(action) = inline.get("selectAction") {
                        assert_eq!(action["url"], PAGE);
                    }
                }
            }
            other => panic!("teams: unexpected element {other}"),
        }
    }
    assert!(serde_json::to_vec(&body).unwrap().len() <= teams::CARD_MAX_BYTES);
}

#[test]
fn google_chat() {
    let body = google_chat::build_body(&message());
    assert!(
        body.get("text").is_none(),
        "the text field interprets <users/all>"
    );
    let texts = strings(&body);
    assert_common("google_chat", &texts);
    // The card header's title and subtitle are plain text: Google Chat parses nothing in them.
    for (path, text) in texts.iter().filter(|(path, _)| !path.contains(".header.")) {
        let ours = text
            .replace("<br>", "")
            .replace(&format!("<a href=\"{PAGE}\">"), "")
            .replace("</a>", "");
        assert!(!ours.contains('<'), "google_chat{path}: {text:?}");
    }
    assert!(serde_json::to_vec(&body).unwrap().len() <= 32_000);
}

#[test]
fn telegram() {
    let body = telegram::build_body("-100", None, &message());
    assert_common("telegram", &strings(&body));
    let text = body["text"].as_str().unwrap();
    let mut rest = text;
    let mut visible = String::new();
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("tags close") + start;
        let tag = &rest[start..=end];
        assert!(
            ["<b>", "</b>", "</a>", &format!("<a href=\"{PAGE}\">")].contains(&tag),
            "telegram: vendor tag survived: {tag}"
        );
        visible.push_str(&rest[..start]);
        rest = &rest[end + 1..];
    }
    visible.push_str(rest);
    let visible = visible
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    assert!(utf16_units(&visible) <= telegram::TEXT_MAX);
}

#[test]
fn pagerduty() {
    let body = serde_json::to_value(pagerduty::build_body(
        "R0UTINGKEY0123456789ABCDEFGHIJKL",
        pagerduty::Action::Trigger,
        &message(),
    ))
    .unwrap();
    // PagerDuty shows text as text; what matters is that links stay ours.
    assert_eq!(body["links"][0]["href"], PAGE);
    assert_eq!(body["client_url"], PAGE);
    assert!(
        !serde_json::to_string(&body)
            .unwrap()
            .contains("javascript:")
    );
}

#[test]
fn console() {
    let line = console::build_line(&hostile_event());
    assert!(!line.contains(|c: char| c.is_control()), "{line:?}");
    assert!(!line.contains('\u{202E}'));
}
