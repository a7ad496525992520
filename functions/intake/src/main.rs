//! Intake Lambda: a vendor's webhook through the function URL → checked against the provider's
//! `intake_token` → one queued poll of that provider. Clients are built once per container;
//! the handler is one call.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use statusrelay_core::aws::hot::HotQueue;
use statusrelay_core::aws::intake::Intake;
use statusrelay_core::aws::{init_logging, init_or_report, required_env, sdk_config, table::Table};
use statusrelay_core::config::Scope;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let intake = init_or_report(async {
        let aws = sdk_config().await;
        let config = statusrelay_core::ssm::load_config(
            &required_env("STATUSRELAY_CONFIG")?,
            &aws_sdk_ssm::Client::new(&aws),
            Scope::Intake,
        )
        .await?;
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&aws),
            required_env("TABLE_NAME")?,
        );
        let queue = HotQueue::new(
            aws_sdk_sqs::Client::new(&aws),
            required_env("HOT_QUEUE_URL")?,
        );
        Ok::<_, Error>(Intake::new(&config, table, queue))
    })
    .await?;
    let intake = &intake;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(intake.handle(&event.payload).await)
    }))
    .await
}
