//! `/healthz`: 200 while watch cycles complete on time, 503 when the watcher is stuck, for
//! container `HEALTHCHECK`s and systemd watchdogs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;

use super::WebState;

/// When the last watch cycle ended, and how long one may take before the watcher counts as
/// stuck: three intervals plus a minute (a cycle's polls and deliveries have their own
/// timeouts well inside that).
pub struct Heartbeat {
    last_beat_ms: AtomicI64,
    allowed_gap: Duration,
}

impl Heartbeat {
    /// Started now: the first cycle gets the same allowance as any other.
    pub fn new(interval: Duration) -> Heartbeat {
        Heartbeat {
            last_beat_ms: AtomicI64::new(Utc::now().timestamp_millis()),
            allowed_gap: interval * 3 + Duration::from_secs(60),
        }
    }

    /// A cycle ended.
    pub fn beat(&self) {
        self.last_beat_ms
            .store(Utc::now().timestamp_millis(), Ordering::SeqCst);
    }

    /// Time since the last cycle ended, if that is longer than allowed.
    pub fn stuck_for(&self) -> Option<Duration> {
        let gap = Utc::now().timestamp_millis() - self.last_beat_ms.load(Ordering::SeqCst);
        let gap = Duration::from_millis(u64::try_from(gap).unwrap_or(0));
        (gap > self.allowed_gap).then_some(gap)
    }
}

pub async fn healthz(State(state): State<Arc<WebState>>) -> (StatusCode, String) {
    match state.heartbeat.stuck_for() {
        None => (StatusCode::OK, "ok\n".into()),
        Some(gap) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "stuck: no watch cycle has ended for {}\n",
                humantime::format_duration(Duration::from_secs(gap.as_secs()))
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watcher_without_a_recent_cycle_is_stuck() {
        let heartbeat = Heartbeat::new(Duration::from_secs(60));
        assert!(heartbeat.stuck_for().is_none());
        let long_ago = Utc::now().timestamp_millis() - 5 * 60 * 1000;
        heartbeat.last_beat_ms.store(long_ago, Ordering::SeqCst);
        assert!(heartbeat.stuck_for().unwrap() >= Duration::from_secs(299));
        heartbeat.beat();
        assert!(heartbeat.stuck_for().is_none());
    }
}
