//! `/api/v1/providers` (every provider's overview, worst first) and `/api/v1/providers/{id}`
//! (one provider's overview with its components and maintenances), read from the state file.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::WebState;
use crate::config::ProviderConfig;
use crate::model::{Component, Incident};
use crate::overview::ProviderOverview;
use crate::state_reader::StateReader;

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

pub async fn providers(State(state): State<Arc<WebState>>) -> Response {
    let state = state.clone();
    blocking(move || {
        // The dashboard's board holds every overview, worst first: reading it instead of every
        // snapshot took a request at 5,000 providers from ~220 ms to a few.
        let board = state
            .board
            .board(&state.state_path, &state.providers)
            .map_err(|e| e.to_string())?;
        let providers: Vec<&ProviderOverview> = board.rows.iter().map(|r| &r.overview).collect();
        Ok(Json(ProviderList { providers }).into_response())
    })
    .await
}

pub async fn provider(State(state): State<Arc<WebState>>, Path(id): Path<String>) -> Response {
    let state = state.clone();
    blocking(move || {
        let Some(provider) = state.providers.iter().find(|p| p.id == id) else {
            return Ok((
                StatusCode::NOT_FOUND,
                Json(json!({"error": "no such provider"})),
            )
                .into_response());
        };
        let reader = StateReader::open(&state.state_path).map_err(|e| e.to_string())?;
        Ok(Json(detail(&reader, provider)?).into_response())
    })
    .await
}

fn detail(reader: &StateReader, provider: &ProviderConfig) -> Result<ProviderDetail, String> {
    let (overview, snapshot) = reader.overview(provider).map_err(|e| e.to_string())?;
    let (components, maintenances) = snapshot
        .map(|s| (s.components, s.maintenances))
        .unwrap_or_default();
    Ok(ProviderDetail {
        overview,
        url: provider.url.to_string(),
        tags: provider.tags.clone(),
        components,
        maintenances,
    })
}

/// SQLite reads are blocking: off the async workers, so serving never stalls a poll.
pub(super) async fn blocking(
    work: impl FnOnce() -> Result<Response, String> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(response)) => response,
        Ok(Err(reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": reason})),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
