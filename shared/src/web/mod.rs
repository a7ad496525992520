//! The watcher's read side over HTTP (`statusrelay run --listen`), served from the same state
//! file the watcher writes: `/healthz` for container and systemd health checks, the JSON API
//! (`/api/v1/providers`, `/api/v1/providers/{id}`), and `/metrics` for Prometheus. Every
//! request but `/healthz` passes the token check ([`auth`]) when a token is configured;
//! without one, `run` only binds loopback.

mod api;
mod auth;
mod health;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;

use crate::config::ProviderConfig;
use crate::metrics::Metrics;
pub use health::Heartbeat;

/// What every handler reads: where the state is, which providers to show, the token.
pub struct WebState {
    pub state_path: PathBuf,
    pub providers: Vec<ProviderConfig>,
    pub token: Option<String>,
    pub heartbeat: Arc<Heartbeat>,
    /// The watcher's metrics, kept in memory as it works.
    pub metrics: Arc<Metrics>,
}

pub fn router(state: Arc<WebState>) -> Router {
    let protected = Router::new()
        .route("/api/v1/providers", get(api::providers))
        .route("/api/v1/providers/{id}", get(api::provider))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .merge(protected)
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
