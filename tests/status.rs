//! `statusrelay status` while a watcher runs on the same state file: every provider's overall
//! state, worst first, with its open incidents, last good poll and last error.

mod support;

use std::time::Duration;

use support::fixture::{Page, epoch};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_overview_worst_first_while_the_watcher_runs() {
    let server = StatusServer::start().await;
    let work = Workspace::new();
    let calm = Page::realistic("Calm Co", &server.url("calm"));
    server.publish("calm", &calm);
    let mut burning = Page::realistic("Burning Co", &server.url("burning"));
    let leaves = burning.leaf_ids();
    burning.open_incident(
        "API unavailable",
        "critical",
        &leaves[..1],
        "We are investigating.",
        epoch(),
    );
    server.publish("burning", &burning);
    // "gone" serves nothing: every poll fails.
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\n\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[providers]]\nid = \"burning\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[providers]]\nid = \"gone\"\nname = \"Gone Co\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("calm"),
        server.url("burning"),
        server.url("gone"),
    ));
    let mut watcher = tokio::process::Command::new(binary())
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // Wait for a few cycles: "gone" is unknown after two failed polls in a row.
    let mut lines = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let out = statusrelay(&["status", "--config", config.to_str().unwrap()]).await;
        if !out.status.success() {
            continue;
        }
        lines = stdout(&out).lines().map(str::to_owned).collect();
        if lines.len() == 3 && lines.iter().any(|l| l.starts_with("UNKNOWN")) {
            break;
        }
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("MAJOR OUTAGE"), "{lines:?}");
    assert!(
        lines[0].contains("Burning Co")
            && lines[0].contains("1 open: API unavailable (investigating)"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("UNKNOWN") && lines[1].contains("Gone Co"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("never polled successfully")
            && lines[1].contains("failed poll(s), last:"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("OPERATIONAL") && lines[2].contains("Calm Co"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("no open incident · last good poll"),
        "{lines:?}"
    );

    let out = statusrelay(&["status", "--json", "--config", config.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let states: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["major_outage", "unknown", "operational"]);
    assert_eq!(json[0]["open_incidents"][0]["impact"], "critical");

    watcher.kill().await.unwrap();
    watcher.wait().await.unwrap();
}

#[tokio::test]
async fn status_before_any_watcher_run_says_so() {
    let work = Workspace::new();
    let config = work.write_config(
        "[settings]\nstate = \"state.db\"\n\n[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n",
    );
    let out = statusrelay(&["status", "--config", config.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("state.db") && err.contains("run the watcher first"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// A page that comes back unchanged after an outage answers 304 (nothing is rewritten): the
/// provider must still be known again, with a fresh last good poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_back_unchanged_after_failures_is_known_again() {
    let server = StatusServer::start().await;
    let work = Workspace::new();
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("calm"),
    ));
    let state = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&stdout(out)).unwrap()[0].clone()
    };
    let args = ["status", "--config", config.to_str().unwrap(), "--json"];
    let status = || statusrelay(&args);
    assert!(run_once(&config).await.status.success());
    let first_good = state(&status().await)["last_good_poll"].clone();
    server.set_fault("calm", SUMMARY, Some(Fault::Status(503)));
    run_once(&config).await;
    run_once(&config).await;
    assert_eq!(state(&status().await)["state"], "unknown");

    server.set_fault("calm", SUMMARY, None);
    server.take_hits();
    assert!(run_once(&config).await.status.success());
    let back = state(&status().await);
    assert_eq!(back["state"], "operational", "{back}");
    assert_eq!(back["consecutive_failures"], 0);
    assert!(
        back["last_good_poll"].as_str() > first_good.as_str(),
        "{back} vs {first_good}"
    );
}
