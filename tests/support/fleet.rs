//! A loopback fleet of status pages, two watcher cycles over it and the network floor of each,
//! measured from outside the measured process (wall time, CPU time and peak RSS of the child).
//!
//! The fleet: Statuspage pages of 20–60 KB (13.5 KB summary with 35 components, 2–11
//! incidents of history), served with ETags and a fixed latency; a share of pages has an
//! incident under way, a share fails (HTTP 500 on the summary) and a share is slow (one extra
//! second).
//! - cold cycle: every document is new, every provider takes its baseline (pages with an
//!   incident under way announce it);
//! - steady cycle: the pages with an incident posted an update since (200, one event each),
//!   the rest answer 304 to the conditional requests;
//! - before each cycle, `raw_fetch` (examples/raw_fetch.rs) fetches the same documents with the
//!   same client, concurrency and validators and does nothing else: the floor.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use statusrelay_core::sources::statuspage::{INCIDENTS, MAINTENANCES, SUMMARY};

use super::fixture::Page;
use super::{Documents, Fault, StatusServer, WebhookReceiver, Workspace, binary};

#[derive(Debug, Clone, Copy)]
pub struct FleetOptions {
    pub providers: usize,
    pub latency: Duration,
    pub concurrency: usize,
    /// Per thousand providers: pages with an incident under way, updated between the cycles.
    pub changed_per_mille: usize,
    /// Per thousand providers: pages whose summary answers 500.
    pub failing_per_mille: usize,
    /// Per thousand providers: pages one second slower than the rest.
    pub slow_per_mille: usize,
    /// Every page GitHub-sized (50 incidents in `incidents.json`, ~190 KiB) instead of the
    /// mixed 20–60 KiB pages.
    pub full_size: bool,
}

impl FleetOptions {
    pub fn new(providers: usize, latency: Duration, concurrency: usize) -> FleetOptions {
        FleetOptions {
            providers,
            latency,
            concurrency,
            changed_per_mille: 50,
            failing_per_mille: 10,
            slow_per_mille: 5,
            full_size: false,
        }
    }

    fn every(&self, per_mille: usize) -> Option<usize> {
        (per_mille > 0).then(|| (1000 / per_mille).max(1))
    }

    fn is(&self, i: usize, per_mille: usize, phase: usize) -> bool {
        self.every(per_mille).is_some_and(|n| i % n == phase % n)
    }

    pub fn changed(&self, i: usize) -> bool {
        self.is(i, self.changed_per_mille, 1)
    }

    pub fn failing(&self, i: usize) -> bool {
        self.is(i, self.failing_per_mille, 2)
    }

    pub fn slow(&self, i: usize) -> bool {
        self.is(i, self.slow_per_mille, 3)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunFigures {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: i64,
    pub success: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct CycleFigures {
    pub cycle: RunFigures,
    /// The raw fetch of the same documents just before.
    pub floor: RunFigures,
    /// Requests the cycle made, and how many were answered 304.
    pub requests: usize,
    pub not_modified: usize,
}

impl CycleFigures {
    pub fn overhead(&self) -> f64 {
        self.cycle.wall.as_secs_f64() / self.floor.wall.as_secs_f64()
    }
}

#[derive(Debug, Clone)]
pub struct FleetReport {
    pub options: FleetOptions,
    /// Smallest and largest page (all three documents).
    pub page_bytes: (usize, usize),
    pub cold: CycleFigures,
    pub steady: CycleFigures,
    /// Webhook deliveries after each cycle (cumulative).
    pub delivered: (usize, usize),
}

/// Which page variant provider `i` serves: ten mixed ones (2 to 11 incidents of history make
/// 20 to 60 KB pages), or the one full-size page (all 50).
fn variant_for(options: &FleetOptions, i: usize) -> usize {
    if options.full_size { 0 } else { i % 10 }
}

/// The fleet's page variants: ten mixed ones (or the one full-size page), each quiet, with an
/// incident opened and with that incident updated; shared by every provider of that variant
/// without copies.
pub struct FleetPages {
    pub variants: Vec<[Documents; 3]>,
    /// Smallest and largest page (all three documents).
    pub page_bytes: (usize, usize),
}

impl FleetPages {
    pub fn new(options: &FleetOptions, server: &StatusServer) -> FleetPages {
        let mut variants = Vec::new();
        let histories: Vec<usize> = if options.full_size {
            vec![50]
        } else {
            (2..=11).collect()
        };
        for history in histories {
            let mut page = Page::realistic("Fleet", &server.url("p0"));
            page.incidents.drain(..page.incidents.len() - history);
            let quiet = Documents::of(&page);
            let leaves = page.leaf_ids();
            let open = page.open_incident(
                "Elevated API error rates",
                "minor",
                &leaves[0..1],
                "We are investigating elevated error rates on API requests.",
                Utc::now() - chrono::Duration::minutes(20),
            );
            let opened = Documents::of(&page);
            page.post_update(
                &open,
                "identified",
                "We identified a misconfigured load balancer and are rolling back the change.",
                Utc::now() - chrono::Duration::minutes(5),
            );
            variants.push([quiet, opened, Documents::of(&page)]);
        }
        let size = |d: &Documents| {
            d.summary.len() + d.incidents.len() + d.maintenances.as_ref().map_or(0, |m| m.len())
        };
        let page_bytes = (
            size(&variants[0][0]),
            size(&variants[variants.len() - 1][2]),
        );
        FleetPages {
            variants,
            page_bytes,
        }
    }

    /// Publishes every provider's page (`p<i>`) as the cold cycle finds it: the pages that
    /// change between the cycles are those with an incident under way; the failing ones answer
    /// 500 on their summary, the slow ones take a second more.
    pub fn publish(&self, options: &FleetOptions, server: &StatusServer) {
        for i in 0..options.providers {
            let slug = format!("p{i}");
            let stage = usize::from(options.changed(i));
            server.publish_documents(&slug, &self.variants[variant_for(options, i)][stage]);
            if options.failing(i) {
                server.set_fault(&slug, SUMMARY, Some(Fault::Status(500)));
            }
            if options.slow(i) {
                for doc in [SUMMARY, INCIDENTS, MAINTENANCES] {
                    server.set_delay(&slug, doc, Some(Duration::from_secs(1)));
                }
            }
        }
    }

    /// The pages with an incident under way post an update (before the steady cycle).
    pub fn post_updates(&self, options: &FleetOptions, server: &StatusServer) {
        for i in (0..options.providers).filter(|i| options.changed(*i)) {
            server.publish_documents(&format!("p{i}"), &self.variants[variant_for(options, i)][2]);
        }
    }
}

pub async fn run_fleet(options: FleetOptions) -> FleetReport {
    let server = StatusServer::with_latency(options.latency).await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();

    let pages = FleetPages::new(&options, &server);
    pages.publish(&options, &server);
    let mut config = format!(
        "[settings]\nstate = \"fleet.db\"\nallow_private_targets = true\nconcurrency = {}\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        options.concurrency,
        receiver.url()
    );
    for i in 0..options.providers {
        config.push_str(&format!(
            "\n[[providers]]\nid = \"p{i}\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
            server.url(&format!("p{i}"))
        ));
    }
    let path = work.write_config(&config);
    let validators = work.path("raw-validators.json");

    let cold = measured_cycle("cold", &server, &path, &validators).await;
    let delivered_cold = receiver.delivered().len();
    pages.post_updates(&options, &server);
    let steady = measured_cycle("steady", &server, &path, &validators).await;
    FleetReport {
        options,
        page_bytes: pages.page_bytes,
        cold,
        steady,
        delivered: (delivered_cold, receiver.delivered().len()),
    }
}

async fn measured_cycle(
    label: &str,
    server: &StatusServer,
    config: &Path,
    validators: &Path,
) -> CycleFigures {
    let floor = measured_run(example("raw_fetch"), vec![config.into(), validators.into()]).await;
    let (before, before_304) = server.counts();
    let mut command: Vec<PathBuf> = vec![
        binary().into(),
        "run".into(),
        "--once".into(),
        "--config".into(),
        config.into(),
    ];
    // FLEET_PROFILE=DIR records the cycle with `perf record` into DIR/<cycle>.perf (figures
    // then include perf's own cost: for finding hot spots, not for BENCHMARKS.md).
    if let Ok(dir) = std::env::var("FLEET_PROFILE") {
        let output = Path::new(&dir).join(format!("{label}.perf"));
        let perf = ["perf", "record", "-e", "cpu-clock", "-g", "-o"];
        let mut wrapped: Vec<PathBuf> = perf.iter().map(PathBuf::from).collect();
        wrapped.push(output);
        wrapped.push("--".into());
        wrapped.append(&mut command);
        command = wrapped;
    }
    let program = command.remove(0);
    let cycle = measured_run(program, command).await;
    let (after, after_304) = server.counts();
    CycleFigures {
        cycle,
        floor,
        requests: after - before,
        not_modified: after_304 - before_304,
    }
}

/// An example program built next to the `statusrelay` binary (`cargo test` builds examples;
/// for `cargo bench`, `cargo build --release --examples` does).
pub fn example(name: &str) -> PathBuf {
    let dir = Path::new(binary()).parent().unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --examples` (add --release for benches)",
        path.display()
    );
    path
}

/// Runs `program` under `examples/measure.rs`, which reports the child's own figures.
async fn measured_run(program: PathBuf, args: Vec<PathBuf>) -> RunFigures {
    let output = tokio::process::Command::new(example("measure"))
        .arg(program)
        .args(args)
        .env("STATUSRELAY_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "measure failed: {output:?}");
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let micros = |key: &str| Duration::from_micros(figures[key].as_u64().unwrap());
    RunFigures {
        wall: micros("wall_us"),
        cpu: micros("cpu_us"),
        max_rss_kib: figures["max_rss_kib"].as_i64().unwrap(),
        success: figures["success"].as_bool().unwrap(),
    }
}
