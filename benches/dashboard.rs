//! Dashboard benchmark: the read side of `statusrelay run --listen` over N providers (default
//! 5,000; `DASHBOARD_PROVIDERS`), served by the real release binary from the state file its
//! own cycles wrote. See BENCHMARKS.md, "Dashboard".
//!
//! Two runs of the watcher on one state file, beside a loopback fleet like the fleet bench's
//! (tests/support/fleet.rs: 20–55 KiB Statuspage pages, 50 ms latency), with some pages having
//! an incident under way that gains an update every cycle, some a maintenance in the next days
//! and a few failing:
//! 1. quiet (`interval = "1h"`): after the cold cycle, nothing else runs, so each path's
//!    latency is the server's own: the first `/` (which builds the board), then p50/p95/max
//!    over `DASHBOARD_REQUESTS` (default 50) requests of each path, uncompressed and gzipped;
//! 2. cycling (`interval = "1s"`): steady cycles alternately without and with 50 requests per
//!    second on `/`, a cycle being the rounds that polled every provider once (from the
//!    watcher's "round finished" log lines), and the watcher's peak RSS (VmHWM) after them.
//!
//! `cargo build --release -p statusrelay && cargo bench --bench dashboard`.

#[path = "../tests/support/mod.rs"]
mod support;

use support::env_or;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use statusrelay_core::sources::statuspage::{INCIDENTS, MAINTENANCES, SUMMARY};
use support::fixture::Page;
use support::{Documents, Fault, StatusServer, Workspace};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

const LATENCY: Duration = Duration::from_millis(50);
/// Updates each incident page gains, one per cycle, before it stays as it is.
const INCIDENT_STAGES: usize = 24;
const LOAD_PER_SECOND: u64 = 50;
const RSS_BUDGET_MIB: f64 = 96.0;
/// Steady cycles per phase (without load, with load), run twice in alternation.
const CYCLES_PER_PHASE: usize = 3;

/// What each provider's page is like. Shares per thousand, as in the fleet bench where they
/// overlap: 5 % with an incident under way, 3 % with maintenance in the next days, 1 % whose
/// summary answers 500, 0.5 % one second slower.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Quiet,
    Incident,
    Maintenance,
    Failing,
}

fn kind_of(i: usize) -> Kind {
    match i % 1000 {
        n if n % 20 == 1 => Kind::Incident,
        n if n % 33 == 2 => Kind::Maintenance,
        n if n % 100 == 3 => Kind::Failing,
        _ => Kind::Quiet,
    }
}

fn slow(i: usize) -> bool {
    i % 200 == 7
}

/// 2 to 11 incidents of history, as in the fleet bench.
fn history_for(i: usize) -> usize {
    2 + i % 10
}

const TAGS: [&str; 5] = ["payments", "cloud", "devtools", "comms", "identity"];

/// The documents every provider of one history length serves: quiet, with maintenance, and
/// an incident at each of its stages (opened, then one more update per stage).
struct Variant {
    quiet: Documents,
    maintenance: Documents,
    incident: Vec<Documents>,
}

fn variants(server: &StatusServer) -> Vec<Variant> {
    (2..=11)
        .map(|history| {
            let page_with_history = || {
                let mut page = Page::realistic("Fleet", &server.url("p0"));
                page.incidents.drain(..page.incidents.len() - history);
                page
            };
            let mut page = page_with_history();
            let quiet = Documents::of(&page);
            let mut planned = page_with_history();
            let starts = Utc::now() + chrono::Duration::days(1 + history as i64 % 5);
            planned.schedule_maintenance(
                "Database failover to the new region",
                starts,
                starts + chrono::Duration::hours(2),
                Utc::now() - chrono::Duration::days(3),
            );
            let maintenance = Documents::of(&planned);
            let leaves = page.leaf_ids();
            let opened_at = Utc::now() - chrono::Duration::hours(2);
            let open = page.open_incident(
                "Elevated API error rates",
                "minor",
                &leaves[0..2],
                "We are investigating elevated error rates on API requests in us-east-1.",
                opened_at,
            );
            let mut incident = vec![Documents::of(&page)];
            for stage in 1..INCIDENT_STAGES {
                page.post_update(
                    &open,
                    if stage < 3 {
                        "identified"
                    } else {
                        "monitoring"
                    },
                    &format!(
                        "Update {stage}: we identified a misconfigured load balancer and are \
                         rolling back the change region by region; error rates are decreasing."
                    ),
                    opened_at + chrono::Duration::minutes(5 * stage as i64),
                );
                incident.push(Documents::of(&page));
            }
            Variant {
                quiet,
                maintenance,
                incident,
            }
        })
        .collect()
}

/// The fleet: the server, its pages and the config that watches them.
struct Fleet {
    server: StatusServer,
    variants: Arc<Vec<Variant>>,
    providers: usize,
    work: Workspace,
}

impl Fleet {
    async fn start(providers: usize) -> Fleet {
        let server = StatusServer::with_latency(LATENCY).await;
        let variants = variants(&server);
        for i in 0..providers {
            let slug = format!("p{i}");
            let variant = &variants[history_for(i) - 2];
            let docs = match kind_of(i) {
                Kind::Quiet | Kind::Failing => &variant.quiet,
                Kind::Maintenance => &variant.maintenance,
                Kind::Incident => &variant.incident[0],
            };
            server.publish_documents(&slug, docs);
            if kind_of(i) == Kind::Failing {
                server.set_fault(&slug, SUMMARY, Some(Fault::Status(500)));
            }
            if slow(i) {
                for doc in [SUMMARY, INCIDENTS, MAINTENANCES] {
                    server.set_delay(&slug, doc, Some(Duration::from_secs(1)));
                }
            }
        }
        Fleet {
            server,
            variants: Arc::new(variants),
            providers,
            work: Workspace::new(),
        }
    }

    fn count(&self, kind: Kind) -> usize {
        (0..self.providers).filter(|i| kind_of(*i) == kind).count()
    }

    fn config(&self, interval: &str) -> std::path::PathBuf {
        let mut config = format!(
            "[settings]\nstate = \"{}\"\nallow_private_targets = true\ninterval = \"{interval}\"\n",
            self.work.path("dashboard.db").display()
        );
        for i in 0..self.providers {
            config.push_str(&format!(
                "\n[[providers]]\nid = \"p{i}\"\nname = \"Vendor {i} Cloud\"\nurl = \"{}\"\nplatform = \"statuspage\"\ntags = [\"{}\"]\n",
                self.server.url(&format!("p{i}")),
                TAGS[i % TAGS.len()]
            ));
        }
        self.work.write_config(&config)
    }
}

/// Every incident page posts its update of `stage` (the steady cycles' changes).
fn advance(server: &StatusServer, variants: &[Variant], providers: usize, stage: usize) {
    let stage = stage.min(INCIDENT_STAGES - 1);
    for i in (0..providers).filter(|i| kind_of(*i) == Kind::Incident) {
        server.publish_documents(
            &format!("p{i}"),
            &variants[history_for(i) - 2].incident[stage],
        );
    }
}

/// A cycle: the watcher's rounds (its "round finished" log lines) that together polled every
/// provider once. `run` polls each provider on its own schedule, so after the first round (all
/// providers at once) a cycle is several rounds; its time is the wall time they took.
#[derive(Debug, Clone, Copy)]
struct Cycle {
    elapsed: Duration,
    changed: u64,
    failed: u64,
}

/// A running `statusrelay run --listen`, its cycles as they finish.
struct Watcher {
    child: tokio::process::Child,
    base: String,
    cycles: mpsc::UnboundedReceiver<Cycle>,
}

impl Watcher {
    /// Starts the watcher; after each cycle the incident pages post their next update, so
    /// that every steady cycle has the same share of changed pages.
    async fn start(fleet: &Fleet, config: &Path, first_stage: usize) -> Watcher {
        let port = support::free_port();
        let mut child = support::spawn_listening_watcher(config, port);
        let stderr = child.stderr.take().unwrap();
        let (sender, cycles) = mpsc::unbounded_channel();
        let (server, variants, providers) = (
            fleet.server.clone(),
            fleet.variants.clone(),
            fleet.providers,
        );
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            let mut stage = first_stage;
            let mut polled = 0;
            let mut since: Option<Instant> = None;
            let mut cycle = Cycle {
                elapsed: Duration::ZERO,
                changed: 0,
                failed: 0,
            };
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if entry["message"] != "round finished" {
                    continue;
                }
                let field = |name: &str| entry[name].as_u64().unwrap_or_default();
                polled += field("providers") as usize;
                cycle.changed += field("changed");
                cycle.failed += field("failed");
                if polled < providers {
                    continue;
                }
                // The first cycle is the first round (it polls everyone); later ones run from
                // the end of the previous cycle.
                cycle.elapsed = match since {
                    Some(at) => at.elapsed(),
                    None => Duration::from_millis(field("elapsed_ms")),
                };
                since = Some(Instant::now());
                polled = 0;
                stage += 1;
                advance(&server, &variants, providers, stage);
                if sender.send(cycle).is_err() {
                    break;
                }
                cycle = Cycle {
                    elapsed: Duration::ZERO,
                    changed: 0,
                    failed: 0,
                };
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        Watcher {
            child,
            base,
            cycles,
        }
    }

    async fn next_cycle(&mut self) -> Cycle {
        tokio::time::timeout(Duration::from_secs(600), self.cycles.recv())
            .await
            .expect("no cycle within 10 minutes")
            .expect("the watcher stopped")
    }

    fn pid(&self) -> i32 {
        self.child.id().unwrap() as i32
    }

    /// (VmHWM, VmRSS) in MiB: the peak and current resident set of the watcher alone.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap()
                / 1024.0
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// SIGTERM, so the watcher finishes its cycle and closes the state file.
    async fn stop(mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
    }
}

/// Timings and sizes of one path.
struct PathFigures {
    path: String,
    first: Duration,
    plain: Vec<Duration>,
    gzip: Vec<Duration>,
    plain_bytes: usize,
    gzip_bytes: usize,
}

/// One GET, timed to the last byte of the body; the body as sent (gzipped when asked).
async fn get(client: &reqwest::Client, url: &str, gzip: bool) -> (Duration, usize) {
    let mut request = client.get(url);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    let took = started.elapsed();
    assert!(status.is_success(), "{url}: HTTP {status}");
    assert_eq!(
        encoding.as_deref(),
        gzip.then_some("gzip"),
        "{url}: content-encoding"
    );
    (took, body.len())
}

async fn measure_path(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    requests: usize,
) -> PathFigures {
    let url = format!("{base}{path}");
    let (first, plain_bytes) = get(client, &url, false).await;
    let (_, gzip_bytes) = get(client, &url, true).await;
    let mut plain = Vec::with_capacity(requests);
    let mut gzip = Vec::with_capacity(requests);
    for _ in 0..requests {
        plain.push(get(client, &url, false).await.0);
        gzip.push(get(client, &url, true).await.0);
    }
    PathFigures {
        path: path.to_owned(),
        first,
        plain,
        gzip,
        plain_bytes,
        gzip_bytes,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

fn sorted(mut times: Vec<Duration>) -> Vec<Duration> {
    times.sort();
    times
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Requests `/` at a steady rate, each in its own task (a slow answer does not slow the
/// rate, as with many browsers and a scraper), until stopped.
struct Load {
    running: Arc<AtomicBool>,
    latencies: Arc<Mutex<Vec<Duration>>>,
    failures: Arc<Mutex<usize>>,
    started: Instant,
    task: tokio::task::JoinHandle<usize>,
}

impl Load {
    fn start(client: reqwest::Client, url: String) -> Load {
        let running = Arc::new(AtomicBool::new(true));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(0));
        let (flag, times, failed) = (running.clone(), latencies.clone(), failures.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / LOAD_PER_SECOND));
            let mut sent = 0;
            while flag.load(Ordering::SeqCst) {
                tick.tick().await;
                sent += 1;
                let (client, url, times, failed) =
                    (client.clone(), url.clone(), times.clone(), failed.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let answer = client
                        .get(&url)
                        .header("accept-encoding", "gzip")
                        .send()
                        .await;
                    let ok = match answer {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.is_ok()
                        }
                        _ => false,
                    };
                    if ok {
                        times.lock().unwrap().push(started.elapsed());
                    } else {
                        *failed.lock().unwrap() += 1;
                    }
                });
            }
            sent
        });
        Load {
            running,
            latencies,
            failures,
            started: Instant::now(),
            task,
        }
    }

    /// (requests sent, seconds, answered latencies sorted, failures)
    async fn stop(self) -> (usize, f64, Vec<Duration>, usize) {
        self.running.store(false, Ordering::SeqCst);
        let sent = self.task.await.unwrap();
        let seconds = self.started.elapsed().as_secs_f64();
        // Let the requests in flight finish.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let times = sorted(self.latencies.lock().unwrap().clone());
        let failures = *self.failures.lock().unwrap();
        (sent, seconds, times, failures)
    }
}

fn main() {
    let providers = env_or("DASHBOARD_PROVIDERS", 5000) as usize;
    let requests = env_or("DASHBOARD_REQUESTS", 50) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(providers, requests));
}

async fn bench(providers: usize, requests: usize) {
    let fleet = Fleet::start(providers).await;
    println!(
        "dashboard: {providers} providers ({} with an incident under way that gains an update every cycle, \
         {} with maintenance in the next 1-5 days, {} failing, {} slow), {LATENCY:?} page latency",
        fleet.count(Kind::Incident),
        fleet.count(Kind::Maintenance),
        fleet.count(Kind::Failing),
        (0..providers).filter(|i| slow(*i)).count(),
    );
    // Plain HTTP/1.1 on loopback; gzip asked for explicitly so that sizes are those sent.
    let client = reqwest::Client::builder()
        .no_gzip()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    // Run 1: the cold cycle, then the read side alone.
    let mut watcher = Watcher::start(&fleet, &fleet.config("1h"), 0).await;
    let cold = watcher.next_cycle().await;
    println!(
        "cold cycle: {} ({} changed, {} failed)",
        ms(cold.elapsed),
        cold.changed,
        cold.failed
    );
    let after_cold = watcher.memory();
    let paths = [
        "/".to_owned(),
        "/metrics".to_owned(),
        "/providers/p1".to_owned(),
        "/incidents".to_owned(),
        "/maintenance".to_owned(),
        "/api/v1/providers".to_owned(),
        "/feed.atom".to_owned(),
        "/maintenance.ics".to_owned(),
    ];
    let mut figures = Vec::new();
    for path in &paths {
        figures.push(measure_path(&client, &watcher.base, path, requests).await);
    }
    println!();
    println!(
        "Quiet watcher (no cycle running); {requests} requests each, uncompressed and gzip, one at a time, timed at the client to the last byte:"
    );
    println!("| path | first | p50 | p95 | max | p50 gzip | p95 gzip | body | gzip body |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in &figures {
        let (plain, gzip) = (sorted(f.plain.clone()), sorted(f.gzip.clone()));
        println!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.path,
            ms(f.first),
            ms(percentile(&plain, 0.5)),
            ms(percentile(&plain, 0.95)),
            ms(*plain.last().unwrap()),
            ms(percentile(&gzip, 0.5)),
            ms(percentile(&gzip, 0.95)),
            kib(f.plain_bytes),
            kib(f.gzip_bytes),
        );
    }
    // DASHBOARD_DUMP=DIR keeps the overview's HTML, to see what its bytes are made of.
    if let Ok(dir) = std::env::var("DASHBOARD_DUMP") {
        let html = client
            .get(format!("{}/", watcher.base))
            .send()
            .await
            .unwrap();
        std::fs::write(
            Path::new(&dir).join("overview.html"),
            html.bytes().await.unwrap(),
        )
        .unwrap();
    }
    let (quiet_peak, quiet_now) = watcher.memory();
    watcher.stop().await;

    // Run 2: steady cycles on the warm state file, alternately without and with load.
    // Run 1 left the incident pages one update ahead of the state file.
    let mut watcher = Watcher::start(&fleet, &fleet.config("1s"), 1).await;
    let warmup = watcher.next_cycle().await;
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut load_runs = Vec::new();
    for _round in 0..2 {
        for _ in 0..CYCLES_PER_PHASE {
            without.push(watcher.next_cycle().await);
        }
        // Started between cycles: the next ones run under load from their first poll.
        let load = Load::start(client.clone(), format!("{}/", watcher.base));
        for _ in 0..CYCLES_PER_PHASE {
            with.push(watcher.next_cycle().await);
        }
        load_runs.push(load.stop().await);
    }
    let (loaded_peak, loaded_now) = watcher.memory();
    watcher.stop().await;

    println!();
    println!(
        "Steady cycles (`interval = \"1s\"`), from the watcher's log; {} cycles each, in two alternating rounds (warm-up cycle: {}):",
        2 * CYCLES_PER_PHASE,
        ms(warmup.elapsed)
    );
    println!("| dashboard load | mean | min | max | each | changed per cycle | failed per cycle |");
    println!("|---|---|---|---|---|---|---|");
    let cycle_row = |name: &str, cycles: &[Cycle]| {
        let times: Vec<Duration> = cycles.iter().map(|c| c.elapsed).collect();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let each: Vec<String> = times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect();
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.2} s | {} | {} | {} |",
            mean.as_secs_f64(),
            times.iter().min().unwrap().as_secs_f64(),
            times.iter().max().unwrap().as_secs_f64(),
            each.join(", "),
            cycles[0].changed,
            cycles[0].failed,
        );
        mean
    };
    let mean_without = cycle_row("none", &without);
    let mean_with = cycle_row(&format!("{LOAD_PER_SECOND} req/s on `/` (gzip)"), &with);

    let sent: usize = load_runs.iter().map(|r| r.0).sum();
    let seconds: f64 = load_runs.iter().map(|r| r.1).sum();
    let failures: usize = load_runs.iter().map(|r| r.3).sum();
    let latencies = sorted(load_runs.into_iter().flat_map(|r| r.2).collect());
    println!();
    println!(
        "`/` under load while cycles run: {sent} requests in {seconds:.1} s ({:.1}/s), {} answered, {failures} failed; \
         p50 {}, p95 {}, max {}",
        sent as f64 / seconds,
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    println!();
    println!("| watcher run | peak RSS (VmHWM) | RSS at the end |");
    println!("|---|---|---|");
    println!(
        "| cold cycle | {:.1} MiB | {:.1} MiB |",
        after_cold.0, after_cold.1
    );
    println!("| cold cycle, then every path measured | {quiet_peak:.1} MiB | {quiet_now:.1} MiB |");
    println!(
        "| {} steady cycles, half under {LOAD_PER_SECOND} req/s | {loaded_peak:.1} MiB | {loaded_now:.1} MiB |",
        1 + without.len() + with.len()
    );

    let root = sorted(figures[0].plain.clone());
    let root_gzip = sorted(figures[0].gzip.clone());
    let metrics = sorted(figures[1].plain.clone());
    let verdict = |holds: bool| if holds { "met" } else { "MISSED" };
    println!();
    println!("targets at {providers} providers:");
    println!(
        "- `/` p95 ≤ 50 ms: {} uncompressed, {} gzip (first, building the board: {}): {}",
        ms(percentile(&root, 0.95)),
        ms(percentile(&root_gzip, 0.95)),
        ms(figures[0].first),
        verdict(
            percentile(&root, 0.95).max(percentile(&root_gzip, 0.95)) <= Duration::from_millis(50)
        )
    );
    println!(
        "- `/` ≤ 300 KB uncompressed: {} bytes ({} gzip): {}",
        figures[0].plain_bytes,
        figures[0].gzip_bytes,
        verdict(figures[0].plain_bytes <= 300_000)
    );
    println!(
        "- `/metrics` p95 ≤ 30 ms: {}: {}",
        ms(percentile(&metrics, 0.95)),
        verdict(percentile(&metrics, 0.95) <= Duration::from_millis(30))
    );
    println!(
        "- peak RSS ≤ {RSS_BUDGET_MIB} MiB with the server on: {:.1} MiB: {}",
        quiet_peak.max(loaded_peak),
        verdict(quiet_peak.max(loaded_peak) <= RSS_BUDGET_MIB)
    );
    let slowdown = mean_with.as_secs_f64() / mean_without.as_secs_f64();
    println!(
        "- steady cycle under {LOAD_PER_SECOND} req/s ÷ without: {slowdown:.2} ({:+.0} ms): {}",
        (mean_with.as_secs_f64() - mean_without.as_secs_f64()) * 1e3,
        verdict(slowdown <= 1.05)
    );
}
