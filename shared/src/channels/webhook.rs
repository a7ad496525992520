//! `webhook`: the event JSON, POSTed as recorded, signed per Standard Webhooks when a secret
//! is set. The URL may hold credentials, so it never appears in errors or logs.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use super::SendError;
use crate::net::{self, HttpLimits};
use crate::signing::SigningKey;
use crate::sources::error_chain;

/// How much of an error response is kept for the dead-letter record.
const RESPONSE_EXCERPT_BYTES: usize = 2048;

pub struct Webhook {
    client: reqwest::Client,
    url: Url,
    key: Option<SigningKey>,
    allow_private: bool,
}

/// The headers of one attempt (pure, for tests): id, timestamp and optional signature.
pub fn build_headers(
    key: Option<&SigningKey>,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", event_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(key) = key {
        headers.push(("webhook-signature", key.sign(event_id, timestamp, body)));
    }
    headers
}

/// Maps a response status to the delivery outcome.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<String>,
) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let code = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        return Err(SendError::Transient {
            reason: format!("HTTP {code}"),
            retry_after,
        });
    }
    let reason = if status.is_redirection() {
        format!("HTTP {code}: redirects are not followed; point the route at the final URL")
    } else if status == StatusCode::GONE {
        format!("HTTP {code}: the endpoint is gone")
    } else {
        format!("HTTP {code}")
    };
    Err(SendError::Permanent {
        reason,
        status: Some(code),
        response: body,
    })
}

impl Webhook {
    pub fn new(
        url: Url,
        key: Option<SigningKey>,
        allow_private: bool,
        limits: HttpLimits,
    ) -> Webhook {
        let client = net::client_builder(allow_private, limits)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static HTTP client configuration is valid");
        Webhook {
            client,
            url,
            key,
            allow_private,
        }
    }

    pub async fn send(&self, event_id: &str, payload: &str) -> Result<(), SendError> {
        if !self.allow_private {
            net::check_url_host(&self.url).map_err(|e| SendError::Permanent {
                reason: e.to_string(),
                status: None,
                response: None,
            })?;
        }
        let body = payload.as_bytes();
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self.client.post(self.url.clone());
        for (name, value) in build_headers(self.key.as_ref(), event_id, timestamp, body) {
            request = request.header(name, value);
        }
        let response = request.body(payload.to_owned()).send().await.map_err(|e| {
            let reason = error_chain(&e.without_url());
            if reason.contains("allow_private_targets") {
                SendError::Permanent {
                    reason,
                    status: None,
                    response: None,
                }
            } else {
                SendError::Transient {
                    reason,
                    retry_after: None,
                }
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let excerpt = if status.is_success() {
            None
        } else {
            Some(read_excerpt(response).await)
        };
        classify(status, &headers, excerpt)
    }
}

async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= RESPONSE_EXCERPT_BYTES {
            break;
        }
    }
    bytes.truncate(RESPONSE_EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn classification() {
        let empty = HeaderMap::new();
        assert!(classify(StatusCode::NO_CONTENT, &empty, None).is_ok());
        let mut limited = HeaderMap::new();
        limited.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let err = classify(StatusCode::TOO_MANY_REQUESTS, &limited, None).unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert!(
            classify(StatusCode::BAD_GATEWAY, &empty, None)
                .unwrap_err()
                .is_transient()
        );
        let err = classify(StatusCode::BAD_REQUEST, &empty, Some("bad field".into())).unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent {
                reason: "HTTP 400".into(),
                status: Some(400),
                response: Some("bad field".into())
            }
        );
        assert!(
            !classify(StatusCode::FOUND, &empty, None)
                .unwrap_err()
                .is_transient()
        );
        assert!(
            !classify(StatusCode::GONE, &empty, None)
                .unwrap_err()
                .is_transient()
        );
    }

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
