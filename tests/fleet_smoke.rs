//! The fleet benchmark in its small mode (50 providers), so it cannot rot: checks what it
//! measures is right, never how fast (figures live in BENCHMARKS.md).

mod support;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_cycle_over_fifty_providers() {
    let report = support::fleet::run_fleet(50, Duration::from_millis(5), 16).await;
    assert!(report.cold.success && report.warm.success, "{report:?}");
    assert_eq!(
        report.delivered, 50,
        "one baseline announcement per provider"
    );
    assert_eq!(
        report.requests, 300,
        "3 documents x 50 providers x 2 cycles"
    );
    assert_eq!(
        report.not_modified, 150,
        "the second cycle revalidates everything with 304"
    );
    assert!(report.cold.max_rss_kib > 0 && report.page_bytes > 100_000);
}
