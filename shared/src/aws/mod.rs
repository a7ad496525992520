//! The serverless shape: the poller writes state items to DynamoDB, the notifier turns their
//! stream records into events and delivers them (routes and an SNS topic), with a delivery log
//! that makes replays harmless. `functions/*` are thin wrappers around these.

pub mod notifier;
pub mod poller;
pub mod table;

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
