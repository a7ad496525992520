//! Notification groups through the whole pipeline: providers by id and tag, components by
//! name, minimum impact, maintenance off unless asked, and one delivery per destination when
//! several routes match.

mod support;

use chrono::Duration;
use support::fixture::{Page, epoch};
use support::*;

fn names(receiver: &WebhookReceiver) -> Vec<String> {
    receiver
        .delivered()
        .iter()
        .map(|r| {
            let json = r.json();
            let what = json["data"]["incident"]["name"]
                .as_str()
                .or(json["data"]["component"]["name"].as_str())
                .unwrap_or("?")
                .to_owned();
            format!("{} {what}", json["type"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_filter_by_provider_tag_component_impact_and_maintenance() {
    let server = StatusServer::start().await;
    let (api_team, oncall, planning) = (
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
    );
    let work = Workspace::new();
    let mut acme = Page::realistic("Acme Pay", &server.url("acme"));
    let mut beta = Page::realistic("Beta", &server.url("beta"));
    let acme_leaves = acme.leaf_ids();
    let beta_leaves = beta.leaf_ids();
    let watched = acme.component_name(&acme_leaves[0]);
    server.publish("acme", &acme);
    server.publish("beta", &beta);
    let config = work.write_config(&format!(
        r#"[settings]
state = "state.db"
allow_private_targets = true

[[providers]]
id = "acme"
url = "{acme_url}"
tags = ["payments"]

[[providers]]
id = "beta"
url = "{beta_url}"

[[destinations]]
name = "api-team"
type = "webhook"
url = "{api_team}"

[[destinations]]
name = "oncall"
type = "webhook"
url = "{oncall}"

[[destinations]]
name = "planning"
type = "webhook"
url = "{planning}"

# Only what touches one component of Acme.
[[routes]]
name = "acme-api"
destinations = ["api-team"]
providers = ["acme"]
components = {{ acme = ["{watched_lower}"] }}

# Anything major or worse, anywhere.
[[routes]]
name = "major"
destinations = ["oncall"]
min_impact = "major"

# Every payments-provider incident, whatever its impact: shares "oncall" with "major".
[[routes]]
name = "payments"
destinations = ["oncall"]
tags = ["payments"]
events = ["incident.*"]

[[routes]]
name = "maintenance"
destinations = ["planning"]
events = ["maintenance.*"]
"#,
        acme_url = server.url("acme"),
        beta_url = server.url("beta"),
        api_team = api_team.url(),
        oncall = oncall.url(),
        planning = planning.url(),
        watched_lower = watched.to_lowercase(),
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(oncall.received().is_empty(), "the baseline is silent");

    // A minor Acme incident elsewhere on the page, a major Beta incident.
    acme.open_incident(
        "Slow payouts",
        "minor",
        &acme_leaves[1..2],
        "Investigating.",
        epoch(),
    );
    beta.open_incident(
        "Beta down",
        "major",
        &beta_leaves[0..1],
        "Investigating.",
        epoch(),
    );
    server.publish("acme", &acme);
    server.publish("beta", &beta);
    run_once(&config).await;
    assert!(
        api_team.delivered().is_empty(),
        "another component of Acme: {:?}",
        names(&api_team)
    );
    let mut got = names(&oncall);
    got.sort();
    assert_eq!(
        got,
        [
            "incident.created Beta down",
            "incident.created Slow payouts"
        ]
    );
    assert!(planning.delivered().is_empty());

    // A critical Acme incident on the watched component matches all three incident routes:
    // "oncall" gets it once.
    oncall.clear();
    acme.open_incident(
        "Card API outage",
        "critical",
        &acme_leaves[0..1],
        "Investigating.",
        epoch() + Duration::minutes(2),
    );
    server.publish("acme", &acme);
    run_once(&config).await;
    assert_eq!(names(&api_team), ["incident.created Card API outage"]);
    assert_eq!(names(&oncall), ["incident.created Card API outage"]);
    let ids: Vec<String> = [&api_team, &oncall]
        .iter()
        .map(|r| r.delivered()[0].header("webhook-id"))
        .collect();
    assert_eq!(ids[0], ids[1], "one event, one id, on every destination");

    // Maintenance goes only where it was asked for.
    api_team.clear();
    oncall.clear();
    acme.schedule_maintenance(
        "Database upgrade",
        epoch() + Duration::days(2),
        epoch() + Duration::days(2) + Duration::hours(2),
        epoch() + Duration::minutes(3),
    );
    server.publish("acme", &acme);
    run_once(&config).await;
    assert_eq!(names(&planning), ["maintenance.scheduled Database upgrade"]);
    assert!(api_team.delivered().is_empty() && oncall.delivered().is_empty());

    // Component changes: a minor one on Beta reaches nobody; a major outage of the watched
    // Acme component reaches its team and on-call (impact critical), once each.
    planning.clear();
    beta.set_component(
        &beta_leaves[3],
        "degraded_performance",
        epoch() + Duration::minutes(4),
    );
    acme.set_component(
        &acme_leaves[0],
        "major_outage",
        epoch() + Duration::minutes(4),
    );
    server.publish("acme", &acme);
    server.publish("beta", &beta);
    run_once(&config).await;
    let expected = format!("component.status_changed {watched}");
    assert_eq!(names(&api_team), std::slice::from_ref(&expected));
    assert_eq!(names(&oncall), [expected]);
    assert!(planning.delivered().is_empty());
}

/// `components` on a provider filters at the source: incidents and component changes that
/// only touch other components never become events; page-wide incidents still do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_component_filter_drops_what_touches_only_other_components() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut page = Page::realistic("Acme", &server.url("acme"));
    let leaves = page.leaf_ids();
    let group_of = |id: &str| {
        page.components
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .group_id
            .clone()
            .unwrap()
    };
    let group = group_of(&leaves[0]);
    let group_name = page
        .components
        .iter()
        .find(|c| c.id == group)
        .unwrap()
        .name
        .clone();
    let sibling = leaves
        .iter()
        .find(|l| *l != &leaves[0] && group_of(l) == group)
        .unwrap()
        .clone();
    let outside = leaves
        .iter()
        .find(|l| group_of(l) != group)
        .unwrap()
        .clone();
    let single = leaves
        .iter()
        .rev()
        .find(|l| group_of(l) != group && **l != outside)
        .unwrap()
        .clone();
    let single_name = page.component_name(&single);
    server.publish("acme", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"acme\"\nurl = \"{}\"\ncomponents = [\"{group_name}\", \"{}\"]\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        server.url("acme"),
        single_name.to_uppercase(),
        receiver.url()
    ));
    run_once(&config).await;
    assert!(receiver.received().is_empty());

    page.open_incident(
        "Outside only",
        "major",
        std::slice::from_ref(&outside),
        "Investigating.",
        epoch(),
    );
    page.open_incident("Everything slow", "minor", &[], "Investigating.", epoch());
    page.open_incident(
        "Group member down",
        "major",
        std::slice::from_ref(&sibling),
        "Investigating.",
        epoch(),
    );
    page.set_component(&outside, "major_outage", epoch());
    page.set_component(&single, "degraded_performance", epoch());
    server.publish("acme", &page);
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut got = names(&receiver);
    got.sort();
    assert_eq!(
        got,
        [
            format!("component.status_changed {single_name}"),
            "incident.created Everything slow".to_owned(),
            "incident.created Group member down".to_owned(),
        ]
    );
}
