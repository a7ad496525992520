//! RSS and Atom feeds through `statusrelay run --once`: a Statuspage `/history.atom` (updates
//! split from entity-escaped HTML with no year, `Update` labels, padded days), and an Azure-style
//! RSS feed whose items only exist while an incident is open (`Z`-suffixed RFC 822 dates).

mod support;

use chrono::{DateTime, Duration, Utc};
use support::fixture::epoch;
use support::*;

struct AtomUpdate {
    at: DateTime<Utc>,
    label: &'static str,
    text: &'static str,
}

struct AtomEntry {
    numeric: u32,
    code: String,
    title: &'static str,
    updates: Vec<AtomUpdate>,
}

/// Statuspage's history.atom: newest entry first, one `<p>` per update, newest first.
fn history_atom(entries: &[AtomEntry]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:www.githubstatus.com,2005:/history</id>\n  <link rel=\"alternate\" type=\"text/html\" href=\"https://www.githubstatus.com\"/>\n  <link rel=\"self\" type=\"application/atom+xml\" href=\"https://www.githubstatus.com/history.atom\"/>\n  <title>GitHub Status - Incident History</title>\n  <updated>2026-11-20T09:00:00Z</updated>\n",
    );
    for entry in entries {
        let last = entry.updates.iter().map(|u| u.at).max().unwrap();
        let mut html = String::new();
        for update in entry.updates.iter().rev() {
            // Days are space-padded; Statuspage writes the page's zone abbreviation.
            html.push_str(&format!(
                "<p><small>{} <var data-var='date'>{:>2}</var>, <var data-var='time'>{}</var> UTC</small><br><strong>{}</strong> - {}</p>",
                update.at.format("%b"),
                update.at.format("%-d"),
                update.at.format("%H:%M"),
                update.label,
                update.text
            ));
        }
        out.push_str(&format!(
            "  <entry>\n    <id>tag:www.githubstatus.com,2005:Incident/{}</id>\n    <published>{}</published>\n    <updated>{}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"https://www.githubstatus.com/incidents/{}\"/>\n    <title>{}</title>\n    <content type=\"html\">{}</content>\n  </entry>\n",
            entry.numeric,
            last.to_rfc3339(),
            last.to_rfc3339(),
            entry.code,
            escape(entry.title),
            escape(&html)
        ));
    }
    out.push_str("</feed>\n");
    out
}

fn history() -> Vec<AtomEntry> {
    (0..20)
        .map(|n| {
            let start = epoch() - Duration::days(2 + n as i64 * 3);
            AtomEntry {
                numeric: 21_000_000 - n,
                code: format!("h{n:03}x9q4v1zd"),
                title: "Disruption with some GitHub services",
                updates: vec![
                    AtomUpdate {
                        at: start,
                        label: "Investigating",
                        text: "We are investigating reports of degraded performance.",
                    },
                    AtomUpdate {
                        at: start + Duration::minutes(30),
                        label: "Resolved",
                        text: "This incident has been resolved.",
                    },
                ],
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuspage_history_atom_lifecycle() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut entries = history();
    server.publish_document("github", "/history.atom", history_atom(&entries));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nurl = \"{}/history.atom\"\nplatform = \"feed\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("github"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.received().is_empty(),
        "history is not news: {:?}",
        receiver.delivered_types()
    );

    let t = epoch();
    entries.insert(
        0,
        AtomEntry {
            numeric: 21_000_100,
            code: "x7bq0n2v9k3m".into(),
            title: "Incident with Git Operations",
            updates: vec![AtomUpdate {
                at: t,
                label: "Investigating",
                text: "We are investigating reports of <b>failed</b> git pushes &amp; pulls.",
            }],
        },
    );
    server.publish_document("github", "/history.atom", history_atom(&entries));
    run_once(&config).await;
    entries[0].updates.push(AtomUpdate {
        at: t + Duration::minutes(12),
        label: "Update",
        text: "We are still investigating.",
    });
    server.publish_document("github", "/history.atom", history_atom(&entries));
    run_once(&config).await;
    entries[0].updates.push(AtomUpdate {
        at: t + Duration::minutes(40),
        label: "Resolved",
        text: "This incident has been resolved.",
    });
    server.publish_document("github", "/history.atom", history_atom(&entries));
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.resolved"]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(
        created["data"]["incident"]["id"], "x7bq0n2v9k3m",
        "the code from the link, as in the JSON API"
    );
    assert_eq!(
        created["data"]["incident"]["name"],
        "Incident with Git Operations"
    );
    assert_eq!(
        created["data"]["update"]["body"],
        "We are investigating reports of failed git pushes & pulls."
    );
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "year taken from the entry"
    );
    let updated = receiver.delivered()[1].json();
    assert_eq!(
        updated["data"]["update"]["status"], "investigating",
        "\"Update\" keeps the status"
    );
    let resolved = receiver.delivered()[2].json();
    assert_eq!(resolved["data"]["incident"]["status"], "resolved");

    // Detected without `platform`, as `statusrelay check` reports.
    let out = statusrelay(&[
        "check",
        &format!("{}/history.atom", server.url("github")),
        "--allow-private",
    ])
    .await;
    assert!(
        stdout(&out).starts_with("platform: feed\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Azure's feed: items exist only while an incident is open; no status field.
fn azure_rss(items: &[(&str, &str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss xmlns:a10=\"http://www.w3.org/2005/Atom\" version=\"2.0\"><channel><title>Azure Status</title><link>https://azure.status.microsoft/en-us/status/</link><description>Azure Status</description><language>en-us</language><lastBuildDate>Thu, 06 Aug 2026 01:09:00 Z</lastBuildDate>",
    );
    for (guid, title, description) in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><link>https://azure.status.microsoft/en-us/status/</link><title>{title}</title><description>{description}</description><pubDate>Thu, 20 Nov 2026 08:00:00 Z</pubDate></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_items_resolve_when_they_leave_the_feed() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    server.publish_document("azure", "/en-us/status/feed/", azure_rss(&[]));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"azure\"\nname = \"Azure\"\nurl = \"{}/en-us/status/feed/\"\nplatform = \"feed\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("azure"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let item = (
        "VS7X-1Q8",
        "Virtual Machines/VM Scale Sets - East US 2",
        "Summary of impact: Starting at 06:45 UTC on 20 Nov 2026, customers may experience failures when starting VMs. Next steps: We will provide an update within 60 minutes.",
    );
    server.publish_document("azure", "/en-us/status/feed/", azure_rss(&[item]));
    run_once(&config).await;
    let edited = (
        item.0,
        item.1,
        "Summary of impact: ... Preliminary root cause: a configuration change. Mitigation: rolled back.",
    );
    server.publish_document("azure", "/en-us/status/feed/", azure_rss(&[edited]));
    run_once(&config).await;
    server.publish_document("azure", "/en-us/status/feed/", azure_rss(&[]));
    run_once(&config).await;
    run_once(&config).await;
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.resolved"]
    );
    let created = receiver.delivered()[0].json();
    assert_eq!(
        created["data"]["incident"]["name"],
        "Virtual Machines/VM Scale Sets - East US 2"
    );
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "RFC 822 date with a Z zone"
    );

    // Detected without `platform`, as `statusrelay check` reports.
    let out = statusrelay(&[
        "check",
        &format!("{}/en-us/status/feed/", server.url("azure")),
        "--allow-private",
    ])
    .await;
    assert!(
        stdout(&out).starts_with("platform: feed\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
