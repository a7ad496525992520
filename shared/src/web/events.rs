//! `/api/v1/events`: the recorded events, newest first, filtered by URL query parameters
//! ([`EventQuery`]), each as routes received it (the webhook JSON) plus when it was recorded,
//! and the URL of the next (older) page.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ReadSide;
use super::api::unavailable;
use crate::history::{EventPage, EventQuery, QueryError};

pub const PATH: &str = "/api/v1/events";

pub async fn events(State(side): State<Arc<ReadSide>>, RawQuery(raw): RawQuery) -> Response {
    match read(&side, raw.as_deref().unwrap_or_default()).await {
        Ok((query, page)) => Json(body(&query, &page)).into_response(),
        Err(ReadError::Query(e)) => bad_request(&e),
        Err(ReadError::Store(failure)) => unavailable(&failure),
    }
}

/// Why a selection of events could not be read.
pub enum ReadError {
    /// A parameter is wrong: the client's mistake (400).
    Query(QueryError),
    /// The store could not answer.
    Store(super::reads::ReadFailure),
}

/// The events a query string selects, as `/api/v1/events`, `/feed.atom` and `/incidents`
/// read them: the parameters parsed, tags and ids resolved against the configured providers,
/// one page read.
pub async fn read(side: &ReadSide, raw_query: &str) -> Result<(EventQuery, EventPage), ReadError> {
    let query = EventQuery::parse(raw_query).map_err(ReadError::Query)?;
    let selected = query
        .filter
        .select(&side.providers)
        .map_err(ReadError::Query)?;
    let page = side
        .reads
        .events(&query, &selected)
        .await
        .map_err(ReadError::Store)?;
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
