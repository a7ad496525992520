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
