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

use super::WebState;
use crate::intake::{MAX_BODY_BYTES, offered_token, token_matches};

pub async fn intake(
    State(state): State<Arc<WebState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let offered = offered_token(authorization, request.uri().query());
    let expected = state
        .providers
        .iter()
        .find(|p| p.id == id)
        .and_then(|p| p.intake_token.as_deref());
    if !token_matches(expected, offered.as_deref()) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    // Read (and so size-checked) only once the token matched.
    if axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map(|_: Bytes| ())
        .is_err()
    {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body over 64 KiB\n").into_response();
    }
    if let Some(pushes) = &state.pushes {
        pushes.push(&id);
    }
    tracing::info!(provider = %id, "push received; polling soon");
    (StatusCode::ACCEPTED, "accepted: the page will be polled\n").into_response()
}
