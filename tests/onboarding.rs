//! `statusrelay init` and `statusrelay add` from a user's point of view: a starter config that
//! loads, providers added by URL (detected on a loopback page) or from the catalog, the file's
//! comments and layout kept byte for byte, and one clear line for each kind of bad input.

mod support;

use support::fixture::Page;
use support::*;

const HAND_WRITTEN: &str = r#"# Our vendors. Keep this list short!
[settings]
state = "state.db"              # next to this file
interval = "60s"
allow_private_targets = true    # the test pages are on loopback

[[providers]]
# The one that matters most.
id = "calm"
url = "{calm}"
platform = "statuspage"

[[routes]]
name = "terminal"
channel = "console"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_keeps_the_file_and_init_writes_a_loadable_start() {
    let server = StatusServer::start().await;
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    server.publish("acme", &Page::realistic("Acme Cloud", &server.url("acme")));
    let work = Workspace::new();
    let original = HAND_WRITTEN.replace("{calm}", &server.url("calm"));
    let config = work.write_config(&original);
    let path = config.to_str().unwrap();

    // By URL: detected, its components shown, a component filter checked against them.
    let added = statusrelay(&[
        "add",
        &server.url("acme"),
        "--config",
        path,
        "--components",
        "git operations,Actions",
    ])
    .await;
    assert!(added.status.success(), "{}", stderr(&added));
    let shown = stdout(&added);
    assert!(shown.contains("Acme Cloud: 29 components"), "{shown}");
    assert!(
        shown.contains("    Git Operations") && shown.contains("  Automation"),
        "{shown}"
    );
    assert!(shown.contains("added `acme-cloud`"), "{shown}");
    let edited = std::fs::read_to_string(&config).unwrap();
    let routes_at = edited.find("[[routes]]").unwrap();
    assert!(
        edited.starts_with(&original[..original.find("[[routes]]").unwrap()]),
        "everything before the new table is as it was:\n{edited}"
    );
    assert!(edited.ends_with(&original[original.find("[[routes]]").unwrap()..]));
    let new_table = &edited[edited.find("# Added by").unwrap()..routes_at];
    for line in [
        "id = \"acme-cloud\"",
        "name = \"Acme Cloud\"",
        "platform = \"statuspage\"",
        "components = [\"Git Operations\", \"Actions\"]",
    ] {
        assert!(new_table.contains(line), "{line} missing:\n{new_table}");
    }
    let valid = statusrelay(&["validate", "--config", path]).await;
    assert!(stdout(&valid).contains("2 providers"), "{}", stderr(&valid));

    // The same page again, an unknown component, an unreadable page: one line each, file intact.
    let again = statusrelay(&["add", &server.url("acme"), "--config", path]).await;
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already watched (provider `acme-cloud`)"),
        "{}",
        stderr(&again)
    );
    let unknown_component = statusrelay(&[
        "add",
        &server.url("calm"),
        "--config",
        path,
        "--components",
        "Teleporter",
    ])
    .await;
    assert!(!unknown_component.status.success());
    let missing = statusrelay(&["add", &server.url("nothing-here"), "--config", path]).await;
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("not readable as a status page"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        stderr(&missing).trim().lines().count(),
        1,
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        edited,
        "file untouched"
    );

    // From the catalog, without reading the page (no internet here).
    let from_catalog = statusrelay(&["add", "github", "--config", path, "--no-check"]).await;
    assert!(from_catalog.status.success(), "{}", stderr(&from_catalog));
    let with_github = std::fs::read_to_string(&config).unwrap();
    assert!(with_github.contains("# Added by `statusrelay add`, from the catalog (`github`)."));
    assert!(with_github.contains("url = \"https://www.githubstatus.com\""));
    let unknown = statusrelay(&["add", "zzqxv-no-such-vendor", "--config", path]).await;
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("is not in the catalog"),
        "{}",
        stderr(&unknown)
    );

    // init: a loadable start, never over an existing file.
    let fresh = work.path("fresh.toml");
    let init = statusrelay(&[
        "init",
        "--config",
        fresh.to_str().unwrap(),
        "--catalog",
        "github,slack",
    ])
    .await;
    assert!(init.status.success(), "{}", stderr(&init));
    let valid = statusrelay(&["validate", "--config", fresh.to_str().unwrap()]).await;
    assert!(
        stdout(&valid).contains("2 providers, 1 destinations, 1 routes"),
        "{}",
        stdout(&valid)
    );
    let twice = statusrelay(&["init", "--config", fresh.to_str().unwrap()]).await;
    assert!(
        stderr(&twice).contains("already exists"),
        "{}",
        stderr(&twice)
    );
    let typo = statusrelay(&[
        "init",
        "--config",
        work.path("typo.toml").to_str().unwrap(),
        "--catalog",
        "githubb",
    ])
    .await;
    assert!(!typo.status.success());
    assert!(!work.path("typo.toml").exists());
}

/// `catalog verify` against loopback pages: one fine, one moved (301), one whose platform
/// changed, one dead (nothing listens), one reachable but no status page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_verify_tells_fine_moved_changed_and_dead_apart() {
    let server = StatusServer::start().await;
    server.publish("fine", &Page::realistic("Fine Co", &server.url("fine")));
    server.publish(
        "new-home",
        &Page::realistic("Moving Co", &server.url("new-home")),
    );
    server.redirect("old-home", &server.url("new-home"));
    server.publish(
        "changed",
        &Page::realistic("Changed Co", &server.url("changed")),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let work = Workspace::new();
    let entry = |id: &str, url: &str, platform: &str| {
        format!(
            "[[provider]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"{url}\"\nplatform = \"{platform}\"\ntags = [\"cloud\"]\n\n"
        )
    };
    let catalog = work.path("catalog.toml");
    std::fs::write(
        &catalog,
        [
            entry("fine", &server.url("fine"), "statuspage"),
            entry("moving", &server.url("old-home"), "statuspage"),
            entry("changed", &server.url("changed"), "instatus"),
            entry("dead", &dead_url, "statuspage"),
            entry("blank", &server.url("nothing-here"), "auto"),
        ]
        .concat(),
    )
    .unwrap();
    let out = statusrelay(&[
        "catalog",
        "verify",
        "--catalog-file",
        catalog.to_str().unwrap(),
        "--allow-private",
        "--json",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let verdicts: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let of = |id: &str| {
        verdicts
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no verdict for {id}: {verdicts}"))
            .clone()
    };
    assert_eq!(of("fine")["outcome"], "ok");
    assert_eq!(of("fine")["detected_platform"], "statuspage");
    assert_eq!(of("moving")["outcome"], "moved");
    assert_eq!(of("moving")["redirects_to"], server.url("new-home"));
    assert_eq!(of("changed")["outcome"], "platform_changed");
    assert_eq!(of("changed")["detected_platform"], "statuspage");
    assert_eq!(of("dead")["outcome"], "dead");
    assert_eq!(of("dead")["reachable"], false);
    assert_eq!(of("blank")["outcome"], "dead", "404 and no status page");

    // The table for people, and --only.
    let table = statusrelay(&[
        "catalog",
        "verify",
        "--catalog-file",
        catalog.to_str().unwrap(),
        "--allow-private",
        "--only",
        "fine,moving",
    ])
    .await;
    let text = stdout(&table);
    assert!(
        text.contains("2 entries: 1 ok, 0 platform changed, 1 moved"),
        "{text}"
    );
    // Without --allow-private the guard refuses loopback: reported, never fetched.
    let guarded = statusrelay(&[
        "catalog",
        "verify",
        "--catalog-file",
        catalog.to_str().unwrap(),
        "--only",
        "fine",
        "--json",
    ])
    .await;
    let guarded: serde_json::Value = serde_json::from_str(&stdout(&guarded)).unwrap();
    assert_eq!(guarded[0]["outcome"], "dead");
    assert!(
        guarded[0]["error"].as_str().unwrap().contains("private"),
        "{guarded}"
    );
}
