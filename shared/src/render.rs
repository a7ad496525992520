//! What a notification says, independent of the channel: every chat channel renders the same
//! [`Message`] in its own markup. Text from status pages is untrusted: it is converted to plain
//! text here, and each channel escapes it for its markup and cuts it to its limits with
//! [`cut`], on grapheme boundaries so no character (or emoji, or accent) is split.

mod digest;
pub(crate) mod html;

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use unicode_segmentation::UnicodeSegmentation;

use crate::event::{Event, EventType, ProviderHealth, ProviderMove};
use crate::model::{ComponentStatus, Impact, IncidentStatus};
use crate::routing::event_impact;

/// How a message should look: colour, emoji, PagerDuty severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Critical,
    Major,
    Minor,
    Maintenance,
    Resolved,
    Info,
}

impl Tone {
    /// RGB colour for embeds and attachments.
    pub fn colour(self) -> u32 {
        match self {
            Tone::Critical => 0xC0392B,
            Tone::Major => 0xE67E22,
            Tone::Minor => 0xF1C40F,
            Tone::Maintenance => 0x3498DB,
            Tone::Resolved => 0x2ECC71,
            Tone::Info => 0x95A5A6,
        }
    }

    pub fn hex(self) -> String {
        format!("#{:06X}", self.colour())
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Tone::Critical => "🔴",
            Tone::Major => "🟠",
            Tone::Minor => "🟡",
            Tone::Maintenance => "🔧",
            Tone::Resolved => "✅",
            Tone::Info => "ℹ️",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// "New incident", "Maintenance started", …
    pub action: &'static str,
    pub provider: String,
    pub provider_id: String,
    /// The incident's or maintenance's name, or the component's; one line.
    pub title: String,
    /// Human status, e.g. "Investigating" or "Major outage (was Operational)".
    pub status: String,
    /// Human impact, absent when the source gives none.
    pub impact: Option<String>,
    pub tone: Tone,
    /// Affected components with their status, e.g. "API Requests (partial outage)".
    pub components: Vec<String>,
    /// The update text as plain text (HTML converted, control characters removed).
    pub body: String,
    /// Where to read more: the incident page, else the status page.
    pub url: String,
    /// When the update was posted (else when the change was seen).
    pub time: DateTime<Utc>,
    /// A maintenance window, e.g. "2026-11-29 02:00 – 04:00 UTC".
    pub window: Option<String>,
    /// Stable per incident, maintenance or component: threads and PagerDuty alerts.
    pub thread_key: String,
    pub kind: EventType,
}

impl Message {
    pub fn from_event(event: &Event) -> Message {
        let provider = &event.data.provider;
        let impact = event_impact(event);
        let (title, status, components, url, window, thread) =
            match (&event.data.component, &event.data.incident) {
                (Some(change), _) => {
                    let status = match &change.old_status {
                        Some(old) => format!(
                            "{} (was {})",
                            humanize(change.new_status.as_str()),
                            humanize(old.as_str()).to_lowercase()
                        ),
                        None => humanize(change.new_status.as_str()),
                    };
                    (
                        single_line(&change.name),
                        status,
                        Vec::new(),
                        provider.url.clone(),
                        None,
                        format!("component:{}", change.id),
                    )
                }
                (None, Some(incident)) => {
                    let components = incident
                        .components
                        .iter()
                        .map(|c| {
                            let name = single_line(&c.name);
                            if c.status.is_operational() {
                                name
                            } else {
                                format!("{name} ({})", humanize(c.status.as_str()).to_lowercase())
                            }
                        })
                        .collect();
                    let window = match (incident.scheduled_for, incident.scheduled_until) {
                        (Some(from), Some(until)) => Some(window(from, until)),
                        (Some(from), None) => Some(format!("from {}", minute(from))),
                        _ => None,
                    };
                    (
                        single_line(&incident.name),
                        humanize(
                            event
                                .data
                                .update
                                .as_ref()
                                .map_or(&incident.status, |u| &u.status)
                                .as_str(),
                        ),
                        components,
                        incident
                            .url
                            .as_deref()
                            .and_then(web_link)
                            .unwrap_or_else(|| provider.url.clone()),
                        window,
                        format!("incident:{}", incident.id),
                    )
                }
                (None, None) => (
                    match (&event.data.moved, &event.data.health) {
                        (Some(_), _) => "Every record changed at once".to_owned(),
                        (None, Some(_)) if event.kind == EventType::ProviderRecovered => {
                            "Polls succeed again".to_owned()
                        }
                        (None, Some(_)) => "Polls are failing".to_owned(),
                        (None, None) => event.kind.to_string(),
                    },
                    match (&event.data.moved, &event.data.health) {
                        (Some(moved), _) => format!(
                            "{} records before, {} now",
                            moved.records_before, moved.records_now
                        ),
                        (None, Some(health)) => {
                            format!("{} failed polls in a row", health.failed_polls)
                        }
                        (None, None) => String::new(),
                    },
                    Vec::new(),
                    provider.url.clone(),
                    None,
                    "page".to_owned(),
                ),
            };
        let body = match (&event.data.update, &event.data.moved, &event.data.health) {
            (Some(update), _, _) => plain_text(&update.body),
            (None, Some(moved), _) => moved_text(moved),
            (None, None, Some(health)) => health_text(event.kind, health),
            (None, None, None) => String::new(),
        };
        let time = event
            .data
            .update
            .as_ref()
            .and_then(|u| u.created_at)
            .unwrap_or(event.timestamp);
        // Every piece of vendor text loses its mentions here, once, for every channel.
        Message {
            action: action(event.kind),
            provider: break_mentions(single_line(&provider.name)),
            provider_id: provider.id.clone(),
            title: if title.is_empty() {
                "(untitled)".into()
            } else {
                break_mentions(title)
            },
            status: break_mentions(status),
            impact: match &impact {
                Impact::None if event.data.component.is_some() => None,
                impact => Some(break_mentions(humanize(impact.as_str()))),
            },
            tone: tone(event, &impact),
            components: components.into_iter().map(break_mentions).collect(),
            body: break_mentions(body),
            url,
            time,
            window,
            thread_key: format!("{}/{thread}", provider.id),
            kind: event.kind,
        }
    }

    /// "GitHub: Incident with Actions", one line.
    pub fn headline(&self) -> String {
        format!("{}: {}", self.provider, self.title)
    }

    /// "Investigating · impact Major".
    pub fn status_line(&self) -> String {
        match &self.impact {
            Some(impact) if !self.status.is_empty() => format!("{} · impact {impact}", self.status),
            Some(impact) => format!("impact {impact}"),
            None => self.status.clone(),
        }
    }

    /// "2026-11-29 14:03 UTC".
    pub fn time_text(&self) -> String {
        minute(self.time)
    }

    pub fn time_rfc3339(&self) -> String {
        self.time.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// What a `provider.moved` message says: why nothing was announced one by one, and what is
/// open on the page now (vendor names, cleaned like any vendor text).
fn moved_text(moved: &ProviderMove) -> String {
    let mut text = match &moved.relocated {
        Some(to) => format!(
            "The page stopped answering as configured ({} at {}); it reads now as {} at {}. \
             statusrelay follows it there from now on, without announcing again what it \
             already announced. Update the provider's url and platform in the config to match.",
            to.from_platform, to.from_url, to.to_platform, to.to_url
        ),
        None => "The page's incidents and components all changed identity at once (a move to \
            another platform or a rebuilt page). statusrelay follows the new page from here \
            without announcing each of its records."
            .to_owned(),
    };
    if moved.open_now.is_empty() {
        text.push_str("\nNothing is open on it now.");
    } else {
        let names: Vec<String> = moved.open_now.iter().map(|n| single_line(n)).collect();
        text.push_str(&format!("\nOpen now: {}", names.join("; ")));
    }
    text
}

/// What `provider.unreachable` and `provider.recovered` say. The error is statusrelay's own
/// (it may quote the page's answer), cleaned like vendor text.
fn health_text(kind: EventType, health: &ProviderHealth) -> String {
    let since = health.last_good_poll.map_or_else(
        || "never read".to_owned(),
        |at| format!("last read {}", minute(at)),
    );
    let error = single_line(&health.last_error);
    if kind == EventType::ProviderRecovered {
        format!(
            "statusrelay reads this status page again after {} failed polls ({since}). \
             What changed meanwhile is announced as usual.\nLast error: {error}",
            health.failed_polls
        )
    } else {
        format!(
            "statusrelay could not read this status page {} times in a row ({since}), so \
             its incidents are not being followed until it answers again.\nLast error: {error}",
            health.failed_polls
        )
    }
}

fn action(kind: EventType) -> &'static str {
    match kind {
        EventType::IncidentCreated => "New incident",
        EventType::IncidentUpdated => "Incident updated",
        EventType::IncidentResolved => "Incident resolved",
        EventType::IncidentPostmortem => "Postmortem published",
        EventType::MaintenanceScheduled => "Maintenance scheduled",
        EventType::MaintenanceStarted => "Maintenance started",
        EventType::MaintenanceUpdated => "Maintenance updated",
        EventType::MaintenanceCompleted => "Maintenance completed",
        EventType::ComponentStatusChanged => "Component status changed",
        EventType::ProviderMoved => "Status page moved",
        EventType::ProviderUnreachable => "Status page unreachable",
        EventType::ProviderRecovered => "Status page reachable again",
    }
}

fn tone(event: &Event, impact: &Impact) -> Tone {
    match event.kind {
        EventType::IncidentResolved | EventType::IncidentPostmortem => return Tone::Resolved,
        EventType::MaintenanceCompleted | EventType::ProviderRecovered => return Tone::Resolved,
        EventType::ProviderUnreachable => return Tone::Major,
        EventType::MaintenanceScheduled
        | EventType::MaintenanceStarted
        | EventType::MaintenanceUpdated => return Tone::Maintenance,
        _ => {}
    }
    if let Some(change) = &event.data.component {
        return match change.new_status {
            ComponentStatus::Operational => Tone::Resolved,
            ComponentStatus::UnderMaintenance => Tone::Maintenance,
            ComponentStatus::MajorOutage => Tone::Critical,
            ComponentStatus::PartialOutage => Tone::Major,
            ComponentStatus::DegradedPerformance => Tone::Minor,
            ComponentStatus::Unknown(_) => Tone::Major,
        };
    }
    if event
        .data
        .incident
        .as_ref()
        .is_some_and(|i| i.status == IncidentStatus::Resolved)
    {
        return Tone::Resolved;
    }
    match impact {
        Impact::Critical => Tone::Critical,
        Impact::Major | Impact::Unknown(_) => Tone::Major,
        Impact::Minor => Tone::Minor,
        Impact::Maintenance => Tone::Maintenance,
        Impact::None => Tone::Info,
    }
}

/// `partial_outage` → "Partial outage". Statuses are open enums: a vendor's unknown value is
/// kept as text, so it is made one clean line like any other vendor text.
pub fn humanize(raw: &str) -> String {
    let spaced = single_line(&raw.replace(['_', '-'], " "));
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn window(from: DateTime<Utc>, until: DateTime<Utc>) -> String {
    if from.date_naive() == until.date_naive() {
        format!(
            "{} – {} UTC",
            from.format("%Y-%m-%d %H:%M"),
            until.format("%H:%M")
        )
    } else {
        format!("{} – {}", minute(from), minute(until))
    }
}

/// U+2060 WORD JOINER: invisible, unbreakable, and not a word character, so `@⁠channel` no
/// longer reads as a mention to any platform's parser while it still reads the same.
pub const WORD_JOINER: char = '\u{2060}';

/// `@channel`, `@here`, `@all`, `@everyone`, `@username`: a word joiner after every `@`, so no
/// mention syntax of any platform survives in vendor text, while it reads the same. Text
/// without an `@` is returned as it is.
pub fn break_mentions(text: String) -> String {
    if !text.contains('@') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 12);
    for c in text.chars() {
        out.push(c);
        if c == '@' {
            out.push(WORD_JOINER);
        }
    }
    out
}

/// A vendor's link as a URL a channel may put behind a button: absolute http(s) only, so a
/// `javascript:` or `data:` URL (or text that is no URL at all) falls back to the status page.
pub fn web_link(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then(|| url.into())
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) can make
/// a title read differently from what it says ("Trojan Source"); right-to-left text needs
/// none of them (the implicit marks U+200E/U+200F stay).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Combining marks of the blocks "Zalgo" text stacks by the dozen above and below a letter.
fn is_stacking_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// More combining marks in a row than any language writes (Vietnamese uses two).
const MAX_STACKED_MARKS: usize = 3;

fn needs_cleaning(line: &str) -> bool {
    let mut stacked = 0;
    for c in line.chars() {
        if c.is_control() || is_bidi_control(c) {
            return true;
        }
        stacked = if is_stacking_mark(c) { stacked + 1 } else { 0 };
        if stacked > MAX_STACKED_MARKS {
            return true;
        }
    }
    false
}

/// One line of vendor text safe for a terminal: see [`clean_line`].
pub fn terminal_safe(line: &str) -> Cow<'_, str> {
    if needs_cleaning(line) {
        Cow::Owned(clean_line(line))
    } else {
        Cow::Borrowed(line)
    }
}

/// Control characters (NUL, terminal escape sequences) and bidi controls dropped, tabs become
/// spaces, runs of combining marks cut to [`MAX_STACKED_MARKS`].
fn clean_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut stacked = 0;
    for c in line.chars() {
        let c = if c == '\t' { ' ' } else { c };
        if c.is_control() || is_bidi_control(c) {
            continue;
        }
        stacked = if is_stacking_mark(c) { stacked + 1 } else { 0 };
        if stacked <= MAX_STACKED_MARKS {
            out.push(c);
        }
    }
    out
}

/// Status pages send plain text with `<br />`, markdown, or real HTML (incident.io, Cachet);
/// HTML is converted to text ([`html::to_text`]), so broken markup cannot leak into a
/// channel's markup. Text that merely contains `<` (e.g. "latency < 5s") is left as text.
pub fn plain_text(raw: &str) -> String {
    // Every channel shows far less than this; converting more only costs time.
    let raw = &raw[..raw.floor_char_boundary(CONVERT_MAX_BYTES)];
    let text = if looks_like_html(raw) {
        Cow::Owned(html::to_text(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let text = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.split('\n') {
        let line = terminal_safe(line);
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(line);
    }
    out
}

/// The most of a body that is converted: 64 KiB, four times the largest channel budget.
const CONVERT_MAX_BYTES: usize = 64 * 1024;

fn looks_like_html(text: &str) -> bool {
    if !text.contains(['<', '&']) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    [
        "<br", "<p>", "<p ", "</p>", "<a ", "</a>", "<ul", "<ol", "<li", "<strong", "<em>", "<b>",
        "<i>", "<div", "<span", "<h1", "<h2", "<h3", "<code", "<pre", "<table", "&nbsp;", "&amp;",
    ]
    .iter()
    .any(|tag| lower.contains(tag))
}

/// One line: whitespace collapsed, control characters dropped.
pub fn single_line(text: &str) -> String {
    plain_text(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cuts `text` so that `cost(result) ≤ budget`, on a grapheme boundary, appending `…` when it
/// cut (the ellipsis is counted). `cost` is the channel's measure: characters, UTF-16 units,
/// bytes, or the length after escaping. Returns the text and whether it was cut.
pub fn cut(text: &str, budget: usize, cost: impl Fn(&str) -> usize) -> (String, bool) {
    if cost(text) <= budget {
        return (text.to_owned(), false);
    }
    let ellipsis = cost("…");
    if budget < ellipsis {
        return (String::new(), true);
    }
    let mut used = 0;
    let mut end = 0;
    for (index, grapheme) in text.grapheme_indices(true) {
        let c = cost(grapheme);
        if used + c + ellipsis > budget {
            break;
        }
        used += c;
        end = index + grapheme.len();
    }
    let mut out = text[..end].trim_end().to_owned();
    out.push('…');
    (out, true)
}

pub fn chars(text: &str) -> usize {
    text.chars().count()
}

pub fn utf16_units(text: &str) -> usize {
    text.encode_utf16().count()
}

pub fn bytes(text: &str) -> usize {
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_broken_but_read_the_same() {
        let out = break_mentions("ping @channel and @here".to_owned());
        assert_eq!(out, "ping @\u{2060}channel and @\u{2060}here");
        assert_eq!(out.replace(WORD_JOINER, ""), "ping @channel and @here");
        assert_eq!(break_mentions("no mention".to_owned()), "no mention");
    }

    #[test]
    fn html_bodies_become_text_and_plain_text_stays() {
        assert_eq!(
            plain_text("We are <b>investigating</b>.<br />Next update in 30 minutes."),
            "We are investigating.\nNext update in 30 minutes."
        );
        assert_eq!(
            plain_text("latency < 5s and > 1s\r\n\r\n\r\nok"),
            "latency < 5s and > 1s\n\nok"
        );
        assert_eq!(plain_text("nul\u{0}byte\u{1b}[31m"), "nulbyte[31m");
        // Broken markup is handled by the HTML parser, not passed through.
        let broken = plain_text("<p>unclosed <a href='x'>link <script>alert(1)</script>");
        assert!(!broken.contains('<'), "{broken}");
        assert!(broken.contains("unclosed"), "{broken}");
    }

    #[test]
    fn cut_keeps_graphemes_whole() {
        let text = "e\u{301}e\u{301}e\u{301}👩‍👩‍👧abc";
        let (out, cut_) = cut(text, 5, chars);
        assert!(cut_);
        assert_eq!(out, "e\u{301}e\u{301}…");
        let (out, _) = cut("👍👍👍", 5, utf16_units);
        assert_eq!(out, "👍👍…");
        assert_eq!(cut("short", 10, chars), ("short".into(), false));
    }

    #[test]
    fn humanizes_statuses() {
        assert_eq!(humanize("partial_outage"), "Partial outage");
        assert_eq!(humanize("in_progress"), "In progress");
    }
}
