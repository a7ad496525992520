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
}
