//! Real servers on loopback for the integration tests: status pages that honour conditional
//! requests and can misbehave, and a webhook receiver with a scripted answer plan.
#![allow(dead_code)]

pub mod aws_cloud;
pub mod browser;
pub mod fault_proxy;
pub mod fixture;
pub mod fleet;
pub mod function_url;
pub mod lambda;
pub mod latency;
pub mod moto;
pub mod notifier_load;
pub mod platforms;
pub mod process;
pub mod tls_fleet;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use fixture::Page;

pub const SUMMARY: &str = "/api/v2/summary.json";
pub const INCIDENTS: &str = "/api/v2/incidents.json";
pub const MAINTENANCES: &str = "/api/v2/scheduled-maintenances.json";

/// How a document misbehaves.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 200 with an HTML page (an unclaimed page, a CDN error page).
    Html200,
    /// A 5xx.
    Status(u16),
    /// The body cut in half.
    Truncated,
    /// Invalid UTF-8 inside a string.
    InvalidUtf8,
    /// 404.
    Missing,
    /// 403 with a bot-protection challenge page (a CDN blocking the JSON API).
    Challenge,
}

#[derive(Default)]
struct PageState {
    /// Path → (body, ETag); the tag is computed once per publish, not per request.
    docs: HashMap<String, (Bytes, String)>,
    faults: HashMap<String, Fault>,
    requests: usize,
    not_modified: usize,
    /// Requests per path since the last `take_hits`.
    hits: HashMap<String, usize>,
    /// Extra delay per path (a slow page), on top of the server's latency.
    delays: HashMap<String, Duration>,
    /// `/<slug>` → the URL every path under it moved to permanently (301).
    redirects: HashMap<String, String>,
    /// When on (`record_serving`): each request's path and the instant its answer was
    /// decided, so a benchmark can tell when a change was first read.
    serving_log: Option<Vec<(String, Instant)>>,
}

/// A loopback server hosting any number of status pages under `/<slug>`.
#[derive(Clone)]
pub struct StatusServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<PageState>>,
    latency: Duration,
}

/// The three documents of one page, shareable across many providers without copies.
#[derive(Clone)]
pub struct Documents {
    pub summary: Bytes,
    pub incidents: Bytes,
    pub maintenances: Option<Bytes>,
}

impl Documents {
    pub fn of(page: &Page) -> Documents {
        Documents {
            summary: Bytes::from(page.summary_json()),
            incidents: Bytes::from(page.incidents_json()),
            maintenances: (!page.incident_io).then(|| Bytes::from(page.maintenances_json())),
        }
    }
}

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!(
        "W/\"{}\"",
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl StatusServer {
    pub async fn start() -> StatusServer {
        StatusServer::with_latency(Duration::ZERO).await
    }

    /// Every answer is delayed by `latency`, like a page across the internet.
    pub async fn with_latency(latency: Duration) -> StatusServer {
        let state = Arc::new(Mutex::new(PageState::default()));
        let app = page_router(state.clone(), latency);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StatusServer {
            addr,
            state,
            latency,
        }
    }

    /// The same pages as a router, for a front of one's own (the HTTPS fleet's TLS server):
    /// requests it serves count, and misbehave, like those to `addr`.
    pub fn router(&self) -> Router {
        page_router(self.state.clone(), self.latency)
    }

    pub fn url(&self, slug: &str) -> String {
        format!("http://{}/{slug}", self.addr)
    }

    pub fn publish(&self, slug: &str, page: &Page) {
        self.publish_documents(slug, &Documents::of(page));
    }

    pub fn publish_documents(&self, slug: &str, docs: &Documents) {
        let mut state = self.state.lock().unwrap();
        let tagged = |body: &Bytes| (body.clone(), etag_of(body));
        state
            .docs
            .insert(format!("/{slug}{SUMMARY}"), tagged(&docs.summary));
        state
            .docs
            .insert(format!("/{slug}{INCIDENTS}"), tagged(&docs.incidents));
        match &docs.maintenances {
            Some(body) => state
                .docs
                .insert(format!("/{slug}{MAINTENANCES}"), tagged(body)),
            None => state.docs.remove(&format!("/{slug}{MAINTENANCES}")),
        };
    }

    /// Serves any one document (other platforms' APIs) under `/<slug><path>`.
    pub fn publish_document(&self, slug: &str, path: &str, body: String) {
        let body = Bytes::from(body);
        let etag = etag_of(&body);
        self.state
            .lock()
            .unwrap()
            .docs
            .insert(format!("/{slug}{path}"), (body, etag));
    }

    pub fn set_fault(&self, slug: &str, document: &str, fault: Option<Fault>) {
        let key = format!("/{slug}{document}");
        let mut state = self.state.lock().unwrap();
        match fault {
            Some(fault) => state.faults.insert(key, fault),
            None => state.faults.remove(&key),
        };
    }

    /// Makes one document slow (`None`: back to the server's latency).
    pub fn set_delay(&self, slug: &str, document: &str, delay: Option<Duration>) {
        let path = format!("/{slug}{document}");
        let mut state = self.state.lock().unwrap();
        match delay {
            Some(delay) => state.delays.insert(path, delay),
            None => state.delays.remove(&path),
        };
    }

    pub fn document_size(&self, slug: &str, document: &str) -> usize {
        self.state.lock().unwrap().docs[&format!("/{slug}{document}")]
            .0
            .len()
    }

    /// The paths requested since the last call, with their counts.
    pub fn take_hits(&self) -> std::collections::BTreeMap<String, usize> {
        std::mem::take(&mut self.state.lock().unwrap().hits)
            .into_iter()
            .collect()
    }

    /// (requests served, of which 304 Not Modified)
    /// Every path under `/<slug>` answers 301 to the same path under `to` (a page that moved).
    pub fn redirect(&self, slug: &str, to: &str) {
        self.state
            .lock()
            .unwrap()
            .redirects
            .insert(format!("/{slug}"), to.trim_end_matches('/').to_owned());
    }

    /// Starts (or restarts, empty) the log of when each path was served.
    pub fn record_serving(&self) {
        self.state.lock().unwrap().serving_log = Some(Vec::new());
    }

    /// Every request served since `record_serving` or the last call: (path, instant).
    pub fn take_serving_log(&self) -> Vec<(String, Instant)> {
        let mut state = self.state.lock().unwrap();
        let log = state.serving_log.as_mut().map(std::mem::take);
        log.unwrap_or_default()
    }

    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.requests, state.not_modified)
    }
}

fn page_router(state: Arc<Mutex<PageState>>, latency: Duration) -> Router {
    Router::new().fallback(move |request: Request<Body>| {
        let state = state.clone();
        async move {
            let extra = state
                .lock()
                .unwrap()
                .delays
                .get(request.uri().path())
                .copied();
            let delay = latency + extra.unwrap_or_default();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            serve_page(&state, request)
        }
    })
}

fn serve_page(state: &Mutex<PageState>, request: Request<Body>) -> Response {
    let mut state = state.lock().unwrap();
    state.requests += 1;
    let path = request.uri().path().to_owned();
    *state.hits.entry(path.clone()).or_default() += 1;
    if let Some(log) = state.serving_log.as_mut() {
        log.push((path.clone(), Instant::now()));
    }
    let respond = |status: u16, content_type: &str, body: Vec<u8>| -> Response {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let moved = state.redirects.iter().find_map(|(prefix, to)| {
        let rest = path.strip_prefix(prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{to}{rest}"))
    });
    if let Some(location) = moved {
        return Response::builder()
            .status(301)
            .header("location", location)
            .body(Body::empty())
            .unwrap();
    }
    if let Some(fault) = state.faults.get(&path).cloned() {
        let doc = state
            .docs
            .get(&path)
            .map(|(b, _)| b.to_vec())
            .unwrap_or_default();
        return match fault {
            Fault::Html200 => respond(200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><head><title>Statuspage | Hosted Status Pages</title></head><body><h1>Status pages for every team</h1></body></html>".to_vec()),
            Fault::Status(code) => respond(code, "text/html", b"<html><body>Bad gateway</body></html>".to_vec()),
            Fault::Truncated => respond(200, "application/json", doc[..doc.len() / 2].to_vec()),
            Fault::InvalidUtf8 => {
                let mut doc = doc;
                if let Some(at) = doc.windows(7).position(|w| w == b"\"body\":") {
                    doc[at + 9] = 0xC3;
                    doc[at + 10] = 0x28;
                }
                respond(200, "application/json", doc)
            }
            Fault::Missing => respond(404, "application/json", b"{\"error\":\"not found\"}".to_vec()),
            Fault::Challenge => respond(403, "text/html; charset=UTF-8", b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title><meta http-equiv=\"refresh\" content=\"390\"></head><body><noscript>Enable JavaScript and cookies to continue</noscript><div id=\"challenge-body-text\">Verifying you are human. This may take a few seconds.</div></body></html>".to_vec()),
        };
    }
    let Some((doc, etag)) = state.docs.get(&path).cloned() else {
        return respond(404, "text/html", b"<html>Not Found</html>".to_vec());
    };
    let matches = request
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if matches {
        state.not_modified += 1;
        return Response::builder()
            .status(304)
            .header("etag", etag)
            .body(Body::empty())
            .unwrap();
    }
    Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .header("etag", etag)
        .header("cache-control", "max-age=0, private, must-revalidate")
        .body(Body::from(doc))
        .unwrap()
}

/// What the receiver answers to one request.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    /// 429 with a Retry-After in seconds.
    RateLimited(u64),
    /// Never answers (the test kills the sender meanwhile).
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    plan: VecDeque<Answer>,
    received: Vec<Received>,
}

/// A webhook endpoint on loopback that records every request.
#[derive(Clone)]
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    pub hung: Arc<Notify>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let hung = Arc::new(Notify::new());
        let (handler_state, handler_hung) = (state.clone(), hung.clone());
        let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (state, hung) = (handler_state.clone(), handler_hung.clone());
            async move {
                let answer = state
                    .lock()
                    .unwrap()
                    .plan
                    .pop_front()
                    .unwrap_or(Answer::Status(204));
                let code = match &answer {
                    Answer::Status(code) => *code,
                    Answer::RateLimited(_) => 429,
                    Answer::Hang => 0,
                };
                state.lock().unwrap().received.push(Received {
                    headers,
                    body,
                    at: Instant::now(),
                    answered: code,
                });
                match answer {
                    Answer::Hang => {
                        hung.notify_one();
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        Response::builder().status(204).body(Body::empty()).unwrap()
                    }
                    Answer::RateLimited(secs) => Response::builder()
                        .status(429)
                        .header("retry-after", secs.to_string())
                        .body(Body::from("{\"message\":\"You are being rate limited.\"}"))
                        .unwrap(),
                    Answer::Status(code) => Response::builder()
                        .status(StatusCode::from_u16(code).unwrap())
                        .body(Body::from(if code >= 400 {
                            format!("{{\"error\":\"status {code}\"}}")
                        } else {
                            String::new()
                        }))
                        .unwrap(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookReceiver { addr, state, hung }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/statusrelay", self.addr)
    }

    pub fn plan(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().plan.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Requests that got a 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    pub fn delivered_types(&self) -> Vec<String> {
        self.delivered().iter().map(Received::event_type).collect()
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().received.clear();
    }
}

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A config file in a temporary folder.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self.path("statusrelay.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A loopback port nothing listens on right now (for a process started with `--listen`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `statusrelay run --config <config> --listen 127.0.0.1:<port>` with JSON logs on stderr
/// (piped, for the caller to read: warnings, and the watcher's own info lines such as
/// "round finished"), killed when dropped. For the benchmarks that watch and serve at once.
pub fn spawn_listening_watcher(config: &std::path::Path, port: u16) -> tokio::process::Child {
    tokio::process::Command::new(binary())
        .args(["--log-format", "json", "run", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("STATUSRELAY_LOG", "warn,statusrelay_core::watcher=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_statusrelay")
}

pub async fn statusrelay(args: &[&str]) -> Output {
    tokio::process::Command::new(binary())
        .args(args)
        .env("STATUSRELAY_LOG", "info")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

pub async fn run_once(config: &Path) -> Output {
    let output = statusrelay(&["run", "--once", "--config", config.to_str().unwrap()]).await;
    assert_no_panic(&output);
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn assert_no_panic(output: &Output) {
    let err = stderr(output);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "the process panicked:\n{err}"
    );
}

/// A benchmark's numeric knob from the environment, or its default.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
