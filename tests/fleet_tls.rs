//! The watcher over HTTPS, counted on the server side (tests/support/tls_fleet.rs): across
//! cycles of one long-running `statusrelay run`, it resumes every host's TLS session when the
//! hosts close their connections, and reuses its connections when they keep them, for more
//! hosts than rustls' default session cache holds (32 servers). Never how fast (figures live
//! in BENCHMARKS.md).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::fleet::FleetOptions;
use support::tls_fleet::{ServerMode, Transport, WatchOptions, watch_fleet};

/// More hosts than rustls' default client cache remembers (256 tickets, 8 per server).
const HOSTS: usize = 100;

fn options(mode: ServerMode) -> WatchOptions {
    let mut fleet = FleetOptions::new(HOSTS, Duration::from_millis(5), 32);
    // Every page answers at once and none fails, so that every cycle polls each host once.
    fleet.failing_per_mille = 0;
    fleet.slow_per_mille = 0;
    WatchOptions {
        fleet,
        transport: Transport::Https(mode),
        interval: Duration::from_secs(2),
        steady_cycles: 1,
        binary: PathBuf::from(support::binary()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connections_resume_their_sessions_on_every_host() {
    let report = watch_fleet(options(ServerMode::Resumption)).await;
    let [cold, steady] = report.cycles[..] else {
        panic!("two cycles: {report:?}")
    };
    for cycle in [cold, steady] {
        assert_eq!(cycle.failed, 0, "{report:?}");
        assert_eq!(
            cycle.requests,
            3 * HOSTS,
            "three documents a host: {report:?}"
        );
        // The server closes each connection after its answer: one connection a request.
        assert_eq!(cycle.tls.connections, cycle.requests, "{report:?}");
        assert_eq!(
            cycle.tls.full + cycle.tls.resumed,
            cycle.tls.connections,
            "{report:?}"
        );
    }
    assert!(
        cold.tls.full >= HOSTS,
        "a first handshake per host: {report:?}"
    );
    assert_eq!(
        steady.tls.full, 0,
        "every host's session is remembered from the cycle before: {report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_connections_are_reused_across_cycles() {
    let report = watch_fleet(options(ServerMode::KeepAlive)).await;
    let [cold, steady] = report.cycles[..] else {
        panic!("two cycles: {report:?}")
    };
    assert_eq!(cold.requests, 3 * HOSTS, "{report:?}");
    assert!(
        (HOSTS..=3 * HOSTS).contains(&cold.tls.connections),
        "a connection (or a few) per host: {report:?}"
    );
    assert_eq!(steady.requests, 3 * HOSTS, "{report:?}");
    assert_eq!(
        steady.tls.connections, 0,
        "the steady cycle reuses the cold cycle's connections: {report:?}"
    );
}
