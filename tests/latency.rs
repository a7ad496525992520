//! The detection-latency benchmark's small mode (benches/latency.rs): 50 pages, 3 s / 1 s
//! intervals, vendors posting updates, resolutions, new incidents and maintenance starts at
//! random instants while `statusrelay run --listen` watches them. Checks what must hold at any
//! cadence: every posted change delivered exactly once, nothing else delivered, pushes
//! accepted. Timings are the benchmark's business (BENCHMARKS.md), never asserted here.

mod support;

use support::latency::{ChangeKind, LatencyOptions, Mode, ModeReport, run_mode};

fn assert_exact(report: &ModeReport) {
    let name = report.mode.name();
    assert!(
        report.postings.len() >= 10,
        "{name}: the run posts changes ({})",
        report.postings.len()
    );
    for kind in ChangeKind::ALL {
        assert!(
            report.postings.iter().any(|p| p.kind == kind),
            "{name}: the run posts a {kind:?}"
        );
    }
    assert!(
        report.unexpected.is_empty(),
        "{name}: deliveries matching no posting: {:?}",
        report.unexpected
    );
    let missing: Vec<_> = report
        .postings
        .iter()
        .filter(|p| p.delivered.is_empty())
        .map(|p| format!("p{} {:?} {}", p.provider, p.kind, p.update_id))
        .collect();
    assert!(missing.is_empty(), "{name}: never delivered: {missing:?}");
    assert_eq!(report.duplicated(), 0, "{name}: a change delivered twice");
    assert!(
        report.postings.iter().all(|p| p.read.is_some()),
        "{name}: each change was read from its page before it was delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_polling_delivers_every_posted_change_once() {
    let report = run_mode(LatencyOptions::quick(), Mode::Adaptive).await;
    assert_exact(&report);
    // Hot pages are read on the hot interval, quiet ones on the interval: hot pages get more
    // polls per hour than quiet ones.
    let (_, quiet_polls) = report.quiet.per_hour();
    let (_, hot_polls) = report.hot.per_hour();
    assert!(
        hot_polls > quiet_polls * 1.5,
        "hot pages polled more often: {hot_polls:.0} vs {quiet_polls:.0} per hour"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_changes_are_delivered_once() {
    let report = run_mode(LatencyOptions::quick(), Mode::Push).await;
    assert_eq!(
        report.pushes_refused, 0,
        "the intake accepts the vendors' pushes"
    );
    assert_exact(&report);
}
