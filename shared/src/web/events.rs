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
    blocking(
        move || match read(&state, raw.as_deref().unwrap_or_default()) {
            Ok((query, page)) => Ok(Json(body(&query, &page)).into_response()),
            Err(ReadError::Query(e)) => Ok(bad_request(&e)),
            Err(ReadError::Store(reason)) => Err(reason),
        },
    )
    .await
}

/// Why a selection of events could not be read.
pub enum ReadError {
    /// A parameter is wrong: the client's mistake (400).
    Query(QueryError),
    /// The state file could not be read.
    Store(String),
}

/// The events a query string selects, as `/api/v1/events`, `/feed.atom` and `/incidents`
/// read them: the parameters parsed, tags and ids resolved against the configured providers,
/// one page read. Blocking (SQLite).
pub fn read(state: &WebState, raw_query: &str) -> Result<(EventQuery, EventPage), ReadError> {
    let query = EventQuery::parse(raw_query).map_err(ReadError::Query)?;
    let selected = query
        .filter
        .select(&state.providers)
        .map_err(ReadError::Query)?;
    let page = StateReader::open(&state.state_path)
        .and_then(|reader| reader.events(&query, &selected))
        .map_err(|e| ReadError::Store(e.to_string()))?;
    Ok((query, page))
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
