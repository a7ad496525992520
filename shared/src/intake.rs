//! Pushes from vendors' webhooks (`POST /intake/<id>`), handed from the HTTP side to the
//! watcher's schedule. A push carries nothing in but the provider's id: what it triggers is an
//! ordinary poll, so a forged or replayed push can at most cause one (rate-limited) poll.

use std::sync::Mutex;

use subtle::ConstantTimeEq;
use tokio::sync::Notify;

/// Bodies above this are refused with 413 before they are read in full (no vendor's push is
/// near it: Statuspage's largest, an incident with its updates, is a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Whether a push's token is the provider's `intake_token`: compared in constant time, and
/// compared even when the provider takes no pushes (unknown, or no token), so that every way
/// out takes the same time and the answer does not tell which provider ids exist.
pub fn token_matches(expected: Option<&str>, offered: Option<&str>) -> bool {
    match (expected, offered) {
        (Some(expected), Some(offered)) => {
            bool::from(offered.as_bytes().ct_eq(expected.as_bytes()))
        }
        (None, Some(offered)) => {
            let _ = offered.as_bytes().ct_eq(offered.as_bytes());
            false
        }
        _ => false,
    }
}

/// The token a push offers: `Authorization: Bearer <token>` first, else `?token=` (vendors'
/// subscription forms take only a URL).
pub fn offered_token(authorization: Option<&str>, query: Option<&str>) -> Option<String> {
    if let Some(token) = authorization.and_then(|value| value.strip_prefix("Bearer ")) {
        return Some(token.trim().to_owned());
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

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
    fn tokens_match_only_the_providers_own() {
        assert!(token_matches(
            Some("s3cret-token-1234"),
            Some("s3cret-token-1234")
        ));
        assert!(!token_matches(
            Some("s3cret-token-1234"),
            Some("s3cret-token-1235")
        ));
        assert!(!token_matches(Some("s3cret-token-1234"), Some("s3cret")));
        assert!(!token_matches(None, Some("s3cret-token-1234")));
        assert!(!token_matches(Some("s3cret-token-1234"), None));
    }

    #[test]
    fn the_bearer_header_wins_over_the_query() {
        assert_eq!(
            offered_token(Some("Bearer abc"), Some("token=xyz")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            offered_token(None, Some("a=1&token=x%2By")).as_deref(),
            Some("x+y")
        );
        assert_eq!(offered_token(Some("Basic abc"), None), None);
        assert_eq!(offered_token(None, None), None);
    }

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
