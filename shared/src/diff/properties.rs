//! Properties of [`detect_changes`] over random histories: incidents and maintenances that
//! appear, gain updates, change status without an update, vanish from the list and come back,
//! are listed twice, or predate the baseline; polls that fail in between (their snapshot is
//! never seen). For every such history:
//! - no event id is emitted twice, in one poll or across polls;
//! - nothing is resolved (completed) that was never announced;
//! - a second poll of the same snapshot emits nothing and knows nothing new;
//! - the state equals the state [`known_after`] replays from the same snapshots.

use std::collections::{BTreeSet, HashSet};

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::model::{Impact, IncidentUpdate};

const INCIDENT_STATUSES: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUSES: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];

/// One incident or maintenance over the whole history: the updates it will publish, in order.
#[derive(Debug, Clone)]
struct Script {
    maintenance: bool,
    /// All of its activity is days older than the baseline (history that slid into a list).
    old: bool,
    statuses: Vec<usize>,
}

/// What one poll saw of one entity.
#[derive(Debug, Clone)]
struct Sight {
    /// 0: not listed, 1: listed, 2: listed twice.
    listed: u8,
    /// How many more of its updates are published by now.
    advance: usize,
    /// The record's own status moved without an update (an index into its statuses).
    status_override: Option<usize>,
}

#[derive(Debug, Clone)]
struct Poll {
    failed: bool,
    sights: Vec<Sight>,
}

fn script() -> impl Strategy<Value = Script> {
    (
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(0usize..5, 1..6),
    )
        .prop_map(|(maintenance, old, statuses)| Script {
            maintenance,
            old,
            statuses,
        })
}

fn history(entities: usize) -> impl Strategy<Value = Vec<Poll>> {
    let sight = (
        prop_oneof![3 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8)],
        0usize..3,
        prop::option::weighted(0.15, 0usize..5),
    )
        .prop_map(|(listed, advance, status_override)| Sight {
            listed,
            advance,
            status_override,
        });
    let poll = (
        prop::bool::weighted(0.2),
        prop::collection::vec(sight, entities),
    )
        .prop_map(|(failed, sights)| Poll { failed, sights });
    prop::collection::vec(poll, 1..10)
}

fn scenario() -> impl Strategy<Value = (Vec<Script>, Vec<Poll>)> {
    prop::collection::vec(script(), 1..5)
        .prop_flat_map(|scripts| (Just(scripts.clone()), history(scripts.len())))
}

fn poll_time(poll: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap() + Duration::minutes(10 * poll as i64)
}

fn status_name(script: &Script, index: usize) -> &'static str {
    let names = if script.maintenance {
        MAINTENANCE_STATUSES
    } else {
        INCIDENT_STATUSES
    };
    names[index % names.len()]
}

/// The record as a poll sees it with `published` of its updates out.
fn record(
    number: usize,
    script: &Script,
    published: usize,
    status_override: Option<usize>,
) -> Incident {
    let start = poll_time(0)
        - if script.old {
            Duration::days(3)
        } else {
            Duration::minutes(30)
        };
    let updates: Vec<IncidentUpdate> = script.statuses[..published]
        .iter()
        .enumerate()
        .map(|(i, status)| IncidentUpdate {
            id: format!("e{number}-u{i}"),
            status: status_name(script, *status).into(),
            body: format!("update {i}"),
            created_at: Some(start + Duration::minutes(7 * i as i64)),
            alias: None,
        })
        .collect();
    let status = match (status_override, updates.last()) {
        (Some(index), _) => status_name(script, index).into(),
        (None, Some(last)) => last.status.clone(),
        (None, None) => status_name(script, script.statuses[0]).into(),
    };
    Incident {
        id: format!("e{number}"),
        name: format!("Entity {number}"),
        status,
        impact: if script.maintenance {
            Impact::Maintenance
        } else {
            Impact::Minor
        },
        url: None,
        components: Vec::new(),
        created_at: Some(start),
        updated_at: updates.last().and_then(|u| u.created_at),
        resolved_at: None,
        scheduled_for: None,
        scheduled_until: None,
        updates,
    }
}

/// The snapshots of the polls that succeeded, with their times.
fn snapshots(scripts: &[Script], polls: &[Poll]) -> Vec<(Snapshot, DateTime<Utc>)> {
    let mut published = vec![0usize; scripts.len()];
    let mut out = Vec::new();
    for (index, poll) in polls.iter().enumerate() {
        for (count, (sight, script)) in published.iter_mut().zip(poll.sights.iter().zip(scripts)) {
            *count = (*count + sight.advance).min(script.statuses.len());
        }
        if poll.failed {
            continue;
        }
        let mut snapshot = Snapshot::default();
        for (number, (sight, script)) in poll.sights.iter().zip(scripts).enumerate() {
            let record = record(number, script, published[number], sight.status_override);
            let list = if script.maintenance {
                &mut snapshot.maintenances
            } else {
                &mut snapshot.incidents
            };
            for _ in 0..sight.listed {
                list.push(record.clone());
            }
        }
        out.push((snapshot, poll_time(index)));
    }
    out
}

fn provider() -> Provider {
    Provider {
        id: "acme".into(),
        name: "Acme".into(),
        url: "https://status.acme.test".into(),
    }
}

fn entity_key(event: &Event) -> String {
    let incident = event.data.incident.as_ref().expect("entity events only");
    let kind = match event.kind {
        EventType::MaintenanceScheduled
        | EventType::MaintenanceStarted
        | EventType::MaintenanceUpdated
        | EventType::MaintenanceCompleted => "maintenance",
        _ => "incident",
    };
    format!("{kind}:{}", incident.id)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn histories_announce_each_thing_once_and_in_order((scripts, polls) in scenario()) {
        let provider = provider();
        let mut state = ProviderState::default();
        let mut replayed = ProviderState::default();
        let mut ids = HashSet::new();
        let mut announced = BTreeSet::new();
        for (snapshot, now) in snapshots(&scripts, &polls) {
            let changes = detect_changes(&provider, &state, &snapshot, now);
            for event in &changes.events {
                prop_assert!(ids.insert(event.id.clone()), "event id {} emitted twice: {:?}", event.id, event.kind);
                let key = entity_key(event);
                if matches!(event.kind, EventType::IncidentResolved | EventType::MaintenanceCompleted) {
                    prop_assert!(announced.contains(&key), "{key} {:?} before any announcement", event.kind);
                }
                announced.insert(key);
            }
            let again = detect_changes(&provider, &changes.state, &snapshot, now);
            prop_assert!(again.events.is_empty(), "the same snapshot again announced {:?}",
                again.events.iter().map(|e| (e.kind, entity_key(e))).collect::<Vec<_>>());
            prop_assert_eq!(&again.state, &changes.state);
            replayed = known_after(&provider, &replayed, &snapshot, now);
            state = changes.state;
        }
        prop_assert_eq!(replayed, state);
    }
}
