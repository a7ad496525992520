//! The command line: validation errors, unusable state paths, `check`, the private-target guard.

mod support;

use support::fixture::{Page, epoch};
use support::*;

#[tokio::test]
async fn validate_reports_file_line_column_and_field() {
    let work = Workspace::new();
    let path = work.write_config("[settings]\ninterval = \"60s\"\n\n[[providers]]\nid = \"GitHub Status\"\nurl = \"https://www.githubstatus.com\"\n");
    let out = statusrelay(&["validate", "--config", path.to_str().unwrap()]).await;
    assert_no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    let expected = format!(
        "statusrelay: {}:5:6: providers[0].id: \"GitHub Status\" must match [a-z0-9-]+",
        path.display()
    );
    assert_eq!(err.trim_end(), expected);

    let good = work.write_config("[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n\n[[routes]]\nname = \"out\"\nchannel = \"console\"\n");
    let out = statusrelay(&["validate", "--config", good.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok (1 providers, 1 destinations, 1 routes"));
}

#[tokio::test]
async fn syntax_errors_and_missing_files_are_one_line() {
    let work = Workspace::new();
    let path = work.write_config("[[providers]]\nid = \"github\"\nurl = https://x\n");
    let out = statusrelay(&["run", "--once", "--config", path.to_str().unwrap()]).await;
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with(&format!("statusrelay: {}:3:7: ", path.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).trim_end().lines().count(), 1);

    let out = statusrelay(&["run", "--once", "--config", "/no/such/statusrelay.toml"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/no/such/statusrelay.toml: cannot read config"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn unusable_state_path_is_named() {
    let work = Workspace::new();
    let path = work.write_config("[settings]\nstate = \"/nonexistent/folder/state.db\"\n");
    let out = statusrelay(&["run", "--once", "--config", path.to_str().unwrap()]).await;
    assert_no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "state file /nonexistent/folder/state.db: folder /nonexistent/folder does not exist"
        ),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn private_targets_need_explicit_permission() {
    let work = Workspace::new();
    let path = work.write_config("[[providers]]\nid = \"local\"\nurl = \"http://127.0.0.1:9/\"\n");
    let out = statusrelay(&["validate", "--config", path.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            ":3:7: providers[0].url: 127.0.0.1 is a private, loopback or link-local address"
        ),
        "{}",
        stderr(&out)
    );

    // `check` refuses loopback too unless asked.
    let server = StatusServer::start().await;
    let out = statusrelay(&["check", &server.url("x")]).await;
    assert!(!out.status.success());
    // Its own flag: `check` reads no config, so the setting would be no help.
    let err = stderr(&out);
    assert!(err.contains("pass --allow-private"), "{err}");
    assert!(!err.contains("allow_private_targets"), "{err}");
}

/// A page whose certificate nobody trusts (a self-signed one, served by `openssl s_server`):
/// `check` says so in its own one line; the TLS library's own ERROR log stays silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_one_line_of_ours() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = free_port();
    let _server = tokio::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(port.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = statusrelay(&[
        "check",
        &format!("https://127.0.0.1:{port}"),
        "--allow-private",
    ])
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "one line of ours, nothing from rustls: {err}"
    );
    assert!(lines[0].contains("certificate"), "{err}");
    assert!(!err.contains("rustls"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_plain_text_unless_on_a_terminal() {
    let work = Workspace::new();
    let server = StatusServer::start().await;
    let path = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"down\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("missing")
    ));
    // stderr is a pipe here: no ANSI escape codes, with or without NO_COLOR.
    let out = statusrelay(&["run", "--once", "--config", path.to_str().unwrap()]).await;
    let err = stderr(&out);
    assert!(err.contains("poll failed"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "colour codes in a piped log: {err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_components_open_incidents_and_maintenances() {
    let server = StatusServer::start().await;
    let mut page = Page::realistic("GitHub", &server.url("github"));
    let leaves = page.leaf_ids();
    page.open_incident(
        "Actions runs delayed",
        "minor",
        &leaves[6..7],
        "Investigating.",
        epoch(),
    );
    page.schedule_maintenance(
        "Network upgrade",
        epoch() + chrono::Duration::days(1),
        epoch() + chrono::Duration::days(1) + chrono::Duration::hours(1),
        epoch(),
    );
    page.set_component(&leaves[6], "degraded_performance", epoch());
    server.publish("github", &page);

    let out = statusrelay(&["check", &server.url("github"), "--allow-private"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("platform: statuspage\nGitHub ("), "{text}");
    assert!(
        text.contains("degraded_performance   Automation / Actions"),
        "{text}"
    );
    assert!(
        text.contains("Open incidents: 1\n  [investigating, impact minor] Actions runs delayed"),
        "{text}"
    );
    assert!(text.contains("Upcoming and active maintenances: 1\n  [scheduled] Network upgrade 2026-11-21T08:00:00+00:00"), "{text}");
    assert_eq!(
        text.matches("operational").count(),
        28,
        "28 operational leaf components:\n{text}"
    );

    let out = statusrelay(&["check", &server.url("github"), "--allow-private", "--json"]).await;
    let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snapshot["components"].as_array().unwrap().len(), 35);
    assert_eq!(
        snapshot["incidents"].as_array().unwrap().len(),
        50,
        "capped at 50 like Statuspage"
    );

    // An HTML page is not a status page.
    server.set_fault("github", SUMMARY, Some(Fault::Html200));
    let out = statusrelay(&["check", &server.url("github"), "--allow-private"]).await;
    assert_no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("not readable as a status page"), "{err}");
    assert!(
        err.contains("no supported platform recognised it (tried statuspal:")
            && err.contains("statuspage:")
            && err.contains("slack:"),
        "detection lists what it tried: {err}"
    );
    assert!(err.contains("HTML"), "{err}");
}

/// The README's configuration and destination examples are real configs.
#[test]
fn readme_examples_are_valid_configs() {
    use statusrelay_core::config::{Config, Secrets};
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block_after = |heading: &str| {
        let section = &readme[readme.find(heading).unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        section[start..start + section[start..].find("```").unwrap()].to_owned()
    };
    // References resolve to values of the right shape, as a user's environment would.
    let fill = |text: &str| {
        let mut out = text
            .replace(
                "\"env:TELEGRAM_BOT_TOKEN\"",
                "\"123456:ABCdefGhIJKlmnoPQRsTUVwxyZ\"",
            )
            .replace(
                "\"env:STATUSRELAY_WEBHOOK_SECRET\"",
                "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
            );
        while let Some(start) = out.find("\"env:") {
            let end = start + 1 + out[start + 1..].find('"').unwrap();
            out.replace_range(start..=end, "\"https://example.com/hook\"");
        }
        out
    };
    let mut secrets = Secrets::default();
    secrets.ssm.insert(
        "/statusrelay/secrets/slack-ops".into(),
        "https://hooks.slack.com/services/T0/B0/x".into(),
    );
    secrets.ssm.insert(
        "/statusrelay/secrets/pagerduty".into(),
        "R0UTINGKEY0123456789ABCDEFGHIJKL".into(),
    );

    let configuration = fill(&block_after("## Configuration"));
    let config = Config::parse_with(std::path::Path::new("README.md"), &configuration, &secrets)
        .unwrap_or_else(|e| panic!("{e}\n{configuration}"));
    assert_eq!(config.routes.len(), 2);

    let destinations = fill(&block_after("## Destinations"));
    let names: Vec<&str> = destinations
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|l| l.split('"').next().unwrap())
        .collect();
    let text = format!("{destinations}\n[[routes]]\nname = \"all\"\ndestinations = {names:?}\n");
    let config = Config::parse_with(std::path::Path::new("README.md"), &text, &secrets)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        config.destinations.len(),
        10,
        "one example per destination type"
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[tokio::test]
async fn catalog_lists_searches_and_feeds_configs() {
    let out = statusrelay(&["catalog"]).await;
    assert!(out.status.success());
    let listing = stdout(&out);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("github ") && l.ends_with("https://www.githubstatus.com")),
        "{listing}"
    );
    let out = statusrelay(&["catalog", "search", "Monitoring"]).await;
    let found = stdout(&out);
    assert!(
        found.contains("datadog") && !found.contains("\nshopify"),
        "{found}"
    );
    assert!(
        listing.lines().count() >= 1_000,
        "{} lines",
        listing.lines().count()
    );
    // A typo finds the vendor; the exact id comes first.
    let out = statusrelay(&["catalog", "search", "githb"]).await;
    assert!(
        stdout(&out)
            .lines()
            .nth(1)
            .unwrap_or("")
            .starts_with("github "),
        "{}",
        stdout(&out)
    );
    let out = statusrelay(&["catalog", "--licenses"]).await;
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("metoro-io/statusphere") && stdout(&out).contains("MIT License"),
        "{}",
        stdout(&out)
    );
    let out = statusrelay(&["catalog", "search", "zzzz-nothing"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no catalog entry matches"));

    let work = Workspace::new();
    let path = work.write_config("catalog = [\"github\", \"slack\", \"google-cloud\"]\n\n[[routes]]\nname = \"out\"\nchannel = \"console\"\n");
    let out = statusrelay(&["validate", "--config", path.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok (3 providers"), "{}", stdout(&out));
    let path = work.write_config("catalog = [\"slak\"]\n");
    let out = statusrelay(&["validate", "--config", path.to_str().unwrap()]).await;
    assert!(
        stderr(&out)
            .contains(":1:12: catalog[0]: no catalog entry \"slak\"; did you mean slack, slab?"),
        "{}",
        stderr(&out)
    );
}

/// A page no platform recognises (JSON of another shape at every document a platform would
/// read, or nothing at all): a clear error naming every platform tried, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_not_detected() {
    let server = StatusServer::start().await;
    let odd = r#"{"ok": true, "version": "3.1.4", "uptime": 123456}"#;
    for path in [
        "",
        "/api/v2/summary.json",
        "/summary.json",
        "/api/v1/summary",
        "/index.json",
        "/incidents.json",
        "/api/v1/components",
    ] {
        server.publish_document("odd", path, odd.to_owned());
    }
    for slug in ["odd", "empty"] {
        let out = statusrelay(&["check", &server.url(slug), "--allow-private"]).await;
        assert_no_panic(&out);
        assert!(!out.status.success(), "{slug}: {}", stdout(&out));
        let err = stderr(&out);
        for platform in statusrelay_core::sources::DETECTABLE {
            assert!(
                err.contains(&format!("{}: ", platform.as_str())),
                "{slug}: names {platform:?} as tried: {err}"
            );
        }
    }
}
