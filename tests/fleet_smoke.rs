//! The fleet benchmark in its small mode (50 providers), so it cannot rot: checks that what it
//! measures is what it claims (requests, 304s, deliveries, failing pages), never how fast
//! (figures live in BENCHMARKS.md).

mod support;

use std::time::Duration;

use support::fleet::{FleetOptions, run_fleet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_cycles_over_fifty_providers() {
    let mut options = FleetOptions::new(50, Duration::from_millis(5), 16);
    // One page in ten has an incident under way, one in fifty fails, one in fifty is slow.
    options.changed_per_mille = 100;
    options.failing_per_mille = 20;
    options.slow_per_mille = 20;
    let report = run_fleet(options).await;
    let failing = (0..50).filter(|i| options.failing(*i)).count();
    let changed = (0..50)
        .filter(|i| options.changed(*i) && !options.failing(*i))
        .count();
    assert_eq!((failing, changed), (1, 5));
    for cycle in [report.cold, report.steady] {
        assert!(cycle.cycle.success && cycle.floor.success, "{report:?}");
        assert!(cycle.cycle.max_rss_kib > 0 && cycle.floor.max_rss_kib > 0);
        assert!(cycle.floor.wall > Duration::ZERO);
    }
    assert!(
        report.page_bytes.0 >= 20_000 && report.page_bytes.1 <= 60_000,
        "pages of 20-60 KB: {:?}",
        report.page_bytes
    );
    assert_eq!(report.cold.requests, 150, "3 documents x 50 providers");
    assert_eq!(report.cold.not_modified, 0);
    assert_eq!(
        report.delivered.0, changed,
        "a baseline announcement per page with an incident under way"
    );
    assert_eq!(report.steady.requests, 150);
    // Every readable page revalidates and answers 304, but a changed page sends all three
    // documents again (each carries the page's `updated_at`, which the update moved); the
    // failing page never had a good poll, so none of its requests is conditional.
    assert_eq!(report.steady.not_modified, 3 * (50 - failing - changed));
    assert_eq!(
        report.delivered.1 - report.delivered.0,
        changed,
        "one event per changed page"
    );
}
