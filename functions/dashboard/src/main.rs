//! Dashboard Lambda: a function URL request (payload 2.0) → the read side's router over the
//! table → the page, feed, calendar or JSON. The same pages the watcher serves locally. The
//! config, the token and the clients are read once per container; the handler is the router.

use lambda_http::Error;
use statusrelay_core::aws::read_side::{access_from_env, router};
use statusrelay_core::aws::{init_logging, init_or_report, required_env, sdk_config, table::Table};
use statusrelay_core::config::Scope;

/// mimalloc, as the other functions: rendering a page allocates many small strings.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let app = init_or_report(async {
        let aws = sdk_config().await;
        let ssm = aws_sdk_ssm::Client::new(&aws);
        let source = required_env("STATUSRELAY_CONFIG")?;
        let (config, access) = tokio::join!(
            statusrelay_core::ssm::load_config(&source, &ssm, Scope::Providers),
            access_from_env(&ssm),
        );
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&aws),
            required_env("TABLE_NAME")?,
        );
        let shards: u32 = std::env::var("POLLER_SHARDS")
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(1);
        Ok::<_, Error>(router(config?.providers, table, shards, access?))
    })
    .await?;
    lambda_http::run(app).await
}
