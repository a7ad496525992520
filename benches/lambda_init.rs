//! Lambda init time: from process start to the function's first Runtime API request
//! (`GET /next`), for the poller, the notifier and the dashboard, plus their binary sizes.
//!
//! `cargo build --release -p statusrelay-poller -p statusrelay-notifier -p statusrelay-dashboard && cargo bench --bench lambda_init`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::Workspace;
use support::lambda::{Function, RuntimeApi, function_binary};

const RUNS: usize = 30;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let work = Workspace::new();
        let config = work.write_config(
            "[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"https://hooks.example.com/statusrelay\"\n",
        );
        println!("| function | binary size | init p50 | init p90 | init max |");
        println!("|---|---|---|---|---|");
        for name in [
            "statusrelay-poller",
            "statusrelay-notifier",
            "statusrelay-dashboard",
        ] {
            let size = std::fs::metadata(function_binary(name)).unwrap().len();
            let mut samples = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let api = RuntimeApi::start().await;
                // Static credentials and region, as Lambda provides them: init makes no call.
                let env: Vec<(String, String)> = [
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                    ("AWS_SECRET_ACCESS_KEY", "example"),
                    ("AWS_SESSION_TOKEN", "example"),
                    ("STATUSRELAY_CONFIG", config.to_str().unwrap()),
                    ("TABLE_NAME", "statusrelay"),
                    ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:statusrelay"),
                    // As infra/template.yaml sets it for the notifier (mimalloc).
                    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
                    // The dashboard behind IAM reads no token parameter: no call at init, as
                    // the others (with a token it makes one SSM call, as the config from SSM).
                    ("DASHBOARD_AUTH", "aws_iam"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
                let mut function = Function::spawn(name, &api, &env);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let first = loop {
                    if let Some(first) = api.first_next() {
                        break first;
                    }
                    assert!(tokio::time::Instant::now() < deadline, "{name} never asked for work: {:?}", api.init_error());
                    tokio::time::sleep(Duration::from_micros(200)).await;
                };
                samples.push(first - function.spawned_at);
                function.child.kill().await.unwrap();
            }
            samples.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "| {name} | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1} ms |",
                size as f64 / 1048576.0,
                ms(samples[RUNS / 2]),
                ms(samples[RUNS * 9 / 10]),
                ms(samples[RUNS - 1])
            );
        }
    });
}
