//! Detection latency: how long a vendor's change takes from being posted on its status page to
//! being delivered by `statusrelay run --listen`, over a loopback fleet (benches/latency.rs,
//! and its quick mode in tests/latency.rs).
//!
//! The fleet: N Statuspage pages (2–11 incidents of history, 50 ms latency, ETags). 3 % have an
//! incident under way at start (hot), 2 % a maintenance scheduled, 4 % will open an incident
//! during the run; the rest stay quiet throughout. At random instants (the same timeline in
//! every mode, from a fixed seed) the bench posts vendor changes:
//! - an update or the resolution of the incident under way on a hot page;
//! - a new incident on a quiet page, then an update of it;
//! - a scheduled maintenance starting.
//!
//! Each posting's instant is recorded; a webhook route's receiver timestamps each delivery,
//! matched to its posting by provider and update id. The status server also logs when it
//! served each page, so each latency splits into "posted → first read" (waiting for the poll)
//! and "read → delivered" (the poll, diff, commit and delivery).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::AsyncBufReadExt;

use super::fixture::Page;
use super::process::cpu_of;
use super::{StatusServer, WebhookReceiver, Workspace};

/// How the watcher is configured in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `hot_interval = interval`, no pushes: every provider on the one interval, as before
    /// adaptive polling (which polled in whole cycles: see BENCHMARKS.md).
    Fixed,
    /// The default `hot_interval` for hot providers, no pushes.
    Adaptive,
    /// Adaptive, and every posting followed by the vendor's webhook to `/intake/<id>`.
    Push,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fixed => "fixed interval",
            Mode::Adaptive => "adaptive",
            Mode::Push => "adaptive + push",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        match name.trim() {
            "fixed" => Some(Mode::Fixed),
            "adaptive" => Some(Mode::Adaptive),
            "push" => Some(Mode::Push),
            _ => None,
        }
    }
}

/// What a posting changes on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// An update of an incident under way (hot at start, or opened during the run).
    HotUpdate,
    /// The resolution of an incident under way.
    Resolution,
    /// A new incident on a quiet page.
    NewIncident,
    /// A scheduled maintenance goes in progress.
    MaintenanceStart,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::HotUpdate,
        ChangeKind::Resolution,
        ChangeKind::NewIncident,
        ChangeKind::MaintenanceStart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::HotUpdate => "update of an open incident (hot)",
            ChangeKind::Resolution => "resolution of an open incident (hot)",
            ChangeKind::NewIncident => "new incident on a quiet page",
            ChangeKind::MaintenanceStart => "maintenance starting (quiet page)",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LatencyOptions {
    pub providers: usize,
    /// Settings of the adaptive modes (the fixed mode uses `interval` for both).
    pub interval: Duration,
    pub hot_interval: Duration,
    /// How long each mode's measured run lasts; changes are posted in its first part, so
    /// that each can still be read within the longest quiet wait before it ends.
    pub run: Duration,
    /// Least time between two postings on one page.
    pub posting_gap: (Duration, Duration),
    pub page_latency: Duration,
    pub seed: u64,
}

impl LatencyOptions {
    /// The benchmark: `interval` and `hot_interval` divided by `scale` (1: the defaults,
    /// 60 s and 15 s). Postings on one page are 30–90 s apart (scaled), and never closer than
    /// 12 s, so that a push is not held back by the push gap (10 s, not scaled).
    pub fn bench(providers: usize, run: Duration, scale: u32) -> LatencyOptions {
        let interval = Duration::from_secs(60) / scale;
        let hot_interval = Duration::from_secs(15) / scale;
        LatencyOptions {
            providers,
            interval,
            hot_interval,
            run,
            posting_gap: (
                (hot_interval * 2).max(Duration::from_secs(12)),
                (hot_interval * 6).max(Duration::from_secs(20)),
            ),
            page_latency: Duration::from_millis(50),
            seed: 14,
        }
    }

    /// 50 providers, 3 s / 1 s, 10 s: for correctness (every change delivered once), not
    /// for timings.
    pub fn quick() -> LatencyOptions {
        LatencyOptions {
            providers: 50,
            interval: Duration::from_secs(3),
            hot_interval: Duration::from_secs(1),
            run: Duration::from_secs(10),
            posting_gap: (Duration::from_secs(1), Duration::from_secs(3)),
            page_latency: Duration::from_millis(50),
            seed: 14,
        }
    }

    /// The longest a quiet page waits for its next poll (interval + 5 % jitter, with room), plus the
    /// poll and delivery: postings stop this long before the run ends.
    fn settle(&self) -> Duration {
        self.interval.mul_f64(1.2) + Duration::from_secs(1)
    }

    fn posting_window(&self) -> Duration {
        self.run.saturating_sub(self.settle())
    }
}

/// What each page is in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An incident under way from the start; updates, then its resolution.
    Hot,
    /// A maintenance scheduled; it starts during the run.
    Maintenance,
    /// Quiet at start; opens an incident during the run, then updates it.
    Opens,
    /// Quiet throughout: what its polling costs the vendor.
    Quiet,
}

pub fn role_of(i: usize) -> Role {
    match i % 100 {
        0 | 33 | 66 => Role::Hot,
        10 | 60 => Role::Maintenance,
        20 | 45 | 70 | 95 => Role::Opens,
        _ => Role::Quiet,
    }
}

/// History kept per page: 2 to 11 incidents make 20 to 60 KB pages, as in the fleet bench.
fn history_for(i: usize) -> usize {
    2 + i % 10
}

fn intake_token(i: usize) -> String {
    format!("intake-token-for-vendor-{i:06}")
}

/// One planned change: on which page, when (from the measured run's start), what.
#[derive(Debug, Clone, Copy)]
struct Planned {
    provider: usize,
    at: Duration,
    kind: ChangeKind,
}

/// The postings of a run, the same in every mode (from the seed).
fn plan(options: &LatencyOptions) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let window = options.posting_window().as_secs_f64();
    let (gap_min, gap_max) = (
        options.posting_gap.0.as_secs_f64(),
        options.posting_gap.1.as_secs_f64(),
    );
    let gap = |rng: &mut fastrand::Rng| gap_min + rng.f64() * (gap_max - gap_min);
    let mut planned = Vec::new();
    for provider in 0..options.providers {
        let mut at_secs = |at: f64, kind| {
            planned.push(Planned {
                provider,
                at: Duration::from_secs_f64(at),
                kind,
            })
        };
        match role_of(provider) {
            Role::Hot => {
                // Updates at random gaps; the last posting that fits is the resolution.
                let mut times = Vec::new();
                let mut at = rng.f64() * gap_max.min(window);
                while at < window {
                    times.push(at);
                    at += gap(&mut rng);
                }
                let last = times.len().saturating_sub(1);
                for (n, at) in times.into_iter().enumerate() {
                    let kind = if n == last && n > 0 {
                        ChangeKind::Resolution
                    } else {
                        ChangeKind::HotUpdate
                    };
                    at_secs(at, kind);
                }
            }
            Role::Maintenance => at_secs(rng.f64() * window, ChangeKind::MaintenanceStart),
            Role::Opens => {
                let opened = rng.f64() * window;
                at_secs(opened, ChangeKind::NewIncident);
                let update = opened + gap(&mut rng);
                if update < window {
                    at_secs(update, ChangeKind::HotUpdate);
                }
            }
            Role::Quiet => {}
        }
    }
    planned.sort_by_key(|p| p.at);
    planned
}

/// A page as its vendor edits it: the page, the incident under way, the maintenance planned.
struct VendorPage {
    page: Page,
    open_incident: Option<String>,
    maintenance: Option<String>,
}

fn initial_page(server: &StatusServer, i: usize) -> VendorPage {
    let mut page = Page::realistic(&format!("Vendor {i}"), &server.url(&format!("p{i}")));
    page.incidents
        .drain(..page.incidents.len() - history_for(i));
    let mut vendor = VendorPage {
        page,
        open_incident: None,
        maintenance: None,
    };
    let leaves = vendor.page.leaf_ids();
    match role_of(i) {
        Role::Hot => {
            vendor.open_incident = Some(vendor.page.open_incident(
                "Elevated API error rates",
                "minor",
                &leaves[0..1],
                "We are investigating elevated error rates on API requests.",
                Utc::now() - chrono::Duration::minutes(20),
            ));
        }
        Role::Maintenance => {
            let starts = Utc::now() + chrono::Duration::minutes(10);
            vendor.maintenance = Some(vendor.page.schedule_maintenance(
                "Database failover to the new region",
                starts,
                starts + chrono::Duration::hours(2),
                Utc::now() - chrono::Duration::days(3),
            ));
        }
        Role::Opens | Role::Quiet => {}
    }
    vendor
}

/// Applies one change to the page; the update id that events about it carry.
fn apply(vendor: &mut VendorPage, kind: ChangeKind, n: usize) -> String {
    let now = Utc::now();
    match kind {
        ChangeKind::NewIncident => {
            let leaves = vendor.page.leaf_ids();
            let id = vendor.page.open_incident(
                "Degraded performance of webhooks",
                "major",
                &leaves[1..2],
                "We are investigating delayed webhook deliveries.",
                now,
            );
            vendor.open_incident = Some(id);
            let opened = vendor.page.incidents.last().expect("just opened");
            opened.updates[0].id.clone()
        }
        ChangeKind::HotUpdate => {
            let id = vendor.open_incident.clone().expect("an incident under way");
            vendor.page.post_update(
                &id,
                "identified",
                &format!("Update {n}: we identified the cause and are rolling out a fix."),
                now,
            )
        }
        ChangeKind::Resolution => {
            let id = vendor.open_incident.take().expect("an incident under way");
            vendor
                .page
                .post_update(&id, "resolved", "This incident has been resolved.", now)
        }
        ChangeKind::MaintenanceStart => {
            let id = vendor.maintenance.clone().expect("a maintenance planned");
            vendor.page.post_update(
                &id,
                "in_progress",
                "Scheduled maintenance is currently in progress.",
                now,
            )
        }
    }
}

/// One posted change and what became of it.
#[derive(Debug, Clone)]
pub struct Posting {
    pub provider: usize,
    pub kind: ChangeKind,
    pub update_id: String,
    pub posted: Instant,
    /// The page's first answer after the posting (the poll that could see it).
    pub read: Option<Instant>,
    /// Deliveries of events carrying this update (exactly one when all is well).
    pub delivered: Vec<Instant>,
}

impl Posting {
    pub fn latency(&self) -> Option<Duration> {
        self.delivered
            .first()
            .map(|at| at.duration_since(self.posted))
    }

    pub fn wait(&self) -> Option<Duration> {
        self.read.map(|at| at.duration_since(self.posted))
    }

    pub fn pipeline(&self) -> Option<Duration> {
        Some(self.delivered.first()?.duration_since(self.read?))
    }
}

#[derive(Debug, Clone)]
pub struct ModeReport {
    pub mode: Mode,
    pub options: LatencyOptions,
    pub postings: Vec<Posting>,
    /// Deliveries after warm-up that match no posting (type, provider, update).
    pub unexpected: Vec<String>,
    /// Pushes the intake did not accept (push mode).
    pub pushes_refused: usize,
    /// Seconds of the measured run (CPU is over this).
    pub measured: Duration,
    /// What the pages of each role were asked during the measured run.
    pub quiet: Load,
    pub hot: Load,
    /// The watcher's user + system CPU over the measured run.
    pub cpu: Duration,
}

/// The requests a group of pages (quiet or hot) received during the measured run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub providers: usize,
    pub requests: usize,
    pub polls: usize,
    /// The mean time between two polls of one page: the polling rate, whatever the phase of
    /// the polls within the run (counting polls in a four-minute window would say 3 or 4 for
    /// the same rate, by where the window falls).
    pub mean_gap: Option<Duration>,
}

impl Load {
    /// Requests (all documents) and polls (summaries) per provider per hour, from the mean
    /// gap between polls and the documents each poll read.
    pub fn per_hour(&self) -> (f64, f64) {
        let Some(gap) = self.mean_gap.filter(|g| !g.is_zero()) else {
            return (0.0, 0.0);
        };
        let polls = 3600.0 / gap.as_secs_f64();
        let documents = self.requests as f64 / self.polls.max(1) as f64;
        (polls * documents, polls)
    }
}

impl ModeReport {
    pub fn missing(&self) -> usize {
        self.postings
            .iter()
            .filter(|p| p.delivered.is_empty())
            .count()
    }

    pub fn duplicated(&self) -> usize {
        self.postings
            .iter()
            .filter(|p| p.delivered.len() > 1)
            .count()
    }

    pub fn latencies(&self, kinds: &[ChangeKind]) -> Vec<Duration> {
        self.of(kinds, Posting::latency)
    }

    pub fn of(
        &self,
        kinds: &[ChangeKind],
        part: fn(&Posting) -> Option<Duration>,
    ) -> Vec<Duration> {
        let mut times: Vec<Duration> = self
            .postings
            .iter()
            .filter(|p| kinds.contains(&p.kind))
            .filter_map(part)
            .collect();
        times.sort();
        times
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

fn config(
    options: &LatencyOptions,
    mode: Mode,
    server: &StatusServer,
    hook: &str,
    state: &Path,
) -> String {
    let hot_interval = match mode {
        Mode::Fixed => options.interval,
        Mode::Adaptive | Mode::Push => options.hot_interval,
    };
    let mut config = format!(
        "[settings]\nstate = \"{}\"\nallow_private_targets = true\ninterval = \"{}ms\"\nhot_interval = \"{}ms\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{hook}\"\nmaintenance = true\n",
        state.display(),
        options.interval.as_millis(),
        hot_interval.as_millis(),
    );
    // Every provider has an intake token in every mode: only the push mode uses them.
    for i in 0..options.providers {
        config.push_str(&format!(
            "\n[[providers]]\nid = \"p{i}\"\nurl = \"{}\"\nplatform = \"statuspage\"\nintake_token = \"{}\"\n",
            server.url(&format!("p{i}")),
            intake_token(i)
        ));
    }
    config
}

/// One mode: a fresh fleet, state file and watcher; warm-up (the first round, which reads
/// every page and announces the incidents under way); then the measured run.
pub async fn run_mode(options: LatencyOptions, mode: Mode) -> ModeReport {
    let server = StatusServer::with_latency(options.page_latency).await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let pages: Vec<Arc<Mutex<VendorPage>>> = (0..options.providers)
        .map(|i| {
            let vendor = initial_page(&server, i);
            server.publish(&format!("p{i}"), &vendor.page);
            Arc::new(Mutex::new(vendor))
        })
        .collect();
    let config_path = work.write_config(&config(
        &options,
        mode,
        &server,
        &hook.url(),
        &work.path("latency.db"),
    ));
    let port = super::free_port();
    let mut child = super::spawn_listening_watcher(&config_path, port);
    let pid = child.id().unwrap();
    // The log is read to the end (a full pipe would stall the watcher); the first round over
    // every provider ends the warm-up.
    let (first_round_sender, first_round) = tokio::sync::oneshot::channel();
    let stderr = child.stderr.take().unwrap();
    let providers = options.providers as u64;
    tokio::spawn(async move {
        let mut sender = Some(first_round_sender);
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if entry["message"] == "round finished"
                && entry["providers"].as_u64() == Some(providers)
                && let Some(sender) = sender.take()
            {
                let _ = sender.send(());
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(300), first_round)
        .await
        .expect("no first round within 5 minutes")
        .expect("the watcher stopped before its first round");
    // The first round announces each incident under way and each upcoming maintenance once.
    let under_way_at_start = (0..options.providers)
        .filter(|i| matches!(role_of(*i), Role::Hot | Role::Maintenance))
        .count();
    let deadline = Instant::now() + Duration::from_secs(10);
    while hook.delivered().len() < under_way_at_start && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        hook.delivered().len(),
        under_way_at_start,
        "the first round announces what is under way or planned, once each"
    );
    hook.clear();
    server.take_hits();
    server.record_serving();
    let cpu_before = cpu_of(pid);
    let started = Instant::now();

    // The vendors post their changes (and, in push mode, their webhooks) on the timeline.
    let client = reqwest::Client::new();
    let intake = format!("http://127.0.0.1:{port}/intake");
    let pushes_refused = Arc::new(Mutex::new(0usize));
    let mut postings = Vec::new();
    for (n, planned) in plan(&options).into_iter().enumerate() {
        tokio::time::sleep_until((started + planned.at).into()).await;
        let slug = format!("p{}", planned.provider);
        let mut vendor = pages[planned.provider].lock().unwrap();
        let posted = Instant::now();
        let update_id = apply(&mut vendor, planned.kind, n);
        server.publish(&slug, &vendor.page);
        drop(vendor);
        if mode == Mode::Push {
            let (client, refused) = (client.clone(), pushes_refused.clone());
            let url = format!("{intake}/{slug}?token={}", intake_token(planned.provider));
            // A Statuspage-shaped body; the watcher never reads it.
            let body = serde_json::json!({
                "meta": {"unsubscribe": "https://example.invalid/u", "generated_at": Utc::now().to_rfc3339()},
                "page": {"id": "kctbh9vrtdwd", "status_indicator": "minor"},
                "incident": {"id": update_id, "status": "investigating"}
            });
            tokio::spawn(async move {
                let accepted = client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !accepted {
                    *refused.lock().unwrap() += 1;
                }
            });
        }
        postings.push(Posting {
            provider: planned.provider,
            kind: planned.kind,
            update_id,
            posted,
            read: None,
            delivered: Vec::new(),
        });
    }
    tokio::time::sleep_until((started + options.run).into()).await;
    let measured = started.elapsed();
    let hits = server.take_hits();
    let cpu = cpu_of(pid).saturating_sub(cpu_before);
    // Changes posted near the end may still be on their way: wait for them (not measured).
    let deadline = Instant::now() + options.settle() + Duration::from_secs(5);
    while hook.delivered().len() < postings.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more, for duplicates to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;

    // When each page was first read after each posting, and when it was polled.
    let mut served: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut polled: HashMap<String, Vec<Instant>> = HashMap::new();
    for (path, at) in server.take_serving_log() {
        let slug = path.trim_start_matches('/').split('/').next().unwrap_or("");
        served.entry(slug.to_owned()).or_default().push(at);
        if path.ends_with(super::SUMMARY) && at <= started + options.run {
            polled.entry(slug.to_owned()).or_default().push(at);
        }
    }
    for posting in &mut postings {
        posting.read = served
            .get(&format!("p{}", posting.provider))
            .and_then(|times| times.iter().find(|at| **at >= posting.posted).copied());
    }
    let mut by_update: HashMap<(String, String), usize> = postings
        .iter()
        .enumerate()
        .map(|(n, p)| ((format!("p{}", p.provider), p.update_id.clone()), n))
        .collect();
    let mut unexpected = Vec::new();
    for delivery in hook.delivered() {
        let event = delivery.json();
        let provider = event["data"]["provider"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let update = event["data"]["update"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        match by_update.get_mut(&(provider.clone(), update.clone())) {
            Some(n) => postings[*n].delivered.push(delivery.at),
            None => unexpected.push(format!("{} {provider} {update}", event["type"])),
        }
    }
    by_update.clear();

    let count = |role: Role| {
        let mut providers = 0;
        let (mut requests, mut polls) = (0, 0);
        for i in (0..options.providers).filter(|i| role_of(*i) == role) {
            providers += 1;
            let prefix = format!("/p{i}/");
            for (path, n) in hits.range(prefix.clone()..) {
                if !path.starts_with(&prefix) {
                    break;
                }
                requests += n;
                if path.ends_with(super::SUMMARY) {
                    polls += n;
                }
            }
        }
        let gaps: Vec<Duration> = (0..options.providers)
            .filter(|i| role_of(*i) == role)
            .filter_map(|i| polled.get(&format!("p{i}")))
            .flat_map(|times| times.windows(2).map(|w| w[1].duration_since(w[0])))
            .collect();
        let mean_gap = (!gaps.is_empty())
            .then(|| gaps.iter().sum::<Duration>() / u32::try_from(gaps.len()).unwrap_or(u32::MAX));
        Load {
            providers,
            requests,
            polls,
            mean_gap,
        }
    };
    let pushes_refused = *pushes_refused.lock().unwrap();
    ModeReport {
        mode,
        options,
        postings,
        unexpected,
        pushes_refused,
        measured,
        quiet: count(Role::Quiet),
        hot: count(Role::Hot),
        cpu,
    }
}

/// Deliveries grouped for the report: kind → postings.
pub fn by_kind(report: &ModeReport) -> BTreeMap<ChangeKind, Vec<&Posting>> {
    let mut kinds: BTreeMap<ChangeKind, Vec<&Posting>> = BTreeMap::new();
    for posting in &report.postings {
        kinds.entry(posting.kind).or_default().push(posting);
    }
    kinds
}
