//! `/api/v1/providers` (every provider's overview, worst first, in pages of 5,000 with a `next`
//! link) and `/api/v1/providers/{id}` (one provider's overview with its components and
//! maintenances).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
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
    /// The next page (`None` on the last).
    next: Option<String>,
}

/// Providers per page unless `limit` says otherwise: ~0.3 KB each, so a page stays far under
/// the AWS function URL's 6 MB response limit.
const PROVIDERS_PAGE: usize = 5_000;

#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

pub async fn providers(State(side): State<Arc<ReadSide>>, Query(page): Query<Page>) -> Response {
    let limit = page.limit.unwrap_or(PROVIDERS_PAGE);
    if !(1..=PROVIDERS_PAGE).contains(&limit) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": format!("query parameter `limit`: not a number from 1 to {PROVIDERS_PAGE}"),
                "parameter": "limit"
            })),
        )
            .into_response();
    }
    // The dashboard's board holds every overview, worst first: reading it instead of every
    // snapshot took a request at 5,000 providers from ~220 ms to a few.
    match side.reads.board().await {
        Ok(board) => {
            let providers: Vec<&ProviderOverview> = board
                .rows
                .iter()
                .skip(page.offset)
                .take(limit)
                .map(|r| &r.overview)
                .collect();
            let end = page.offset.saturating_add(limit);
            let next = (end < board.rows.len())
                .then(|| format!("/api/v1/providers?offset={end}&limit={limit}"));
            Json(ProviderList { providers, next }).into_response()
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
