//! The read side's history paths end to end: `/api/v1/events` (filters, pagination),
//! `/feed.atom` (parsed with feed-rs) and `/maintenance.ics` (parsed with the icalendar
//! crate's parser), served by `run --listen` against loopback status pages while a vendor
//! opens and resolves an incident and reschedules, then withdraws, a maintenance.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use support::fixture::Page;
use support::*;

const TOKEN: &str = "feeds-t0ken-for-calendar-apps";
const HOSTILE: &str = "<script>alert(1)</script> <img src=x onerror=alert(2)>";

struct Reader {
    base: String,
    client: reqwest::Client,
}

impl Reader {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_eq!(answer.status(), 200, "{path}");
        answer.json().await.unwrap()
    }

    async fn text(&self, path: &str) -> (String, String) {
        let answer = self.get(path).await;
        assert_eq!(answer.status(), 200, "{path}");
        let content_type = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        (content_type, answer.text().await.unwrap())
    }

    /// Polls `path` until `done` holds (the watcher polls every second).
    async fn wait_json(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..150 {
            last = self.json(path).await;
            if done(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} never got there: {last}");
    }

    async fn wait_ics(&self, done: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..150 {
            last = self
                .text(&format!("/maintenance.ics?token={TOKEN}"))
                .await
                .1;
            if done(&unfold(&last)) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the calendar never got there:\n{last}");
    }
}

fn unfold(ics: &str) -> String {
    ics.replace("\r\n ", "")
}

fn types(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The value of `NAME` in the calendar's one event.
fn property(ics: &str, name: &str) -> String {
    let unfolded = unfold(ics);
    unfolded
        .split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in\n{ics}"))
        .to_owned()
}

/// Parses with a real iCalendar parser and checks the wire format the RFC asks for.
fn check_calendar(ics: &str) -> icalendar::Calendar {
    assert!(ics.ends_with("\r\n"));
    for line in ics.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line end"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = icalendar::parser::unfold(ics);
    let parsed = icalendar::parser::read_calendar(&unfolded).expect("parses as iCalendar");
    icalendar::Calendar::from(parsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_feed_and_calendar_follow_the_vendors() {
    let server = StatusServer::start().await;
    let work = Workspace::new();
    let now = Utc::now();
    let mut acme = Page::realistic("Acme", &server.url("acme"));
    let leaves = acme.leaf_ids();
    let hostile = acme.open_incident(
        HOSTILE,
        "critical",
        &leaves[..1],
        "<p>We are <b>investigating</b>.</p>",
        now - chrono::Duration::minutes(30),
    );
    let tomorrow = now + chrono::Duration::days(1);
    let created = now - chrono::Duration::hours(2);
    let maintenance = acme.schedule_maintenance(
        "Database upgrade; failover, then \\ checks",
        tomorrow,
        tomorrow + chrono::Duration::hours(2),
        created,
    );
    server.publish("acme", &acme);
    let mut calm = Page::realistic("Calm Co", &server.url("calm"));
    let calm_leaves = calm.leaf_ids();
    calm.open_incident(
        "Slow dashboards",
        "minor",
        &calm_leaves[..1],
        "Looking.",
        now - chrono::Duration::minutes(10),
    );
    server.publish("calm", &calm);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\nhttp_token = \"env:STATUSRELAY_HTTP_TOKEN\"\n\n[[providers]]\nid = \"acme\"\nurl = \"{}\"\nplatform = \"statuspage\"\ntags = [\"payments\"]\n\n[[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\n",
        server.url("acme"),
        server.url("calm"),
    ));
    let port = free_port();
    let mut child = tokio::process::Command::new(binary())
        .args(["run", "--config", config.to_str().unwrap(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("STATUSRELAY_HTTP_TOKEN", TOKEN)
        .env("STATUSRELAY_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let reader = Reader {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    for _ in 0..100 {
        if reader
            .client
            .get(format!("{}/healthz", reader.base))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A token is set: every history path wants it, in the header or the URL.
    for path in ["/api/v1/events", "/feed.atom", "/maintenance.ics"] {
        let url = format!("{}{path}", reader.base);
        let plain = reader.client.get(&url).send().await.unwrap();
        assert_eq!(plain.status(), 401, "{path}");
        let wrong = reader
            .client
            .get(format!("{url}?token=not-{TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let right = reader
            .client
            .get(format!("{url}?token={TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200, "{path}");
    }

    // The baseline announces the open incidents and the upcoming maintenance.
    reader
        .wait_json("/api/v1/events", |e| types(e).len() >= 3)
        .await;
    // The incident moves on and ends.
    acme.post_update(
        &hostile,
        "identified",
        "Found it; rolling back.",
        now - chrono::Duration::minutes(20),
    );
    acme.post_update(
        &hostile,
        "resolved",
        "All good.",
        now - chrono::Duration::minutes(10),
    );
    server.publish("acme", &acme);
    let all = reader
        .wait_json("/api/v1/events", |e| types(e).len() >= 5)
        .await;
    assert_eq!(all["next"], Value::Null, "{all}");
    let listed = all["events"].as_array().unwrap();
    assert_eq!(listed.len(), 5, "{all}");
    // Newest first, each the webhook JSON plus when it was recorded.
    assert_eq!(listed[0]["type"], "incident.resolved", "{all}");
    let seqs: Vec<i64> = listed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    for event in listed {
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert!(event["recorded_at"].as_str().unwrap().ends_with('Z'));
        assert!(event["data"]["provider"]["id"].is_string());
    }

    // Filters.
    let acme_only = reader.json("/api/v1/events?provider=acme").await;
    assert_eq!(types(&acme_only).len(), 4, "{acme_only}");
    assert_eq!(reader.json("/api/v1/events?tag=payments").await, acme_only);
    let resolved = reader
        .json("/api/v1/events?type=incident.resolved,maintenance.scheduled")
        .await;
    assert_eq!(
        types(&resolved),
        ["incident.resolved", "maintenance.scheduled"],
        "{resolved}"
    );
    let critical = reader.json("/api/v1/events?impact=critical").await;
    assert_eq!(
        types(&critical).len(),
        3,
        "only acme's incident: {critical}"
    );
    assert!(
        critical["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["data"]["incident"]["name"] == HOSTILE)
    );
    assert_eq!(
        types(&reader.json("/api/v1/events?since=1h&provider=calm").await).len(),
        1
    );
    assert_eq!(
        types(
            &reader
                .json("/api/v1/events?since=2030-01-01T00:00:00Z")
                .await
        )
        .len(),
        0
    );

    // Pagination: two at a time, following `next`, yields the same events in the same order.
    let mut paged = Vec::new();
    let mut next = Some("/api/v1/events?limit=2".to_owned());
    while let Some(path) = next {
        let page = reader.json(&path).await;
        assert!(page["events"].as_array().unwrap().len() <= 2);
        paged.extend(page["events"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
        assert!(paged.len() <= 5, "pagination does not end");
    }
    assert_eq!(&paged, listed);

    // Bad parameters: a 400 that names the parameter.
    for (query, parameter) in [
        ("since=last-tuesday", "since"),
        ("type=incident.exploded", "type"),
        ("impact=awful", "impact"),
        ("limit=100000", "limit"),
        ("provider=nobody", "provider"),
        ("tag=unknown-tag", "tag"),
        ("colour=red", "colour"),
    ] {
        let answer = reader.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(answer.status(), 400, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["parameter"], parameter, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains(parameter),
            "{body}"
        );
        let atom = reader.get(&format!("/feed.atom?{query}")).await;
        assert_eq!(atom.status(), 400, "{query}");
    }
    assert_eq!(reader.get("/maintenance.ics?type=x").await.status(), 400);

    // The Atom feed: the same events, ids stable across fetches, the hostile title literal.
    let (content_type, atom) = reader.text("/feed.atom").await;
    assert_eq!(content_type, "application/atom+xml; charset=utf-8");
    assert!(!atom.contains("<script"), "{atom}");
    let feed = feed_rs::parser::parse(atom.as_bytes()).expect("parses as Atom");
    assert_eq!(feed.entries.len(), 5);
    let ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
    for (entry, event) in feed.entries.iter().zip(listed) {
        assert_eq!(
            entry.id,
            format!("urn:statusrelay:event:{}", event["id"].as_str().unwrap())
        );
    }
    let created_entry = feed
        .entries
        .iter()
        .find(|e| {
            let title = &e.title.as_ref().unwrap().content;
            title.starts_with("Acme") && title.ends_with("Investigating")
        })
        .expect("the incident's first entry");
    assert_eq!(
        created_entry.title.as_ref().unwrap().content,
        format!("Acme — {HOSTILE} — Investigating")
    );
    let body = created_entry
        .content
        .as_ref()
        .unwrap()
        .body
        .as_deref()
        .unwrap();
    assert!(body.contains("We are investigating."), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    let again = feed_rs::parser::parse(reader.text("/feed.atom").await.1.as_bytes()).unwrap();
    assert_eq!(again.id, feed.id);
    assert_eq!(
        again
            .entries
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    let filtered =
        feed_rs::parser::parse(reader.text("/feed.atom?provider=calm").await.1.as_bytes()).unwrap();
    assert_eq!(filtered.entries.len(), 1);
    assert_ne!(filtered.id, feed.id, "one feed id per filter set");

    // The calendar: tomorrow's maintenance, parsed by a real parser.
    let (content_type, ics) = reader
        .text(&format!("/maintenance.ics?token={TOKEN}"))
        .await;
    assert_eq!(content_type, "text/calendar; charset=utf-8");
    let calendar = check_calendar(&ics);
    assert_eq!(calendar.events().count(), 1, "{ics}");
    let uid = format!("{maintenance}.acme@statusrelay");
    assert_eq!(property(&ics, "UID"), uid);
    assert_eq!(property(&ics, "METHOD"), "PUBLISH");
    assert_eq!(property(&ics, "STATUS"), "CONFIRMED");
    assert_eq!(
        property(&ics, "SUMMARY"),
        r"Acme: Database upgrade\; failover\, then \\ checks"
    );
    let utc = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
    assert_eq!(property(&ics, "DTSTART"), utc(tomorrow));
    assert_eq!(property(&ics, "LAST-MODIFIED"), utc(created));
    let first_sequence: u32 = property(&ics, "SEQUENCE").parse().unwrap();
    assert!(
        property(&ics, "DESCRIPTION").starts_with("We will be performing scheduled maintenance.")
    );
    let second = reader
        .text(&format!("/maintenance.ics?token={TOKEN}"))
        .await
        .1;
    assert_eq!(property(&second, "UID"), uid);
    assert_eq!(property(&second, "SEQUENCE"), first_sequence.to_string());
    assert_eq!(
        check_calendar(
            &reader
                .text(&format!("/maintenance.ics?provider=calm&token={TOKEN}"))
                .await
                .1
        )
        .events()
        .count(),
        0
    );

    // The vendor moves the window by an hour and says so: SEQUENCE and LAST-MODIFIED move.
    let later = tomorrow + chrono::Duration::hours(1);
    let rescheduled_at = created + chrono::Duration::minutes(90);
    acme.maintenances[0].scheduled = Some((later, later + chrono::Duration::hours(2)));
    acme.post_update(
        &maintenance,
        "scheduled",
        "Moved one hour later.",
        rescheduled_at,
    );
    server.publish("acme", &acme);
    let moved = reader
        .wait_ics(|ics| ics.contains(&format!("DTSTART:{}", utc(later))))
        .await;
    check_calendar(&moved);
    assert_eq!(property(&moved, "UID"), uid);
    assert_eq!(property(&moved, "LAST-MODIFIED"), utc(rescheduled_at));
    let moved_sequence: u32 = property(&moved, "SEQUENCE").parse().unwrap();
    assert!(
        moved_sequence > first_sequence,
        "{first_sequence} -> {moved_sequence}"
    );
    assert_eq!(property(&moved, "DESCRIPTION"), "Moved one hour later.");

    // The vendor withdraws it before it starts: it stays, cancelled, under the same UID.
    acme.maintenances.clear();
    server.publish("acme", &acme);
    let cancelled = reader
        .wait_ics(|ics| ics.contains("STATUS:CANCELLED"))
        .await;
    check_calendar(&cancelled);
    assert_eq!(property(&cancelled, "UID"), uid);
    assert_eq!(property(&cancelled, "DTSTART"), utc(later));
    let cancelled_sequence: u32 = property(&cancelled, "SEQUENCE").parse().unwrap();
    assert!(cancelled_sequence > moved_sequence);

    child.kill().await.unwrap();
}
