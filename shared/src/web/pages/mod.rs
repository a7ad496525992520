//! The dashboard's HTML pages, rendered on the server with maud (which escapes every value):
//! `/` (overview), `/providers/<id>`, `/maintenance` (calendar), `/deliveries`, and the
//! stylesheet and script they use, compiled into the binary. Handlers only read and choose;
//! each page's module is a pure function from what was read to markup.

mod calendar;
mod deliveries;
mod incidents;
mod layout;
mod overview;
mod provider;

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::WebState;
use crate::model::{Incident, IncidentUpdate};
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
        // What the retention window still holds of records the page no longer lists.
        let on_page: Vec<&str> = snapshot
            .iter()
            .flat_map(|s| s.incidents.iter().chain(&s.maintenances))
            .map(|i| i.id.as_str())
            .collect();
        let past: Vec<Incident> = reader
            .incident_history(&config.id, chrono::DateTime::UNIX_EPOCH)?
            .into_iter()
            .filter(|h| !on_page.contains(&h.id.as_str()))
            .map(past_record)
            .collect();
        Ok(provider::render(
            &provider::ProviderPage {
                config,
                overview: &view,
                snapshot: snapshot.as_ref(),
                past: &past,
                poll_stats: Some(poll_stats(&state.metrics, &config.id)),
            },
            Utc::now(),
        ))
    })
    .await
}

fn poll_stats(metrics: &crate::metrics::Metrics, provider: &str) -> provider::PollStats {
    let (polls, unchanged) = metrics.poll_counts(provider);
    provider::PollStats { polls, unchanged }
}

/// A record known only from its events, shaped like one read from the page.
fn past_record(history: crate::history::IncidentHistory) -> Incident {
    Incident {
        id: history.id,
        name: history.name,
        status: history.status,
        impact: history.impact,
        url: history.url,
        components: Vec::new(),
        created_at: history.created_at,
        updated_at: Some(history.last_seen),
        resolved_at: None,
        scheduled_for: history.scheduled_for,
        scheduled_until: history.scheduled_until,
        updates: history
            .updates
            .into_iter()
            .map(|u| IncidentUpdate {
                id: u.id,
                status: u.status,
                body: u.body,
                created_at: u.created_at,
                alias: None,
            })
            .collect(),
    }
}

pub async fn incidents(State(state): State<Arc<WebState>>, RawQuery(raw): RawQuery) -> Response {
    page(move || {
        // The form sends every field; an empty one means "any".
        let raw = raw.unwrap_or_default();
        let given: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(raw.as_bytes()).filter(|(_, v)| !v.is_empty()),
            )
            .finish();
        let (query, events) = super::events::read(&state, &given).map_err(|e| match e {
            super::events::ReadError::Query(e) => PageError::BadRequest(e.to_string()),
            super::events::ReadError::Store(reason) => PageError::Unavailable(reason),
        })?;
        Ok(incidents::render(
            &state.providers,
            &query,
            &incidents::Chosen::from_query(&given),
            &events,
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
    BadRequest(String),
    Unavailable(String),
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
        Ok(Err(PageError::BadRequest(reason))) => {
            (StatusCode::BAD_REQUEST, message("Bad filter", &reason)).into_response()
        }
        Ok(Err(PageError::Unavailable(reason))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            message("Not available yet", &reason),
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
