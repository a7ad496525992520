//! What the AWS read side adds to the stack's monthly cost: the history and board writes, the
//! history's storage, the dashboard function's requests and reads, and the CloudWatch metrics
//! the poller and notifier emit (BENCHMARKS.md, "Cost model", "The read side").
//!
//! Measured: the dashboard function's CPU per request that reads the board
//! (`DASHBOARD_CPU_MS`, from `cargo bench --bench dashboard_lambda`) and the EMF documents'
//! sizes. Assumed, as the base model does: 30 state changes per provider and month, each one
//! event; 30 ms of DynamoDB per request (moto on loopback is no guide to DynamoDB's latency).

use super::{GB_SECOND, LOG_GB, REQUEST, RUNS};

/// On-demand DynamoDB, us-east-1: per million write and read request units.
const WRU: f64 = 0.625 / 1e6;
const RRU: f64 = 0.125 / 1e6;
const STORAGE_GB_MONTH: f64 = 0.25;

const EVENTS_PER_PROVIDER_MONTH: f64 = 30.0;
/// A history item (the event's webhook JSON, ~1.2 KB, and its keys): 2 write units, and as
/// many again for its copy in the read index (projection ALL).
const HISTORY_WRITE_UNITS: f64 = 4.0;
const HISTORY_ITEM_KB: f64 = 1.2;
const RETENTION_MONTHS: f64 = 3.0;
/// A board summary (~0.4 KB, ≤ 1 KB with open incidents) and its index copy.
const BOARD_WRITE_UNITS: f64 = 2.0;
const BOARD_ITEM_KB: f64 = 0.4;

/// 10 viewers a day, each with the dashboard open 10 minutes: 20 reloads (every 30 s) and 3
/// pages opened.
const PAGE_REQUESTS: f64 = 10.0 * 23.0 * 30.0;
/// One calendar app and one feed reader, each fetching every 15 minutes.
const CALENDAR_REQUESTS: f64 = 4.0 * 24.0 * 30.0;
const FEED_REQUESTS: f64 = 4.0 * 24.0 * 30.0;
/// Lambda's START/END/REPORT lines per invocation.
const LOG_KB_PER_REQUEST: f64 = 0.3;
/// The dashboard function's memory (the template's) and one vCPU's worth of it.
const DASHBOARD_GB: f64 = 0.25;
const GB_PER_VCPU: f64 = 1.769;
const DYNAMODB_WAIT_MS: f64 = 30.0;

pub struct ReadSideCosts {
    pub writes: f64,
    pub storage: f64,
    pub requests: f64,
}

impl ReadSideCosts {
    pub fn total(&self) -> f64 {
        self.writes + self.storage + self.requests
    }
}

/// The read side for `providers` polled in `shards`; `cpu_ms`: the dashboard function's CPU
/// for a page that reads the board (at 1,000 providers; scaled with the fleet).
pub fn read_side_costs(providers: f64, shards: f64, cpu_ms: f64) -> ReadSideCosts {
    let events = EVENTS_PER_PROVIDER_MONTH * providers;
    // The notifier bumps the version once per invocation that recorded something (at most
    // one per event), the poller once per run that wrote a summary, every shard writes its
    // run's end.
    let version_bumps = events + RUNS.min(events);
    let writes =
        (events * HISTORY_WRITE_UNITS + events * BOARD_WRITE_UNITS + version_bumps + RUNS * shards)
            * WRU;
    let storage = (events * RETENTION_MONTHS * HISTORY_ITEM_KB * 2.0
        + providers * BOARD_ITEM_KB * 2.0)
        / 1024.0
        / 1024.0
        * STORAGE_GB_MONTH;
    // Eventually consistent reads: half a unit per 4 KB a Query returns. Every page and
    // calendar fetch is taken to read the board (a warm container's 30 s copy and 304s make
    // it less); a feed reads one page of 100 events.
    let board_read = (providers * BOARD_ITEM_KB / 4.0).ceil() * 0.5 + 1.5;
    let feed_read = (100.0 * HISTORY_ITEM_KB / 4.0).ceil() * 0.5 + 0.5;
    let reads =
        ((PAGE_REQUESTS + CALENDAR_REQUESTS) * board_read + FEED_REQUESTS * feed_read) * RRU;
    let invocations = PAGE_REQUESTS + CALENDAR_REQUESTS + FEED_REQUESTS;
    // CPU-bound time costs the same GB-seconds at any memory size; the wait is billed at the
    // function's memory.
    let cpu_s = cpu_ms * (providers / 1_000.0).max(0.2) / 1000.0;
    let gb_seconds = cpu_s * GB_PER_VCPU + DYNAMODB_WAIT_MS / 1000.0 * DASHBOARD_GB;
    let lambda = invocations * (gb_seconds * GB_SECOND + REQUEST);
    let logs = invocations * LOG_KB_PER_REQUEST / 1024.0 / 1024.0 * LOG_GB;
    ReadSideCosts {
        writes,
        storage,
        requests: reads + lambda + logs,
    }
}

/// Custom metrics, $0.30 a metric-month, billed for the hours a metric gets data.
const METRIC_MONTH: f64 = 0.30;
/// Every hour: `ProvidersOperational` (some provider is operational in every run of a healthy
/// fleet) and `CycleDuration` (every run over a whole shard). Zero counts are not sent, the
/// other states' included.
const HOURLY_METRICS: f64 = 2.0;
const HOURS: f64 = 730.0;
/// Share of polls that fail (two classes, timeouts and HTTP errors, in most hours): an
/// assumption, not measured against real vendors.
const FAILING_POLLS: f64 = 0.005;
/// Share of hours in which at least one of 1,000 providers is in each state other than
/// operational (an assumption, not measured): under maintenance 25 %, degraded 50 %, partial
/// outage 25 %, major outage 10 %, unknown (a page unread, or failing twice) 50 %. Each state
/// is taken to be Poisson in provider-hours, so a smaller fleet reports it in fewer hours.
const STATE_HOURS_AT_1000: [f64; 5] = [0.25, 0.5, 0.25, 0.1, 0.5];
/// EMF document sizes (shared/src/aws/emf.rs's golden documents' shape, stack
/// `statusrelay-prod`, plus Logs' 26 bytes): a poller shard run with two failure classes,
/// operational, ~1.6 other states and the duration ~0.57 KB; a notifier invocation 0.42 KB.
const POLLER_DOCUMENT_KB: f64 = 0.57;
const NOTIFIER_DOCUMENT_KB: f64 = 0.42;

/// The typical metric bill: the hourly two, plus each non-operational state, event type,
/// delivery outcome and failure class for the share of hours it occurs in (Poisson at its
/// hourly rate), plus the EMF lines' ingestion.
pub fn metrics_cost(providers: f64, shards: f64) -> f64 {
    let active = |per_hour: f64| 1.0 - (-per_hour).exp();
    let states: f64 = STATE_HOURS_AT_1000
        .iter()
        .map(|share| active(-(1.0 - share).ln() * providers / 1_000.0))
        .sum();
    let events_per_hour = EVENTS_PER_PROVIDER_MONTH * providers / HOURS;
    // Most events are of four types (incident created, updated, resolved; component changed).
    let event_types = 4.0 * active(events_per_hour / 4.0);
    let sent = active(events_per_hour);
    let failures = 2.0 * active(providers * 60.0 * FAILING_POLLS / 2.0);
    let metrics = (HOURLY_METRICS + states + event_types + sent + failures) * METRIC_MONTH;
    let notifier_invocations = EVENTS_PER_PROVIDER_MONTH * providers;
    let logs = (RUNS * shards * POLLER_DOCUMENT_KB + notifier_invocations * NOTIFIER_DOCUMENT_KB)
        / 1024.0
        / 1024.0
        * LOG_GB;
    metrics + logs
}

/// The read side's table (BENCHMARKS.md).
pub fn print_table(cpu_ms: f64) {
    println!();
    println!(
        "the AWS read side (history kept 90 days, 10 dashboard viewers a day, a calendar app and a feed reader every 15 min; {cpu_ms:.1} ms of CPU per board read at 1,000 providers) and the CloudWatch metrics:"
    );
    println!(
        "| providers | shards | history, board and run writes | history storage | dashboard, calendar and feed requests | read side per month | CloudWatch metrics (typical) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (providers, shards) in [
        (20.0_f64, 1.0),
        (200.0, 1.0),
        (1_000.0, 2.0),
        (5_000.0, 6.0),
        (10_000.0, 12.0),
    ] {
        let costs = read_side_costs(providers, shards, cpu_ms);
        println!(
            "| {providers:.0} | {shards:.0} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** | ${:.2} |",
            costs.writes,
            costs.storage,
            costs.requests,
            costs.total(),
            metrics_cost(providers, shards)
        );
    }
}
