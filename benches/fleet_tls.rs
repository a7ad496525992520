//! The fleet over HTTPS, watched by one long-running `statusrelay run` (connection reuse and
//! TLS session resumption only exist within one process): a cold cycle and steady ones, for
//! each server behaviour, beside plain HTTP. See tests/support/tls_fleet.rs for how the
//! unchanged binary reaches `p<i>.fleet.test` (HTTPS_PROXY) and trusts the bench's own CA
//! (SSL_CERT_FILE), and BENCHMARKS.md for figures.
//!
//! `cargo build --release --bins --examples -p statusrelay && cargo bench --bench fleet_tls`
//! (N = 1000, mixed pages). Knobs: `FLEET_PROVIDERS`, `FLEET_LATENCY_MS` (50),
//! `FLEET_CONCURRENCY`, `FLEET_PAGES=full`, `FLEET_TLS_MODES` (comma list of `plain`, `full`,
//! `resumption`, `keepalive`; all by default), `FLEET_TLS_INTERVAL_S` (the watcher's interval,
//! 20; longer than a cycle), `FLEET_TLS_STEADY` (steady cycles, 2), `FLEET_BINARY` (another
//! `statusrelay` build to watch with, e.g. one from before a change).

#[path = "../tests/support/mod.rs"]
mod support;

use support::env_or;

use std::path::PathBuf;
use std::time::Duration;

use support::fleet::FleetOptions;
use support::tls_fleet::{ServerMode, Transport, WatchOptions, WatchReport, watch_fleet};

fn main() {
    let providers = env_or("FLEET_PROVIDERS", 1000) as usize;
    let latency = Duration::from_millis(env_or("FLEET_LATENCY_MS", 50));
    let concurrency = env_or(
        "FLEET_CONCURRENCY",
        statusrelay_core::config::DEFAULT_CONCURRENCY as u64,
    ) as usize;
    let mut fleet = FleetOptions::new(providers, latency, concurrency);
    fleet.full_size = std::env::var("FLEET_PAGES").as_deref() == Ok("full");
    let interval = Duration::from_secs(env_or("FLEET_TLS_INTERVAL_S", 20));
    let steady_cycles = env_or("FLEET_TLS_STEADY", 2) as usize;
    let binary = std::env::var("FLEET_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(support::binary()));
    let modes = std::env::var("FLEET_TLS_MODES")
        .unwrap_or_else(|_| "plain,full,resumption,keepalive".to_owned());
    let transports: Vec<Transport> = modes
        .split(',')
        .map(|m| match m.trim() {
            "plain" => Transport::Plain,
            "full" => Transport::Https(ServerMode::FullHandshakes),
            "resumption" => Transport::Https(ServerMode::Resumption),
            "keepalive" => Transport::Https(ServerMode::KeepAlive),
            other => panic!("FLEET_TLS_MODES: unknown mode {other:?}"),
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "fleet over TLS: {providers} providers on hosts of their own, {latency:?} latency, concurrency {concurrency}, \
         interval {interval:?}; {}‰ changed after the cold cycle, {}‰ failing (500), {}‰ slow (+1 s); watcher {}",
        fleet.changed_per_mille,
        fleet.failing_per_mille,
        fleet.slow_per_mille,
        binary.display()
    );
    let mut reports = Vec::new();
    for transport in transports {
        let report = runtime.block_on(watch_fleet(WatchOptions {
            fleet,
            transport,
            interval,
            steady_cycles,
            binary: binary.clone(),
        }));
        // Printed as it comes, so a long run shows its progress.
        eprintln!("{}: {:?}", transport.label(), report.cycles);
        reports.push(report);
    }
    if let Some(first) = reports.first() {
        println!(
            "pages of {:.1}-{:.1} KiB",
            first.page_bytes.0 as f64 / 1024.0,
            first.page_bytes.1 as f64 / 1024.0
        );
    }
    println!(
        "| transport | cycle | rounds' time | CPU time | CPU per provider | peak RSS (VmHWM) | requests (304) | connections | full handshakes | resumed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for report in &reports {
        print_rows(report);
    }
    print_tls_extra(&reports);
}

/// What reconnecting costs per provider and steady cycle beyond kept connections, for the
/// cost model (`FLEET_TLS_EXTRA` of benches/fleet.rs): the mean steady CPU per provider of
/// the resumption and full-handshake modes, less the keep-alive mode's.
fn print_tls_extra(reports: &[WatchReport]) {
    let steady_ms = |mode: ServerMode| {
        let report = reports
            .iter()
            .find(|r| r.transport == Transport::Https(mode))?;
        let steady = &report.cycles[1..];
        if steady.is_empty() {
            return None;
        }
        let cpu: f64 = steady.iter().map(|c| c.cpu.as_secs_f64()).sum();
        Some(cpu * 1e3 / (steady.len() * report.providers) as f64)
    };
    let (Some(kept), Some(resumed), Some(full)) = (
        steady_ms(ServerMode::KeepAlive),
        steady_ms(ServerMode::Resumption),
        steady_ms(ServerMode::FullHandshakes),
    ) else {
        return;
    };
    println!(
        "TLS beyond kept connections, per provider and steady cycle: {:.3} ms reconnecting with \
         resumed sessions, {:.3} ms with full handshakes (FLEET_TLS_EXTRA=\"{:.3},{:.3}\")",
        resumed - kept,
        full - kept,
        resumed - kept,
        full - kept
    );
}

fn print_rows(report: &WatchReport) {
    for (n, c) in report.cycles.iter().enumerate() {
        let name = if n == 0 {
            "cold".to_owned()
        } else {
            format!("steady {n}")
        };
        let tls = if report.transport == Transport::Plain {
            "– | – | –".to_owned()
        } else {
            format!("{} | {} | {}", c.tls.connections, c.tls.full, c.tls.resumed)
        };
        println!(
            "| {} | {name} | {:.2} s | {:.2} s | {:.3} ms | {:.1} MiB | {} ({}) | {tls} |",
            report.transport.label(),
            c.rounds.as_secs_f64(),
            c.cpu.as_secs_f64(),
            c.cpu.as_secs_f64() * 1e3 / report.providers as f64,
            c.peak_rss_kib as f64 / 1024.0,
            c.requests,
            c.not_modified,
        );
    }
}
