//! What a person looking at statusrelay wants first: each provider's overall state, worst first.
//! Pure: from a provider's last good snapshot and its poll health to one [`ProviderOverview`];
//! `statusrelay status` prints it, and the read side's pages build on it.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{ComponentStatus, Impact, IncidentStatus, Snapshot};

/// Failed polls in a row after which a provider's last known state is no longer shown as its
/// state: one failure is a blip, two in a row mean we do not know.
pub const UNKNOWN_AFTER_FAILURES: u32 = 2;

/// A provider's overall state, best to worst as declared (`max` picks the worst of what a page
/// shows); [`OverallState::severity`] orders them for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverallState {
    Operational,
    UnderMaintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
    /// The last polls failed: what the page shows now is not known.
    Unknown,
}

impl OverallState {
    /// Every state, best to worst as declared.
    pub const ALL: [OverallState; 6] = [
        OverallState::Operational,
        OverallState::UnderMaintenance,
        OverallState::Degraded,
        OverallState::PartialOutage,
        OverallState::MajorOutage,
        OverallState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OverallState::Operational => "operational",
            OverallState::UnderMaintenance => "under maintenance",
            OverallState::Degraded => "degraded",
            OverallState::PartialOutage => "partial outage",
            OverallState::MajorOutage => "major outage",
            OverallState::Unknown => "unknown",
        }
    }

    /// How much a state needs attention: outages first, then a provider we cannot see (its
    /// polls fail), then degradation and maintenance.
    pub fn severity(self) -> u8 {
        match self {
            OverallState::MajorOutage => 5,
            OverallState::PartialOutage => 4,
            OverallState::Unknown => 3,
            OverallState::Degraded => 2,
            OverallState::UnderMaintenance => 1,
            OverallState::Operational => 0,
        }
    }

    /// The state one component's status stands for (also each component's metric).
    pub fn of_component(status: &ComponentStatus) -> OverallState {
        match status {
            ComponentStatus::Operational => OverallState::Operational,
            ComponentStatus::UnderMaintenance => OverallState::UnderMaintenance,
            ComponentStatus::DegradedPerformance => OverallState::Degraded,
            ComponentStatus::PartialOutage | ComponentStatus::Unknown(_) => {
                OverallState::PartialOutage
            }
            ComponentStatus::MajorOutage => OverallState::MajorOutage,
        }
    }

    pub fn of_impact(impact: &Impact) -> OverallState {
        match impact {
            Impact::None | Impact::Minor => OverallState::Degraded,
            Impact::Maintenance => OverallState::UnderMaintenance,
            Impact::Major | Impact::Unknown(_) => OverallState::PartialOutage,
            Impact::Critical => OverallState::MajorOutage,
        }
    }
}

/// How a provider's polls are going, as the store records them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollHealth {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OpenIncident {
    pub name: String,
    pub status: String,
    pub impact: String,
    /// The latest update's text, as the page wrote it.
    pub latest_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderOverview {
    pub id: String,
    pub name: String,
    pub state: OverallState,
    /// What the page showed at its last good poll, when `state` is unknown.
    pub last_known_state: Option<OverallState>,
    pub open_incidents: Vec<OpenIncident>,
    pub maintenance_in_progress: usize,
    pub last_good_poll: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
}

/// The overview of one provider, shown as `name`. `snapshot` is its last good poll's (none
/// before the first).
pub fn overview(
    id: &str,
    name: &str,
    snapshot: Option<&Snapshot>,
    health: &PollHealth,
) -> ProviderOverview {
    let open: Vec<_> = snapshot
        .map(|s| {
            s.incidents
                .iter()
                .filter(|i| !i.status.is_finished())
                .collect()
        })
        .unwrap_or_default();
    let maintenance_in_progress = snapshot.map_or(0, |s| {
        s.maintenances
            .iter()
            .filter(|m| {
                matches!(
                    m.status,
                    IncidentStatus::InProgress | IncidentStatus::Verifying
                )
            })
            .count()
    });
    let shown = snapshot.map(shown_state);
    let state = current_state(shown, health.consecutive_failures);
    let unknown = state == OverallState::Unknown;
    ProviderOverview {
        id: id.to_owned(),
        name: name.to_owned(),
        state,
        last_known_state: if unknown { shown } else { None },
        open_incidents: open
            .iter()
            .map(|i| OpenIncident {
                name: i.name.clone(),
                status: i.status.to_string(),
                impact: i.impact.to_string(),
                latest_update: i.updates.last().map(|u| u.body.clone()),
            })
            .collect(),
        maintenance_in_progress,
        last_good_poll: health.last_success_at,
        last_error: health.last_error.clone(),
        consecutive_failures: health.consecutive_failures,
    }
}

/// What a page shows: the worst of its components, open incidents and maintenance in progress.
pub fn shown_state(snapshot: &Snapshot) -> OverallState {
    let components = snapshot
        .components
        .iter()
        .filter(|c| !c.is_group)
        .map(|c| OverallState::of_component(&c.status));
    let incidents = snapshot
        .incidents
        .iter()
        .filter(|i| !i.status.is_finished())
        .map(|i| OverallState::of_impact(&i.impact));
    let maintenance = snapshot
        .maintenances
        .iter()
        .any(|m| {
            matches!(
                m.status,
                IncidentStatus::InProgress | IncidentStatus::Verifying
            )
        })
        .then_some(OverallState::UnderMaintenance);
    components
        .chain(incidents)
        .chain(maintenance)
        .max()
        .unwrap_or(OverallState::Operational)
}

/// A provider's state now: what its last good snapshot showed (`shown`, none before the first),
/// unless its polls have been failing long enough that we no longer know.
pub fn current_state(shown: Option<OverallState>, consecutive_failures: u32) -> OverallState {
    match shown {
        Some(state) if consecutive_failures < UNKNOWN_AFTER_FAILURES => state,
        _ => OverallState::Unknown,
    }
}

/// Worst first; among equals, more open incidents first, then by name.
pub fn worst_first(overviews: &mut [ProviderOverview]) {
    overviews.sort_by_cached_key(attention_order);
}

/// The sort key of [`worst_first`], for lists of anything that holds an overview.
pub fn attention_order(overview: &ProviderOverview) -> (Reverse<u8>, Reverse<usize>, String) {
    (
        Reverse(overview.state.severity()),
        Reverse(overview.open_incidents.len()),
        overview.name.to_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Component, Incident};

    fn component(status: &str) -> Component {
        Component {
            id: format!("c-{status}"),
            name: status.into(),
            status: status.into(),
            is_group: false,
            group_id: None,
            position: None,
            updated_at: None,
        }
    }

    fn incident(status: &str, impact: &str) -> Incident {
        Incident {
            id: "i".into(),
            name: "Git failures".into(),
            status: status.into(),
            impact: impact.into(),
            url: None,
            components: vec![],
            created_at: None,
            updated_at: None,
            resolved_at: None,
            scheduled_for: None,
            scheduled_until: None,
            updates: vec![],
        }
    }

    fn page(components: &[&str], incidents: Vec<Incident>) -> Snapshot {
        Snapshot {
            components: components.iter().map(|s| component(s)).collect(),
            incidents,
            ..Snapshot::default()
        }
    }

    #[test]
    fn the_worst_of_components_and_open_incidents_wins() {
        let healthy = PollHealth::default();
        let state = |snap: &Snapshot| overview("p", "P", Some(snap), &healthy).state;
        assert_eq!(
            state(&page(&["operational"], vec![])),
            OverallState::Operational
        );
        assert_eq!(
            state(&page(&["operational", "partial_outage"], vec![])),
            OverallState::PartialOutage
        );
        // An open incident counts even while every component is green; a resolved one not.
        assert_eq!(
            state(&page(
                &["operational"],
                vec![incident("investigating", "critical")]
            )),
            OverallState::MajorOutage
        );
        assert_eq!(
            state(&page(
                &["operational"],
                vec![incident("resolved", "critical")]
            )),
            OverallState::Operational
        );
        assert_eq!(
            state(&page(&["under_maintenance"], vec![])),
            OverallState::UnderMaintenance
        );
    }

    #[test]
    fn failing_polls_make_the_state_unknown_but_keep_what_was_last_seen() {
        let snap = page(&["degraded_performance"], vec![]);
        let blip = PollHealth {
            consecutive_failures: 1,
            ..PollHealth::default()
        };
        assert_eq!(
            overview("p", "P", Some(&snap), &blip).state,
            OverallState::Degraded
        );
        let down = PollHealth {
            consecutive_failures: 3,
            last_error: Some("timed out".into()),
            ..PollHealth::default()
        };
        let view = overview("p", "P", Some(&snap), &down);
        assert_eq!(view.state, OverallState::Unknown);
        assert_eq!(view.last_known_state, Some(OverallState::Degraded));
        assert_eq!(
            overview("p", "P", None, &PollHealth::default()).state,
            OverallState::Unknown
        );
    }

    #[test]
    fn worst_first_then_busiest_then_by_name() {
        let healthy = PollHealth::default();
        let mut all = vec![
            overview(
                "a",
                "Alpha",
                Some(&page(&["operational"], vec![])),
                &healthy,
            ),
            overview(
                "b",
                "Beta",
                Some(&page(&["major_outage"], vec![])),
                &healthy,
            ),
            overview("c", "Gamma", None, &healthy),
            overview(
                "d",
                "Delta",
                Some(&page(&["degraded_performance"], vec![])),
                &healthy,
            ),
        ];
        worst_first(&mut all);
        let order: Vec<&str> = all.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(order, ["b", "c", "d", "a"]);
    }
}
