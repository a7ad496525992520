//! `/api/v1/events`: the recorded events, newest first, filtered by URL query parameters
//! ([`EventQuery`]), each as routes received it (the webhook JSON) plus when it was recorded,
//! and the URL of the next (older) page.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::WebState;
use super::api::blocking;
use crate::history::{EventQuery, QueryError};
use crate::state_reader::{EventPage, StateReader};

pub const PATH: &str = "/api/v1/events";

pub async fn events(State(state): State<Arc<WebState>>, RawQuery(raw): RawQuery) -> Response {
    blocking(move || {
        let query = match EventQuery::parse(raw.as_deref().unwrap_or_default()) {
            Ok(query) => query,
            Err(e) => return Ok(bad_request(&e)),
        };
        let selected = match query.filter.select(&state.providers) {
            Ok(selected) => selected,
            Err(e) => return Ok(bad_request(&e)),
        };
        let page = StateReader::open(&state.state_path)
            .and_then(|reader| reader.events(&query, &selected))
            .map_err(|e| e.to_string())?;
        Ok(Json(body(&query, &page)).into_response())
    })
    .await
}

/// `{"events": [...], "next": "/api/v1/events?…&before=<seq>" | null}`. The next link
/// repeats the filters but never the token: a client that sends `?token=` adds it again.
pub fn body(query: &EventQuery, page: &EventPage) -> Value {
    let next = page
        .next_before
        .map(|before| format!("{PATH}?{}", query.to_query_string(Some(before), true)));
    json!({ "events": page.events, "next": next })
}

/// A 400 naming the parameter, as JSON.
pub fn bad_request(error: &QueryError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error.to_string(), "parameter": error.parameter})),
    )
        .into_response()
}
