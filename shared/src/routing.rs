//! Which routes an event goes to.

use crate::event::Event;

/// A route's filters; an absent filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct RouteFilter {
    providers: Option<Vec<String>>,
    events: Vec<glob::Pattern>,
}

impl RouteFilter {
    pub fn new(providers: Option<Vec<String>>, events: Vec<glob::Pattern>) -> RouteFilter {
        RouteFilter { providers, events }
    }

    pub fn matches(&self, event: &Event) -> bool {
        let provider_ok = self
            .providers
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == &event.data.provider.id));
        let type_ok =
            self.events.is_empty() || self.events.iter().any(|p| p.matches(event.kind.as_str()));
        provider_ok && type_ok
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::event::{EventData, EventType, ProviderRef};

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
            },
        }
    }

    #[test]
    fn filters_by_provider_and_event_glob() {
        let filter = RouteFilter::new(
            Some(vec!["github".into()]),
            vec![glob::Pattern::new("incident.*").unwrap()],
        );
        assert!(filter.matches(&event("github", EventType::IncidentResolved)));
        assert!(!filter.matches(&event("github", EventType::MaintenanceStarted)));
        assert!(!filter.matches(&event("slack", EventType::IncidentCreated)));
        assert!(RouteFilter::default().matches(&event("slack", EventType::ComponentStatusChanged)));
    }
}
