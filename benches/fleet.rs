//! Fleet benchmark: a cold and a steady-state watcher cycle over N loopback status pages, each
//! beside its network floor (the same fetches, nothing else). See BENCHMARKS.md.
//!
//! `cargo build --release --examples && cargo bench --bench fleet` (N = 1000), or with
//! `FLEET_PROVIDERS=5000`. `FLEET_LATENCY_MS` (default 50) and `FLEET_CONCURRENCY` (default:
//! the watcher's default) tune the run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::fleet::{FleetOptions, RunFigures, run_fleet};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let providers = env_or("FLEET_PROVIDERS", 1000) as usize;
    let latency = Duration::from_millis(env_or("FLEET_LATENCY_MS", 50));
    let concurrency = env_or(
        "FLEET_CONCURRENCY",
        statusrelay_core::config::DEFAULT_CONCURRENCY as u64,
    ) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = FleetOptions::new(providers, latency, concurrency);
    let report = runtime.block_on(run_fleet(options));
    println!(
        "fleet: {providers} providers, pages of {:.1}-{:.1} KiB, {latency:?} latency, concurrency {concurrency}; \
         {}‰ changed between cycles, {}‰ failing (500), {}‰ slow (+1 s)",
        report.page_bytes.0 as f64 / 1024.0,
        report.page_bytes.1 as f64 / 1024.0,
        options.changed_per_mille,
        options.failing_per_mille,
        options.slow_per_mille,
    );
    println!(
        "| providers | cycle | wall | pages/s | CPU time | peak RSS | raw-fetch floor: wall / CPU / RSS | cycle ÷ floor | requests (304) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let row = |name: &str, c: &support::fleet::CycleFigures| {
        let f = |r: &RunFigures| {
            format!(
                "{:.2} s / {:.2} s / {:.1} MiB",
                r.wall.as_secs_f64(),
                r.cpu.as_secs_f64(),
                r.max_rss_kib as f64 / 1024.0
            )
        };
        println!(
            "| {providers} | {name} | {:.2} s | {:.0} | {:.2} s | {:.1} MiB | {} | {:.2} | {} ({}) |",
            c.cycle.wall.as_secs_f64(),
            providers as f64 / c.cycle.wall.as_secs_f64(),
            c.cycle.cpu.as_secs_f64(),
            c.cycle.max_rss_kib as f64 / 1024.0,
            f(&c.floor),
            c.overhead(),
            c.requests,
            c.not_modified,
        );
    };
    row("cold", &report.cold);
    row("steady", &report.steady);
    assert!(
        report.cold.cycle.success && report.steady.cycle.success,
        "a cycle failed: {report:?}"
    );
    println!(
        "webhook deliveries: {} after the cold cycle, {} after the steady one",
        report.delivered.0, report.delivered.1
    );
    cost_model(
        report.steady.cycle.cpu.as_secs_f64() / providers as f64,
        report.steady.floor.wall.as_secs_f64() / providers as f64,
    );
}

/// Monthly AWS cost of the serverless deployment, from this run's steady-state figures.
///
/// Assumptions (us-east-1 list prices, free tiers ignored): Lambda arm64 $0.0000133334 per
/// GB-s and $0.20 per million requests, CPU share proportional to memory (1,769 MB = one
/// vCPU), Graviton as fast as this machine's core; the poller's CPU per provider is this
/// run's steady-state CPU (process start included, so pessimistic for a warm container), its
/// network wait this run's raw-fetch floor per provider, and it is billed for the larger of
/// the two at the cheapest memory size; TLS connections are reused between cycles (a 1-minute
/// schedule keeps them warm; full handshakes every cycle are not modelled). Per provider and
/// month: 30 state changes (30 item writes of 4 WRU, 30 meta writes of 2 WRU, 30 events, 30
/// notifier invocations of 200 ms at 128 MB, 30 SNS publishes), 0.1 MB of DynamoDB storage;
/// 1 KB of logs per invocation. DynamoDB on-demand $0.625 per million WRU, storage $0.25 per
/// GB-month; stream reads by Lambda are free; SNS $0.50 per million publishes (deliveries to
/// SQS and HTTPS not counted; e-mail $2 per 100,000); CloudWatch Logs $0.50 per GB;
/// EventBridge schedules are free.
fn cost_model(cpu_per_provider: f64, wait_per_provider: f64) {
    const GB_SECOND: f64 = 0.000_013_333_4;
    const REQUEST: f64 = 0.20 / 1e6;
    println!();
    println!(
        "cost model: {:.3} ms CPU and {:.3} ms of network wait per provider per cycle (this run)",
        cpu_per_provider * 1e3,
        wait_per_provider * 1e3
    );
    println!(
        "| providers | schedule | poller memory | poller duration | Lambda (both) | DynamoDB | SNS + logs | total per month |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for providers in [100.0, 1_000.0, 5_000.0] {
        for (schedule, cycles) in [("1 min", 43_200.0), ("5 min", 8_640.0)] {
            let cpu = cpu_per_provider * providers;
            let wait = wait_per_provider * providers;
            let (memory, duration, poller) = [128.0, 256.0, 512.0, 1024.0, 1769.0]
                .into_iter()
                .map(|mb: f64| {
                    let duration = (cpu / (mb / 1769.0).min(1.0)).max(wait) + 0.010;
                    let cost = cycles * (duration * mb / 1024.0 * GB_SECOND + REQUEST);
                    (mb, duration, cost)
                })
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .unwrap();
            let changes = 30.0 * providers;
            let notifier = changes * (0.2 * 0.125 * GB_SECOND + REQUEST);
            let dynamodb = changes * (4.0 + 2.0) * 0.625 / 1e6 + providers * 0.1 / 1024.0 * 0.25;
            let logs = (cycles + changes) * 1024.0 / 1e9 * 0.50;
            let sns = changes * 0.50 / 1e6;
            println!(
                "| {providers:.0} | {schedule} | {memory:.0} MB | {duration:.2} s | ${:.2} | ${dynamodb:.2} | ${:.2} | **${:.2}** |",
                poller + notifier,
                sns + logs,
                poller + notifier + dynamodb + sns + logs
            );
        }
    }
}
