//! `POST /intake/<provider-id>`: where a vendor's status page sends its webhooks. The token is
//! the provider's own `intake_token` (in the URL, since vendors' subscription forms take only a
//! URL, or as a bearer token), compared in constant time. Nothing in the body is trusted or even
//! read beyond its size: a valid push only asks the watcher to poll that provider now (see
//! [`crate::schedule`] for how pushes are debounced and capped). An unknown provider, a provider
//! without push intake and a wrong token all answer the same 404, so the endpoint does not tell
//! which provider ids exist.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::WebState;

/// Bodies above this are refused with 413 before they are read in full (no vendor's push is
/// near it: Statuspage's largest, an incident with its updates, is a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn intake(
    State(state): State<Arc<WebState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let offered = bearer(&request).or_else(|| query_token(&request));
    let expected = state
        .providers
        .iter()
        .find(|p| p.id == id)
        .and_then(|p| p.intake_token.as_deref());
    // Compared even when nothing is expected, so both ways out take the same time.
    let matches = match (expected, offered.as_deref()) {
        (Some(expected), Some(offered)) => {
            bool::from(offered.as_bytes().ct_eq(expected.as_bytes()))
        }
        (None, Some(offered)) => {
            let _ = offered.as_bytes().ct_eq(offered.as_bytes());
            false
        }
        _ => false,
    };
    if !matches {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    // Read (and so size-checked) only once the token matched.
    if let Err(rejection) = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map(|_: Bytes| ())
    {
        let _ = rejection;
        return (StatusCode::PAYLOAD_TOO_LARGE, "body over 64 KiB\n").into_response();
    }
    if let Some(pushes) = &state.pushes {
        pushes.push(&id);
    }
    tracing::info!(provider = %id, "push received; polling soon");
    (StatusCode::ACCEPTED, "accepted: the page will be polled\n").into_response()
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_owned())
}

fn query_token(request: &Request) -> Option<String> {
    url::form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}
