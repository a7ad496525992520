//! Fleet benchmark: one watcher cycle over N loopback status pages.
//!
//! `cargo bench --bench fleet` (N = 1000), or `FLEET_PROVIDERS=5000 cargo bench --bench fleet`.
//! `FLEET_LATENCY_MS` (default 50) and `FLEET_CONCURRENCY` (default 32) tune the run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

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
    let concurrency = env_or("FLEET_CONCURRENCY", 32) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(support::fleet::run_fleet(providers, latency, concurrency));
    assert!(
        report.cold.success && report.warm.success,
        "a cycle failed: {report:?}"
    );
    println!(
        "fleet: {providers} providers, {} KiB of documents per page, {latency:?} latency, concurrency {concurrency}",
        report.page_bytes / 1024
    );
    println!(
        "documents: summary {} B, incidents {} B, maintenances {} B",
        report.document_bytes[0], report.document_bytes[1], report.document_bytes[2]
    );
    println!("| cycle | wall | pages/s | CPU time | peak RSS |");
    println!("|---|---|---|---|---|");
    for (name, c) in [
        ("cold (all 200, baseline)", report.cold),
        ("warm (all 304)", report.warm),
    ] {
        println!(
            "| {name} | {:.2} s | {:.0} | {:.2} s | {:.1} MiB |",
            c.wall.as_secs_f64(),
            providers as f64 / c.wall.as_secs_f64(),
            c.cpu.as_secs_f64(),
            c.max_rss_kib as f64 / 1024.0
        );
    }
    println!(
        "requests {}, of which 304: {}, webhook deliveries: {}",
        report.requests, report.not_modified, report.delivered
    );
}
