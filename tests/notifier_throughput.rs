//! The notifier throughput benchmark in its small mode (200 records), so it cannot rot: checks
//! that the batch holds what it claims and that every record meant for a destination is
//! turned into events and payloads, never how fast (figures live in BENCHMARKS.md).

mod support;

use std::path::Path;

use statusrelay_core::config::Config;
use support::notifier_load::{ROUTES, process_batch, stream_batch};

#[test]
fn notifier_pipeline_over_a_small_batch() {
    let config = Config::parse(Path::new("bench.toml"), ROUTES).unwrap();
    let batch = stream_batch(200);
    let figures = process_batch(&batch, &config.routes);
    assert_eq!(figures.records, 200);
    // Per 20 records: 12 new updates, 5 component changes, 2 new incidents, 1 baseline item
    // of history (nothing to announce).
    assert_eq!(figures.events, 190, "{figures:?}");
    assert_eq!(figures.payloads, 3 * 190, "every event reaches a route");
    assert!(figures.payload_bytes > 190 * 1500, "{figures:?}");
}
