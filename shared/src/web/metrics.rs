//! `/metrics`: the watcher's in-memory metrics ([`crate::metrics`]) as OpenMetrics text, for
//! Prometheus (which sends the read side's token as a bearer token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::WebState;
use crate::metrics::CONTENT_TYPE;

pub async fn metrics(State(state): State<Arc<WebState>>) -> Response {
    // Encoding a large fleet takes milliseconds of CPU: off the async workers, which also
    // run the polls.
    let metrics = state.metrics.clone();
    match tokio::task::spawn_blocking(move || metrics.encode()).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
