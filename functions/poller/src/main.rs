//! Poller Lambda: EventBridge schedule in → poll this shard's providers → changed state items
//! written to DynamoDB; or an SQS batch of queued polls (hot rounds, pushes) → those providers.
//! Clients are built once per container; the handler is one call.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use statusrelay_core::aws::hot::{HotQueue, requests_in};
use statusrelay_core::aws::poller::{Poller, PollerReport, ShardInput};
use statusrelay_core::aws::{init_logging, init_or_report, required_env, sdk_config, table::Table};
use statusrelay_core::config::Scope;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let poller = init_or_report(async {
        let aws = sdk_config().await;
        let config = statusrelay_core::ssm::load_config(
            &required_env("STATUSRELAY_CONFIG")?,
            &aws_sdk_ssm::Client::new(&aws),
            Scope::Providers,
        )
        .await?;
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&aws),
            required_env("TABLE_NAME")?,
        );
        let keep_days = std::env::var("FINISHED_TTL_DAYS")
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(30);
        let poller = Poller::new(&config, table, keep_days);
        // Adaptive polling is on where the template made a queue for it.
        Ok::<_, Error>(match std::env::var("HOT_QUEUE_URL") {
            Ok(url) if !url.is_empty() => {
                poller.with_hot_queue(HotQueue::new(aws_sdk_sqs::Client::new(&aws), url))
            }
            _ => poller,
        })
    })
    .await?;
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report: PollerReport = match requests_in(&event.payload) {
            Some(queued) => poller.run_requests(queued).await?,
            // A schedule event, or {"shard": i, "shards": n} from a sharded schedule.
            None => {
                let input: ShardInput = serde_json::from_value(event.payload).unwrap_or_default();
                poller.run(input).await?
            }
        };
        Ok::<_, Error>(report)
    }))
    .await
}
