//! The one HTTP client path every platform shares: the private-address guard, no redirects,
//! connect and total timeouts, a capped response read, and errors that never hold the URL
//! (webhook URLs are credentials).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use super::SendError;
use crate::net::{self, HttpLimits};
use crate::sources::error_chain;

/// How much of a response is read: enough for any platform's error JSON.
const RESPONSE_MAX_BYTES: usize = 16 * 1024;
/// How much of an error response is kept with a dead letter.
pub const EXCERPT_BYTES: usize = 2048;
/// When a 429 says nothing about when to come back (Discord's Cloudflare bans answer with an
/// HTML page and no headers), wait this long rather than hammer.
pub const FALLBACK_COOLDOWN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The start of the body, as text.
    pub body: String,
}

impl Reply {
    /// The body cut for a dead-letter record.
    pub fn excerpt(&self) -> Option<String> {
        let body = self.body.trim();
        if body.is_empty() {
            return None;
        }
        let end = body.floor_char_boundary(EXCERPT_BYTES);
        Some(body[..end].to_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// `Retry-After` as seconds (decimals allowed) or an HTTP date.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        if let Ok(seconds) = value.parse::<f64>() {
            return (seconds.is_finite() && seconds >= 0.0)
                .then(|| Duration::from_secs_f64(seconds));
        }
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .ok()
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The classification most platforms share; platform modules refine it (Slack's error
/// strings, Discord's `retry_after`, Telegram's `ok: false`).
pub fn classify_status(reply: &Reply) -> Result<(), SendError> {
    let status = reply.status;
    let code = status.as_u16();
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = reply.retry_after().unwrap_or(FALLBACK_COOLDOWN);
        return Err(SendError::transient("HTTP 429: rate limited", Some(wait)));
    }
    if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        return Err(SendError::transient(
            format!("HTTP {code}"),
            reply.retry_after(),
        ));
    }
    if status.is_redirection() {
        return Err(SendError::gone(
            format!(
                "HTTP {code}: redirects are not followed; point the destination at the final URL"
            ),
            Some(code),
            None,
        ));
    }
    match code {
        401 | 403 => Err(SendError::gone(
            format!("HTTP {code}: the destination refuses the credentials"),
            Some(code),
            reply.excerpt(),
        )),
        404 | 410 => Err(SendError::gone(
            format!("HTTP {code}: the destination no longer exists"),
            Some(code),
            reply.excerpt(),
        )),
        _ => Err(SendError::rejected(
            format!("HTTP {code}: the destination rejected the message"),
            Some(code),
            reply.excerpt(),
        )),
    }
}

pub struct Poster {
    client: reqwest::Client,
    allow_private: bool,
}

impl Poster {
    pub fn new(allow_private: bool, limits: HttpLimits) -> Poster {
        let client = net::client_builder(allow_private, limits)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static HTTP client configuration is valid");
        Poster {
            client,
            allow_private,
        }
    }

    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, SendError> {
        if !self.allow_private {
            net::check_url_host(url).map_err(|e| SendError::gone(e.to_string(), None, None))?;
        }
        let mut request = self
            .client
            .post(url.clone())
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.body(body).send().await.map_err(|e| {
            // `without_url`: the URL is a credential and must not reach logs.
            let timed_out = e.is_timeout();
            let reason = error_chain(&e.without_url());
            if reason.contains("allow_private_targets") {
                SendError::gone(reason, None, None)
            } else if timed_out {
                SendError::timed_out(reason)
            } else {
                SendError::transient(reason, None)
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= RESPONSE_MAX_BYTES {
                bytes.truncate(RESPONSE_MAX_BYTES);
                break;
            }
        }
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    Reply {
        status: StatusCode::from_u16(status).unwrap(),
        headers: map,
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_classification() {
        assert!(classify_status(&reply(204, &[], "")).is_ok());
        let err = classify_status(&reply(429, &[("retry-after", "2.5")], "")).unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_millis(2500)));
        let err = classify_status(&reply(429, &[], "<html>error code: 1015</html>")).unwrap_err();
        assert_eq!(err.retry_after(), Some(FALLBACK_COOLDOWN));
        assert!(
            classify_status(&reply(502, &[], ""))
                .unwrap_err()
                .is_transient()
        );
        let err = classify_status(&reply(400, &[], "bad field")).unwrap_err();
        assert!(!err.is_transient() && !err.disables_destination());
        assert!(
            classify_status(&reply(410, &[], ""))
                .unwrap_err()
                .disables_destination()
        );
        assert!(
            classify_status(&reply(302, &[], ""))
                .unwrap_err()
                .disables_destination()
        );
    }
}
