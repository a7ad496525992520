//! PagerDuty Events API v2. One alert per incident (`dedup_key` = provider + incident):
//! `incident.created`/`updated` trigger it (PagerDuty folds repeats into the open alert),
//! `incident.resolved` resolves it. A postmortem comes after the resolve and would reopen the
//! alert, so it is not sent. Component changes trigger and resolve an alert of their own.
//! Maintenance is planned work, not an alert: it goes to the Change Events API
//! (`/v2/change/enqueue`) when a route lets maintenance through.

use serde::Serialize;
use url::Url;

use super::http::{Reply, classify_status};
use super::{Platform, Request, SendError};
use crate::config::RateLimit;
use crate::event::{Event, EventType};
use crate::model::ComponentStatus;
use crate::render::{Message, Tone, chars, cut};

const SUMMARY_MAX: usize = 1024;
const DEDUP_KEY_MAX_BYTES: usize = 255;
const DETAILS_BODY_MAX: usize = 8000;

pub struct PagerDuty {
    url: Url,
    routing_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Trigger,
    Resolve,
    Change,
}

impl PagerDuty {
    pub fn new(url: Url, routing_key: String) -> PagerDuty {
        PagerDuty { url, routing_key }
    }

    fn change_url(&self) -> Url {
        let mut url = self.url.clone();
        let path = url.path().trim_end_matches('/');
        let base = path.strip_suffix("/v2/enqueue").unwrap_or(path);
        url.set_path(&format!("{base}/v2/change/enqueue"));
        url
    }
}

/// What an event means to PagerDuty; `None`: nothing to send.
pub fn action(event: &Event) -> Option<Action> {
    match event.kind {
        EventType::IncidentCreated | EventType::IncidentUpdated => Some(Action::Trigger),
        EventType::IncidentResolved => Some(Action::Resolve),
        EventType::IncidentPostmortem => None,
        EventType::ComponentStatusChanged => match &event.data.component {
            Some(change) if change.new_status == ComponentStatus::Operational => {
                Some(Action::Resolve)
            }
            Some(change) if change.new_status == ComponentStatus::UnderMaintenance => None,
            Some(_) => Some(Action::Trigger),
            None => None,
        },
        EventType::MaintenanceScheduled
        | EventType::MaintenanceStarted
        | EventType::MaintenanceUpdated
        | EventType::MaintenanceCompleted
        | EventType::ProviderMoved
        | EventType::ProviderUnreachable
        | EventType::ProviderRecovered => Some(Action::Change),
    }
}

pub fn dedup_key(message: &Message) -> String {
    let key = format!("statusrelay/{}", message.thread_key);
    key[..key.floor_char_boundary(DEDUP_KEY_MAX_BYTES)].to_owned()
}

fn severity(tone: Tone) -> &'static str {
    match tone {
        Tone::Critical => "critical",
        Tone::Major => "error",
        Tone::Minor => "warning",
        Tone::Maintenance | Tone::Resolved | Tone::Info => "info",
    }
}

/// An Events API v2 body (typed: the notifier builds one per event, see [`super::slack::Body`]).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Body<'a> {
    Trigger {
        routing_key: &'a str,
        event_action: &'static str,
        dedup_key: String,
        payload: AlertPayload<'a>,
        client: &'static str,
        client_url: &'a str,
        links: [Link<'a>; 1],
    },
    Resolve {
        routing_key: &'a str,
        event_action: &'static str,
        dedup_key: String,
    },
    Change {
        routing_key: &'a str,
        payload: ChangePayload<'a>,
        links: [Link<'a>; 1],
    },
}

#[derive(Debug, Serialize)]
pub struct AlertPayload<'a> {
    summary: String,
    source: &'a str,
    severity: &'static str,
    timestamp: String,
    component: Option<&'a str>,
    group: &'a str,
    class: &'static str,
    custom_details: Details<'a>,
}

#[derive(Debug, Serialize)]
pub struct ChangePayload<'a> {
    summary: String,
    timestamp: String,
    source: &'a str,
    custom_details: Details<'a>,
}

#[derive(Debug, Serialize)]
pub struct Details<'a> {
    event: &'static str,
    status: &'a str,
    impact: Option<&'a str>,
    components: &'a [String],
    window: Option<&'a str>,
    update: String,
    url: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Link<'a> {
    href: &'a str,
    text: String,
}

pub fn build_body<'a>(routing_key: &'a str, action: Action, message: &'a Message) -> Body<'a> {
    let summary = || {
        cut(
            &format!(
                "{}: {} ({})",
                message.provider,
                message.title,
                message.status_line()
            ),
            SUMMARY_MAX,
            chars,
        )
        .0
    };
    let details = || Details {
        event: message.action,
        status: &message.status,
        impact: message.impact.as_deref(),
        components: &message.components,
        window: message.window.as_deref(),
        update: cut(&message.body, DETAILS_BODY_MAX, chars).0,
        url: &message.url,
    };
    let links = || {
        [Link {
            href: &message.url,
            text: format!("{} status page", message.provider),
        }]
    };
    match action {
        Action::Change => Body::Change {
            routing_key,
            payload: ChangePayload {
                summary: summary(),
                timestamp: message.time_rfc3339(),
                source: &message.provider,
                custom_details: details(),
            },
            links: links(),
        },
        Action::Resolve => Body::Resolve {
            routing_key,
            event_action: "resolve",
            dedup_key: dedup_key(message),
        },
        Action::Trigger => Body::Trigger {
            routing_key,
            event_action: "trigger",
            dedup_key: dedup_key(message),
            payload: AlertPayload {
                summary: summary(),
                source: &message.provider,
                severity: severity(message.tone),
                timestamp: message.time_rfc3339(),
                component: message.components.first().map(String::as_str),
                group: &message.provider_id,
                class: message.action,
                custom_details: details(),
            },
            client: "statusrelay",
            client_url: &message.url,
            links: links(),
        },
    }
}

pub fn classify(reply: &Reply) -> Result<(), SendError> {
    if reply.status.as_u16() == 400 {
        // "Invalid routing key" is a dead destination, anything else a payload problem.
        let text = reply.body.to_ascii_lowercase();
        if text.contains("routing key") || text.contains("routing_key") {
            return Err(SendError::gone(
                "PagerDuty: the routing key is not valid",
                Some(400),
                reply.excerpt(),
            ));
        }
    }
    classify_status(reply)
}

impl Platform for PagerDuty {
    fn request(&self, event: &Event, message: &Message) -> Option<Request> {
        let action = action(event)?;
        let url = if action == Action::Change {
            self.change_url()
        } else {
            self.url.clone()
        };
        Some(Request::json(
            url,
            &build_body(&self.routing_key, action, message),
        ))
    }

    /// Alerts are keyed by incident: a digest would trigger one alert for many incidents and
    /// resolve none of them.
    fn digests(&self) -> bool {
        false
    }

    fn classify(&self, reply: &Reply) -> Result<(), SendError> {
        classify(reply)
    }

    /// About 120 events a minute per integration key.
    fn default_rate(&self) -> Option<RateLimit> {
        RateLimit::parse("120/min").ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::http::reply;

    #[test]
    fn change_events_go_beside_the_enqueue_path() {
        let pd = PagerDuty::new(
            Url::parse("https://events.eu.pagerduty.com/v2/enqueue").unwrap(),
            "k".into(),
        );
        assert_eq!(
            pd.change_url().as_str(),
            "https://events.eu.pagerduty.com/v2/change/enqueue"
        );
    }

    #[test]
    fn classification() {
        assert!(
            classify(&reply(
                202,
                &[],
                r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#
            ))
            .is_ok()
        );
        assert!(classify(&reply(400, &[], r#"{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key"]}"#)).unwrap_err().disables_destination());
        let err = classify(&reply(
            400,
            &[],
            r#"{"status":"invalid event","errors":["'payload.summary' is missing"]}"#,
        ))
        .unwrap_err();
        assert!(!err.disables_destination() && !err.is_transient());
        assert!(classify(&reply(429, &[], "")).unwrap_err().is_transient());
    }
}
