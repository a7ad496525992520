//! The dashboard's HTML pages, rendered on the server with maud (which escapes every value):
//! `/` (overview), `/providers/<id>`, `/maintenance` (calendar), `/deliveries`, and the
//! stylesheet and script they use, compiled into the binary. Handlers only read (through
//! [`super::reads::Reads`], whichever store holds the state) and choose;
//! each page's module is a pure function from what was read to markup.

mod calendar;
#[cfg(feature = "sqlite")]
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

use super::ReadSide;
use super::reads::ReadFailure;
use crate::model::{Incident, IncidentUpdate};
pub use layout::{Site, set_site};

pub const STYLE_PATH: &str = "/assets/style.css";
pub const SCRIPT_PATH: &str = "/assets/app.js";

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

pub async fn overview(
    State(side): State<Arc<ReadSide>>,
    Query(query): Query<overview::OverviewQuery>,
) -> Response {
    page(async {
        let board = side.reads.board().await?;
        Ok(overview::render(&board, &query, Utc::now()))
    })
    .await
}

pub async fn provider(State(side): State<Arc<ReadSide>>, Path(id): Path<String>) -> Response {
    page(async {
        let Some(config) = side.providers.iter().find(|p| p.id == id) else {
            return Err(PageError::NotFound);
        };
        let record = side.reads.provider(config).await?;
        // What the retention window still holds of records the page no longer lists.
        let on_page: Vec<&str> = record
            .snapshot
            .iter()
            .flat_map(|s| s.incidents.iter().chain(&s.maintenances))
            .map(|i| i.id.as_str())
            .collect();
        let past: Vec<Incident> = record
            .history
            .iter()
            .filter(|h| !on_page.contains(&h.id.as_str()))
            .cloned()
            .map(past_record)
            .collect();
        Ok(provider::render(
            &provider::ProviderPage {
                config,
                overview: &record.overview,
                snapshot: record.snapshot.as_ref(),
                past: &past,
                poll_stats: record.poll_stats,
            },
            Utc::now(),
        ))
    })
    .await
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

pub async fn incidents(State(side): State<Arc<ReadSide>>, RawQuery(raw): RawQuery) -> Response {
    page(async {
        // The form sends every field; an empty one means "any".
        let raw = raw.unwrap_or_default();
        let given: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(raw.as_bytes()).filter(|(_, v)| !v.is_empty()),
            )
            .finish();
        let (query, events) = super::events::read(&side, &given)
            .await
            .map_err(|e| match e {
                super::events::ReadError::Query(e) => PageError::BadRequest(e.to_string()),
                super::events::ReadError::Store(failure) => PageError::Unavailable(failure),
            })?;
        Ok(incidents::render(
            &side.providers,
            &query,
            &incidents::Chosen::from_query(&given),
            &events,
        ))
    })
    .await
}

pub async fn calendar(
    State(side): State<Arc<ReadSide>>,
    Query(query): Query<calendar::CalendarQuery>,
) -> Response {
    page(async {
        let board = side.reads.board().await?;
        Ok(calendar::render(&board, &query, Utc::now()))
    })
    .await
}

/// `/deliveries`: the watcher's outbox, per destination (the AWS stack has no page for its
/// delivery log; the navigation leaves it out there).
#[cfg(feature = "sqlite")]
pub async fn deliveries(State(state): State<Arc<super::WebState>>) -> Response {
    page(async move {
        let report = tokio::task::spawn_blocking(move || {
            crate::state_reader::StateReader::open(&state.state_path)
                .and_then(|reader| reader.delivery_report(&state.destinations))
                .map_err(|e| ReadFailure(e.to_string()))
        })
        .await
        .map_err(|e| ReadFailure(format!("the read stopped: {e}")))??;
        Ok(deliveries::render(&report))
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
    Unavailable(ReadFailure),
}

impl From<ReadFailure> for PageError {
    fn from(failure: ReadFailure) -> Self {
        PageError::Unavailable(failure)
    }
}

/// Runs a page's reads and rendering, and turns failures into pages a person can read.
async fn page(work: impl std::future::Future<Output = Result<Markup, PageError>>) -> Response {
    match work.await {
        Ok(markup) => markup.into_response(),
        Err(PageError::NotFound) => (
            StatusCode::NOT_FOUND,
            message("Not found", "No provider has this id in the configuration."),
        )
            .into_response(),
        Err(PageError::BadRequest(reason)) => {
            (StatusCode::BAD_REQUEST, message("Bad filter", &reason)).into_response()
        }
        Err(PageError::Unavailable(failure)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            message("Not available yet", &failure.to_string()),
        )
            .into_response(),
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
