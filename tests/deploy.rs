//! The service files shipped in `deploy/` and `Dockerfile`: the systemd unit passes
//! `systemd-analyze verify` (with the built binary in place of the installed one), and the
//! container's health check command, `statusrelay health`, tells a live watcher from a dead one.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_systemd_unit_verifies_and_is_sandboxed() {
    let unit = repo("deploy/statusrelay.service");
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=statusrelay",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
    ] {
        assert!(unit.contains(setting), "{setting} missing");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the unit's syntax was not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("statusrelay.service");
    std::fs::write(&local, unit.replace("/usr/local/bin/statusrelay", binary())).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn the_container_checks_health_with_the_binary_itself() {
    let dockerfile = repo("Dockerfile");
    assert!(dockerfile.contains("USER 65532"), "runs as non-root");
    assert!(
        dockerfile.contains(r#"CMD ["/usr/local/bin/statusrelay", "health", "--url", "http://127.0.0.1:8080/healthz"]"#),
        "HEALTHCHECK uses `statusrelay health`"
    );
    assert!(dockerfile.contains("VOLUME [\"/var/lib/statusrelay\"]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statusrelay_health_tells_a_live_watcher_from_none() {
    let server = StatusServer::start().await;
    server.publish(
        "calm",
        &support::fixture::Page::realistic("Calm Co", &server.url("calm")),
    );
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\n\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("calm")
    ));
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let dead = statusrelay(&["health", "--url", &url]).await;
    assert!(!dead.status.success());
    assert!(stderr(&dead).contains("no answer"), "{}", stderr(&dead));

    let mut child = tokio::process::Command::new(binary())
        .args(["run", "--config", config.to_str().unwrap(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut live = None;
    for _ in 0..100 {
        let out = statusrelay(&["health", "--url", &url]).await;
        if out.status.success() {
            live = Some(out);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let live = live.expect("the watcher never answered its health check");
    assert_eq!(stdout(&live).trim(), "ok");
    child.kill().await.unwrap();
}
