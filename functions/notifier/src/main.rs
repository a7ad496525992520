//! Notifier Lambda: DynamoDB stream batch in → events → routes and SNS → batch item failures
//! out. Clients are built once per container; the handler is one call.

use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use statusrelay_core::aws::emf::Emf;
use statusrelay_core::aws::notifier::Notifier;
use statusrelay_core::aws::{init_logging, init_or_report, required_env, sdk_config, table::Table};
use statusrelay_core::channels::Clients;
use statusrelay_core::channels::sns::SnsTopic;
use statusrelay_core::config::Scope;
use statusrelay_core::delivery::RetryPolicy;

/// mimalloc instead of glibc's malloc: building events and payloads makes many small
/// allocations while the decoded batch sits on the heap; the handler takes ~18 µs per record
/// on mimalloc and ~24 µs on glibc's allocator (BENCHMARKS.md, notifier throughput). The
/// template sets `MIMALLOC_ARENA_EAGER_COMMIT=0`: committing the first arena up front slowed
/// one cold start in ten.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let notifier = init_or_report(async {
        let aws = sdk_config().await;
        let config = statusrelay_core::ssm::load_config(
            &required_env("STATUSRELAY_CONFIG")?,
            &aws_sdk_ssm::Client::new(&aws),
            Scope::Everything,
        )
        .await?;
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&aws),
            required_env("TABLE_NAME")?,
        );
        let sns = aws_sdk_sns::Client::new(&aws);
        let topic = std::env::var("TOPIC_ARN")
            .ok()
            .filter(|arn| !arn.is_empty())
            .map(|arn| SnsTopic::new(sns.clone(), arn));
        let clients = Clients { sns: Some(sns) };
        // Lambda retries the record anyway: keep in-invocation retries short.
        let policy = RetryPolicy {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            retries_per_delivery: 2,
            retries_per_run: 10,
            max_retry_after: Duration::from_secs(5),
        };
        let history_days = std::env::var("HISTORY_DAYS")
            .ok()
            .and_then(|d| d.trim().parse().ok())
            .unwrap_or(statusrelay_core::aws::history::DEFAULT_HISTORY_DAYS);
        Ok::<_, Error>(
            Notifier::new(&config, table, topic, &clients, policy).with_history_days(history_days),
        )
    })
    .await?;
    let notifier = &notifier;
    let emf = &Emf::from_env();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let deadline = std::time::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let response = notifier.handle(event.payload, Some(deadline)).await;
        // One EMF document per invocation (none when it delivered nothing).
        if let Some(emf) = emf {
            let (metrics, properties) = notifier.metrics().take();
            emf.emit(&metrics, &properties);
        }
        Ok::<DynamoDbEventResponse, Error>(response)
    }))
    .await
}
