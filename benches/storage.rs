//! Storage benchmark: how much the state file grows per provider per month at a realistic
//! change rate, and what that means at 5,000 providers with the default 90-day retention. See
//! BENCHMARKS.md, "Dashboard" (storage).
//!
//! The real watcher (`statusrelay run --once`, release build) writes the store as it does in
//! production: `commit_polls` with the real change detection's events, two destinations (a
//! delivery row per event each, `mark_sent` when the receiver answers), the `polled` table, and
//! `prune` at the start of every cycle. A month is simulated as a sequence of cycles in which
//! every provider's page follows the same monthly script (`MONTH`), so the month's events and
//! deliveries are all written; wall-clock time does not pass, so retention is exercised by
//! pruning the first month's rows through `Store::prune` and running a second month, which
//! must reuse the freed pages instead of growing the file.
//!
//! `cargo build --release -p statusrelay && cargo bench --bench storage`
//! (`STORAGE_PROVIDERS`, default 300).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;

use chrono::{Duration, Utc};
use support::fixture::Page;
use support::{StatusServer, WebhookReceiver, Workspace, run_once};

/// One change a vendor makes to its page, one per cycle.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// A new incident, one component degraded with it.
    Open,
    /// Another update on the incident under way.
    Update(&'static str),
    /// The incident resolved, its component back to operational.
    Resolve,
    /// A component degrades, then recovers, without any incident.
    ComponentDown,
    ComponentUp,
    /// A maintenance announced for next week, started, completed.
    Announce,
    Start,
    Complete,
}

use Change::*;

/// A month of one vendor, stated as the assumed change rate: 3 incidents with 4, 5 and 4
/// updates (investigating … resolved), each degrading one component while it lasts; two
/// component blips without an incident; 2 maintenances (announced, in progress, completed).
/// That is 13 incident updates, 10 component changes and 6 maintenance updates a month, the
/// order of a large SaaS vendor's page (GitHub, Atlassian, Twilio post 2–6 incidents a month).
const MONTH: [Change; 23] = [
    Open,
    Update("identified"),
    Update("monitoring"),
    Resolve,
    ComponentDown,
    ComponentUp,
    Announce,
    Open,
    Update("identified"),
    Update("identified"),
    Update("monitoring"),
    Resolve,
    Start,
    Complete,
    Open,
    Update("identified"),
    Update("monitoring"),
    Resolve,
    ComponentDown,
    ComponentUp,
    Announce,
    Start,
    Complete,
];

/// One provider's page and what is under way on it.
struct Vendor {
    page: Page,
    incident: Option<String>,
    maintenance: Option<String>,
    component: String,
}

impl Vendor {
    fn new(server: &StatusServer, i: usize) -> Vendor {
        let mut page = Page::realistic("Vendor", &server.url(&format!("p{i}")));
        // 2 to 11 incidents of history, as in the fleet bench: 20–55 KiB pages.
        page.incidents.drain(..page.incidents.len() - (2 + i % 10));
        let component = page.leaf_ids()[i % 20].clone();
        Vendor {
            page,
            incident: None,
            maintenance: None,
            component,
        }
    }

    fn apply(&mut self, change: Change) {
        let now = Utc::now();
        let text = "We are seeing elevated error rates for API requests and webhook deliveries \
                    in some regions. Our engineers are working on it; the next update will \
                    follow within the hour.";
        match change {
            Open => {
                // The page keeps a fixed history: the oldest incident leaves as one opens.
                self.page.incidents.remove(0);
                let component = self.component.clone();
                self.page
                    .set_component(&component, "degraded_performance", now);
                self.incident = Some(self.page.open_incident(
                    "Degraded performance for API requests",
                    "minor",
                    std::slice::from_ref(&component),
                    text,
                    now,
                ));
            }
            Update(status) => {
                let id = self.incident.clone().unwrap();
                self.page.post_update(&id, status, text, now);
            }
            Resolve => {
                let id = self.incident.take().unwrap();
                self.page
                    .post_update(&id, "resolved", "This incident has been resolved.", now);
                let component = self.component.clone();
                self.page.set_component(&component, "operational", now);
            }
            ComponentDown | ComponentUp => {
                let component = self.page.leaf_ids()[25].clone();
                let status = match change {
                    ComponentDown => "partial_outage",
                    _ => "operational",
                };
                self.page.set_component(&component, status, now);
            }
            Announce => {
                let from = now + Duration::days(7);
                self.maintenance = Some(self.page.schedule_maintenance(
                    "Scheduled database maintenance",
                    from,
                    from + Duration::hours(2),
                    now,
                ));
            }
            Start => {
                let id = self.maintenance.clone().unwrap();
                self.page.post_update(
                    &id,
                    "in_progress",
                    "Scheduled maintenance is currently in progress.",
                    now,
                );
            }
            Complete => {
                let id = self.maintenance.take().unwrap();
                self.page.post_update(
                    &id,
                    "completed",
                    "The scheduled maintenance has been completed.",
                    now,
                );
                // Statuspage lists only upcoming and recent maintenances.
                self.page.maintenances.retain(|m| m.id != id);
            }
        }
    }
}

/// The state file's size on disk: the database and its WAL (the watcher checkpoints and
/// removes the WAL when it closes the file).
fn file_bytes(db: &Path) -> u64 {
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

struct Contents {
    events: i64,
    deliveries: i64,
    payload_bytes: i64,
    free_pages: i64,
    page_size: i64,
}

fn contents(db: &Path) -> Contents {
    let conn = rusqlite::Connection::open(db).unwrap();
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    Contents {
        events: one("SELECT COUNT(*) FROM events"),
        deliveries: one("SELECT COUNT(*) FROM deliveries"),
        payload_bytes: one("SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM events"),
        free_pages: one("PRAGMA freelist_count"),
        page_size: one("PRAGMA page_size"),
    }
}

fn main() {
    let providers = std::env::var("STORAGE_PROVIDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300usize);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(providers));
}

async fn bench(providers: usize) {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let db = work.path("storage.db");
    let mut vendors: Vec<Vendor> = (0..providers).map(|i| Vendor::new(&server, i)).collect();
    let mut config = format!(
        "[settings]\nstate = \"{}\"\nallow_private_targets = true\nretention = \"90d\"\n\n\
         [[destinations]]\nname = \"slack-like\"\ntype = \"webhook\"\nurl = \"{url}\"\n\n\
         [[destinations]]\nname = \"webhook\"\ntype = \"webhook\"\nurl = \"{url}\"\n\n\
         [[routes]]\nname = \"everything\"\ndestinations = [\"slack-like\", \"webhook\"]\n",
        db.display(),
        url = receiver.url()
    );
    for (i, vendor) in vendors.iter().enumerate() {
        server.publish(&format!("p{i}"), &vendor.page);
        config.push_str(&format!(
            "\n[[providers]]\nid = \"p{i}\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
            server.url(&format!("p{i}"))
        ));
    }
    let config = work.write_config(&config);

    let cycle = async |vendors: &mut Vec<Vendor>, change: Option<Change>| {
        if let Some(change) = change {
            for (i, vendor) in vendors.iter_mut().enumerate() {
                vendor.apply(change);
                server.publish(&format!("p{i}"), &vendor.page);
            }
        }
        let output = run_once(&config).await;
        assert!(output.status.success(), "{output:?}");
    };

    // The baseline: every provider's snapshot, no history yet.
    cycle(&mut vendors, None).await;
    let baseline = file_bytes(&db);
    let at_baseline = contents(&db);
    for change in MONTH {
        cycle(&mut vendors, Some(change)).await;
    }
    let after_month = file_bytes(&db);
    let month = contents(&db);
    let delivered = receiver.delivered().len();

    // Retention: the first month's rows go (as they would 90 days on), the second month's
    // rows should fill the freed pages.
    let pruned = statusrelay_core::store::Store::open(&db)
        .unwrap()
        .prune(Duration::zero())
        .unwrap();
    let after_prune = contents(&db);
    for change in MONTH {
        cycle(&mut vendors, Some(change)).await;
    }
    let after_second = file_bytes(&db);
    let second = contents(&db);

    let per_provider = |bytes: f64| bytes / providers as f64;
    let growth = per_provider((after_month - baseline) as f64);
    let snapshot = per_provider(baseline as f64);
    let events_per_provider = month.events as f64 / providers as f64;
    println!(
        "storage: {providers} providers, 20–55 KiB Statuspage pages, 2 destinations; a month = {} cycles of the script \
         (3 incidents with 4, 5, 4 updates, each degrading a component; 2 component blips; 2 maintenances announced, started, completed)",
        MONTH.len()
    );
    println!();
    println!(
        "| state file | size | per provider | events | deliveries | event payloads | free pages |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, bytes: u64, c: &Contents| {
        println!(
            "| {name} | {:.2} MiB | {:.1} KiB | {} | {} | {:.2} MiB | {} ({:.2} MiB) |",
            bytes as f64 / 1048576.0,
            per_provider(bytes as f64) / 1024.0,
            c.events,
            c.deliveries,
            c.payload_bytes as f64 / 1048576.0,
            c.free_pages,
            (c.free_pages * c.page_size) as f64 / 1048576.0,
        );
    };
    row("baseline (snapshots only)", baseline, &at_baseline);
    row("after one month", after_month, &month);
    row(
        &format!("month 1 pruned ({pruned} events)"),
        after_month,
        &after_prune,
    );
    row("after a second month", after_second, &second);
    println!();
    println!(
        "per provider: {events_per_provider:.1} events and {:.1} deliveries a month ({delivered} webhook deliveries answered); \
         {:.1} KiB of snapshot and validators, {:.1} KiB of growth per month ({:.0} bytes per event, rows and indexes included)",
        month.deliveries as f64 / providers as f64,
        snapshot / 1024.0,
        growth / 1024.0,
        growth / events_per_provider,
    );
    let retained_months = 3.0;
    let at = |fleet: f64| fleet * (snapshot + retained_months * growth) / 1048576.0;
    println!(
        "projection with retention = \"90d\" (3 months of events kept): {:.0} MiB at 1,000 providers, {:.0} MiB at 5,000 \
         ({:.0} MiB of it snapshots); the second month grew the file by {:.2} MiB after pruning the first (freed pages reused)",
        at(1000.0),
        at(5000.0),
        5000.0 * snapshot / 1048576.0,
        (after_second as f64 - after_month as f64) / 1048576.0,
    );
}
