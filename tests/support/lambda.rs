//! A Lambda Runtime API on loopback: function binaries run as they would on Lambda (they poll
//! `/next`, post `/response` or `/error`), and the test invokes them with real events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<serde_json::Value, String>>;

struct Inner {
    queue: tokio::sync::Mutex<mpsc::Receiver<(String, Reply)>>,
    pending: Mutex<HashMap<String, Reply>>,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    counter: Mutex<u64>,
    /// What each invocation's deadline leaves the function (Lambda's timeout).
    time_left: Mutex<Duration>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    sender: mpsc::Sender<(String, Reply)>,
    inner: Arc<Inner>,
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    inner
        .first_next
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let Some((payload, reply)) = inner.queue.lock().await.recv().await else {
        // The test is over: like a frozen Lambda sandbox, never answer.
        return std::future::pending().await;
    };
    let id = {
        let mut counter = inner.counter.lock().unwrap();
        *counter += 1;
        format!("req-{:08}", *counter)
    };
    inner.pending.lock().unwrap().insert(id.clone(), reply);
    let time_left = *inner.time_left.lock().unwrap();
    let deadline = chrono::Utc::now().timestamp_millis() + time_left.as_millis() as i64;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:statusrelay"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0"
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    (headers, payload).into_response()
}

async fn respond(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    if let Some(reply) = inner.pending.lock().unwrap().remove(&id) {
        let value = serde_json::from_slice(&body).map_err(|e| format!("response is not JSON: {e}"));
        let _ = reply.send(value);
    }
    StatusCode::ACCEPTED
}

async fn fail(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some(reply) = inner.pending.lock().unwrap().remove(&id) {
        let _ = reply.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(inner): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    *inner.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// The deadline later invocations get, from when they are handed out (60 s by default,
    /// the notifier's timeout in the template).
    pub fn set_time_left(&self, time_left: Duration) {
        *self.inner.time_left.lock().unwrap() = time_left;
    }

    pub async fn start() -> RuntimeApi {
        let (sender, receiver) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            queue: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            first_next: Mutex::new(None),
            init_error: Mutex::new(None),
            counter: Mutex::new(0),
            time_left: Mutex::new(Duration::from_secs(60)),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        RuntimeApi {
            addr,
            sender,
            inner,
        }
    }

    pub async fn invoke(&self, payload: &serde_json::Value) -> Result<serde_json::Value, String> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((payload.to_string(), reply))
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_secs(90), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the function went away".into()),
            Err(_) => Err(format!(
                "no answer in 90 s; init error: {:?}",
                self.init_error()
            )),
        }
    }

    pub fn first_next(&self) -> Option<Instant> {
        *self.inner.first_next.lock().unwrap()
    }

    pub fn init_error(&self) -> Option<String> {
        self.inner.init_error.lock().unwrap().clone()
    }
}

/// The workspace's build of a function binary (./scripts/test builds them before the tests).
pub fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p {name}` (./scripts/test does)",
        path.display()
    );
    path
}

/// A function process attached to a runtime API.
pub struct Function {
    pub child: tokio::process::Child,
    pub spawned_at: Instant,
}

/// A function's stdout, line by line as it prints them: its JSON logs and its EMF documents.
#[derive(Clone, Default)]
pub struct Stdout(Arc<Mutex<Vec<String>>>);

impl Stdout {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The Embedded Metric Format documents printed so far (lines with an `_aws` member).
    pub fn emf_documents(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|value| value.get("_aws").is_some())
            .collect()
    }

    /// The EMF documents once there are `n` (the pipe is read by a task, a moment after the
    /// function printed them); panics after 10 s.
    pub async fn wait_for_documents(&self, n: usize) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let documents = self.emf_documents();
            if documents.len() >= n {
                return documents;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} EMF documents, waited for {n}",
                documents.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Function {
    pub fn spawn(name: &str, api: &RuntimeApi, env: &[(String, String)]) -> Function {
        Function::spawn_with(name, api, env, Stdio::null())
    }

    /// As [`Function::spawn`], with its stdout kept (what CloudWatch Logs would receive).
    pub fn spawn_capturing(
        name: &str,
        api: &RuntimeApi,
        env: &[(String, String)],
    ) -> (Function, Stdout) {
        use tokio::io::AsyncBufReadExt;
        let mut function = Function::spawn_with(name, api, env, Stdio::piped());
        let stdout = Stdout::default();
        let pipe = function.child.stdout.take().unwrap();
        let lines = stdout.clone();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.0.lock().unwrap().push(line);
            }
        });
        (function, stdout)
    }

    fn spawn_with(
        name: &str,
        api: &RuntimeApi,
        env: &[(String, String)],
        stdout: Stdio,
    ) -> Function {
        let mut command = tokio::process::Command::new(function_binary(name));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("RUST_LOG", "info")
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let spawned_at = Instant::now();
        Function {
            child: command.spawn().unwrap(),
            spawned_at,
        }
    }
}
