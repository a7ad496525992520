//! `console`: one readable line per event on stdout.

use std::io::Write;

use super::SendError;
use crate::event::Event;

pub struct Console;

/// The line printed for an event (pure, for tests).
pub fn build_line(event: &Event) -> String {
    event.summary_line()
}

impl Console {
    pub fn send(&self, payload: &str) -> Result<(), SendError> {
        let event: Event = super::parse_recorded(payload)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", build_line(&event))
            .and_then(|()| out.flush())
            .map_err(|e| SendError::Transient {
                reason: format!("stdout: {e}"),
                retry_after: None,
            })
    }
}
