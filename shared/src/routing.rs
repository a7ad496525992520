//! Which destinations an event goes to: every route (notification group) whose filters match
//! names its destinations, and each destination gets the event once however many routes match.

use std::collections::{HashMap, HashSet};

use crate::config::RouteConfig;
use crate::event::{Event, EventType};
use crate::model::{ComponentStatus, Impact};

/// A route's filters. An absent filter matches everything, except maintenance, which is off
/// unless the route asks for it (maintenance is planned work, not an outage).
#[derive(Debug, Clone, Default)]
pub struct RouteFilter {
    /// Provider ids, from `providers` and the providers carrying one of `tags`.
    pub providers: Option<HashSet<String>>,
    /// Per provider id: component names (lowercase) or ids to watch.
    pub components: HashMap<String, Vec<String>>,
    pub min_impact: Option<Impact>,
    pub events: Vec<glob::Pattern>,
    pub maintenance: bool,
}

impl RouteFilter {
    /// Every event, maintenance included (the SNS topic, whose subscribers filter themselves).
    pub fn everything() -> RouteFilter {
        RouteFilter {
            maintenance: true,
            ..RouteFilter::default()
        }
    }

    pub fn matches(&self, event: &Event) -> bool {
        let provider = &event.data.provider.id;
        if self
            .providers
            .as_ref()
            .is_some_and(|ids| !ids.contains(provider))
        {
            return false;
        }
        let is_maintenance = event.kind.as_str().starts_with("maintenance.");
        if is_maintenance && !self.maintenance {
            return false;
        }
        if !self.events.is_empty() && !self.events.iter().any(|p| p.matches(event.kind.as_str())) {
            return false;
        }
        if !is_maintenance
            && let Some(min) = &self.min_impact
            && event_impact(event).rank() < min.rank()
        {
            return false;
        }
        match self.components.get(provider) {
            Some(watched) => touches_watched_component(event, watched),
            None => true,
        }
    }
}

/// How bad an event is: the incident's impact, or for a component change the worse of its two
/// statuses, so the recovery of an outage passes the same filter as the outage did.
pub fn event_impact(event: &Event) -> Impact {
    if let Some(change) = &event.data.component {
        let old = change
            .old_status
            .as_ref()
            .map_or(Impact::None, status_impact);
        let new = status_impact(&change.new_status);
        return if old.rank() > new.rank() { old } else { new };
    }
    event
        .data
        .incident
        .as_ref()
        .map_or(Impact::None, |i| i.impact.clone())
}

fn status_impact(status: &ComponentStatus) -> Impact {
    match status {
        ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Impact::None,
        ComponentStatus::DegradedPerformance => Impact::Minor,
        ComponentStatus::PartialOutage => Impact::Major,
        ComponentStatus::MajorOutage => Impact::Critical,
        ComponentStatus::Unknown(raw) => Impact::Unknown(raw.clone()),
    }
}

/// Page-wide incidents (no components listed) always pass: they may concern anything.
fn touches_watched_component(event: &Event, watched: &[String]) -> bool {
    let is_watched = |id: &str, name: &str| {
        watched
            .iter()
            .any(|w| w == id || *w == name.trim().to_lowercase())
    };
    if let Some(change) = &event.data.component {
        return is_watched(&change.id, &change.name);
    }
    match &event.data.incident {
        Some(incident) if !incident.components.is_empty() => incident
            .components
            .iter()
            .any(|c| is_watched(&c.id, &c.name)),
        _ => true,
    }
}

/// The destinations an event goes to, each once, in the order routes name them.
///
/// `provider.unreachable` and `provider.recovered` (statusrelay's own view of a page) go to
/// the `machine` destinations (webhook, SNS, console: automation and logs) of matching routes,
/// and to a route's chat destinations only when its `events` name them, so a flaky vendor page
/// does not become chat noise unless someone asked for it.
pub fn destinations_for<'a>(
    routes: &'a [RouteConfig],
    event: &Event,
    machine: &HashSet<String>,
) -> Vec<&'a str> {
    let health = event.kind.is_provider_health();
    let mut out: Vec<&str> = Vec::new();
    for route in routes.iter().filter(|r| r.filter.matches(event)) {
        let asked = health && names_provider_events(&route.filter.events);
        for destination in &route.destinations {
            if health && !asked && !machine.contains(destination) {
                continue;
            }
            if !out.contains(&destination.as_str()) {
                out.push(destination);
            }
        }
    }
    out
}

/// Destinations that take statusrelay's own `provider.*` health events by default: the ones
/// read by programs or logs, not people in a channel.
pub fn machine_destinations(destinations: &[crate::config::DestinationConfig]) -> HashSet<String> {
    use crate::config::ChannelConfig;
    destinations
        .iter()
        .filter(|d| {
            matches!(
                d.channel,
                ChannelConfig::Console | ChannelConfig::Webhook { .. } | ChannelConfig::Sns { .. }
            )
        })
        .map(|d| d.name.clone())
        .collect()
}

/// Whether a pattern list names `provider.*` events explicitly (which sends them to chat too).
pub fn names_provider_events(patterns: &[glob::Pattern]) -> bool {
    patterns.iter().any(|p| p.as_str().starts_with("provider"))
}

/// Whether a pattern list names maintenance events explicitly (which turns them on).
pub fn names_maintenance(patterns: &[glob::Pattern]) -> bool {
    patterns
        .iter()
        .any(|p| p.as_str().starts_with("maintenance"))
}

/// Event types a pattern matches, for validation.
pub fn matched_types(pattern: &glob::Pattern) -> Vec<EventType> {
    EventType::ALL
        .into_iter()
        .filter(|t| pattern.matches(t.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::event::{ComponentChange, EventData, IncidentRef, ProviderRef};
    use crate::model::{AffectedComponent, IncidentStatus};

    fn event(provider: &str, kind: EventType) -> Event {
        Event {
            kind,
            id: "evt_1".into(),
            timestamp: Utc::now(),
            data: EventData {
                provider: ProviderRef {
                    id: provider.into(),
                    name: provider.into(),
                    url: "https://x.test".into(),
                },
                incident: None,
                update: None,
                component: None,
                moved: None,
                health: None,
            },
        }
    }

    fn incident(provider: &str, impact: Impact, components: &[(&str, &str)]) -> Event {
        let mut event = event(provider, EventType::IncidentCreated);
        event.data.incident = Some(IncidentRef {
            id: "inc".into(),
            name: "Degraded".into(),
            status: IncidentStatus::Investigating,
            impact,
            url: None,
            components: components
                .iter()
                .map(|(id, name)| AffectedComponent {
                    id: (*id).into(),
                    name: (*name).into(),
                    status: ComponentStatus::PartialOutage,
                })
                .collect(),
            created_at: None,
            resolved_at: None,
            scheduled_for: None,
            scheduled_until: None,
        });
        event
    }

    #[test]
    fn filters_by_provider_and_event_glob() {
        let filter = RouteFilter {
            providers: Some(HashSet::from(["github".to_owned()])),
            events: vec![glob::Pattern::new("incident.*").unwrap()],
            ..RouteFilter::default()
        };
        assert!(filter.matches(&event("github", EventType::IncidentResolved)));
        assert!(!filter.matches(&event("github", EventType::ComponentStatusChanged)));
        assert!(!filter.matches(&event("slack", EventType::IncidentCreated)));
        assert!(RouteFilter::default().matches(&event("slack", EventType::ComponentStatusChanged)));
    }

    #[test]
    fn maintenance_is_off_unless_asked() {
        let started = event("github", EventType::MaintenanceStarted);
        assert!(!RouteFilter::default().matches(&started));
        assert!(RouteFilter::everything().matches(&started));
    }

    #[test]
    fn minimum_impact_ranks_unknown_as_major() {
        let filter = RouteFilter {
            min_impact: Some(Impact::Major),
            ..RouteFilter::default()
        };
        assert!(!filter.matches(&incident("p", Impact::Minor, &[])));
        assert!(filter.matches(&incident("p", Impact::Critical, &[])));
        assert!(filter.matches(&incident("p", Impact::Unknown("full_outage".into()), &[])));

        let mut recovery = event("p", EventType::ComponentStatusChanged);
        recovery.data.component = Some(ComponentChange {
            id: "c1".into(),
            name: "API".into(),
            old_status: Some(ComponentStatus::MajorOutage),
            new_status: ComponentStatus::Operational,
        });
        assert!(filter.matches(&recovery));
        recovery.data.component.as_mut().unwrap().old_status =
            Some(ComponentStatus::DegradedPerformance);
        assert!(!filter.matches(&recovery));
    }

    #[test]
    fn components_match_by_name_or_id_and_page_wide_incidents_pass() {
        let filter = RouteFilter {
            components: HashMap::from([(
                "gh".to_owned(),
                vec!["actions".to_owned(), "id-9".to_owned()],
            )]),
            ..RouteFilter::default()
        };
        assert!(filter.matches(&incident("gh", Impact::Minor, &[("x", "Actions")])));
        assert!(filter.matches(&incident("gh", Impact::Minor, &[("id-9", "Pages")])));
        assert!(!filter.matches(&incident("gh", Impact::Minor, &[("x", "Pages")])));
        assert!(filter.matches(&incident("gh", Impact::Minor, &[])));
        assert!(filter.matches(&incident("other", Impact::Minor, &[("x", "Pages")])));
    }
}
