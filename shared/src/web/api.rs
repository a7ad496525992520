//! `/api/v1/providers` (every provider's overview, worst first) and `/api/v1/providers/{id}`
//! (one provider's overview with its components and maintenances).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::ReadSide;
use super::reads::ReadFailure;
use crate::model::{Component, Incident};
use crate::overview::ProviderOverview;

#[derive(Serialize)]
struct ProviderDetail {
    #[serde(flatten)]
    overview: ProviderOverview,
    url: String,
    tags: Vec<String>,
    components: Vec<Component>,
    maintenances: Vec<Incident>,
}

#[derive(Serialize)]
struct ProviderList<'a> {
    providers: Vec<&'a ProviderOverview>,
}

pub async fn providers(State(side): State<Arc<ReadSide>>) -> Response {
    // The dashboard's board holds every overview, worst first: reading it instead of every
    // snapshot took a request at 5,000 providers from ~220 ms to a few.
    match side.reads.board().await {
        Ok(board) => {
            let providers: Vec<&ProviderOverview> =
                board.rows.iter().map(|r| &r.overview).collect();
            Json(ProviderList { providers }).into_response()
        }
        Err(failure) => unavailable(&failure),
    }
}

pub async fn provider(State(side): State<Arc<ReadSide>>, Path(id): Path<String>) -> Response {
    let Some(config) = side.providers.iter().find(|p| p.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such provider"})),
        )
            .into_response();
    };
    match side.reads.provider(config).await {
        Ok(record) => {
            let (components, maintenances) = record
                .snapshot
                .map(|s| (s.components, s.maintenances))
                .unwrap_or_default();
            Json(ProviderDetail {
                overview: record.overview,
                url: config.url.to_string(),
                tags: config.tags.clone(),
                components,
                maintenances,
            })
            .into_response()
        }
        Err(failure) => unavailable(&failure),
    }
}

/// The store could not answer: a 503 with the reason, as JSON.
pub(super) fn unavailable(failure: &ReadFailure) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": failure.to_string()})),
    )
        .into_response()
}
