//! Poller Lambda: EventBridge schedule in → poll this shard's providers → changed state items
//! written to DynamoDB (or, sharded, one run per shard queued); an SQS shard run → that
//! shard; an SQS batch of queued polls (hot rounds, pushes) → those providers. Clients are
//! built once per container; the handler is one call.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use statusrelay_core::aws::emf::Emf;
use statusrelay_core::aws::hot::{HotQueue, requests_in};
use statusrelay_core::aws::poller::{Poller, PollerReport, ShardInput};
use statusrelay_core::aws::shards::{ShardQueue, shard_runs_in};
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
        let shards: u32 = match std::env::var("POLLER_SHARDS") {
            Ok(n) => n
                .trim()
                .parse()
                .map_err(|_| format!("POLLER_SHARDS: {n:?} is not a shard count"))?,
            Err(_) => 1,
        };
        let mut poller = Poller::new(&config, table, keep_days, shards);
        let sqs = aws_sdk_sqs::Client::new(&aws);
        // Adaptive polling is on where the template made a queue for it.
        let hot_queue = std::env::var("HOT_QUEUE_URL").unwrap_or_default();
        if !hot_queue.trim().is_empty() {
            poller = poller.with_hot_queue(HotQueue::new(sqs.clone(), hot_queue.trim()));
        }
        if shards > 1 {
            let url = required_env("SHARD_QUEUE_URL")?;
            poller = poller.with_shard_queue(ShardQueue::new(sqs, url));
        }
        Ok::<_, Error>(poller)
    })
    .await?;
    let poller = &poller;
    let emf = &Emf::from_env();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let result = handle(poller, event.payload).await;
        // One EMF document per invocation, failed ones included (their failures count most).
        if let Some(emf) = emf {
            emf.emit(&poller.metrics().take(), &Default::default());
        }
        result
    }))
    .await
}

async fn handle(poller: &Poller, payload: Value) -> Result<PollerReport, Error> {
    if let Some(runs) = shard_runs_in(&payload) {
        return Ok(poller.run_shards(runs).await?);
    }
    let report: PollerReport = match requests_in(&payload) {
        Some(queued) => poller.run_requests(queued).await?,
        // A schedule event, or {"shard": i, "shards": n} from a sharded schedule.
        None => {
            let input: ShardInput = serde_json::from_value(payload).unwrap_or_default();
            poller.run(input).await?
        }
    };
    Ok(report)
}
