//! `statusrelay test-route`: a clearly marked test incident sent straight to a route's
//! destinations (no outbox, no state), so an operator sees each destination's answer.

use chrono::{DateTime, Utc};

use super::{Outcome, Parcel, RetryPolicy, send_with_retry};
use crate::channels::{Channel, Clients};
use crate::config::{ChannelConfig, Config};
use crate::event::{Event, EventData, EventType, IncidentRef, ProviderRef, UpdateRef};
use crate::model::{AffectedComponent, ComponentStatus, Impact, IncidentStatus};

/// One destination's answer to the test.
#[derive(Debug)]
pub struct TestOutcome {
    pub destination: String,
    pub kind: &'static str,
    pub result: Result<(), String>,
}

/// The test incident. Its provider id (`statusrelay-test`) and "[TEST]" title make it
/// impossible to mistake for a vendor's incident.
pub fn test_event(route: &str, kind: EventType, now: DateTime<Utc>) -> Event {
    let stamp = now.timestamp_millis();
    let status = if kind == EventType::IncidentResolved {
        IncidentStatus::Resolved
    } else {
        IncidentStatus::Investigating
    };
    Event {
        kind,
        id: format!("evt_test_{stamp:x}_{}", kind.as_str().replace('.', "_")),
        timestamp: now,
        data: EventData {
            provider: ProviderRef {
                id: "statusrelay-test".into(),
                name: "statusrelay".into(),
                url: "https://github.com/statusrelay/statusrelay".into(),
            },
            incident: Some(IncidentRef {
                id: format!("test-{stamp:x}"),
                name: format!("[TEST] statusrelay test notification for route {route}"),
                status: status.clone(),
                impact: Impact::Minor,
                url: None,
                components: vec![AffectedComponent {
                    id: "test".into(),
                    name: "Test component".into(),
                    status: ComponentStatus::DegradedPerformance,
                }],
                created_at: Some(now),
                resolved_at: (status == IncidentStatus::Resolved).then_some(now),
                scheduled_for: None,
                scheduled_until: None,
            }),
            update: Some(UpdateRef {
                id: format!("test-{stamp:x}-{}", kind.as_str()),
                status,
                body: "This is a test message sent by `statusrelay test-route`. No vendor has an \
                       incident; nothing needs doing."
                    .into(),
                created_at: Some(now),
            }),
            component: None,
            moved: None,
            health: None,
        },
    }
}

/// Sends the test incident to every destination of `route`. PagerDuty also gets the
/// matching resolve, so the test does not leave an alert open.
pub async fn send_test(
    config: &Config,
    route: &str,
    clients: &Clients,
) -> Result<Vec<TestOutcome>, String> {
    let Some(route_config) = config.routes.iter().find(|r| r.name == route) else {
        let known: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
        return Err(format!(
            "no route is named {route:?} (routes: {})",
            known.join(", ")
        ));
    };
    let policy = RetryPolicy::default();
    let budget = policy.budget();
    let now = Utc::now();
    let mut outcomes = Vec::new();
    for name in &route_config.destinations {
        let destination = config
            .destinations
            .iter()
            .find(|d| &d.name == name)
            .expect("config validation ties routes to destinations");
        let channel =
            Channel::from_destination(destination, config.settings.allow_private_targets, clients);
        let mut kinds = vec![EventType::IncidentCreated];
        if matches!(destination.channel, ChannelConfig::PagerDuty { .. }) {
            kinds.push(EventType::IncidentResolved);
        }
        let mut result = Ok(());
        for kind in kinds {
            let event = test_event(route, kind, now);
            let payload = serde_json::to_string(&event).expect("event serializes");
            let (outcome, _) = send_with_retry(
                &channel,
                name,
                Parcel::Event {
                    id: &event.id,
                    payload: &payload,
                },
                policy,
                &budget,
            )
            .await;
            match outcome {
                Outcome::Sent => {}
                Outcome::Dead(err) | Outcome::Deferred(err) => {
                    result = Err(err.to_string());
                    break;
                }
            }
        }
        outcomes.push(TestOutcome {
            destination: name.clone(),
            kind: destination.channel.kind(),
            result,
        });
    }
    Ok(outcomes)
}
