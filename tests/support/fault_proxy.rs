//! A fault-injecting HTTP proxy in front of the AWS emulator. The functions' `AWS_ENDPOINT_URL`
//! points here; every request is forwarded to moto unless a rule set by the test picks it, in
//! which case it is answered with a service error, held, or forwarded and then left unanswered.
//!
//! Requests are told apart the way the services tell them apart: the `X-Amz-Target` header of
//! the JSON protocols (DynamoDB `DynamoDB_20120810.PutItem`, DynamoDB Streams, SSM
//! `AmazonSSM.GetParameters`) and the `Action` form field of the query protocol (SNS
//! `Action=Publish`). A rule may also require a piece of the body (`DLOG#` picks the delivery
//! log's items, `"META"` the provider meta), so a test can fail one kind of write and not another.
//!
//! Built on hyper itself rather than axum: a dropped connection (forward, then close without
//! an answer) needs the connection, which axum handlers never see.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// How a picked request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsFault {
    /// 400 with the service's throttling error (`ThrottlingException`, SNS `Throttling`).
    Throttling,
    /// 400 `ProvisionedThroughputExceededException` (DynamoDB).
    ThroughputExceeded,
    /// 500 (`InternalServerError`, SNS `InternalError`).
    ServerError,
    /// Never answered and never forwarded: the client's timeout is all that ends it.
    Hold,
    /// Forwarded and applied by the emulator, then the connection is closed without an answer.
    DropAfterApply,
}

/// Which requests fail, and how.
#[derive(Clone, Debug)]
pub struct Rule {
    operation: &'static str,
    body_contains: Option<String>,
    /// Matching requests let through before the rule fires.
    after: usize,
    /// How many times it fires (`None`: until cleared).
    times: Option<usize>,
    fault: AwsFault,
    matched: usize,
    fired: usize,
}

impl Rule {
    /// Every request for `operation` (`PutItem`, `Publish`, `GetParameters`…) fails.
    pub fn new(operation: &'static str, fault: AwsFault) -> Rule {
        Rule {
            operation,
            body_contains: None,
            after: 0,
            times: None,
            fault,
            matched: 0,
            fired: 0,
        }
    }

    /// Only requests whose body contains `text`.
    pub fn matching(mut self, text: &str) -> Rule {
        self.body_contains = Some(text.to_owned());
        self
    }

    /// The first `n` matching requests go through.
    pub fn after(mut self, n: usize) -> Rule {
        self.after = n;
        self
    }

    /// Fires `n` times, then lets requests through.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = Some(n);
        self
    }

    fn picks(&mut self, operation: &str, body: &[u8]) -> Option<AwsFault> {
        if operation != self.operation {
            return None;
        }
        if let Some(text) = &self.body_contains
            && !contains(body, text.as_bytes())
        {
            return None;
        }
        self.matched += 1;
        if self.matched <= self.after || self.times.is_some_and(|n| self.fired >= n) {
            return None;
        }
        self.fired += 1;
        Some(self.fault)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<Rule>,
    /// Every request's operation, in arrival order, with the fault it got.
    log: Vec<(String, Option<AwsFault>)>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

/// A held request is released after this long, long after any client gave up on it.
const HOLD: Duration = Duration::from_secs(120);

impl FaultProxy {
    pub async fn start(upstream: &str) -> FaultProxy {
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, client, upstream) =
                    (accept_state.clone(), client.clone(), upstream.clone());
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (state, client, upstream) =
                        (state.clone(), client.clone(), upstream.clone());
                    async move { handle(state, client, upstream, request).await }
                });
                tokio::spawn(async move {
                    // An Err from the service (DropAfterApply) ends the connection unanswered.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { addr, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Rules are tried in the order added; the first that fires answers the request, and the
    /// rules after it do not count that request towards their `after`.
    pub fn add(&self, rule: Rule) {
        self.state.lock().unwrap().rules.push(rule);
    }

    /// Removes every rule: from now on every request reaches the emulator.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// How many requests for `operation` arrived (faulted or not).
    pub fn requests(&self, operation: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.log.iter().filter(|(op, _)| op == operation).count()
    }

    /// How many requests for `operation` got a fault.
    pub fn faulted(&self, operation: &str) -> usize {
        let state = self.state.lock().unwrap();
        state
            .log
            .iter()
            .filter(|(op, fault)| op == operation && fault.is_some())
            .count()
    }

    /// Waits until `operation` has been faulted `n` times (a held request has arrived, say).
    pub async fn wait_faulted(&self, operation: &str, n: usize, within: Duration) {
        let started = Instant::now();
        while self.faulted(operation) < n {
            assert!(
                started.elapsed() < within,
                "{operation} was faulted {} times, not {n}, within {within:?}",
                self.faulted(operation)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A concrete error type: hyper only needs to know the connection is to be dropped.
type ProxyError = std::io::Error;

async fn handle(
    state: Arc<Mutex<ProxyState>>,
    client: reqwest::Client,
    upstream: String,
    request: Request<Incoming>,
) -> Result<Response<Body>, ProxyError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(Body::new(body), usize::MAX)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let operation = operation_of(&parts.headers, &body);
    let fault = {
        let mut state = state.lock().unwrap();
        let fault = state
            .rules
            .iter_mut()
            .find_map(|rule| rule.picks(&operation, &body));
        state.log.push((operation.clone(), fault));
        fault
    };
    let json = parts.headers.contains_key("x-amz-target");
    match fault {
        None => forward(&client, &upstream, &parts, body).await,
        Some(AwsFault::Throttling) => Ok(service_error(
            json,
            StatusCode::BAD_REQUEST,
            if json {
                "ThrottlingException"
            } else {
                "Throttling"
            },
            "Rate exceeded",
        )),
        Some(AwsFault::ThroughputExceeded) => Ok(service_error(
            json,
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )),
        Some(AwsFault::ServerError) => Ok(service_error(
            json,
            StatusCode::INTERNAL_SERVER_ERROR,
            if json {
                "InternalServerError"
            } else {
                "InternalError"
            },
            "Internal server error",
        )),
        Some(AwsFault::Hold) => {
            tokio::time::sleep(HOLD).await;
            Ok(service_error(
                json,
                StatusCode::GATEWAY_TIMEOUT,
                "RequestTimeout",
                "held by the fault proxy",
            ))
        }
        Some(AwsFault::DropAfterApply) => {
            forward(&client, &upstream, &parts, body).await?;
            Err(std::io::Error::other(format!(
                "{operation}: applied upstream, connection dropped by the fault proxy"
            )))
        }
    }
}

/// `PutItem` from `X-Amz-Target: DynamoDB_20120810.PutItem`, `Publish` from `Action=Publish&…`.
fn operation_of(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The error document of the request's protocol: JSON `__type` or the query protocol's XML.
fn service_error(json: bool, status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.0",
            serde_json::json!({ "__type": code, "message": message }).to_string(),
        )
    } else {
        let kind = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "fault-proxy")
        .body(Body::from(body))
        .unwrap()
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> Result<Response<Body>, ProxyError> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = client.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name.as_str()) {
            request = request.header(name, value);
        }
    }
    let answer = request
        .body(body)
        .send()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !is_hop_by_hop(name.as_str()) {
            response = response.header(name, value);
        }
    }
    let body = answer
        .bytes()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(response.body(Body::from(body)).unwrap())
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive"
    )
}
