//! What every page shares: the document shell (landmarks, navigation, the stylesheet and the
//! script, both served from the binary), state badges (colour, icon and word: never colour
//! alone) and times (UTC in the markup, the viewer's zone once the script runs).

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::overview::OverallState;

/// The pages of the navigation, in order: (path, label).
const NAVIGATION: [(&str, &str); 4] = [
    ("/", "Overview"),
    ("/incidents", "Incidents"),
    ("/maintenance", "Maintenance"),
    (DELIVERIES, "Deliveries"),
];

const DELIVERIES: &str = "/deliveries";

/// What differs between the deployments serving these pages.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// Whether `/deliveries` exists (the watcher's outbox; the AWS stack has none to show).
    pub deliveries: bool,
    /// The footer's "Served by …".
    pub served_by: &'static str,
}

/// The watcher's read side, unless the process said otherwise.
const WATCHER: Site = Site {
    deliveries: true,
    served_by: "the statusrelay watcher",
};

static SITE: std::sync::OnceLock<Site> = std::sync::OnceLock::new();

/// Sets what this process's pages say about where they are served; once, at start (a
/// second call is ignored).
pub fn set_site(site: Site) {
    let _ = SITE.set(site);
}

fn site() -> Site {
    SITE.get().copied().unwrap_or(WATCHER)
}

pub struct Shell<'a> {
    pub title: &'a str,
    /// The navigation entry this page is, for `aria-current`.
    pub current: &'a str,
    /// Seconds between automatic reloads (the page is a live view), if any.
    pub refresh: Option<u32>,
}

impl Shell<'_> {
    pub fn render(&self, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="color-scheme" content="light dark";
                    @if let Some(seconds) = self.refresh {
                        meta http-equiv="refresh" content=(seconds);
                    }
                    title { (self.title) " · statusrelay" }
                    link rel="stylesheet" href=(super::STYLE_PATH);
                    link rel="alternate" type="application/atom+xml" title="statusrelay events" href="/feed.atom";
                    script src=(super::SCRIPT_PATH) defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.site {
                        a.brand href="/" { "statusrelay" }
                        nav aria-label="Main" {
                            ul {
                                @for (path, label) in NAVIGATION.into_iter().filter(|(path, _)| site().deliveries || *path != DELIVERIES) {
                                    li {
                                        @if path == self.current {
                                            a href=(path) aria-current="page" { (label) }
                                        } @else {
                                            a href=(path) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main #main { (body) }
                    footer.site {
                        "Served by " (site().served_by) ". Times are in your time zone; UTC on hover. "
                        a href="/feed.atom" { "Atom feed" } " · "
                        a href="/maintenance.ics" { "Maintenance calendar (iCalendar)" } " · "
                        a href="/api/v1/providers" { "JSON API" }
                    }
                }
            }
        }
    }
}

/// The CSS class, icon and word of a state.
pub fn state_look(state: OverallState) -> (&'static str, &'static str) {
    match state {
        OverallState::Operational => ("s-operational", "✓"),
        OverallState::UnderMaintenance => ("s-maintenance", "🛠"),
        OverallState::Degraded => ("s-degraded", "▲"),
        OverallState::PartialOutage => ("s-partial", "◆"),
        OverallState::MajorOutage => ("s-major", "✖"),
        OverallState::Unknown => ("s-unknown", "?"),
    }
}

pub fn badge(state: OverallState) -> Markup {
    let (class, icon) = state_look(state);
    html! {
        span class={ "badge " (class) } {
            span aria-hidden="true" { (icon) } (capitalised(state.as_str()))
        }
    }
}

pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A point in time: UTC in the text and the tooltip, turned into the viewer's zone by the
/// script (pages stay correct without it).
pub fn time(at: DateTime<Utc>) -> Markup {
    let utc = at.format("%Y-%m-%d %H:%M UTC").to_string();
    html! {
        time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) title=(utc) { (utc) }
    }
}

/// "5 min ago", for the age of a poll.
pub fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds().max(0);
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=172_799 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// A time with its age beside it: "2026-12-07 06:00 UTC (5 min ago)".
pub fn time_with_age(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! { (time(at)) " (" (age(at, now)) ")" }
}

/// Vendor text shown on a page: cleaned of what can make text lie (bidi overrides, control
/// characters, stacked marks). maud escapes it; this keeps it honest.
pub fn vendor(text: &str) -> String {
    crate::render::terminal_safe(text).into_owned()
}

/// A vendor's multi-line text (an update body): HTML turned to text, then cleaned line by line.
pub fn vendor_body(text: &str) -> String {
    let plain = crate::render::plain_text(text);
    plain.lines().map(vendor).collect::<Vec<_>>().join("\n")
}

/// A non-breaking empty cell marker that screen readers skip.
pub fn none() -> Markup {
    html! { span aria-label="none" { (PreEscaped("&mdash;")) } }
}
