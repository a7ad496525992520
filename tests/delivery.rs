//! Delivery under failure: retries with the same id, dead letters, Retry-After, a kill between
//! the state write and the delivery, and a graceful stop of the watch loop.

mod support;

use std::time::Duration;

use chrono::Duration as Span;
use support::fixture::{Page, epoch};
use support::*;

struct Setup {
    server: StatusServer,
    receiver: WebhookReceiver,
    work: Workspace,
    page: Page,
    config: std::path::PathBuf,
}

/// A page with one open incident, so the baseline run has exactly one event to deliver.
async fn setup(extra_route: &str) -> Setup {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Kustomer", &server.url("kustomer"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Delayed email delivery",
        "minor",
        &leaves[2..3],
        "Emails are delayed.",
        epoch(),
    );
    server.publish("kustomer", &page);
    let text = format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\n\n[[providers]]\nid = \"kustomer\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n{extra_route}",
        server.url("kustomer"),
        receiver.url()
    );
    let config = work.write_config(&text);
    Setup {
        server,
        receiver,
        work,
        page,
        config,
    }
}

fn ids(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.header("webhook-id")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_with_the_same_id_and_delivered_once() {
    let s = setup("").await;
    s.receiver.plan([Answer::Status(503), Answer::Status(500)]);
    let out = run_once(&s.config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let received = s.receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [503, 500, 204]
    );
    let ids = ids(&received);
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "retries keep the webhook-id: {ids:?}"
    );
    assert!(stderr(&out).contains("retrying"));

    run_once(&s.config).await;
    assert_eq!(
        s.receiver.received().len(),
        3,
        "a delivered event is never sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_keeps_events_for_the_next_run() {
    let s = setup("").await;
    // More failures than one run retries (1 + 3 retries).
    s.receiver.plan(std::iter::repeat_n(Answer::Status(502), 4));
    let out = run_once(&s.config).await;
    assert!(out.status.success());
    assert_eq!(s.receiver.received().len(), 4);
    assert!(s.receiver.delivered().is_empty());
    assert!(
        stderr(&out).contains("destination paused until the next run"),
        "{}",
        stderr(&out)
    );

    let out = run_once(&s.config).await;
    assert!(out.status.success());
    let received = s.receiver.received();
    assert_eq!(received.len(), 5);
    assert_eq!(s.receiver.delivered().len(), 1);
    assert_eq!(
        received[4].header("webhook-id"),
        received[0].header("webhook-id")
    );
    assert_eq!(
        received[4].body, received[0].body,
        "the recorded bytes are re-sent unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_dead_lettered_once_and_do_not_block_later_events() {
    let mut s = setup("").await;
    s.receiver.plan([Answer::Status(400)]);
    let out = run_once(&s.config).await;
    assert!(out.status.success());
    let log = stderr(&out);
    assert_eq!(log.matches("dead-lettered").count(), 1, "{log}");
    assert!(log.contains("HTTP 400"), "{log}");
    assert!(
        !log.contains(&s.receiver.url()),
        "logs must not show the webhook URL: {log}"
    );

    // The next event still goes out; the dead one is not retried.
    let leaves = s.page.leaf_ids();
    s.page.open_incident(
        "Chat widget unavailable",
        "major",
        &leaves[5..6],
        "Investigating.",
        epoch() + Span::minutes(3),
    );
    s.server.publish("kustomer", &s.page);
    run_once(&s.config).await;
    let received = s.receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].json()["data"]["incident"]["name"],
        "Chat widget unavailable"
    );
    run_once(&s.config).await;
    assert_eq!(s.receiver.received().len(), 2);

    // The dead letter is kept in the state file.
    let store = statusrelay_core::store::Store::open(&s.work.path("state.db")).unwrap();
    let counts = store.delivery_counts().unwrap();
    assert_eq!((counts.dead, counts.pending, counts.sent), (1, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_honour_retry_after() {
    let s = setup("").await;
    s.receiver.plan([Answer::RateLimited(1)]);
    let out = run_once(&s.config).await;
    assert!(out.status.success());
    let received = s.receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [429, 204]
    );
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, before Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_state_write_and_delivery_loses_nothing() {
    let s = setup("").await;
    s.receiver.plan([Answer::Hang]);
    let mut child = tokio::process::Command::new(binary())
        .args(["run", "--once", "--config", s.config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The event is committed and on the wire: kill -9 now.
    tokio::time::timeout(Duration::from_secs(30), s.receiver.hung.notified())
        .await
        .expect("delivery attempt");
    child.kill().await.unwrap();
    child.wait().await.unwrap();
    assert!(s.receiver.delivered().is_empty());

    // The page did not change: the diff has nothing new, so only the outbox can deliver it.
    let out = run_once(&s.config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let received = s.receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(s.receiver.delivered().len(), 1);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    assert_eq!(received[1].event_type(), "incident.created");

    run_once(&s.config).await;
    assert_eq!(s.receiver.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_loop_stops_on_sigterm_after_finishing_its_cycle() {
    let mut s = setup("").await;
    let mut child = tokio::process::Command::new(binary())
        .args([
            "run",
            "--config",
            s.config.to_str().unwrap(),
            "--log-format",
            "json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while s.receiver.delivered().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "baseline was not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The loop keeps polling: a new incident is picked up without a restart.
    let leaves = s.page.leaf_ids();
    s.page.open_incident(
        "Phone system outage",
        "critical",
        &leaves[7..8],
        "Calls are failing.",
        epoch() + Span::minutes(1),
    );
    s.server.publish("kustomer", &s.page);
    while s.receiver.delivered().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "second incident was not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    use tokio::io::AsyncReadExt;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("--log-format json prints JSON lines"))
        .collect();
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{log}");
    assert_eq!(s.receiver.delivered().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_filters_select_events() {
    // A second route that only wants resolutions from this provider.
    let second = WebhookReceiver::start().await;
    let route = format!(
        "\n[[routes]]\nname = \"resolutions\"\nchannel = \"webhook\"\nurl = \"{}\"\nproviders = [\"kustomer\"]\nevents = [\"incident.resolved\"]\n",
        second.url()
    );
    let mut s = setup(&route).await;
    run_once(&s.config).await;
    assert_eq!(s.receiver.delivered_types(), ["incident.created"]);
    assert!(second.received().is_empty());

    let id = s.page.incidents.last().unwrap().id.clone();
    s.page.post_update(
        &id,
        "resolved",
        "Emails flow again.",
        epoch() + Span::minutes(9),
    );
    s.server.publish("kustomer", &s.page);
    run_once(&s.config).await;
    assert_eq!(
        s.receiver.delivered_types(),
        ["incident.created", "incident.resolved"]
    );
    assert_eq!(second.delivered_types(), ["incident.resolved"]);
    assert_eq!(
        second.delivered()[0].header("webhook-id"),
        s.receiver.delivered()[1].header("webhook-id"),
        "one event, one id, on every route"
    );
    assert!(
        second.delivered()[0].header("webhook-signature").is_empty(),
        "no secret, no signature"
    );
}
