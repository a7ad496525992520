//! Detection-latency benchmark: from a vendor posting a change on its status page to the
//! webhook delivering it, over a loopback fleet watched by the real release binary
//! (`statusrelay run --listen`), in three modes: fixed interval, adaptive, adaptive + push.
//! See tests/support/latency.rs for the fleet and the postings, BENCHMARKS.md "Detection
//! latency" for the figures.
//!
//! `cargo build --release -p statusrelay && cargo bench --bench latency`.
//! - `LATENCY_PROVIDERS` (default 1000);
//! - `LATENCY_SECONDS`: measured run per mode (default 300);
//! - `LATENCY_SCALE`: divides the 60 s interval and 15 s hot interval (default 1: no scaling;
//!   the push gap, cool-down, round gathering, network and processing do not scale, so a
//!   scaled run only approximates the real cadence);
//! - `LATENCY_MODES`: a comma-separated subset of `fixed,adaptive,push`;
//! - `LATENCY_QUICK=1`: 50 providers, 3 s / 1 s intervals, 10 s per mode (correctness).

#[path = "../tests/support/mod.rs"]
mod support;

use support::env_or;

use std::time::Duration;

use support::latency::{
    ChangeKind, LatencyOptions, Mode, ModeReport, Posting, by_kind, percentile, run_mode,
};

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// "p50 / p95 / max" of sorted times.
fn spread(sorted: &[Duration]) -> String {
    if sorted.is_empty() {
        return "—".to_owned();
    }
    format!(
        "{} / {} / {}",
        secs(percentile(sorted, 0.5)),
        secs(percentile(sorted, 0.95)),
        secs(*sorted.last().unwrap())
    )
}

fn sorted_by(postings: &[&Posting], part: fn(&Posting) -> Option<Duration>) -> Vec<Duration> {
    let mut times: Vec<Duration> = postings.iter().filter_map(|p| part(p)).collect();
    times.sort();
    times
}

fn main() {
    let quick = std::env::var("LATENCY_QUICK").is_ok_and(|v| v == "1");
    let scale = env_or("LATENCY_SCALE", 1).max(1) as u32;
    let options = if quick {
        LatencyOptions::quick()
    } else {
        LatencyOptions::bench(
            env_or("LATENCY_PROVIDERS", 1000) as usize,
            Duration::from_secs(env_or("LATENCY_SECONDS", 300)),
            scale,
        )
    };
    let modes: Vec<Mode> = std::env::var("LATENCY_MODES")
        .unwrap_or_else(|_| "fixed,adaptive,push".to_owned())
        .split(',')
        .filter_map(Mode::parse)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "latency: {} providers (3 % with an incident under way, 2 % a maintenance scheduled, 4 % \
         opening an incident during the run), {:?} page latency; interval {:?}, hot_interval {:?} \
         (time scale 1/{}{}); {:?} measured per mode, changes posted in its first {:?}",
        options.providers,
        options.page_latency,
        options.interval,
        options.hot_interval,
        if quick { 1 } else { scale },
        if quick {
            ", quick mode: not the real cadence"
        } else {
            ""
        },
        options.run,
        options
            .run
            .saturating_sub(options.interval.mul_f64(1.2) + Duration::from_secs(1)),
    );
    let mut reports = Vec::new();
    for mode in modes {
        let report = runtime.block_on(run_mode(options, mode));
        print_mode(&report);
        reports.push(report);
    }
    print_costs(&reports);
    if !quick {
        print_targets(&reports, scale);
    }
}

fn print_mode(report: &ModeReport) {
    println!();
    println!(
        "### {} (hot_interval {:?}): {} changes posted, {} delivered once, {} missing, {} duplicated, {} unexpected deliveries{}",
        report.mode.name(),
        match report.mode {
            Mode::Fixed => report.options.interval,
            _ => report.options.hot_interval,
        },
        report.postings.len(),
        report
            .postings
            .iter()
            .filter(|p| p.delivered.len() == 1)
            .count(),
        report.missing(),
        report.duplicated(),
        report.unexpected.len(),
        if report.pushes_refused > 0 {
            format!(", {} pushes refused", report.pushes_refused)
        } else {
            String::new()
        }
    );
    for line in report.unexpected.iter().take(5) {
        println!("  unexpected: {line}");
    }
    println!();
    println!(
        "| change | n | posted → delivered p50 / p95 / max | posted → first read (poll wait) p50 / p95 | read → delivered p50 / p95 |"
    );
    println!("|---|---|---|---|---|");
    for (kind, postings) in by_kind(report) {
        let wait = sorted_by(&postings, Posting::wait);
        let pipeline = sorted_by(&postings, Posting::pipeline);
        println!(
            "| {} | {} | {} | {} / {} | {} / {} |",
            kind.name(),
            postings.len(),
            spread(&sorted_by(&postings, Posting::latency)),
            secs(percentile(&wait, 0.5)),
            secs(percentile(&wait, 0.95)),
            secs(percentile(&pipeline, 0.5)),
            secs(percentile(&pipeline, 0.95)),
        );
    }
}

fn print_costs(reports: &[ModeReport]) {
    println!();
    println!(
        "| mode | quiet page: requests / polls per hour | hot page: requests / polls per hour | watcher CPU over the run | CPU share of one core |"
    );
    println!("|---|---|---|---|---|");
    for report in reports {
        let (quiet_requests, quiet_polls) = report.quiet.per_hour();
        let (hot_requests, hot_polls) = report.hot.per_hour();
        println!(
            "| {} | {quiet_requests:.1} / {quiet_polls:.1} ({} pages) | {hot_requests:.1} / {hot_polls:.1} ({} pages) | {} in {} | {:.1} % |",
            report.mode.name(),
            report.quiet.providers,
            report.hot.providers,
            secs(report.cpu),
            secs(report.measured),
            100.0 * report.cpu.as_secs_f64() / report.measured.as_secs_f64(),
        );
    }
}

/// The targets (60 s interval, 15 s hot interval); in a scaled run the polling
/// targets are divided by the scale too, which is stricter than the real cadence (the
/// unscaled parts of each latency are not divided).
fn print_targets(reports: &[ModeReport], scale: u32) {
    let verdict = |holds: bool| if holds { "met" } else { "MISSED" };
    let find = |mode: Mode| reports.iter().find(|r| r.mode == mode);
    let scaled = |d: Duration| d / scale;
    let hot = [ChangeKind::HotUpdate, ChangeKind::Resolution];
    println!();
    println!("targets (time scale 1/{scale}):");
    for report in [find(Mode::Adaptive), find(Mode::Push)]
        .into_iter()
        .flatten()
    {
        let times = report.latencies(&hot);
        let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
        println!(
            "- {}: updates on hot providers p50 {} ≤ {}: {}; p95 {} ≤ {}: {}",
            report.mode.name(),
            secs(p50),
            secs(scaled(Duration::from_secs(10))),
            verdict(p50 <= scaled(Duration::from_secs(10))),
            secs(p95),
            secs(scaled(Duration::from_secs(18))),
            verdict(p95 <= scaled(Duration::from_secs(18))),
        );
    }
    if let Some(fixed) = find(Mode::Fixed) {
        let times = fixed.latencies(&hot);
        println!(
            "- fixed interval, for comparison: updates on hot providers p50 {}, p95 {}",
            secs(percentile(&times, 0.5)),
            secs(percentile(&times, 0.95)),
        );
    }
    if let Some(adaptive) = find(Mode::Adaptive) {
        let times = adaptive.latencies(&[ChangeKind::NewIncident]);
        let limit = scaled(Duration::from_secs(63));
        let p95 = percentile(&times, 0.95);
        println!(
            "- adaptive: new incidents on quiet providers p95 {} ≤ interval + 3 s = {}: {}",
            secs(p95),
            secs(limit),
            verdict(p95 <= limit)
        );
    }
    if let Some(push) = find(Mode::Push) {
        let times = push.latencies(&ChangeKind::ALL);
        let p95 = percentile(&times, 0.95);
        println!(
            "- push: every change p95 {} ≤ 3 s: {}",
            secs(p95),
            verdict(p95 <= Duration::from_secs(3))
        );
    }
    if let Some(fixed) = find(Mode::Fixed) {
        let (fixed_requests, _) = fixed.quiet.per_hour();
        for report in [find(Mode::Adaptive), find(Mode::Push)]
            .into_iter()
            .flatten()
        {
            let (requests, _) = report.quiet.per_hour();
            println!(
                "- {}: requests per quiet provider per hour {requests:.1} ≤ fixed {fixed_requests:.1}: {}",
                report.mode.name(),
                verdict(requests <= fixed_requests * 1.02)
            );
            println!(
                "  (rates from the mean gap between a page's polls; 2 % margin for the random 0–5 % added to each)"
            );
        }
    }
    let exact = reports
        .iter()
        .all(|r| r.missing() == 0 && r.duplicated() == 0 && r.unexpected.is_empty());
    println!(
        "- every posted change delivered exactly once, nothing else delivered: {}",
        verdict(exact)
    );
}
