//! AWS Health Dashboard RSS (`url` = `https://status.aws.amazon.com/rss/all.rss` or a
//! per-service feed such as `…/rss/ec2-us-east-1.rss`), read with `feed-rs`. The dashboard's
//! page URLs stand for the feed of all services ([`feed_url`]).
//!
//! What it cannot express, and how it is handled:
//! - items are **updates, not events**, and carry no event id: items are grouped per service
//!   (the `guid` fragment `#<service>-<region>_<epoch>`) in time order; a group ends with an
//!   item saying the service operates normally (or `[RESOLVED]`), or after 24 hours of
//!   silence. The event id is `<service>_<epoch of its first item>`; an update's id is its
//!   item's epoch;
//! - the state is a title prefix: "Service is operating normally" / `[RESOLVED]` → resolved,
//!   "Service disruption" → major, "Performance issues" → minor, "Informational message" →
//!   none; the service key is the affected component;
//! - dates are RFC 822 with `PST`/`PDT` zones (feed-rs reads them).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use url::Url;

use super::{Fetcher, PollError, PollOutcome, Previous, Validators, fetch_single, not_status_page};
use crate::model::{
    AffectedComponent, ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate, PageInfo,
    Snapshot,
};
use crate::render::plain_text;

pub const DOCUMENT: &str = "rss";
const AWS_HINT: &str = "is this an AWS Health Dashboard RSS feed?";
/// Silence after which the next item of a service starts a new event.
const GROUP_GAP: Duration = Duration::hours(24);

pub async fn poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let page_feed = feed_url(url);
    let page_url = url;
    let url = page_feed.as_ref().unwrap_or(url);
    let Some((bytes, validator)) = fetch_single(fetcher, url, DOCUMENT, previous, AWS_HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let mut snapshot = parse(&bytes, url)?;
    // The page the user named, not the feed read for it.
    snapshot.page.url = page_url.as_str().to_owned();
    Ok(PollOutcome::Fetched {
        snapshot,
        validators: Validators::from([(DOCUMENT.to_owned(), validator)]),
        documents: page_feed.map(|feed| format!("{feed} (the RSS feed of the page)")),
    })
}

/// The snapshot of a Health Dashboard RSS document; `url` is the feed's (a URL under
/// `/rss/` is taken as AWS's even when the feed has no items yet).
pub fn parse(bytes: &[u8], url: &Url) -> Result<Snapshot, PollError> {
    let not_aws = |reason: String| not_status_page(DOCUMENT, &reason, AWS_HINT);
    let feed = feed_rs::parser::parse(bytes).map_err(|e| not_aws(e.to_string()))?;
    let mut items: Vec<Item> = feed.entries.into_iter().filter_map(Item::read).collect();
    if items.is_empty() && !feed.id.contains("amazon") && !url.as_str().contains("/rss/") {
        return Err(not_aws("no AWS Health items".into()));
    }
    items.sort_by_key(|i| i.at);
    let mut snapshot = Snapshot {
        page: PageInfo {
            name: "AWS".into(),
            url: url.as_str().to_owned(),
            ..PageInfo::default()
        },
        ..Snapshot::default()
    };
    // service → index of its open event in `snapshot.incidents`.
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        let continues = open.get(&item.service).copied().filter(|&index| {
            let event: &Incident = &snapshot.incidents[index];
            !event.status.is_finished()
                && event
                    .updated_at
                    .is_some_and(|last| item.at - last <= GROUP_GAP)
        });
        let index = match continues {
            Some(index) => index,
            None => {
                snapshot.incidents.push(Incident {
                    id: format!("{}_{}", item.service, item.epoch),
                    name: item.title.clone(),
                    status: IncidentStatus::Investigating,
                    impact: item.impact.clone(),
                    url: item.link.clone(),
                    components: vec![AffectedComponent {
                        id: item.service.clone(),
                        name: item.service.clone(),
                        status: ComponentStatus::Operational,
                    }],
                    created_at: Some(item.at),
                    updated_at: None,
                    resolved_at: None,
                    scheduled_for: None,
                    scheduled_until: None,
                    updates: Vec::new(),
                });
                open.insert(item.service.clone(), snapshot.incidents.len() - 1);
                snapshot.incidents.len() - 1
            }
        };
        let event = &mut snapshot.incidents[index];
        let status = if item.resolved {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        if !item.resolved && item.impact.rank() > event.impact.rank() {
            event.impact = item.impact.clone();
        }
        event.updates.push(IncidentUpdate {
            id: item.epoch.clone(),
            status: status.clone(),
            body: item.body,
            created_at: Some(item.at),
            alias: None,
        });
        event.status = status;
        event.updated_at = Some(item.at);
        event.resolved_at = item.resolved.then_some(item.at);
        event.components[0].status = match (&event.status, &event.impact) {
            (IncidentStatus::Resolved, _) => ComponentStatus::Operational,
            (_, Impact::Major) => ComponentStatus::PartialOutage,
            (_, Impact::Minor) => ComponentStatus::DegradedPerformance,
            _ => ComponentStatus::Operational,
        };
    }
    Ok(snapshot)
}

/// The feed a dashboard page URL stands for; `None` for any other URL (taken as the feed).
///
/// `https://status.aws.amazon.com` (the old dashboard, now a redirect to the new one) and
/// `https://health.aws.amazon.com/health/status` (the dashboard) stand for the feed of all
/// services, `https://status.aws.amazon.com/rss/all.rss`. On any other host a page path
/// `…/health/status` stands for `…/rss/all.rss` on the same host (a mirror, a test server):
/// the mapping never leads to a host the user did not name but AWS's own, and the fetcher's
/// address checks apply to the feed URL as to any.
pub fn feed_url(url: &Url) -> Option<Url> {
    const ALL_SERVICES: &str = "https://status.aws.amazon.com/rss/all.rss";
    let path = url.path().trim_end_matches('/');
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let dashboard_host = matches!(
        host.as_str(),
        "status.aws.amazon.com" | "health.aws.amazon.com"
    );
    let page_path = path.strip_suffix("/health/status");
    if dashboard_host && (path.is_empty() || page_path.is_some()) {
        return Url::parse(ALL_SERVICES).ok();
    }
    let mut feed = url.clone();
    feed.set_path(&format!("{}/rss/all.rss", page_path?));
    feed.set_query(None);
    feed.set_fragment(None);
    Some(feed)
}

struct Item {
    service: String,
    epoch: String,
    at: DateTime<Utc>,
    title: String,
    impact: Impact,
    resolved: bool,
    body: String,
    link: Option<String>,
}

impl Item {
    /// `guid` = `http(s)://status.aws.amazon.com/#<service>-<region>_<epoch>`.
    fn read(entry: feed_rs::model::Entry) -> Option<Item> {
        let (_, fragment) = entry.id.rsplit_once('#')?;
        let (service, epoch) = fragment.rsplit_once('_')?;
        let at = entry.published.or(entry.updated)?;
        let raw_title = plain_text(&entry.title.map(|t| t.content).unwrap_or_default());
        let (prefix, rest) = raw_title
            .split_once(": ")
            .unwrap_or(("", raw_title.as_str()));
        let prefix = prefix.to_lowercase();
        let resolved = prefix.contains("operating normally")
            || rest.contains("[RESOLVED]")
            || prefix == "resolved";
        let impact = if prefix.contains("disruption") || prefix.contains("impact") {
            Impact::Major
        } else if prefix.contains("performance") {
            Impact::Minor
        } else {
            Impact::None
        };
        Some(Item {
            service: service.to_owned(),
            epoch: epoch.to_owned(),
            at,
            title: rest.replace("[RESOLVED]", "").trim().to_owned(),
            impact,
            resolved,
            body: plain_text(&entry.summary.map(|s| s.content).unwrap_or_default()),
            link: entry.links.first().map(|l| l.href.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_of(url: &str) -> Option<String> {
        feed_url(&Url::parse(url).unwrap()).map(String::from)
    }

    #[test]
    fn dashboard_page_urls_stand_for_the_feed_of_all_services() {
        let all = Some("https://status.aws.amazon.com/rss/all.rss".to_owned());
        assert_eq!(feed_of("https://status.aws.amazon.com"), all);
        assert_eq!(feed_of("https://status.aws.amazon.com/"), all);
        assert_eq!(feed_of("https://health.aws.amazon.com/health/status"), all);
        assert_eq!(feed_of("https://health.aws.amazon.com/health/status/"), all);
        assert_eq!(feed_of("https://status.aws.amazon.com/rss/all.rss"), None);
        assert_eq!(
            feed_of("https://status.aws.amazon.com/rss/ec2-us-east-1.rss"),
            None
        );
        // The same shape elsewhere stays on its host.
        assert_eq!(
            feed_of("http://127.0.0.1:8080/aws/health/status?region=eu"),
            Some("http://127.0.0.1:8080/aws/rss/all.rss".to_owned())
        );
        assert_eq!(feed_of("https://status.example.com"), None);
        assert_eq!(feed_of("https://status.example.com/health"), None);
    }
}
