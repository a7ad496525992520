//! The dashboard's HTML pages, rendered on the server with maud (which escapes every value):
//! `/` (overview), `/providers/<id>`, `/maintenance` (calendar), `/deliveries`, and the
//! stylesheet and script they use, compiled into the binary. Handlers only read and choose;
//! each page's module is a pure function from what was read to markup.

mod calendar;
mod deliveries;
mod layout;
mod overview;
mod provider;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::WebState;
use crate::state_reader::StateReader;

pub const STYLE_PATH: &str = "/assets/style.css";
pub const SCRIPT_PATH: &str = "/assets/app.js";

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

pub async fn overview(
    State(state): State<Arc<WebState>>,
    Query(query): Query<overview::OverviewQuery>,
) -> Response {
    page(move || {
        let board = state.board.board(&state.state_path, &state.providers)?;
        Ok(overview::render(&board, &query, Utc::now()))
    })
    .await
}

pub async fn provider(State(state): State<Arc<WebState>>, Path(id): Path<String>) -> Response {
    page(move || {
        let Some(config) = state.providers.iter().find(|p| p.id == id) else {
            return Err(PageError::NotFound);
        };
        let reader = StateReader::open(&state.state_path)?;
        let (view, snapshot) = reader.overview(config)?;
        Ok(provider::render(
            &provider::ProviderPage {
                config,
                overview: &view,
                snapshot: snapshot.as_ref(),
                past: &[],
                poll_stats: None,
            },
            Utc::now(),
        ))
    })
    .await
}

pub async fn calendar(
    State(state): State<Arc<WebState>>,
    Query(query): Query<calendar::CalendarQuery>,
) -> Response {
    page(move || {
        let board = state.board.board(&state.state_path, &state.providers)?;
        Ok(calendar::render(&board, &query, Utc::now()))
    })
    .await
}

pub async fn deliveries(State(state): State<Arc<WebState>>) -> Response {
    page(move || {
        let reader = StateReader::open(&state.state_path)?;
        Ok(deliveries::render(
            &reader.delivery_report(&state.destinations)?,
        ))
    })
    .await
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

enum PageError {
    NotFound,
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for PageError {
    fn from(err: crate::store::StoreError) -> Self {
        PageError::Store(err)
    }
}

/// Runs a page's reads and rendering off the async workers (SQLite blocks), so serving never
/// stalls a poll, and turns failures into pages a person can read.
async fn page(work: impl FnOnce() -> Result<Markup, PageError> + Send + 'static) -> Response {
    let outcome = tokio::task::spawn_blocking(work).await;
    match outcome {
        Ok(Ok(markup)) => markup.into_response(),
        Ok(Err(PageError::NotFound)) => (
            StatusCode::NOT_FOUND,
            message("Not found", "No provider has this id in the configuration."),
        )
            .into_response(),
        Ok(Err(PageError::Store(err))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            message("Not available yet", &err.to_string()),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn message(title: &str, text: &str) -> Markup {
    layout::Shell {
        title,
        current: "",
        refresh: Some(overview::REFRESH_SECONDS),
    }
    .render(html! { h1 { (title) } p { (text) } })
}
