//! `console`: one readable line per event on stdout; vendor text is stripped of control
//! characters and bidi overrides ([`render::terminal_safe`]), nothing else is interpreted.

use std::io::Write;

use super::SendError;
use crate::event::Event;
use crate::render;

pub struct Console;

/// The line printed for an event (pure, for tests). Vendor text reaches a terminal here:
/// escape sequences and other control characters are dropped, so a title cannot move the
/// cursor, retitle the window or hide itself.
pub fn build_line(event: &Event) -> String {
    render::terminal_safe(&event.summary_line()).into_owned()
}

impl Console {
    pub fn send(&self, payload: &str) -> Result<(), SendError> {
        let event: Event = super::parse_recorded(payload)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", build_line(&event))
            .and_then(|()| out.flush())
            .map_err(|e| SendError::transient(format!("stdout: {e}"), None))
    }
}
