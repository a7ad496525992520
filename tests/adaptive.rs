//! Adaptive polling and push intake through `statusrelay run --listen`: a provider with an
//! open incident is polled every `hot_interval` while a quiet one waits its `interval`; a
//! vendor's push to `/intake/<id>` gets a quiet provider polled at once, and forged, oversized
//! and bursty pushes can neither create nor duplicate an event.

mod support;

use std::time::Duration;

use support::fixture::{Page, epoch};
use support::*;

const INTAKE_TOKEN: &str = "intake-secret-for-quiet-co-0123";

fn summary_hits(hits: &std::collections::BTreeMap<String, usize>, slug: &str) -> usize {
    hits.get(&format!("/{slug}{SUMMARY}")).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_pages_are_polled_often_and_pushes_poll_quiet_ones_at_once() {
    let server = StatusServer::start().await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut burning = Page::realistic("Burning Co", &server.url("burning"));
    let leaves = burning.leaf_ids();
    burning.open_incident(
        "API errors",
        "major",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("burning", &burning);
    let mut quiet = Page::realistic("Quiet Co", &server.url("quiet"));
    server.publish("quiet", &quiet);
    server.publish(
        "steady",
        &Page::realistic("Steady Co", &server.url("steady")),
    );
    // A quiet page is polled once an hour here: whatever reaches it sooner came by push.
    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
interval = "1h"
hot_interval = "1s"
allow_private_targets = true

[[providers]]
id = "burning"
url = "{burning}"
platform = "statuspage"

[[providers]]
id = "quiet"
url = "{quiet}"
platform = "statuspage"
intake_token = "{INTAKE_TOKEN}"

[[providers]]
id = "steady"
url = "{steady}"
platform = "statuspage"
intake_token = "{INTAKE_TOKEN}"

[[routes]]
name = "hook"
channel = "webhook"
url = "{hook}"
"#,
        burning = server.url("burning"),
        quiet = server.url("quiet"),
        steady = server.url("steady"),
        hook = hook.url(),
    ));
    let port = free_port();
    let mut child = tokio::process::Command::new(binary())
        .args(["run", "--config", config.to_str().unwrap(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // The first round reads both pages and announces the open incident.
    for _ in 0..100 {
        if hook.delivered_types() == ["incident.created"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hook.delivered_types(), ["incident.created"]);
    server.take_hits();

    // Hot and quiet: a few seconds of watching.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let hits = server.take_hits();
    assert!(summary_hits(&hits, "burning") >= 2, "hot page: {hits:?}");
    assert_eq!(summary_hits(&hits, "quiet"), 0, "quiet page: {hits:?}");

    // Forged pushes: a wrong token, an unknown provider, a provider without intake — one
    // answer for all, and no poll.
    let intake = |id: &str, token: &str| format!("{base}/intake/{id}?token={token}");
    let mut answers = Vec::new();
    for url in [
        intake("quiet", "not-the-token-at-all-0000"),
        intake("nobody", INTAKE_TOKEN),
        intake("burning", INTAKE_TOKEN),
        format!("{base}/intake/quiet"),
    ] {
        let answer = client.post(url).body("{}").send().await.unwrap();
        answers.push((answer.status().as_u16(), answer.text().await.unwrap()));
    }
    assert!(
        answers
            .iter()
            .all(|a| *a == (404, "not found\n".to_owned())),
        "{answers:?}"
    );
    let oversized = client
        .post(intake("quiet", INTAKE_TOKEN))
        .body(vec![b'x'; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        summary_hits(&server.take_hits(), "quiet"),
        0,
        "no poll from forged or oversized pushes"
    );

    // The vendor posts an incident and pushes (bearer token this time): polled and delivered
    // long before the hour.
    let leaves = quiet.leaf_ids();
    quiet.open_incident(
        "Login slow",
        "minor",
        &leaves[..1],
        "Looking into it.",
        epoch(),
    );
    server.publish("quiet", &quiet);
    let pushed = client
        .post(format!("{base}/intake/quiet"))
        .bearer_auth(INTAKE_TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"meta":{"unsubscribe":"…"},"incident":{"name":"forged name, never read"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 202);
    for _ in 0..100 {
        if hook.delivered_types().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        hook.delivered_types(),
        ["incident.created", "incident.created"]
    );
    let created = hook.delivered()[1].json();
    assert_eq!(
        created["data"]["incident"]["name"], "Login slow",
        "from the page, not the push"
    );

    // A burst of a thousand pushes for a page with nothing new: one poll (pushes poll at most
    // every 10 s), no event. ("quiet" is hot now — a change and an open incident — and polled
    // every second anyway.)
    server.take_hits();
    let burst: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            let url = intake("steady", INTAKE_TOKEN);
            tokio::spawn(async move { client.post(url).send().await.map(|a| a.status().as_u16()) })
        })
        .collect();
    for push in burst {
        assert_eq!(push.await.unwrap().unwrap(), 202);
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(summary_hits(&server.take_hits(), "steady"), 1);
    assert_eq!(
        hook.delivered_types().len(),
        2,
        "{:?}",
        hook.delivered_types()
    );
    child.kill().await.unwrap();
}
