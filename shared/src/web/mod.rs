//! The watcher's read side over HTTP (`statusrelay run --listen`), served from the same state
//! file the watcher writes: the dashboard's pages ([`pages`]), `/healthz` for container and
//! systemd health checks, the JSON API (`/api/v1/providers`, `/api/v1/providers/{id}`,
//! `/api/v1/events`), the Atom feed of the events (`/feed.atom`), the maintenance calendar
//! (`/maintenance.ics`) and `/metrics` for Prometheus. Every request but `/healthz` and the
//! static assets passes the token check ([`auth`]) when a token is configured; without one,
//! `run` only binds loopback. Every response carries the [`security`] headers and is gzipped
//! when the client accepts it.

mod api;
pub mod atom;
mod auth;
pub mod board;
pub mod calendar;
pub mod events;
mod health;
mod intake;
mod metrics;
mod pages;
mod security;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;

use tower_http::compression::CompressionLayer;

use crate::config::ProviderConfig;
use crate::metrics::Metrics;
use board::BoardCache;
pub use health::Heartbeat;

/// What every handler reads: where the state is, which providers and destinations to show,
/// the token.
pub struct WebState {
    pub state_path: PathBuf,
    pub providers: Vec<ProviderConfig>,
    /// Destination names, so that one without any delivery yet still shows.
    pub destinations: Vec<String>,
    pub token: Option<String>,
    pub heartbeat: Arc<Heartbeat>,
    pub board: BoardCache,
    /// The watcher's metrics, kept in memory as it works.
    pub metrics: Arc<Metrics>,
    /// Where `/intake/<id>` hands vendors' pushes to the watcher (`None`: intake off).
    pub pushes: Option<Arc<crate::intake::PushInbox>>,
}

pub fn router(state: Arc<WebState>) -> Router {
    let protected = Router::new()
        .route("/", get(pages::overview))
        .route("/providers/{id}", get(pages::provider))
        .route("/incidents", get(pages::incidents))
        .route("/maintenance", get(pages::calendar))
        .route("/deliveries", get(pages::deliveries))
        .route("/api/v1/providers", get(api::providers))
        .route("/api/v1/providers/{id}", get(api::provider))
        .route(events::PATH, get(events::events))
        .route("/feed.atom", get(atom::feed))
        .route("/maintenance.ics", get(calendar::maintenance))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        // Its own token per provider, not the read side's: vendors post here.
        .route("/intake/{id}", axum::routing::post(intake::intake))
        .route(pages::STYLE_PATH, get(pages::style))
        .route(pages::SCRIPT_PATH, get(pages::script))
        .merge(protected)
        .layer(middleware::map_response(security::headers))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Serves until the process ends; the caller spawns it beside the watch loop.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<WebState>) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// The address a browser should open (`0.0.0.0` is where one listens, not where one goes).
pub fn display_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    }
}
