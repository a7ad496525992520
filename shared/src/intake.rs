//! Pushes from vendors' webhooks (`POST /intake/<id>`), handed from the HTTP side to the
//! watcher's schedule. A push carries nothing in but the provider's id: what it triggers is an
//! ordinary poll, so a forged or replayed push can at most cause one (rate-limited) poll.

use std::sync::Mutex;

use tokio::sync::Notify;

#[derive(Default)]
pub struct PushInbox {
    pending: Mutex<Vec<String>>,
    arrived: Notify,
}

/// Pushes waiting for the schedule beyond this are dropped (each provider's pushes coalesce
/// into one poll anyway): a flood cannot grow memory.
const MAX_PENDING: usize = 10_000;

impl PushInbox {
    pub fn push(&self, provider_id: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() < MAX_PENDING && !pending.iter().any(|id| id == provider_id) {
            pending.push(provider_id.to_owned());
        }
        drop(pending);
        self.arrived.notify_one();
    }

    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Resolves when a push arrives (or one arrived since the last wait).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_for_one_provider_is_one_entry() {
        let inbox = PushInbox::default();
        for _ in 0..1000 {
            inbox.push("stripe");
        }
        inbox.push("github");
        assert_eq!(inbox.drain(), ["stripe", "github"]);
        assert!(inbox.drain().is_empty());
    }
}
