//! A loopback fleet of status pages and one watcher cycle over it, measured from outside the
//! watcher process (wall time, CPU time and peak RSS of the `statusrelay` child).

use std::time::{Duration, Instant};

use chrono::Utc;

use super::fixture::Page;
use super::{Documents, StatusServer, WebhookReceiver, Workspace, binary};

#[derive(Debug, Clone, Copy)]
pub struct CycleFigures {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: i64,
    pub success: bool,
}

#[derive(Debug, Clone)]
pub struct FleetReport {
    pub providers: usize,
    pub page_bytes: usize,
    /// Sizes of summary, incidents and maintenances documents.
    pub document_bytes: [usize; 3],
    /// First cycle: every document is new, every provider takes its baseline.
    pub cold: CycleFigures,
    /// Second cycle: nothing changed, every document revalidates with 304.
    pub warm: CycleFigures,
    pub delivered: usize,
    pub requests: usize,
    pub not_modified: usize,
}

/// Runs one cold and one warm `statusrelay run --once` over `providers` pages.
pub async fn run_fleet(providers: usize, latency: Duration, concurrency: usize) -> FleetReport {
    let server = StatusServer::with_latency(latency).await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();

    // One realistic page with one open incident, served under every provider's path: every
    // provider announces exactly one incident at its baseline.
    let mut page = Page::realistic("Fleet", &server.url("p0"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Elevated API error rates",
        "minor",
        &leaves[0..1],
        "We are investigating.",
        Utc::now(),
    );
    let docs = Documents::of(&page);
    let document_bytes = [
        docs.summary.len(),
        docs.incidents.len(),
        docs.maintenances.as_ref().map_or(0, |m| m.len()),
    ];
    let page_bytes = docs.summary.len()
        + docs.incidents.len()
        + docs.maintenances.as_ref().map_or(0, |m| m.len());
    let mut config = format!(
        "[settings]\nstate = \"fleet.db\"\nallow_private_targets = true\nconcurrency = {concurrency}\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        receiver.url()
    );
    for i in 0..providers {
        server.publish_documents(&format!("p{i}"), &docs);
        config.push_str(&format!(
            "\n[[providers]]\nid = \"p{i}\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
            server.url(&format!("p{i}"))
        ));
    }
    let path = work.write_config(&config);

    let cold = measured_run(&path).await;
    let warm = measured_run(&path).await;
    let (requests, not_modified) = server.counts();
    FleetReport {
        providers,
        page_bytes,
        document_bytes,
        cold,
        warm,
        delivered: receiver.delivered().len(),
        requests,
        not_modified,
    }
}

async fn measured_run(config: &std::path::Path) -> CycleFigures {
    let config = config.to_owned();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // Reaped by wait4 below, which also yields the child's own rusage.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new(binary())
            .args(["run", "--once", "--config", config.to_str().unwrap()])
            .env("STATUSRELAY_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut status = 0;
        // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert!(pid > 0, "wait4 failed");
        let wall = started.elapsed();
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        CycleFigures {
            wall,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            max_rss_kib: usage.ru_maxrss,
            success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        }
    })
    .await
    .unwrap()
}
