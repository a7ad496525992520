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

/// Started as systemd starts services (a soft limit of 1,024 open files under a higher hard
/// one), the watcher raises its soft limit to the hard one: every vendor is a host with up to
/// three kept connections, so a few hundred HTTPS vendors need more than 1,024 descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_raises_its_open_files_limit_to_the_hard_limit() {
    use std::os::unix::process::CommandExt;
    let server = StatusServer::start().await;
    server.publish(
        "acme",
        &support::fixture::Page::realistic("Acme", &server.url("acme")),
    );
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nstate = \"{}\"\nallow_private_targets = true\ninterval = \"1h\"\n\n\
         [[providers]]\nid = \"acme\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        work.path("state.db").display(),
        server.url("acme")
    ));
    let mut command = Command::new(binary());
    command
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only setrlimit runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let open_files = || {
        let text = std::fs::read_to_string(&limits).unwrap_or_default();
        let line = text
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .map(str::to_owned)
            .unwrap_or_default();
        let numbers: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        numbers
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = open_files();
    while seen.first() != Some(&4096) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = open_files();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seen, [4096, 4096], "soft and hard limit of open files");
}
