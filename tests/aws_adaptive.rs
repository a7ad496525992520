//! Adaptive polling and push intake on the serverless pipeline, on a moto server through the
//! real SDK and the real Lambda binaries (poller, notifier, intake) driven over the Lambda
//! Runtime API: hot providers re-polled through the delayed SQS queue, the intake function's
//! answers to forged, oversized, replayed and bursty pushes, and a push polling at once.

mod support;

use std::time::Duration;

use aws_sdk_sqs::types::Message;
use serde_json::{Value, json};
use support::aws_cloud::{Cloud, Functions, TABLE, sqs_event, start_functions_with};
use support::fixture::{Page, epoch};
use support::lambda::{Function, RuntimeApi};
use support::*;

const HOT_TOKEN: &str = "hot-vendor-intake-token-0001";
const CALM_TOKEN: &str = "calm-vendor-intake-token-0002";

struct Adaptive {
    functions: Functions,
    intake_api: RuntimeApi,
    _intake: Function,
    queue_url: String,
}

/// The template's hot queue and the three functions, the poller and the intake pointed at it.
async fn start(cloud: &Cloud, config: &std::path::Path) -> Adaptive {
    let queue_url = cloud.create_queue("statusrelay-hot").await;
    let queue_env = [("HOT_QUEUE_URL".to_owned(), queue_url.clone())];
    let functions = start_functions_with(cloud, config, &queue_env).await;
    let mut env = cloud.function_env(&cloud.moto.endpoint);
    env.extend_from_slice(&queue_env);
    let intake_api = RuntimeApi::start().await;
    let intake = Function::spawn("statusrelay-intake", &intake_api, &env);
    Adaptive {
        functions,
        intake_api,
        _intake: intake,
        queue_url,
    }
}

impl Adaptive {
    /// Messages that become visible within `wait`, deleted as Lambda's queue trigger would
    /// once the invocation succeeds.
    async fn receive(&self, cloud: &Cloud, wait: Duration) -> Vec<Message> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let messages = cloud.receive_and_delete(&self.queue_url, 1).await;
            if !messages.is_empty() || std::time::Instant::now() >= deadline {
                return messages;
            }
        }
    }

    /// The queue's invocation of the poller with `messages`, then the notifier on what it
    /// wrote: the poller's report.
    async fn deliver(&self, cloud: &mut Cloud, messages: &[Message]) -> Value {
        let report = self
            .functions
            .poller_api
            .invoke(&sqs_event(messages))
            .await
            .unwrap();
        let (batch, _) = cloud.stream_batch().await;
        let response = self.functions.notifier_api.invoke(&batch).await.unwrap();
        assert!(
            support::aws_cloud::failures(&response).is_empty(),
            "{response}"
        );
        report
    }

    /// One push through the function URL: the status code.
    async fn push(&self, provider: &str, query: &str, headers: Value, body: &str) -> u64 {
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": format!("/intake/{provider}"),
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": format!("/intake/{provider}"), "sourceIp": "198.51.100.7"}},
            "body": body,
            "isBase64Encoded": false,
        });
        let response = self.intake_api.invoke(&event).await.unwrap();
        response["statusCode"].as_u64().unwrap()
    }
}

fn body_of(message: &Message) -> Value {
    serde_json::from_str(message.body().unwrap()).unwrap()
}

fn statuspage_push(incident: &str) -> String {
    json!({
        "meta": {"unsubscribe": "https://example.invalid/u", "documentation": "https://help.statuspage.io"},
        "page": {"id": "kctbh9vrtdwd", "status_indicator": "major", "status_description": "Partial outage"},
        "incident": {"id": incident, "name": "Forged: everything is down", "status": "investigating", "impact": "critical"}
    })
    .to_string()
}

fn config(server: &StatusServer, hook: &str) -> String {
    format!(
        "[settings]\nallow_private_targets = true\ninterval = \"12s\"\nhot_interval = \"4s\"\n\n\
         [[providers]]\nid = \"hot\"\nurl = \"{}\"\nplatform = \"statuspage\"\nintake_token = \"{HOT_TOKEN}\"\n\n\
         [[providers]]\nid = \"calm\"\nurl = \"{}\"\nplatform = \"statuspage\"\nintake_token = \"{CALM_TOKEN}\"\n\n\
         [[providers]]\nid = \"untokened\"\nurl = \"{}\"\nplatform = \"statuspage\"\n\n\
         [[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{hook}\"\n",
        server.url("hot"),
        server.url("calm"),
        server.url("untokened"),
    )
}

/// A provider with an incident under way is re-polled every `hot_interval` through delayed
/// queue messages (two rounds between 12 s runs at 4 s), the quiet ones are not; an update
/// posted between runs is read by the next round and delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_providers_are_repolled_through_the_delayed_queue() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut hot = Page::realistic("Hot Co", &server.url("hot"));
    let leaves = hot.leaf_ids();
    let incident = hot.open_incident(
        "Elevated API errors",
        "minor",
        &leaves[..1],
        "Investigating.",
        epoch(),
    );
    server.publish("hot", &hot);
    server.publish("calm", &Page::realistic("Calm Co", &server.url("calm")));
    server.publish(
        "untokened",
        &Page::realistic("Quiet Co", &server.url("untokened")),
    );
    let config = work.write_config(&config(&server, &receiver.url()));
    let adaptive = start(&cloud, &config).await;

    let report = adaptive.functions.cycle(&mut cloud).await;
    assert_eq!(report["hot"], 1, "{report}");
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    receiver.clear();
    let round1 = adaptive.receive(&cloud, Duration::from_secs(10)).await;
    assert_eq!(round1.len(), 1);
    let body = body_of(&round1[0]);
    assert_eq!(body["round"], 1, "{body}");
    assert_eq!(body["providers"], json!(["hot"]), "only the hot provider");

    hot.post_update(&incident, "identified", "The cause is known.", epoch());
    server.publish("hot", &hot);
    let before = server.take_hits();
    let report = adaptive.deliver(&mut cloud, &round1).await;
    assert_eq!(report["providers"], 1, "{report}");
    assert_eq!(report["changed"], 1, "{report}");
    let hits = server.take_hits();
    assert!(
        hits.keys().all(|path| path.starts_with("/hot/")),
        "a round reads the hot page only: {hits:?} (before: {})",
        before.len()
    );
    assert_eq!(receiver.delivered_types(), ["incident.updated"]);

    let round2 = adaptive.receive(&cloud, Duration::from_secs(10)).await;
    assert_eq!(round2.len(), 1);
    assert_eq!(body_of(&round2[0])["round"], 2);
    let due = |m: &Message| {
        chrono::DateTime::parse_from_rfc3339(body_of(m)["due"].as_str().unwrap()).unwrap()
    };
    let (round1_due, round2_due) = (due(&round1[0]), due(&round2[0]));
    let report = adaptive.deliver(&mut cloud, &round2).await;
    assert_eq!(report["changed"], 0, "{report}");
    assert_eq!(
        receiver.delivered_types().len(),
        1,
        "nothing new, nothing sent"
    );
    assert_eq!(
        (round2_due - round1_due).num_seconds(),
        4,
        "rounds are one hot_interval apart"
    );
    // Two rounds between 12 s runs at 4 s: the next scheduled run takes over.
    assert!(
        adaptive
            .receive(&cloud, Duration::from_secs(6))
            .await
            .is_empty(),
        "no round 3"
    );

    // Round 1 delivered again, late (the queue's at-least-once): dropped as stale.
    let report = adaptive.deliver(&mut cloud, &round1).await;
    assert_eq!(report["providers"], 0, "{report}");
    assert_eq!(
        receiver.delivered_types().len(),
        1,
        "a redelivered round adds nothing"
    );

    // Resolved and quiet: the provider stays hot for the cool-down (a change just now)...
    hot.post_update(&incident, "resolved", "Resolved.", epoch());
    server.publish("hot", &hot);
    let report = adaptive.functions.cycle(&mut cloud).await;
    assert_eq!(report["hot"], 1, "recently changed: {report}");
    assert_eq!(
        receiver.delivered_types(),
        ["incident.updated", "incident.resolved"]
    );
}

/// The intake function: forged, unknown, untokened and oversized pushes are refused before
/// anything is written or queued; a burst of 1,000 genuine pushes is one queued poll; that
/// poll reads the page at once and delivers the vendor's new incident once, and the push's
/// own (forged) content never becomes an event; a replayed push adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_through_the_function_url_poll_once_and_never_carry_data() {
    let mut cloud = Cloud::start().await;
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    server.publish("hot", &Page::realistic("Hot Co", &server.url("hot")));
    let mut calm = Page::realistic("Calm Co", &server.url("calm"));
    server.publish("calm", &calm);
    server.publish(
        "untokened",
        &Page::realistic("Quiet Co", &server.url("untokened")),
    );
    let config = work.write_config(&config(&server, &receiver.url()));
    let adaptive = start(&cloud, &config).await;
    adaptive.functions.cycle(&mut cloud).await;
    assert!(receiver.delivered_types().is_empty(), "a quiet baseline");
    assert!(
        adaptive
            .receive(&cloud, Duration::from_secs(1))
            .await
            .is_empty(),
        "nobody hot, no round"
    );
    let items = cloud.item_count().await;

    let body = statuspage_push("p31zjtct2jer");
    let no_headers = json!({"content-type": "application/json"});
    let refused = [
        (
            "calm",
            "token=wrong-token-but-long-enough".to_owned(),
            no_headers.clone(),
        ),
        ("calm", String::new(), no_headers.clone()),
        ("calm", format!("token={HOT_TOKEN}"), no_headers.clone()),
        ("nobody", format!("token={CALM_TOKEN}"), no_headers.clone()),
        (
            "untokened",
            "token=anything-at-all-1234".to_owned(),
            no_headers.clone(),
        ),
        (
            "calm",
            String::new(),
            json!({"authorization": "Bearer not-the-token-at-all"}),
        ),
    ];
    for (provider, query, headers) in refused {
        assert_eq!(
            adaptive.push(provider, &query, headers, &body).await,
            404,
            "{provider} {query}"
        );
    }
    let oversized = "x".repeat(64 * 1024 + 1);
    assert_eq!(
        adaptive
            .push(
                "calm",
                &format!("token={CALM_TOKEN}"),
                no_headers.clone(),
                &oversized
            )
            .await,
        413
    );
    assert_eq!(cloud.item_count().await, items, "refusals write nothing");
    assert!(
        adaptive
            .receive(&cloud, Duration::from_secs(1))
            .await
            .is_empty(),
        "refusals queue nothing"
    );

    // The vendor opens an incident and pushes: 1,000 times in a burst (retries, replays).
    let leaves = calm.leaf_ids();
    calm.open_incident(
        "Webhooks delayed",
        "major",
        &leaves[..1],
        "We are investigating delayed webhooks.",
        epoch(),
    );
    server.publish("calm", &calm);
    let burst = std::time::Instant::now();
    for n in 0..1000 {
        let status = if n % 2 == 0 {
            adaptive
                .push(
                    "calm",
                    &format!("token={CALM_TOKEN}"),
                    no_headers.clone(),
                    &body,
                )
                .await
        } else {
            adaptive
                .push(
                    "calm",
                    "",
                    json!({"authorization": format!("Bearer {CALM_TOKEN}")}),
                    &body,
                )
                .await
        };
        assert_eq!(status, 202, "push {n}");
    }
    // One poll per 10 s of burst at most (the debounce gap), however many pushes.
    let most = 1 + burst.elapsed().as_secs() / 10;
    let mut queued = adaptive.receive(&cloud, Duration::from_secs(2)).await;
    queued.extend(adaptive.receive(&cloud, Duration::from_secs(1)).await);
    assert!(
        !queued.is_empty() && queued.len() as u64 <= most,
        "{} polls queued for a burst of 1,000 pushes over {:?}",
        queued.len(),
        burst.elapsed()
    );
    for message in &queued {
        let push = body_of(message);
        assert_eq!(push["round"], 0);
        assert_eq!(push["providers"], json!(["calm"]));
    }
    let report = adaptive.deliver(&mut cloud, &queued).await;
    assert_eq!(report["providers"], 1, "{report}");
    let delivered = receiver.delivered();
    assert_eq!(receiver.delivered_types(), ["incident.created"]);
    let event = delivered[0].json();
    assert_eq!(
        event["data"]["incident"]["name"], "Webhooks delayed",
        "{event}"
    );
    assert!(
        !event.to_string().contains("Forged"),
        "the push's own content never reaches an event"
    );

    // The same push message replayed polls again and sends nothing new.
    adaptive.deliver(&mut cloud, &queued).await;
    assert_eq!(receiver.delivered_types().len(), 1, "a replay adds nothing");
    // The debounce item never reaches the notifier: no event came of it.
    let debounce = cloud
        .ddb
        .get_item()
        .table_name(TABLE)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("P#calm".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("PUSH".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        debounce.item().is_some(),
        "the burst was debounced in the table"
    );
}
