//! `webhook`: the event JSON, POSTed as recorded, signed per Standard Webhooks when a secret
//! is set. The URL may hold credentials, so it never appears in errors or logs.

use url::Url;

use super::SendError;
use super::http::{Poster, classify_status};
use crate::net::HttpLimits;
use crate::signing::SigningKey;

pub struct Webhook {
    poster: Poster,
    url: Url,
    key: Option<SigningKey>,
}

/// The headers of one attempt (pure, for tests): id, timestamp and optional signature.
pub fn build_headers(
    key: Option<&SigningKey>,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("webhook-id", event_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(key) = key {
        headers.push(("webhook-signature", key.sign(event_id, timestamp, body)));
    }
    headers
}

impl Webhook {
    pub fn new(
        url: Url,
        key: Option<SigningKey>,
        allow_private: bool,
        limits: HttpLimits,
    ) -> Webhook {
        Webhook {
            poster: Poster::new(allow_private, limits),
            url,
            key,
        }
    }

    pub async fn send(&self, event_id: &str, payload: &str) -> Result<(), SendError> {
        let body = payload.as_bytes();
        // The timestamp is signed per attempt, as Standard Webhooks asks.
        let timestamp = chrono::Utc::now().timestamp();
        let headers = build_headers(self.key.as_ref(), event_id, timestamp, body);
        let reply = self.poster.post(&self.url, &headers, body.to_vec()).await?;
        classify_status(&reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_id_timestamp_and_signature() {
        let key = SigningKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let headers = build_headers(
            Some(&key),
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        );
        assert!(headers.contains(&(
            "webhook-signature",
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".into()
        )));
        assert!(headers.contains(&("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".into())));
        assert!(
            build_headers(None, "e", 1, body)
                .iter()
                .all(|(n, _)| *n != "webhook-signature")
        );
    }
}
