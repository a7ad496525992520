//! The AWS read side end to end on a moto server: an incident lifecycle replayed through the
//! real poller and notifier binaries, then the real dashboard binary asked through the Lambda
//! Runtime API with function URL events (payload 2.0), its DynamoDB traffic counted by a
//! proxy; and one headless Chromium pass through a loopback function URL.

mod support;

use std::sync::Arc;

use chrono::{Duration as Span, Utc};
use serde_json::Value;
use support::aws_cloud::{Cloud, failures, start_functions};
use support::browser::{dump_dom, screenshot};
use support::fault_proxy::FaultProxy;
use support::fixture::{Page, epoch};
use support::function_url::{self, UrlResponse, request_event};
use support::lambda::{Function, RuntimeApi};
use support::*;

const TOKEN: &str = "dashboard-token-3f9a1c27e4b8d605";
const TOKEN_PARAMETER: &str = "/statusrelay/dashboard-token";
const HOSTILE_TITLE: &str = "<script>alert(1)</script> <img src=x onerror=alert(2)>";

struct Dashboard {
    api: Arc<RuntimeApi>,
    /// Between the dashboard and the emulator: counts its DynamoDB requests.
    proxy: FaultProxy,
    _function: Function,
}

impl Dashboard {
    async fn start(cloud: &Cloud, extra_env: &[(&str, &str)]) -> Dashboard {
        let proxy = FaultProxy::start(&cloud.moto.endpoint).await;
        let mut env = cloud.function_env(&proxy.endpoint());
        env.push(("DASHBOARD_TOKEN_PARAMETER".into(), TOKEN_PARAMETER.into()));
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let api = Arc::new(RuntimeApi::start().await);
        let function = Function::spawn("statusrelay-dashboard", &api, &env);
        Dashboard {
            api,
            proxy,
            _function: function,
        }
    }

    async fn request(&self, target: &str, headers: &[(&str, &str)]) -> UrlResponse {
        let reply = self
            .api
            .invoke(&request_event("GET", target, headers))
            .await
            .unwrap();
        UrlResponse::of(&reply)
    }

    /// A request with the token that must succeed.
    async fn get(&self, target: &str) -> UrlResponse {
        let bearer = format!("Bearer {TOKEN}");
        let response = self.request(target, &[("authorization", &bearer)]).await;
        assert_eq!(response.status, 200, "{target}: {}", response.text());
        response
    }

    async fn json(&self, target: &str) -> Value {
        serde_json::from_slice(&self.get(target).await.body).unwrap()
    }

    /// The error a failed cold start reported to the runtime API.
    async fn init_error(&self) -> String {
        for _ in 0..200 {
            if let Some(error) = self.api.init_error() {
                return error;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the dashboard started without its token");
    }

    fn table_reads(&self) -> usize {
        ["Query", "GetItem", "Scan", "BatchGetItem"]
            .iter()
            .map(|op| self.proxy.requests(op))
            .sum()
    }
}

async fn put_parameter(cloud: &Cloud, name: &str, value: &str) {
    let sdk = cloud.moto.sdk_config().await;
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(value)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// How many events the table's history holds for a provider.
async fn history_count(cloud: &Cloud, provider: &str) -> i32 {
    cloud
        .ddb
        .query()
        .table_name(support::aws_cloud::TABLE)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("H#{provider}")),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count()
}

fn event_ids(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_function_serves_the_lifecycle_from_the_table() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let config = work.write_config(&format!(
        "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"github\"\nname = \"GitHub\"\nurl = \"{}\"\ntags = [\"code\"]\n\n[[providers]]\nid = \"hostile\"\nurl = \"{}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nmaintenance = true\n",
        server.url("github"),
        server.url("hostile"),
        receiver.url(),
    ));
    let t0 = epoch();
    let now = Utc::now();
    let mut github = Page::realistic("GitHub", &server.url("github"));
    let leaves = github.leaf_ids();
    github.open_incident(
        "Degraded Codespaces",
        "minor",
        &leaves[16..17],
        "Investigating slow Codespaces starts.",
        t0 - Span::minutes(30),
    );
    github.schedule_maintenance(
        "Database upgrade",
        now + Span::days(1),
        now + Span::days(1) + Span::hours(2),
        now - Span::hours(1),
    );
    server.publish("github", &github);
    let mut hostile = Page::realistic("Hostile Co", &server.url("hostile"));
    let hostile_leaves = hostile.leaf_ids();
    hostile.open_incident(
        HOSTILE_TITLE,
        "critical",
        &hostile_leaves[0..1],
        "<a href=\"javascript:alert(3)\">click</a> @channel",
        t0,
    );
    server.publish("hostile", &hostile);
    put_parameter(&cloud, TOKEN_PARAMETER, TOKEN).await;
    let functions = start_functions(&cloud, &config).await;

    // 1. The baseline announces what is open; 2. a new incident takes Git down.
    functions.cycle(&mut cloud).await;
    let git = leaves[0].clone();
    let incident = github.open_incident(
        "Git operations failing",
        "major",
        std::slice::from_ref(&git),
        "Investigating git push failures.",
        t0 + Span::minutes(5),
    );
    github.set_component(&git, "partial_outage", t0 + Span::minutes(5));
    server.publish("github", &github);
    let (_, batch) = functions.poll(&mut cloud).await;
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let recorded = history_count(&cloud, "github").await;
    assert!(recorded >= 3, "{recorded} events recorded");

    // Lambda delivers the same batch again (a retry after a timeout): nothing is recorded
    // twice, and the webhook got each event once.
    let response = functions.notifier_api.invoke(&batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    assert_eq!(history_count(&cloud, "github").await, recorded);
    let delivered: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();

    let dashboard = Dashboard::start(&cloud, &[]).await;

    // No token, a wrong one, a token for another stack: 401 before any table read.
    let reads_before = dashboard.table_reads();
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong-token-0000000000")],
    ] {
        for target in [
            "/",
            "/api/v1/events",
            "/maintenance.ics",
            "/providers/github",
        ] {
            let response = dashboard.request(target, &headers).await;
            assert_eq!(response.status, 401, "{target} {headers:?}");
            assert!(!response.text().contains("GitHub"));
        }
    }
    let response = dashboard
        .request("/feed.atom?token=not-the-token-123456", &[])
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(
        dashboard.table_reads(),
        reads_before,
        "a refused request read the table"
    );

    // The overview: worst first, the open incidents, the hostile title as inert text.
    let overview = dashboard.get("/").await.text();
    for expected in [
        "GitHub",
        "Git operations failing",
        "Degraded Codespaces",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(overview.contains(expected), "{expected}: {overview}");
    }
    assert!(!overview.contains("<script>alert"), "{overview}");
    assert!(!overview.contains("<img src=x"), "{overview}");
    assert!(
        !overview.contains("href=\"/deliveries\""),
        "the stack has no deliveries page to link"
    );
    assert!(overview.contains("statusrelay dashboard function"));
    let hostile_at = overview.find(">Hostile Co<").expect("the page's own name");
    assert!(
        hostile_at < overview.find(">GitHub<").unwrap(),
        "the critical outage comes first: {overview}"
    );

    // The provider page: both open incidents, the components, the maintenance.
    let provider = dashboard.get("/providers/github").await.text();
    for expected in [
        "Git operations failing",
        "Investigating git push failures.",
        "Degraded Codespaces",
        "Database upgrade",
        &github.component_name(&git),
    ] {
        assert!(provider.contains(expected), "{expected}: {provider}");
    }
    let hostile_page = dashboard.get("/providers/hostile").await.text();
    assert!(!hostile_page.contains("javascript:alert"), "{hostile_page}");

    // The event API holds exactly what was delivered, newest first, each once.
    let events = dashboard.json("/api/v1/events").await;
    let mut listed = event_ids(&events);
    listed.reverse();
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    let mut sorted_delivered = delivered.clone();
    sorted_delivered.sort();
    assert_eq!(sorted_listed, sorted_delivered, "{events}");
    // Pages of one: the cursor walks the whole timeline without a repeat.
    let mut walked = Vec::new();
    let mut next = Some("/api/v1/events?limit=1".to_owned());
    while let Some(target) = next {
        let page = dashboard.json(&target).await;
        walked.extend(event_ids(&page));
        next = page["next"].as_str().map(str::to_owned);
    }
    let mut walked_sorted = walked.clone();
    walked_sorted.sort();
    assert_eq!(walked_sorted, sorted_delivered);
    let filtered = dashboard
        .json("/api/v1/events?provider=github&type=incident.created")
        .await;
    assert!(
        filtered["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] == "incident.created" && e["data"]["provider"]["id"] == "github")
    );
    assert!(
        filtered["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["incident"]["name"] == "Git operations failing")
    );

    // One provider's events come from its own partition: all of them, only its own.
    let github_delivered: Vec<String> = receiver
        .delivered()
        .iter()
        .filter(|r| r.json()["data"]["provider"]["id"] == "github")
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    let mut github_listed = event_ids(&dashboard.json("/api/v1/events?provider=github").await);
    github_listed.sort();
    let mut github_expected = github_delivered.clone();
    github_expected.sort();
    assert_eq!(github_listed, github_expected);
    // A window that cannot hold anything is empty, not an error.
    let future = dashboard
        .json("/api/v1/events?since=2100-01-01T00:00:00Z")
        .await;
    assert!(future["events"].as_array().unwrap().is_empty(), "{future}");
    let future = dashboard
        .json("/api/v1/events?provider=github&since=2100-01-01T00:00:00Z")
        .await;
    assert!(future["events"].as_array().unwrap().is_empty(), "{future}");

    // The feed parses as Atom and holds the same events; the calendar parses as iCalendar.
    let atom = dashboard.get(&format!("/feed.atom?token={TOKEN}")).await;
    assert!(atom.header("content-type").unwrap().contains("atom+xml"));
    let feed = feed_rs::parser::parse(&atom.body[..]).expect("parses as Atom");
    assert_eq!(feed.entries.len(), delivered.len());
    assert!(
        feed.entries.iter().any(|e| e
            .title
            .as_ref()
            .is_some_and(|t| t.content.contains("<script>alert(1)"))),
        "the hostile title is text in the feed, escaped by the XML writer"
    );
    let ics = dashboard
        .request(&format!("/maintenance.ics?token={TOKEN}"), &[])
        .await;
    assert_eq!(ics.status, 200);
    let unfolded = icalendar::parser::unfold(&ics.text());
    let calendar = icalendar::Calendar::from(
        icalendar::parser::read_calendar(&unfolded).expect("parses as iCalendar"),
    );
    let summaries: Vec<String> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            icalendar::CalendarComponent::Event(event) => {
                icalendar::Component::property_value(event, "SUMMARY").map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert!(summaries[0].contains("Database upgrade"), "{summaries:?}");

    // Revalidation: an unchanged table answers 304 after one GetItem and no Query.
    let calendar_tag = ics.header("etag").expect("an ETag").to_owned();
    assert!(ics.header("cache-control").unwrap().contains("max-age"));
    let (queries, gets) = (
        dashboard.proxy.requests("Query"),
        dashboard.proxy.requests("GetItem"),
    );
    let again = dashboard
        .request(
            &format!("/maintenance.ics?token={TOKEN}"),
            &[("if-none-match", &calendar_tag)],
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(dashboard.proxy.requests("Query"), queries);
    assert_eq!(dashboard.proxy.requests("GetItem"), gets + 1);

    // 3. Resolution: the version moves, the old tag no longer holds, the history shows it.
    github.post_update(&incident, "resolved", "Resolved.", t0 + Span::minutes(30));
    github.set_component(&git, "operational", t0 + Span::minutes(30));
    server.publish("github", &github);
    functions.cycle(&mut cloud).await;
    let again = dashboard
        .request(
            &format!("/maintenance.ics?token={TOKEN}"),
            &[("if-none-match", &calendar_tag)],
        )
        .await;
    assert_eq!(again.status, 200);
    let resolved = dashboard
        .json("/api/v1/events?type=incident.resolved")
        .await;
    assert_eq!(
        resolved["events"].as_array().unwrap().len(),
        1,
        "{resolved}"
    );
    let incidents = dashboard.get("/incidents?provider=github").await.text();
    assert!(incidents.contains("Git operations failing"), "{incidents}");
    let overview = dashboard.get("/").await.text();
    assert!(
        !overview.contains("Git operations failing"),
        "a resolved incident is no longer open"
    );
    let providers = dashboard.json("/api/v1/providers").await;
    let states: Vec<(&str, &str)> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states[0], ("hostile", "major_outage"), "{providers}");
    assert_eq!(states[1].0, "github");
    // Paged: one per page, the second page links none.
    let first_page = dashboard.json("/api/v1/providers?limit=1").await;
    assert_eq!(first_page["providers"][0]["id"], "hostile");
    let next = first_page["next"].as_str().expect("a next page").to_owned();
    let second_page = dashboard.json(&next).await;
    assert_eq!(second_page["providers"][0]["id"], "github");
    assert!(second_page["next"].is_null(), "{second_page}");
    assert!(
        providers["providers"][1]["last_good_poll"].is_string(),
        "a healthy provider's last good poll is its shard's last run: {providers}"
    );

    // 4. Through a function URL on loopback: `?token=` once sets a cookie the next request
    // carries instead; in a real browser the hostile text stays inert and only the
    // dashboard's own script runs.
    let base = format!(
        "http://{}",
        function_url::serve(dashboard.api.clone()).await
    );
    let http = reqwest::Client::new();
    let first = http
        .get(format!("{base}/?token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let cookie = first
        .headers()
        .get("set-cookie")
        .expect("a cookie for the next requests")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let with_cookie = http
        .get(format!("{base}/incidents"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    let profile = tempfile::tempdir().unwrap();
    let (first, hostile_dom) = tokio::task::spawn_blocking({
        let profile = profile.path().to_owned();
        move || {
            screenshot(
                &profile,
                &format!("{base}/?token={TOKEN}"),
                "dashboard-aws-overview.png",
                "1200,1100",
                false,
            );
            (
                dump_dom(&profile, &format!("{base}/?token={TOKEN}")),
                dump_dom(&profile, &format!("{base}/providers/hostile?token={TOKEN}")),
            )
        }
    })
    .await
    .unwrap();
    for dom in [&first, &hostile_dom] {
        assert!(
            dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{dom}"
        );
        assert_eq!(dom.matches("<script").count(), 1, "{dom}");
        assert!(!dom.contains("<img"), "an injected image exists: {dom}");
        // The page's script ran: times in the viewer's zone, UTC kept for the tooltip.
        assert_eq!(dom.matches(" UTC</time>").count(), 0, "{dom}");
    }
    assert!(first.contains(">GitHub<"), "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_function_refuses_to_start_without_its_token_and_trusts_iam() {
    let cloud = Cloud::start().await;
    let work = Workspace::new();
    let config = work
        .write_config("[[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n");
    cloud.put_config(&config).await;

    // Token mode with no parameter: the cold start fails and names what to create.
    let dashboard = Dashboard::start(&cloud, &[]).await;
    let error = dashboard.init_error().await;
    assert!(error.contains(TOKEN_PARAMETER), "{error}");
    assert!(error.contains("put-parameter"), "{error}");

    // A short token is refused too, without showing it.
    put_parameter(&cloud, TOKEN_PARAMETER, "short").await;
    let dashboard = Dashboard::start(&cloud, &[]).await;
    let error = dashboard.init_error().await;
    assert!(error.contains("at least 16"), "{error}");
    assert!(!error.contains("short"), "the token leaked: {error}");

    // IAM mode: the function URL checked the signature; no token is asked.
    let dashboard = Dashboard::start(&cloud, &[("DASHBOARD_AUTH", "aws_iam")]).await;
    let page = dashboard.get("/").await.text();
    assert!(page.contains("github"), "{page}");
}
