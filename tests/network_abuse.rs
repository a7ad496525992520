//! Status pages that attack the poller: a redirect to a private address, a slowloris page, an
//! endless body, a gzip bomb, a JSON nesting bomb. Each must be one failed poll with a clear
//! reason, in bounded time and memory, through the real fetch and parse path on loopback.

use std::convert::Infallible;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Response, StatusCode};
use axum::routing::get;
use futures::stream;
use statusrelay_core::config::Config;
use statusrelay_core::net::HttpLimits;
use statusrelay_core::sources::{DEFAULT_MAX_BODY_BYTES, Fetcher, PollError, poll};

/// Short limits so the slow cases end quickly; the product's are 5 s and 20 s.
const LIMITS: HttpLimits = HttpLimits {
    connect_timeout: Duration::from_secs(1),
    total_timeout: Duration::from_secs(3),
    keep_idle: Duration::from_secs(90),
    tls_session_hosts: statusrelay_core::net::DEFAULT_TLS_SESSION_HOSTS,
    idle_per_host: None,
};

fn json(body: impl Into<Body>) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn serve() -> String {
    // 256 MiB of spaces compresses to about 250 KiB: a bomb that decompresses 1,000-fold,
    // 32 times past the body cap.
    let bomb = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..256 {
            encoder.write_all(&zeros).unwrap();
        }
        Bytes::from(encoder.finish().unwrap())
    };
    let app = Router::new()
        .route(
            "/private/api/v2/summary.json",
            get(|| async {
                Response::builder()
                    .status(StatusCode::FOUND)
                    .header("location", "http://169.254.169.254/latest/meta-data/")
                    .body(Body::empty())
                    .unwrap()
            }),
        )
        .route(
            "/slowloris/api/v2/summary.json",
            get(|| async {
                let drip = stream::unfold(0u64, |n| async move {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), n + 1))
                });
                json(Body::from_stream(drip))
            }),
        )
        .route(
            "/endless/api/v2/summary.json",
            get(|| async {
                // 10 GB if anyone read it all.
                let chunk = Bytes::from(vec![b'['; 64 * 1024]);
                let endless = stream::iter(
                    std::iter::repeat_n(chunk, 160_000).map(Ok::<_, Infallible>),
                );
                json(Body::from_stream(endless))
            }),
        )
        .route(
            "/bomb/api/v2/summary.json",
            get(move || {
                let bomb = bomb.clone();
                async move {
                    Response::builder()
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(Body::from(bomb))
                        .unwrap()
                }
            }),
        )
        .route(
            "/nesting/api/v2/summary.json",
            get(|| async {
                // Deep inside a field read as a JSON value (a summary's open incidents); in a
                // field the parser skips, the nesting would be skipped without recursion.
                let depth = 1_000_000;
                json(format!(
                    r#"{{"page": {{"id": "x", "name": "Nest", "url": "https://n.test"}}, "components": [], "incidents": {}{}}}"#,
                    "[".repeat(depth),
                    "]".repeat(depth)
                ))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Whether a poll error is the one a case expects.
type IsExpected = fn(&PollError) -> bool;

async fn poll_page(base: &str, slug: &str) -> (Result<(), PollError>, Duration) {
    let config = Config::parse(
        Path::new("abuse.toml"),
        &format!(
            "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"{slug}\"\nurl = \"{base}/{slug}\"\nplatform = \"statuspage\"\n"
        ),
    )
    .unwrap();
    let fetcher = Fetcher::new(true, LIMITS, DEFAULT_MAX_BODY_BYTES);
    let started = Instant::now();
    let result = poll(&fetcher, &config.providers[0], None).await.map(|_| ());
    (result, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_pages_fail_one_poll_each_with_a_clear_reason() {
    let base = serve().await;
    let before = peak_rss_mib();
    let cases: [(&str, IsExpected, &str); 5] = [
        (
            "private",
            |e| matches!(e, PollError::Redirect { location, .. } if location.contains("169.254.169.254")),
            "not followed (another host)",
        ),
        (
            "slowloris",
            |e| matches!(e, PollError::Timeout { .. }),
            "timed out",
        ),
        (
            "endless",
            |e| matches!(e, PollError::TooLarge { .. }),
            "exceeds the",
        ),
        (
            "bomb",
            |e| matches!(e, PollError::TooLarge { .. }),
            "exceeds the",
        ),
        (
            "nesting",
            |e| {
                matches!(
                    e,
                    PollError::Malformed { .. } | PollError::NotStatusPage { .. }
                )
            },
            "recursion limit exceeded",
        ),
    ];
    for (slug, expected, says) in cases {
        let (result, took) = poll_page(&base, slug).await;
        let err = result.expect_err(slug);
        let message = err.to_string();
        assert!(expected(&err), "{slug}: unexpected error {err:?}");
        assert!(message.contains(says), "{slug}: {message}");
        assert!(!message.contains('\n'), "{slug}: one line: {message}");
        // Bounded by the total timeout (3 s here), not by the attacker.
        eprintln!("{slug}: failed in {took:?}: {message}");
    }
    eprintln!(
        "peak RSS {before:.1} MiB before the abusive pages, {:.1} MiB after",
        peak_rss_mib()
    );
}
