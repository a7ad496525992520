//! The serverless shape: the poller writes state items to DynamoDB, the notifier turns their
//! stream records into events and delivers them (routes and an SNS topic), with a delivery log
//! that makes replays harmless. `functions/*` are thin wrappers around these.

pub mod board;
#[cfg(feature = "web")]
pub mod dashboard;
pub mod emf;
pub mod history;
pub mod hot;
pub mod intake;
pub mod notifier;
pub mod poller;
#[cfg(feature = "web")]
pub mod read_side;
pub mod shards;
pub mod table;

use std::time::Duration;

/// One attempt of an AWS call (DynamoDB, SNS, SSM: tens of milliseconds when healthy) is
/// abandoned after this long and retried by the SDK (standard mode, 3 attempts, overridable
/// with `AWS_MAX_ATTEMPTS`). The SDK's own default is no timeout at all: a connection that
/// stops answering would hold the function until Lambda kills it, the notifier's whole batch
/// with it. Three attempts and their backoff stay under 10 s: inside Lambda's 10 s init phase
/// for the SSM reads of a cold start, and well inside the functions' 55-60 s.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK config the functions build their clients from: the environment's region,
/// credentials and endpoint, with [`AWS_ATTEMPT_TIMEOUT`] (or
/// `STATUSRELAY_AWS_ATTEMPT_TIMEOUT`, a humantime duration; the fault tests use 1 s).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let attempt = std::env::var("STATUSRELAY_AWS_ATTEMPT_TIMEOUT")
        .ok()
        .and_then(|value| humantime::parse_duration(&value).ok())
        .unwrap_or(AWS_ATTEMPT_TIMEOUT);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(attempt)
        .operation_attempt_timeout(attempt)
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// JSON logs for CloudWatch, filtered by `RUST_LOG` (Lambda adds the timestamps).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .without_time()
        .init();
}

/// A required environment variable, or an error naming it.
pub fn required_env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
}

/// Runs a function's cold start (reading its config, building clients); a failure is reported
/// to the Lambda Runtime API's `/runtime/init/error` before it is returned (and the process
/// exits non-zero). Lambda then fails the invocation with the message instead of a bare
/// `Runtime.ExitError`, and the next invocation starts a fresh container.
pub async fn init_or_report<T, E: std::fmt::Display>(
    init: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result = init.await;
    if let Err(err) = &result {
        tracing::error!(error = %err, "cold start failed");
        report_init_error(&err.to_string()).await;
    }
    result
}

async fn report_init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({ "errorType": "Runtime.InitError", "errorMessage": message });
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    if let Err(err) = sent {
        tracing::error!(error = %err, "the init error could not be reported to the runtime API");
    }
}
