//! The dashboard served by `statusrelay run --listen`, end to end: loopback status pages (an
//! open critical incident, a hostile incident, a maintenance tomorrow, a page that is down), a
//! webhook destination, the pages over HTTP, and the same pages in headless Chromium (Debian's
//! `chromium`, installed by `scripts/test`): worst first, hostile text inert, scripts limited
//! to our own, times turned into the viewer's zone by the script.

mod support;

use std::time::Duration;

use chrono::Utc;
use support::browser::{dump_dom, screenshot};
use support::fixture::{Page, epoch};
use support::*;

const HOSTILE_TITLE: &str = "<script>alert(1)</script> <img src=x onerror=alert(2)> \u{202E}gnp.exe\u{202C} zero\u{200B}width";

struct Dashboard {
    base: String,
    child: tokio::process::Child,
    server: StatusServer,
    hook: WebhookReceiver,
    burning: Page,
    burning_incident: String,
    _work: Workspace,
}

/// Four providers and a webhook, watched every second and served on a free loopback port.
async fn start_dashboard() -> Dashboard {
    let server = StatusServer::start().await;
    let hook = WebhookReceiver::start().await;
    let work = Workspace::new();

    let mut burning = Page::realistic("Burning Co", &server.url("burning"));
    let leaves = burning.leaf_ids();
    let burning_incident = burning.open_incident(
        "API unavailable",
        "critical",
        &leaves[..2],
        "We are investigating failed API requests.",
        epoch(),
    );
    server.publish("burning", &burning);

    let mut hostile = Page::realistic("Hostile Co", &server.url("hostile"));
    let leaves = hostile.leaf_ids();
    let long_name = format!("{}\u{202E}", "Component-with-a-very-long-name ".repeat(10));
    hostile.components[1].name = long_name;
    hostile.open_incident(
        HOSTILE_TITLE,
        "minor",
        &leaves[..1],
        "<p>Details <b>here</b></p><script>alert(3)</script><img src=x onerror=alert(4)>",
        epoch(),
    );
    server.publish("hostile", &hostile);

    let mut calm = Page::realistic("Calm Co", &server.url("calm"));
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    calm.schedule_maintenance(
        "Database upgrade",
        tomorrow,
        tomorrow + chrono::Duration::hours(2),
        Utc::now() - chrono::Duration::hours(1),
    );
    server.publish("calm", &calm);

    let down = Page::realistic("Down Co", &server.url("down"));
    server.publish("down", &down);
    server.set_fault("down", SUMMARY, Some(support::Fault::Status(503)));

    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
interval = "1s"
allow_private_targets = true

[[providers]]
id = "calm"
url = "{calm}"
platform = "statuspage"
tags = ["devtools"]

[[providers]]
id = "burning"
url = "{burning}"
platform = "statuspage"
tags = ["payments"]

[[providers]]
id = "hostile"
url = "{hostile}"
platform = "statuspage"

[[providers]]
id = "down"
name = "Down Co"
url = "{down}"
platform = "statuspage"
tags = ["payments"]

[[destinations]]
name = "hook"
type = "webhook"
url = "{hook}"

[[routes]]
name = "everything"
destinations = ["hook"]
"#,
        calm = server.url("calm"),
        burning = server.url("burning"),
        hostile = server.url("hostile"),
        down = server.url("down"),
        hook = hook.url(),
    ));
    let port = free_port();
    let child = tokio::process::Command::new(binary())
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Ready when every provider has been polled and the failing one counts as unknown.
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(answer) = client.get(format!("{base}/api/v1/providers")).send().await
            && answer.status() == 200
        {
            let body: serde_json::Value = answer.json().await.unwrap();
            let list = body["providers"].as_array().cloned().unwrap_or_default();
            let polled = list
                .iter()
                .filter(|p| p["id"] != "down")
                .all(|p| p["last_good_poll"].is_string());
            if polled
                && list
                    .iter()
                    .any(|p| p["id"] == "down" && p["consecutive_failures"].as_u64() >= Some(2))
            {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the watcher never polled every provider");
    Dashboard {
        base,
        child,
        server,
        hook,
        burning,
        burning_incident,
        _work: work,
    }
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_every_provider_worst_first_with_hostile_text_inert() {
    let mut dashboard = start_dashboard().await;
    // A vendor update after the baseline: delivered, then on the timeline and in deliveries.
    let incident = dashboard.burning_incident.clone();
    dashboard.burning.post_update(
        &incident,
        "identified",
        "The cause is a failed database node; failing over.",
        epoch() + chrono::Duration::minutes(20),
    );
    dashboard.server.publish("burning", &dashboard.burning);
    let update_delivered = |hook: &WebhookReceiver| {
        hook.delivered()
            .iter()
            .any(|r| r.json().to_string().contains("failed database node"))
    };
    for _ in 0..100 {
        if update_delivered(&dashboard.hook) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        update_delivered(&dashboard.hook),
        "the update was not delivered"
    );

    let overview = get(&format!("{}/", dashboard.base)).await;
    assert_eq!(overview.status(), 200);
    let headers = overview.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = overview.text().await.unwrap();
    // Worst first: a major outage, a provider we cannot see, a degraded one, then maintenance.
    let burning = position(&html, ">Burning Co<");
    let down = position(&html, ">Down Co<");
    let hostile = position(&html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    let calm = position(&html, ">Calm Co<");
    assert!(burning < down && down < hostile && hostile < calm, "order");
    assert!(html.contains("Major outage") && html.contains("Unknown"));
    assert!(
        html.contains("HTTP 503"),
        "the down page's last error is shown"
    );
    assert!(html.contains("Database upgrade"), "maintenance tomorrow");
    assert!(
        html.contains("The cause is a failed database node"),
        "latest update: {html}"
    );
    for injected in [
        "<script>alert",
        "<img src=x",
        "onerror=alert(2)>",
        "\u{202E}",
    ] {
        assert!(!html.contains(injected), "{injected:?} reached the page");
    }
    assert_eq!(html.matches("<script").count(), 1, "only our own script");
    assert!(html.contains("<script src=\"/assets/app.js\" defer>"));

    // Filter by tag and search by name, without script.
    let payments = get(&format!("{}/?tag=payments", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(payments.contains(">Burning Co<") && payments.contains(">Down Co<"));
    assert!(!payments.contains(">Calm Co<") && !payments.contains("Hostile"));
    let searched = get(&format!("{}/?q=calm", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(searched.contains(">Calm Co<") && !searched.contains(">Burning Co<"));

    // The provider page: components in their groups, the whole timeline.
    let page = get(&format!("{}/providers/burning", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "We are investigating failed API requests.",
        "The cause is a failed database node; failing over.",
        "Identified",
        "Past incidents",
        "Unchanged (HTTP 304 or same content)",
        "polls since the watcher started",
    ] {
        assert!(
            page.contains(text),
            "{text:?} missing from the provider page"
        );
    }
    for component in &dashboard.burning.components {
        assert!(page.contains(&component.name), "{} missing", component.name);
    }
    assert!(page.contains("scope=\"rowgroup\""), "groups are headed");
    let hostile_page = get(&format!("{}/providers/hostile", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(hostile_page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        hostile_page.contains("Details here"),
        "HTML body shown as text"
    );
    assert!(!hostile_page.contains("<img src=x") && !hostile_page.contains("\u{202E}"));
    assert_eq!(
        get(&format!("{}/providers/nobody", dashboard.base))
            .await
            .status(),
        404
    );

    let calendar = get(&format!("{}/maintenance", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(calendar.contains("Database upgrade") && calendar.contains(">Calm Co<"));
    assert!(
        calendar.contains("1 of 30 days have maintenance") || calendar.contains("2 of 30 days")
    );

    let deliveries = get(&format!("{}/deliveries", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(deliveries.contains("id=\"d-hook\""), "{deliveries}");
    assert!(
        deliveries.contains("API unavailable"),
        "the delivered event is listed"
    );
    assert!(!deliveries.contains("0 sent"), "{deliveries}");

    // The cross-provider timeline: what the notifications said, filtered like the API.
    let timeline = get(&format!("{}/incidents", dashboard.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        timeline.contains("The cause is a failed database node"),
        "{timeline}"
    );
    assert!(timeline.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let calm_only = get(&format!(
        "{}/incidents?provider=calm&tag=&impact=&type=&since=",
        dashboard.base
    ))
    .await
    .text()
    .await
    .unwrap();
    assert!(
        !calm_only.contains("failed database node"),
        "filtered by provider"
    );
    let bad = get(&format!(
        "{}/incidents?type=incident.exploded",
        dashboard.base
    ))
    .await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("incident.exploded"));

    let style = get(&format!("{}/assets/style.css", dashboard.base)).await;
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");

    // gzip when the client takes it.
    let zipped = reqwest::Client::builder()
        .gzip(false)
        .build()
        .unwrap()
        .get(format!("{}/", dashboard.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");

    browser_pass(&dashboard).await;

    // An incident the page stops listing stays on the provider page from the recorded events.
    dashboard.burning.incidents.retain(|i| i.id != incident);
    dashboard.server.publish("burning", &dashboard.burning);
    let mut past = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        past = get(&format!("{}/providers/burning", dashboard.base))
            .await
            .text()
            .await
            .unwrap();
        if !past.contains("Major outage") {
            break;
        }
    }
    let history = &past[position(&past, "Past incidents")..];
    assert!(history.contains("API unavailable"), "{past}");
    assert!(history.contains("The cause is a failed database node; failing over."));
    dashboard.child.kill().await.unwrap();
}

async fn browser_pass(dashboard: &Dashboard) {
    let profile = tempfile::tempdir().unwrap();
    let base = dashboard.base.clone();
    let (overview, provider) = tokio::task::spawn_blocking({
        let (profile, base) = (profile.path().to_owned(), base.clone());
        move || {
            (
                dump_dom(&profile, &format!("{base}/")),
                dump_dom(&profile, &format!("{base}/providers/hostile")),
            )
        }
    })
    .await
    .unwrap();
    for dom in [&overview, &provider] {
        // The DOM after the page ran: the hostile title is text, nothing it carried exists.
        assert!(
            dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{dom}"
        );
        assert_eq!(
            dom.matches("<script").count(),
            1,
            "only our own script: {dom}"
        );
        assert!(!dom.contains("<img"), "an injected image exists in the DOM");
        // The script ran under the page's policy: times read in New York, UTC on hover.
        assert!(dom.contains("title=\"20"), "times keep UTC in the tooltip");
        let shown_in_utc = dom.matches(" UTC</time>").count();
        assert_eq!(
            shown_in_utc, 0,
            "the script did not turn times local: {dom}"
        );
    }
    let ordered: Vec<usize> = [">Burning Co<", ">Down Co<", "alert(1)", ">Calm Co<"]
        .iter()
        .map(|name| position(&overview, name))
        .collect();
    assert!(
        ordered.windows(2).all(|w| w[0] < w[1]),
        "worst first in the browser"
    );

    // Desktop, a phone's width, and the system's dark mode.
    for (path, file, size, dark) in [
        ("/", "dashboard-overview.png", "1200,1100", false),
        (
            "/providers/burning",
            "dashboard-provider.png",
            "1200,1400",
            false,
        ),
        ("/", "dashboard-overview-phone.png", "390,1400", false),
        (
            "/incidents",
            "dashboard-incidents-dark.png",
            "1200,1100",
            true,
        ),
    ] {
        screenshot(profile.path(), &format!("{base}{path}"), file, size, dark);
    }
}
