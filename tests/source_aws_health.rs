//! The AWS Health Dashboard RSS through `statusrelay run --once`: one item per update, grouped
//! into events per service, `PST`/`PDT` dates, state in the title prefix.

mod support;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use support::fixture::epoch;
use support::*;

/// RFC 822 in Pacific time with a zone abbreviation, as AWS writes it.
fn pst(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&FixedOffset::west_opt(8 * 3600).unwrap());
    local.format("%a, %d %b %Y %H:%M:%S PST").to_string()
}

fn rss(items: &[(&str, DateTime<Utc>, &str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    <title><![CDATA[Amazon Web Services Service Status]]></title>\n    <link>http://status.aws.amazon.com/</link>\n    <language>en-us</language>\n    <lastBuildDate>Thu, 20 Nov 2026 02:00:00 PST</lastBuildDate>\n    <generator>AWS Service Health Dashboard RSS Generator</generator>\n    <description><![CDATA[Amazon Web Services Service Status]]></description>\n    <ttl>5</ttl>\n",
    );
    for (service, at, title, body) in items.iter().rev() {
        out.push_str(&format!(
            "    <item>\n      <title><![CDATA[{title}]]></title>\n      <link>http://status.aws.amazon.com/</link>\n      <pubDate>{}</pubDate>\n      <guid isPermaLink=\"false\">http://status.aws.amazon.com/#{service}_{}</guid>\n      <description><![CDATA[{body}]]></description>\n    </item>\n",
            pst(*at),
            at.timestamp()
        ));
    }
    out.push_str("  </channel>\n</rss>\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_items_become_events() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let old = epoch() - Duration::days(6);
    let mut items = vec![
        (
            "s3-us-west-2",
            old,
            "Performance issues: Increased error rates",
            "We are investigating increased error rates for S3 in US-WEST-2.",
        ),
        (
            "s3-us-west-2",
            old + Duration::hours(1),
            "Service is operating normally: [RESOLVED] Increased error rates",
            "Between 1:00 AM and 2:00 AM PST we experienced increased error rates. The issue has been resolved.",
        ),
    ];
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"aws\"\nname = \"AWS\"\nurl = \"{}/rss/all.rss\"\nplatform = \"aws\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\nevents = [\"incident.*\"]\n",
        server.url("aws"),
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.received().is_empty(),
        "{:?}",
        receiver.delivered_types()
    );

    let t = epoch();
    items.push((
        "ec2-us-east-1",
        t,
        "Service disruption: Instance launch failures",
        "We are investigating failures launching new instances in US-EAST-1.",
    ));
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    run_once(&config).await;
    items.push((
        "ec2-us-east-1",
        t + Duration::minutes(40),
        "Service disruption: Instance launch failures",
        "We have identified the root cause and are working on recovery.",
    ));
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    run_once(&config).await;
    items.push((
        "ec2-us-east-1",
        t + Duration::minutes(95),
        "Service is operating normally: [RESOLVED] Instance launch failures",
        "Instance launches have recovered.",
    ));
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    run_once(&config).await;

    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.updated", "incident.resolved"]
    );
    let created = receiver.delivered()[0].json();
    let incident = &created["data"]["incident"];
    assert_eq!(incident["id"], format!("ec2-us-east-1_{}", t.timestamp()));
    assert_eq!(incident["name"], "Instance launch failures");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["components"][0]["name"], "ec2-us-east-1");
    assert_eq!(
        created["data"]["update"]["created_at"], "2026-11-20T08:00:00Z",
        "PST read"
    );
    let resolved = receiver.delivered()[2].json();
    assert_eq!(
        resolved["data"]["update"]["body"],
        "Instance launches have recovered."
    );

    // Detected without `platform`, as `statusrelay check` reports.
    let out = statusrelay(&[
        "check",
        &format!("{}/rss/all.rss", server.url("aws")),
        "--allow-private",
    ])
    .await;
    assert!(
        stdout(&out).starts_with("platform: aws\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// The dashboard's page URL typed as the provider URL (undeclared, or `platform = "aws"`):
/// read through the feed of all services. On loopback the page path `…/health/status` stands
/// for `…/rss/all.rss` on the same host, as `https://health.aws.amazon.com/health/status` does
/// for `https://status.aws.amazon.com/rss/all.rss`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_page_url_is_read_through_its_feed() {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let mut items = vec![(
        "s3-us-west-2",
        epoch() - Duration::days(6),
        "Service is operating normally: [RESOLVED] Increased error rates",
        "The issue has been resolved.",
    )];
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    let page = format!("{}/health/status", server.url("aws"));
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\nallow_private_targets = true\n\n[[providers]]\nid = \"aws\"\nurl = \"{page}\"\n\n[[providers]]\nid = \"aws-declared\"\nurl = \"{page}\"\nplatform = \"aws\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        receiver.url()
    ));
    let out = run_once(&config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("poll failed"), "{}", stderr(&out));
    assert!(receiver.received().is_empty());

    items.push((
        "ec2-us-east-1",
        epoch(),
        "Service disruption: Instance launch failures",
        "We are investigating failures launching new instances in US-EAST-1.",
    ));
    server.publish_document("aws", "/rss/all.rss", rss(&items));
    run_once(&config).await;
    let delivered = receiver.delivered();
    let providers: Vec<_> = delivered
        .iter()
        .map(|r| {
            r.json()["data"]["provider"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        receiver.delivered_types(),
        ["incident.created", "incident.created"]
    );
    assert!(providers.contains(&"aws".into()) && providers.contains(&"aws-declared".into()));
    assert_eq!(
        delivered[0].json()["data"]["incident"]["name"],
        "Instance launch failures"
    );

    let out = statusrelay(&["check", &page, "--allow-private"]).await;
    assert!(
        stdout(&out).starts_with(&format!(
            "platform: aws\ndocuments: {}/rss/all.rss (the RSS feed of the page)\n",
            server.url("aws")
        )),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Without `--allow-private` the loopback page and its feed are refused as before.
    let out = statusrelay(&["check", &page]).await;
    assert_no_panic(&out);
    assert!(!out.status.success(), "{}", stdout(&out));
}
