//! Notifier throughput: DynamoDB stream batches of 1,000 and 10,000 records through the
//! notifier's pure pipeline (decode images, diff, route, build every payload), one thread, no
//! network. See BENCHMARKS.md.
//!
//! `cargo bench --bench notifier`

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;

use statusrelay_core::config::Config;
use support::notifier_load::{ROUTES, STAGES, process_batch, stream_batch};

/// The notifier binary's allocator (functions/notifier), so the figures are the Lambda's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let config = Config::parse(Path::new("bench.toml"), ROUTES).unwrap();
    println!(
        "| batch | events | payloads (bytes) | event JSON decode | records/s (handler) | CPU time (handler) | µs per record |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut stages = Vec::new();
    for records in [1_000, 10_000] {
        let batch = stream_batch(records);
        // Best of three: the machine runs other work too.
        let best = (0..3)
            .map(|_| process_batch(&batch, &config.routes))
            .min_by_key(|f| f.process)
            .unwrap();
        println!(
            "| {records} records ({:.1} MiB of JSON) | {} | {} ({:.1} MiB) | {:.0} ms | {:.0} | {:.0} ms | {:.1} |",
            batch.len() as f64 / 1048576.0,
            best.events,
            best.payloads,
            best.payload_bytes as f64 / 1048576.0,
            best.decode.as_secs_f64() * 1e3,
            records as f64 / best.process.as_secs_f64(),
            best.process_cpu.as_secs_f64() * 1e3,
            best.process.as_secs_f64() * 1e6 / records as f64,
        );
        stages.push((records, best.stages));
    }
    println!();
    println!("| batch | µs per record: {} |", STAGES.join(" / "));
    println!("|---|---|");
    for (records, times) in stages {
        let per_record: Vec<String> = times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e6 / records as f64))
            .collect();
        println!("| {records} records | {} |", per_record.join(" / "));
    }
}
