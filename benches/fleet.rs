//! Fleet benchmark: a cold and a steady-state watcher cycle over N loopback status pages, each
//! beside its network floor (the same fetches, nothing else). See BENCHMARKS.md.
//!
//! `cargo build --release --examples && cargo bench --bench fleet` (N = 1000), or with
//! `FLEET_PROVIDERS=5000`. `FLEET_PAGES=full` makes every page GitHub-sized (50 incidents);
//! `FLEET_GROWTH=1000,5000,...` runs one fleet per size and writes their figures as CSV
//! (`FLEET_GROWTH_CSV`, default target/fleet-growth.csv) for scripts/plot-growth.py.
//! `FLEET_LATENCY_MS` (default 50) and `FLEET_CONCURRENCY` (default: the watcher's default)
//! tune the run. `FLEET_COST_FROM="0.304,0.646,1.278"` (ms per provider per cycle: steady
//! CPU, network wait, first-cycle CPU, as a run prints them) prints only the cost model;
//! `DASHBOARD_CPU_MS` (default: the dashboard function bench's CPU for `/` reading the board
//! at 1,000 providers) prices the read side's requests.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "cost/read_side.rs"]
mod read_side;

use support::env_or;

use std::time::Duration;

use support::fleet::{FleetOptions, RunFigures, run_fleet};

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    if let Some(ms) = seconds_from(
        "FLEET_COST_FROM",
        "steady CPU ms, wait ms, first-cycle CPU ms (per provider)",
    ) {
        cost_model(ms[0], ms[1], ms[2]);
        return;
    }
    let latency = Duration::from_millis(env_or("FLEET_LATENCY_MS", 50));
    let concurrency = env_or(
        "FLEET_CONCURRENCY",
        statusrelay_core::config::DEFAULT_CONCURRENCY as u64,
    ) as usize;
    let full_size = std::env::var("FLEET_PAGES").as_deref() == Ok("full");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // FLEET_GROWTH=1000,5000,...: one fleet per size, a row each, and the figures as CSV for
    // the growth plot (scripts/plot-growth.py); no cost model.
    if let Ok(sizes) = std::env::var("FLEET_GROWTH") {
        let sizes: Vec<usize> = sizes
            .split(',')
            .map(|n| n.trim().parse().expect("FLEET_GROWTH: provider counts"))
            .collect();
        let csv_path = std::env::var("FLEET_GROWTH_CSV")
            .unwrap_or_else(|_| "target/fleet-growth.csv".to_owned());
        let mut csv = String::from(
            "providers,cycle,wall_s,cpu_s,rss_mib,floor_wall_s,floor_cpu_s,floor_rss_mib\n",
        );
        print_header();
        for providers in sizes {
            let mut options = FleetOptions::new(providers, latency, concurrency);
            options.full_size = full_size;
            let report = runtime.block_on(run_fleet(options));
            print_rows(&report);
            for (name, c) in [("cold", &report.cold), ("steady", &report.steady)] {
                csv.push_str(&format!(
                    "{providers},{name},{:.3},{:.3},{:.1},{:.3},{:.3},{:.1}\n",
                    c.cycle.wall.as_secs_f64(),
                    c.cycle.cpu.as_secs_f64(),
                    c.cycle.max_rss_kib as f64 / 1024.0,
                    c.floor.wall.as_secs_f64(),
                    c.floor.cpu.as_secs_f64(),
                    c.floor.max_rss_kib as f64 / 1024.0,
                ));
            }
        }
        std::fs::write(&csv_path, csv).unwrap();
        println!("growth figures written to {csv_path}");
        return;
    }
    let providers = env_or("FLEET_PROVIDERS", 1000) as usize;
    let mut options = FleetOptions::new(providers, latency, concurrency);
    options.full_size = full_size;
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
    print_header();
    print_rows(&report);
    println!(
        "webhook deliveries: {} after the cold cycle, {} after the steady one",
        report.delivered.0, report.delivered.1
    );
    cost_model(
        report.steady.cycle.cpu.as_secs_f64() / providers as f64,
        report.steady.floor.wall.as_secs_f64() / providers as f64,
        report.cold.cycle.cpu.as_secs_f64() / providers as f64,
    );
}

fn print_header() {
    println!(
        "| providers | cycle | wall | pages/s | CPU time | CPU per provider | peak RSS | raw-fetch floor: wall / CPU / RSS | cycle ÷ floor | requests (304) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
}

fn print_rows(report: &support::fleet::FleetReport) {
    let providers = report.options.providers;
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
            "| {providers} | {name} | {:.2} s | {:.0} | {:.2} s | {:.2} ms | {:.1} MiB | {} | {:.2} | {} ({}) |",
            c.cycle.wall.as_secs_f64(),
            providers as f64 / c.cycle.wall.as_secs_f64(),
            c.cycle.cpu.as_secs_f64(),
            c.cycle.cpu.as_secs_f64() * 1e3 / providers as f64,
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
const GB_SECOND: f64 = 0.000_013_333_4;
const REQUEST: f64 = 0.20 / 1e6;
const SQS_REQUEST: f64 = 0.40 / 1e6;
const LOG_GB: f64 = 0.50;

fn cost_model(cpu_per_provider: f64, wait_per_provider: f64, first_cpu_per_provider: f64) {
    println!();
    println!(
        "cost model: {:.3} ms CPU and {:.3} ms of network wait per provider per cycle, {:.3} ms \
         of CPU in a first cycle (this run)",
        cpu_per_provider * 1e3,
        wait_per_provider * 1e3,
        first_cpu_per_provider * 1e3
    );
    println!(
        "| providers | schedule | poller memory | poller duration | Lambda (both) | DynamoDB | SNS + logs | total per month |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for providers in [100.0, 1_000.0, 5_000.0] {
        for (schedule, cycles) in [("1 min", 43_200.0), ("5 min", 8_640.0)] {
            let cpu = cpu_per_provider * providers;
            let wait = wait_per_provider * providers;
            let (memory, duration, poller) = cheapest_poller(cpu, wait, cycles);
            let base = base_costs(providers, cycles, poller);
            println!(
                "| {providers:.0} | {schedule} | {memory:.0} MB | {duration:.2} s | ${:.2} | ${:.2} | ${:.2} | **${:.2}** |",
                base.lambda,
                base.dynamodb,
                base.sns_logs,
                base.total()
            );
        }
    }
    adaptive_cost_model(cpu_per_provider, wait_per_provider);
    sharded_cost_model(cpu_per_provider, wait_per_provider, first_cpu_per_provider);
    // FLEET_TLS_EXTRA="0.790,1.010": ms of CPU per provider and steady cycle that reconnecting
    // costs beyond kept connections, resumed and with full handshakes (benches/fleet_tls.rs
    // prints it).
    if let Some(extra) = seconds_from("FLEET_TLS_EXTRA", "resumed ms, full ms") {
        tls_cost_model(
            cpu_per_provider,
            wait_per_provider,
            first_cpu_per_provider,
            (extra[0], extra[1]),
        );
    }
    read_side::print_table(dashboard_cpu_ms());
}

/// The dashboard function's CPU for `/` reading the board (`benches/dashboard_lambda.rs`).
fn dashboard_cpu_ms() -> f64 {
    std::env::var("DASHBOARD_CPU_MS")
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .unwrap_or(DASHBOARD_CPU_MS)
}

/// Measured by `cargo bench --bench dashboard_lambda` (1,000 providers, 2026-12-07).
const DASHBOARD_CPU_MS: f64 = 9.0;

/// The fleet's monthly cost at 1-minute freshness by how the vendors treat the poller's
/// connections between runs: kept (a warm container's pool, as the tables above assume),
/// closed with the TLS session resumed (the client keeps a session per host), closed with a
/// full handshake each time. First runs always pay full handshakes, so shards are sized
/// with them.
/// The figures in `var` ("0.289,0.645,…", milliseconds, as a run prints them) in seconds, one
/// per name in `names` (comma-separated); `None` when `var` is not set.
fn seconds_from(var: &str, names: &str) -> Option<Vec<f64>> {
    let figures = std::env::var(var).ok()?;
    let ms: Vec<f64> = figures
        .split(',')
        .map(|f| {
            f.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{var}: {names}, numbers in ms"))
        })
        .collect();
    assert_eq!(ms.len(), names.split(',').count(), "{var}: {names}");
    Some(ms.into_iter().map(|ms| ms / 1e3).collect())
}

fn tls_cost_model(
    cpu_per_provider: f64,
    wait_per_provider: f64,
    first_cpu_per_provider: f64,
    (resumed, full): (f64, f64),
) {
    println!();
    println!(
        "TLS between runs (1-minute schedule, sharded as above, adaptive polling off): +{:.3} ms \
         of CPU per provider and run when every connection is made again with a resumed \
         session, +{:.3} ms with full handshakes:",
        resumed * 1e3,
        full * 1e3
    );
    println!(
        "| providers | connections kept | reconnected, sessions resumed | reconnected, full handshakes |"
    );
    println!("|---|---|---|---|");
    for providers in [1_000.0_f64, 5_000.0, 10_000.0, 50_000.0] {
        let cost = |extra: f64| {
            // A first run connects to every host for the first time: full handshakes.
            let (fleet, base) = sharded_costs(
                providers,
                cpu_per_provider + extra,
                wait_per_provider,
                first_cpu_per_provider + full,
            );
            let (shards, total) = (fleet.shards, base.total() + fleet.sharding);
            format!(
                "${total:.2} ({shards:.0} shard{})",
                if shards > 1.0 { "s" } else { "" }
            )
        };
        println!(
            "| {providers:.0} | {} | {} | {} |",
            cost(0.0),
            cost(resumed),
            cost(full)
        );
    }
}

/// Large fleets at 1-minute freshness: the fleet split into `PollerShards` shards.
///
/// Shards are sized so that even a first run (every page new, the first cycle's CPU per
/// provider) of one shard fits in 50 s at 128 MB (7.2 % of a vCPU), and so that no shard has
/// more than 900 vendor hosts (a warm Lambda container keeps one connection per host and may
/// hold 1,024 file descriptors); each shard's steady run is then billed like a scheduled run of
/// its share of the fleet at the cheapest memory size.
/// Added per run when sharded: the scheduled run that queues the shards (20 ms at 128 MB),
/// one SQS SendMessageBatch per ten shards, a receive and a delete per shard, two lease writes
/// per shard (1 WRU each), 1 KB of logs per invocation; and the shard queue's trigger
/// long-polling it while idle (as for the hot queue: 648,000 receives a month). Adaptive
/// polling is off here (its rounds are in the table above).
fn sharded_cost_model(cpu_per_provider: f64, wait_per_provider: f64, first_cpu_per_provider: f64) {
    println!();
    println!("large fleets, 1-minute schedule, sharded (PollerShards), adaptive polling off:");
    println!(
        "| providers | shards | poller run per shard: steady / first | poller Lambda | shard queue, leases, dispatch | DynamoDB | SNS + logs | total per month |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for providers in [1_000.0_f64, 5_000.0, 10_000.0, 50_000.0] {
        let (fleet, base) = sharded_costs(
            providers,
            cpu_per_provider,
            wait_per_provider,
            first_cpu_per_provider,
        );
        println!(
            "| {providers:.0} | {:.0} | {:.1} s / {:.1} s | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** |",
            fleet.shards,
            fleet.steady_run,
            fleet.first_run,
            fleet.poller,
            fleet.sharding,
            base.dynamodb,
            base.sns_logs,
            base.total() + fleet.sharding
        );
    }
}

struct ShardedFleet {
    shards: f64,
    /// One shard's run, steady and first, in seconds.
    steady_run: f64,
    first_run: f64,
    /// The poller's monthly Lambda cost, all shards.
    poller: f64,
    /// Shard queue, leases, dispatch and the shards' logs, monthly.
    sharding: f64,
}

fn sharded(
    providers: f64,
    cpu_per_provider: f64,
    wait_per_provider: f64,
    first_cpu_per_provider: f64,
) -> ShardedFleet {
    const SHARE_128: f64 = 128.0 / 1769.0;
    const FIRST_RUN_BUDGET: f64 = 50.0;
    const HOSTS_PER_SHARD: f64 = 900.0;
    const IDLE_RECEIVES: f64 = 648_000.0;
    let first_run = first_cpu_per_provider * providers / SHARE_128;
    // A warm container keeps a connection per vendor host (one over HTTP/2: 1,016 descriptors
    // for 1,000 hosts in the HTTPS fleet), and Lambda allows 1,024 descriptors: 900 hosts per
    // shard keep every connection without running out.
    let shards = (first_run / FIRST_RUN_BUDGET)
        .max(providers / HOSTS_PER_SHARD)
        .ceil()
        .max(1.0);
    let per_shard = providers / shards;
    let (_, steady_run, one_shard) = cheapest_poller(
        cpu_per_provider * per_shard,
        wait_per_provider * per_shard,
        RUNS,
    );
    let sharding = if shards > 1.0 {
        let dispatch = RUNS * (0.020 * 0.125 * GB_SECOND + REQUEST);
        let sqs = RUNS * ((shards / 10.0).ceil() + 2.0 * shards) * SQS_REQUEST
            + IDLE_RECEIVES * SQS_REQUEST;
        let leases = RUNS * shards * 2.0 * 0.625 / 1e6;
        let logs = RUNS * shards * 1024.0 / 1e9 * LOG_GB;
        dispatch + sqs + leases + logs
    } else {
        0.0
    };
    ShardedFleet {
        shards,
        steady_run,
        first_run: first_run / shards + 0.010,
        poller: one_shard * shards,
        sharding,
    }
}

/// A sharded fleet at 1-minute freshness and the base costs of its size.
fn sharded_costs(
    providers: f64,
    cpu_per_provider: f64,
    wait_per_provider: f64,
    first_cpu_per_provider: f64,
) -> (ShardedFleet, BaseCosts) {
    let fleet = sharded(
        providers,
        cpu_per_provider,
        wait_per_provider,
        first_cpu_per_provider,
    );
    let base = base_costs(providers, RUNS, fleet.poller);
    (fleet, base)
}

/// The poller's memory size, duration per run and monthly cost at the cheapest memory size.
fn cheapest_poller(cpu: f64, wait: f64, runs: f64) -> (f64, f64, f64) {
    [128.0, 256.0, 512.0, 1024.0, 1769.0]
        .into_iter()
        .map(|mb: f64| {
            let duration = (cpu / (mb / 1769.0).min(1.0)).max(wait) + 0.010;
            let cost = runs * (duration * mb / 1024.0 * GB_SECOND + REQUEST);
            (mb, duration, cost)
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap()
}

struct BaseCosts {
    lambda: f64,
    dynamodb: f64,
    sns_logs: f64,
    /// The part of `sns_logs` that does not grow with the fleet: one log line set per run.
    schedule_logs: f64,
}

impl BaseCosts {
    fn total(&self) -> f64 {
        self.lambda + self.dynamodb + self.sns_logs
    }
}

fn base_costs(providers: f64, cycles: f64, poller: f64) -> BaseCosts {
    let changes = 30.0 * providers;
    let notifier = changes * (0.2 * 0.125 * GB_SECOND + REQUEST);
    let dynamodb = changes * (4.0 + 2.0) * 0.625 / 1e6 + providers * 0.1 / 1024.0 * 0.25;
    let schedule_logs = cycles * 1024.0 / 1e9 * LOG_GB;
    let logs = schedule_logs + changes * 1024.0 / 1e9 * LOG_GB;
    let sns = changes * 0.50 / 1e6;
    BaseCosts {
        lambda: poller + notifier,
        dynamodb,
        sns_logs: sns + logs,
        schedule_logs,
    }
}

/// The three CloudWatch alarms of the template (dead letters, poller errors, notifier
/// errors), standard resolution, $0.10 each a month.
const ALARMS: f64 = 0.30;

/// What adaptive polling and push intake add on AWS (1-minute schedule, `hot_interval` 15 s:
/// 3 hot rounds a minute while anything is hot), from the same per-provider figures.
///
/// Assumptions: 3 % of providers hot all month (the target case; a real fleet is hot
/// far less); each round is one poller invocation at 128 MB polling the hot providers (billed
/// as a scheduled run of that many providers) plus one SQS send and one delete; Lambda's queue
/// trigger long-polls the queue even when it is idle, counted as 5 pollers × one 20 s receive
/// each = 648,000 receives a month whatever the fleet; pushes: every provider pushes each of
/// its 30 monthly changes twice (vendors send several webhooks per update), each push an intake
/// invocation of 20 ms at 128 MB, one debounce write (1 WRU) and one SQS send and delete; the
/// polls pushes cause are billed like hot rounds of one provider. SQS $0.40 per million
/// requests; 1 KB of logs per invocation.
fn adaptive_cost_model(cpu_per_provider: f64, wait_per_provider: f64) {
    println!();
    println!(
        "adaptive polling and push intake on AWS (1-minute schedule, 3 % hot, 3 rounds a minute):"
    );
    println!(
        "| providers | hot | round duration | hot rounds (Lambda + SQS) | queue trigger idle | pushes | logs | added per month | total with the base (1 min) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for providers in [100.0_f64, 1_000.0, 5_000.0] {
        let adaptive = adaptive_costs(providers, cpu_per_provider, wait_per_provider);
        let (_, _, poller) = cheapest_poller(
            cpu_per_provider * providers,
            wait_per_provider * providers,
            RUNS,
        );
        let base = base_costs(providers, RUNS, poller).total();
        println!(
            "| {providers:.0} | {:.0} | {:.2} s | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** |",
            adaptive.hot,
            adaptive.round_duration,
            adaptive.rounds,
            adaptive.idle,
            adaptive.pushes,
            adaptive.logs,
            adaptive.total(),
            base + adaptive.total()
        );
    }
    deployment_cost_table(cpu_per_provider, wait_per_provider);
}

/// One-minute schedule runs a month.
const RUNS: f64 = 43_200.0;

struct AdaptiveCosts {
    hot: f64,
    round_duration: f64,
    rounds: f64,
    /// Lambda's queue trigger long-polling the idle queue: the same for any fleet.
    idle: f64,
    pushes: f64,
    logs: f64,
}

impl AdaptiveCosts {
    fn total(&self) -> f64 {
        self.rounds + self.idle + self.pushes + self.logs
    }
}

fn adaptive_costs(providers: f64, cpu_per_provider: f64, wait_per_provider: f64) -> AdaptiveCosts {
    const ROUNDS: f64 = 3.0 * RUNS;
    const IDLE_RECEIVES: f64 = 648_000.0;
    let hot = (providers * 0.03).ceil();
    let (_, round_duration, rounds_lambda) =
        cheapest_poller(cpu_per_provider * hot, wait_per_provider * hot, ROUNDS);
    let pushes_count = providers * 30.0 * 2.0;
    let (_, _, push_poll) =
        cheapest_poller(cpu_per_provider, wait_per_provider, pushes_count / 2.0);
    AdaptiveCosts {
        hot,
        round_duration,
        rounds: rounds_lambda + ROUNDS * 2.0 * SQS_REQUEST,
        idle: IDLE_RECEIVES * SQS_REQUEST,
        pushes: pushes_count * (0.020 * 0.125 * GB_SECOND + REQUEST + 0.625 / 1e6)
            + pushes_count / 2.0 * 2.0 * SQS_REQUEST
            + push_poll,
        logs: (ROUNDS + pushes_count * 1.5) * 1024.0 / 1e9 * LOG_GB,
    }
}

/// README's cost table: the whole stack as deployed (1-minute schedule, adaptive polling on),
/// what grows with the fleet apart from what does not.
fn deployment_cost_table(cpu_per_provider: f64, wait_per_provider: f64) {
    println!();
    println!(
        "the deployed stack (1-minute schedule, adaptive polling and push intake on, 3 % hot):"
    );
    println!(
        "| providers | grows with the fleet: polls, writes, events, hot rounds, pushes | fixed: 3 alarms, one log set per run, idle queue trigger | polling and delivery | read side: history, dashboard, calendar | CloudWatch metrics (typical) | total per month |"
    );
    println!("|---|---|---|---|---|---|---|");
    for providers in [20.0_f64, 200.0, 1_000.0, 5_000.0] {
        let (_, _, poller) = cheapest_poller(
            cpu_per_provider * providers,
            wait_per_provider * providers,
            RUNS,
        );
        let base = base_costs(providers, RUNS, poller);
        let adaptive = adaptive_costs(providers, cpu_per_provider, wait_per_provider);
        let fixed = ALARMS + base.schedule_logs + adaptive.idle;
        let grows = base.total() - base.schedule_logs + adaptive.total() - adaptive.idle;
        let read = read_side::read_side_costs(providers, 1.0, dashboard_cpu_ms()).total();
        let metrics = read_side::metrics_cost(providers, 1.0);
        println!(
            "| {providers:.0} | ${grows:.2} | ${fixed:.2} | ${:.2} | ${read:.2} | ${metrics:.2} | **${:.2}** |",
            grows + fixed,
            grows + fixed + read + metrics
        );
    }
}
