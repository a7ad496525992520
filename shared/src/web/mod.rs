//! The read side over HTTP, one router over two stores ([`reads`]): the watcher's state file
//! (`statusrelay run --listen`) and the AWS table (the dashboard function). It serves the
//! dashboard's pages ([`pages`]), the JSON API (`/api/v1/providers`, `/api/v1/providers/{id}`,
//! `/api/v1/events`), the Atom feed of the events (`/feed.atom`) and the maintenance calendar
//! (`/maintenance.ics`); the watcher adds `/deliveries`, `/healthz` for container and systemd
//! health checks and `/metrics` for Prometheus. Every request but `/healthz` and the
//! static assets passes the token check ([`auth`]) when a token is configured; without one,
//! `run` only binds loopback. Every response carries the [`security`] headers and is gzipped
//! when the client accepts it.

mod api;
pub mod atom;
mod auth;
pub mod board;
#[cfg(feature = "sqlite")]
mod board_cache;
mod caching;
pub mod calendar;
pub mod events;
#[cfg(feature = "sqlite")]
mod health;
#[cfg(feature = "sqlite")]
mod intake;
#[cfg(feature = "sqlite")]
mod metrics;
mod pages;
pub mod reads;
mod security;
#[cfg(feature = "sqlite")]
pub mod state_file;

use std::net::SocketAddr;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;

use tower_http::compression::CompressionLayer;

use crate::config::ProviderConfig;
#[cfg(feature = "sqlite")]
use crate::metrics::Metrics;
pub use auth::TokenCheck;
#[cfg(feature = "sqlite")]
pub use health::Heartbeat;
pub use pages::{Site, set_site};
use reads::Reads;

/// What every read-side handler reads: the configured providers and the store.
pub struct ReadSide {
    pub providers: Vec<ProviderConfig>,
    pub reads: Arc<dyn Reads>,
    /// What of the configuration the responses show, hashed once ([`caching`]'s tags).
    configuration: Vec<u8>,
}

impl ReadSide {
    pub fn new(providers: Vec<ProviderConfig>, reads: Arc<dyn Reads>) -> ReadSide {
        ReadSide {
            configuration: caching::configuration_hash(&providers),
            providers,
            reads,
        }
    }
}

/// The read side every deployment serves, whatever its store: the dashboard's pages, the JSON
/// API, the Atom feed and the calendar behind the token check (outermost, so a refused request
/// reads nothing), then revalidation ([`caching`]), plus the static assets. `finish` adds the
/// security headers and compression once the caller has merged its own routes.
pub fn read_routes(side: Arc<ReadSide>, token: TokenCheck) -> Router {
    let protected = Router::new()
        .route("/", get(pages::overview))
        .route("/providers/{id}", get(pages::provider))
        .route("/incidents", get(pages::incidents))
        .route("/maintenance", get(pages::calendar))
        .route("/api/v1/providers", get(api::providers))
        .route("/api/v1/providers/{id}", get(api::provider))
        .route(events::PATH, get(events::events))
        .route("/feed.atom", get(atom::feed))
        .route("/maintenance.ics", get(calendar::maintenance))
        .route_layer(middleware::from_fn_with_state(
            side.clone(),
            caching::revalidate,
        ))
        .route_layer(middleware::from_fn_with_state(token, auth::require_token))
        .with_state(side);
    Router::new()
        .route(pages::STYLE_PATH, get(pages::style))
        .route(pages::SCRIPT_PATH, get(pages::script))
        .merge(protected)
}

/// The security headers on every response, and gzip for clients that take it.
pub fn finish(router: Router) -> Router {
    router
        .layer(middleware::map_response(security::headers))
        .layer(CompressionLayer::new())
}

/// The watcher's own parts of its read side: where its state file is, what it delivers to,
/// its health and metrics, and where vendors' pushes go.
#[cfg(feature = "sqlite")]
pub struct WebState {
    pub state_path: PathBuf,
    pub providers: Vec<ProviderConfig>,
    /// Destination names, so that one without any delivery yet still shows.
    pub destinations: Vec<String>,
    pub token: Option<String>,
    pub heartbeat: Arc<Heartbeat>,
    /// The watcher's metrics, kept in memory as it works.
    pub metrics: Arc<Metrics>,
    /// Where `/intake/<id>` hands vendors' pushes to the watcher (`None`: intake off).
    pub pushes: Option<Arc<crate::intake::PushInbox>>,
}

/// The watcher's read side (`statusrelay run --listen`): [`read_routes`] over its state file,
/// plus `/deliveries` and `/metrics` (behind the token), `/healthz` and `/intake/{id}`.
#[cfg(feature = "sqlite")]
pub fn router(state: Arc<WebState>) -> Router {
    let token = TokenCheck::new(state.token.clone());
    let side = Arc::new(ReadSide::new(
        state.providers.clone(),
        Arc::new(state_file::StateFile::new(
            state.state_path.clone(),
            state.providers.clone(),
            state.metrics.clone(),
        )),
    ));
    let watcher_only = Router::new()
        .route("/deliveries", get(pages::deliveries))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            token.clone(),
            auth::require_token,
        ))
        .route("/healthz", get(health::healthz))
        // Its own token per provider, not the read side's: vendors post here.
        .route("/intake/{id}", axum::routing::post(intake::intake))
        .with_state(state);
    finish(read_routes(side, token).merge(watcher_only))
}

/// Serves until the process ends; the caller spawns it beside the watch loop.
#[cfg(feature = "sqlite")]
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
