//! `statusrelay run --listen`: the read side served by the watcher itself — health, the JSON
//! API, the token check — against loopback status pages.

mod support;

use std::time::Duration;

use support::fixture::{Page, epoch};
use support::*;

const TOKEN: &str = "s3cr3t-t0ken-for-the-read-side";

struct Served {
    base: String,
    child: tokio::process::Child,
}

/// Starts `run` with the read side on `listen` and waits until it answers.
async fn serve(config: &std::path::Path, listen: &str, port: u16) -> Served {
    let child = tokio::process::Command::new(binary())
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            listen,
        ])
        .env("STATUSRELAY_HTTP_TOKEN", TOKEN)
        .env("STATUSRELAY_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Served { base, child }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_serves_health_and_its_providers_as_json() {
    let server = StatusServer::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Burning Co", &server.url("burning"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "API unavailable",
        "critical",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("burning", &page);
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\n\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n[[providers]]\nid = \"burning\"\nurl = \"{}\"\nplatform = \"statuspage\"\ntags = [\"payments\"]\n",
        server.url("calm"),
        server.url("burning"),
    ));
    let port = free_port();
    let mut served = serve(&config, &format!("127.0.0.1:{port}"), port).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");

    // The first cycle may still be running: wait for both providers to have a state.
    let mut providers = serde_json::Value::Null;
    for _ in 0..100 {
        let answer = client
            .get(format!("{}/api/v1/providers", served.base))
            .send()
            .await
            .unwrap();
        if answer.status() == 200 {
            providers = answer.json().await.unwrap();
            if providers["providers"][1]["state"] == "operational" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = providers["providers"].as_array().expect("a list");
    assert_eq!(list.len(), 2, "{providers}");
    assert_eq!(list[0]["id"], "burning", "worst first: {providers}");
    assert_eq!(list[0]["state"], "major_outage");
    assert_eq!(list[0]["open_incidents"][0]["name"], "API unavailable");
    assert_eq!(list[1]["state"], "operational");

    let detail: serde_json::Value = client
        .get(format!("{}/api/v1/providers/burning", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["tags"], serde_json::json!(["payments"]));
    assert_eq!(
        detail["components"].as_array().unwrap().len(),
        page.components.len()
    );
    let missing = client
        .get(format!("{}/api/v1/providers/nobody", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Revalidation from the state file: the tag is the content's, so an unchanged answer is a
    // bodiless 304, and a tag of other content gets the whole answer. (The events do not move
    // with each poll, as `last_good_poll` does every second here.)
    let url = format!("{}/api/v1/events", served.base);
    let first = client.get(&url).send().await.unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(tag.starts_with("W/\""), "{tag}");
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    let again = client
        .get(&url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = client
        .get(&url)
        .header("if-none-match", "W/\"not-this-one\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    served.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_the_read_side_needs_its_token() {
    let server = StatusServer::start().await;
    let work = Workspace::new();
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    let providers = format!(
        "\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("calm")
    );
    // Without a token, a non-loopback address is refused, on the command line and in the file.
    let open = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n{providers}"
    ));
    let refused = statusrelay(&[
        "run",
        "--config",
        open.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ])
    .await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("settings.http_token"),
        "{}",
        stderr(&refused)
    );
    let in_file = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\nlisten = \"0.0.0.0:8080\"\n{providers}"
    ));
    let refused = statusrelay(&["validate", "--config", in_file.to_str().unwrap()]).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains(":4:10: settings.listen: 0.0.0.0:8080 is not a loopback address"),
        "{}",
        stderr(&refused)
    );

    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\nhttp_token = \"env:STATUSRELAY_HTTP_TOKEN\"\n{providers}"
    ));
    let port = free_port();
    let mut served = serve(&config, &format!("0.0.0.0:{port}"), port).await;
    let client = reqwest::Client::new();
    let api = format!("{}/api/v1/providers", served.base);
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(client.get(&api).send().await.unwrap()), 401);
    assert_eq!(
        status(
            client
                .get(&api)
                .bearer_auth("wrong-token-of-some-length")
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(client.get(&api).bearer_auth(TOKEN).send().await.unwrap()),
        200
    );
    assert_eq!(
        status(
            client
                .get(format!("{api}?token={TOKEN}"))
                .send()
                .await
                .unwrap()
        ),
        200
    );
    // Health checks carry no token.
    assert_eq!(
        status(
            client
                .get(format!("{}/healthz", served.base))
                .send()
                .await
                .unwrap()
        ),
        200
    );

    served.child.kill().await.unwrap();
    let out = served.child.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("serving the read side"), "{log}");
    assert!(!log.contains(TOKEN), "the token reached the log");
}
