//! Change detection: a pure function from (what we knew, what a successful poll saw) to the
//! ordered events that happened in between, plus what we know now.
//!
//! Rules (README "Event semantics" documents them for users):
//! - one event per new update, by update id, in chronological order per incident;
//! - the first successful poll is a baseline: open incidents and upcoming or running
//!   maintenances are announced once, history and components are recorded silently;
//! - an incident missing from a poll stays as it was: resolution needs evidence;
//! - after the baseline, an unseen incident that is already over is announced as created then
//!   resolved, unless all of its activity predates the baseline (history that slid into the
//!   capped list), which is recorded silently.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{
    ComponentChange, Event, EventData, EventType, IncidentRef, ProviderMove, ProviderRef,
    UpdateRef, event_id,
};
use crate::model::{
    ComponentStatus, EntityKind, Incident, IncidentStatus, IncidentUpdate, Provider, Snapshot,
};

/// Records that left the source's list are forgotten after this long.
const FORGET_ABSENT_AFTER_DAYS: i64 = 90;

/// An unseen, finished record counts as old history (silent) only if its last activity is
/// this much older than the baseline: backfilled incidents from the hours just before the
/// baseline are still news, and provider clocks drift.
const HISTORY_MARGIN_HOURS: i64 = 24;

/// What statusrelay knows about one provider between polls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderState {
    /// When the baseline poll happened; `None` until the first successful poll.
    pub baseline_at: Option<DateTime<Utc>>,
    /// Keyed by `incident:<id>` or `maintenance:<id>`.
    pub entities: BTreeMap<String, EntityTrack>,
    /// Component id → last seen status (group rows excluded).
    pub components: BTreeMap<String, ComponentStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityTrack {
    pub phase: Phase,
    pub seen_updates: BTreeSet<String>,
    pub last_seen: DateTime<Utc>,
}

/// Where an incident or maintenance is in its life, as far as notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Open,
    Started,
    Resolved,
    Postmortem,
    Completed,
}

impl Phase {
    fn of(kind: EntityKind, status: &IncidentStatus) -> Phase {
        use IncidentStatus as S;
        match (kind, status) {
            (EntityKind::Incident, S::Resolved | S::Completed) => Phase::Resolved,
            (EntityKind::Incident, S::Postmortem) => Phase::Postmortem,
            (EntityKind::Incident, _) => Phase::Open,
            (EntityKind::Maintenance, S::InProgress | S::Verifying) => Phase::Started,
            (EntityKind::Maintenance, S::Completed | S::Resolved | S::Postmortem) => {
                Phase::Completed
            }
            (EntityKind::Maintenance, _) => Phase::Open,
        }
    }

    /// The phase after evidence (an update, or the record's status) of `next`. A postmortem
    /// stays a postmortem when the incident reads resolved again: it was resolved before its
    /// postmortem, so that is no news, and for an incident first seen with its postmortem it
    /// would resolve what was never announced.
    fn then(self, next: Phase) -> Phase {
        if self == Phase::Postmortem && next == Phase::Resolved {
            self
        } else {
            next
        }
    }

    /// How far along its life a phase is; the record's status alone only moves it forward.
    fn stage(self) -> u8 {
        match self {
            Phase::Open => 0,
            Phase::Started => 1,
            Phase::Resolved | Phase::Completed => 2,
            Phase::Postmortem => 3,
        }
    }

    fn is_open(self) -> bool {
        matches!(self, Phase::Open | Phase::Started)
    }

    /// The event announcing that an entity entered this phase, if entering it is news.
    fn entry_event(self, kind: EntityKind) -> Option<EventType> {
        match (kind, self) {
            (EntityKind::Incident, Phase::Resolved) => Some(EventType::IncidentResolved),
            (EntityKind::Incident, Phase::Postmortem) => Some(EventType::IncidentPostmortem),
            (EntityKind::Maintenance, Phase::Started) => Some(EventType::MaintenanceStarted),
            (EntityKind::Maintenance, Phase::Completed) => Some(EventType::MaintenanceCompleted),
            _ => None,
        }
    }

    fn opening_event(self, kind: EntityKind) -> EventType {
        match (kind, self) {
            (EntityKind::Incident, _) => EventType::IncidentCreated,
            (EntityKind::Maintenance, Phase::Started) => EventType::MaintenanceStarted,
            (EntityKind::Maintenance, _) => EventType::MaintenanceScheduled,
        }
    }
}

fn updated_event(kind: EntityKind) -> EventType {
    match kind {
        EntityKind::Incident => EventType::IncidentUpdated,
        EntityKind::Maintenance => EventType::MaintenanceUpdated,
    }
}

/// The outcome of one diff: events in delivery order and the state to store with them.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub events: Vec<Event>,
    pub state: ProviderState,
}

pub fn detect_changes(
    provider: &Provider,
    previous: &ProviderState,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Changes {
    diff(provider, previous, snapshot, now, true)
}

/// What [`detect_changes`] would know after this poll, without building its events: the
/// notifier replays an item's old image this way before diffing the new one.
pub fn known_after(
    provider: &Provider,
    previous: &ProviderState,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> ProviderState {
    diff(provider, previous, snapshot, now, false).state
}

/// One walk for both: the phase an entity reaches depends on the order of its updates, so
/// the state is only right if it is derived exactly as the events are.
fn diff(
    provider: &Provider,
    previous: &ProviderState,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    with_events: bool,
) -> Changes {
    let provider_ref = ProviderRef {
        id: provider.id.clone(),
        name: provider.name.clone(),
        url: provider.url.clone(),
    };
    let is_baseline = previous.baseline_at.is_none();
    if !is_baseline && let Some(moved) = page_moved(previous, snapshot) {
        return after_move(
            provider,
            &provider_ref,
            previous,
            snapshot,
            now,
            moved,
            with_events,
        );
    }
    let baseline_at = previous.baseline_at.unwrap_or(now);
    let history_before = baseline_at - Duration::hours(HISTORY_MARGIN_HOURS);
    let mut state = ProviderState {
        baseline_at: Some(baseline_at),
        entities: BTreeMap::new(),
        components: BTreeMap::new(),
    };
    let mut entity_events: Vec<Vec<Event>> = Vec::new();

    let entities = snapshot
        .incidents
        .iter()
        .map(|i| (EntityKind::Incident, i))
        .chain(
            snapshot
                .maintenances
                .iter()
                .map(|m| (EntityKind::Maintenance, m)),
        );
    for (kind, entity) in entities {
        let key = format!("{}:{}", kind.as_str(), entity.id);
        if state.entities.contains_key(&key) {
            // A source listing the same record twice must not announce it twice.
            continue;
        }
        let mut diff = EntityDiff {
            provider: &provider_ref,
            kind,
            key: &key,
            entity,
            now,
            with_events,
            events: Vec::new(),
        };
        let phase = match previous.entities.get(&key) {
            Some(track) => diff.follow(track.phase, &track.seen_updates),
            None if is_baseline => diff.baseline(),
            None if Phase::of(kind, &entity.status).is_open() => diff.first_sight(),
            None if entity.last_activity().is_some_and(|t| t < history_before) => {
                Phase::of(kind, &entity.status)
            }
            None => diff.first_sight(),
        };
        let mut seen_updates = previous
            .entities
            .get(&key)
            .map(|t| t.seen_updates.clone())
            .unwrap_or_default();
        seen_updates.extend(
            entity
                .updates
                .iter()
                .flat_map(|u| std::iter::once(&u.id).chain(&u.alias))
                .cloned(),
        );
        state.entities.insert(
            key.clone(),
            EntityTrack {
                phase,
                seen_updates,
                last_seen: now,
            },
        );
        if !diff.events.is_empty() {
            entity_events.push(diff.events);
        }
    }

    // Records absent from this poll keep their state (absence is not resolution) until they
    // have been gone long enough that they will not come back.
    let forget_before = now - Duration::days(FORGET_ABSENT_AFTER_DAYS);
    for (key, track) in &previous.entities {
        if !state.entities.contains_key(key) && track.last_seen >= forget_before {
            state.entities.insert(key.clone(), track.clone());
        }
    }

    let mut events = order_chronologically(entity_events);

    let mut components: Vec<_> = snapshot.components.iter().filter(|c| !c.is_group).collect();
    components.sort_by_key(|c| c.position.unwrap_or(i64::MAX));
    for component in components {
        if state.components.contains_key(&component.id) {
            // A page listing the same component twice with two statuses must not announce a
            // change on every poll: the first listing is the component.
            continue;
        }
        let old = previous.components.get(&component.id);
        let changed = match old {
            Some(old) => old != &component.status,
            None => !component.status.is_operational(),
        };
        if changed && !is_baseline && with_events {
            let occurrence = format!(
                "{}->{}@{}",
                old.map_or("", ComponentStatus::as_str),
                component.status,
                component.updated_at.unwrap_or(now).timestamp_millis()
            );
            events.push(Event {
                kind: EventType::ComponentStatusChanged,
                id: event_id(
                    &provider.id,
                    &format!("component:{}", component.id),
                    &occurrence,
                    EventType::ComponentStatusChanged,
                ),
                timestamp: component.updated_at.unwrap_or(now),
                data: EventData {
                    provider: provider_ref.clone(),
                    incident: None,
                    update: None,
                    component: Some(ComponentChange {
                        id: component.id.clone(),
                        name: component.name.clone(),
                        old_status: old.cloned(),
                        new_status: component.status.clone(),
                    }),
                    moved: None,
                    health: None,
                },
            });
        }
        state
            .components
            .insert(component.id.clone(), component.status.clone());
    }

    Changes { events, state }
}

/// Fewer records than this on either side is no evidence of a move: a small page may well
/// close its only incidents and open new ones in one poll.
const MOVE_MIN_RECORDS: usize = 3;

/// The records (components, incidents, maintenances) of a page as one set of keys.
fn snapshot_keys(snapshot: &Snapshot) -> BTreeSet<String> {
    let components = snapshot
        .components
        .iter()
        .filter(|c| !c.is_group)
        .map(|c| format!("component:{}", c.id));
    let incidents = snapshot
        .incidents
        .iter()
        .map(|i| format!("incident:{}", i.id));
    let maintenances = snapshot
        .maintenances
        .iter()
        .map(|m| format!("maintenance:{}", m.id));
    components.chain(incidents).chain(maintenances).collect()
}

/// Whether every record the last poll saw is gone and every record of this poll is new: the
/// page moved (to another platform, or was rebuilt), its records changed identity, and
/// announcing each would be N resolutions that never happened plus N incidents that are not
/// new. Returns (records before, records now).
fn page_moved(previous: &ProviderState, snapshot: &Snapshot) -> Option<(usize, usize)> {
    // Entities the last poll saw; older ones are kept for a while after they leave the list.
    let last_poll = previous.entities.values().map(|t| t.last_seen).max();
    let before: BTreeSet<String> = previous
        .components
        .keys()
        .map(|id| format!("component:{id}"))
        .chain(
            previous
                .entities
                .iter()
                .filter(|(_, track)| Some(track.last_seen) == last_poll)
                .map(|(key, _)| key.clone()),
        )
        .collect();
    is_move(&before, &snapshot_keys(snapshot))
}

/// The rule of a move, over the keys of what the last poll saw and what this one sees (the
/// Lambda poller applies it to its item keys): enough records on both sides, none shared.
/// Returns (records before, records now).
pub fn is_move(before: &BTreeSet<String>, now: &BTreeSet<String>) -> Option<(usize, usize)> {
    (before.len() >= MOVE_MIN_RECORDS && now.len() >= MOVE_MIN_RECORDS && before.is_disjoint(now))
        .then_some((before.len(), now.len()))
}

/// The incidents and maintenances open on a page: what a `provider.moved` event names.
pub fn open_records(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .incidents
        .iter()
        .chain(&snapshot.maintenances)
        .filter(|record| !record.status.is_finished())
        .map(|record| record.name.clone())
        .collect()
}

/// A moved page starts over as a baseline of its new records, announced once by a
/// `provider.moved` event that names what is open now.
fn after_move(
    provider: &Provider,
    provider_ref: &ProviderRef,
    previous: &ProviderState,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    (records_before, records_now): (usize, usize),
    with_events: bool,
) -> Changes {
    let mut state = diff(provider, &ProviderState::default(), snapshot, now, false).state;
    state.baseline_at = previous.baseline_at;
    if !with_events {
        return Changes {
            events: Vec::new(),
            state,
        };
    }
    let open_now = open_records(snapshot);
    let keys: Vec<String> = snapshot_keys(snapshot).into_iter().collect();
    let event = Event::provider_moved(
        provider_ref.clone(),
        &keys.join("\n"),
        now,
        ProviderMove {
            records_before,
            records_now,
            open_now,
            relocated: None,
        },
    );
    Changes {
        events: vec![event],
        state,
    }
}

/// Interleaves the entities' events by time while keeping each entity's own events in order
/// (a resolution can never overtake the announcement it follows).
fn order_chronologically(per_entity: Vec<Vec<Event>>) -> Vec<Event> {
    let mut keyed: Vec<(DateTime<Utc>, usize, usize, Event)> = Vec::new();
    for (entity_index, events) in per_entity.into_iter().enumerate() {
        let mut clock = DateTime::<Utc>::MIN_UTC;
        for (position, event) in events.into_iter().enumerate() {
            clock = clock.max(event.timestamp);
            keyed.push((clock, entity_index, position, event));
        }
    }
    keyed.sort_by_key(|k| (k.0, k.1, k.2));
    keyed.into_iter().map(|(_, _, _, event)| event).collect()
}

/// An update is known by its id or by its alias (its id in the source's other channel), so a
/// page read through another channel than last time announces nothing twice.
fn was_seen(update: &IncidentUpdate, seen: &BTreeSet<String>) -> bool {
    seen.contains(&update.id) || update.alias.as_ref().is_some_and(|a| seen.contains(a))
}

struct EntityDiff<'a> {
    provider: &'a ProviderRef,
    kind: EntityKind,
    key: &'a str,
    entity: &'a Incident,
    now: DateTime<Utc>,
    with_events: bool,
    events: Vec<Event>,
}

impl EntityDiff<'_> {
    /// First poll of the provider: announce what is open now, once, with its latest update.
    fn baseline(&mut self) -> Phase {
        let phase = Phase::of(self.kind, &self.entity.status);
        if phase.is_open() {
            let latest = self.entity.updates.last();
            self.emit(phase.opening_event(self.kind), latest, "baseline");
        }
        phase
    }

    /// An entity never seen before, after the baseline: replay its whole history.
    fn first_sight(&mut self) -> Phase {
        self.replay(None, &BTreeSet::new())
    }

    /// A known entity: one event per update not seen before.
    fn follow(&mut self, phase: Phase, seen: &BTreeSet<String>) -> Phase {
        self.replay(Some(phase), seen)
    }

    fn replay(&mut self, mut phase: Option<Phase>, seen: &BTreeSet<String>) -> Phase {
        let entity = self.entity;
        // An update listed twice (Slack derives note ids from their time, so two notes posted
        // in the same second share one) is one update: its first listing is announced.
        let mut walked = BTreeSet::new();
        for update in entity.updates.iter().filter(|u| !was_seen(u, seen)) {
            if !walked.insert(update.id.as_str()) {
                continue;
            }
            let update_phase = Phase::of(self.kind, &update.status);
            match phase {
                None => {
                    let opening_phase = if update_phase == Phase::Started {
                        Phase::Started
                    } else {
                        Phase::Open
                    };
                    self.emit(opening_phase.opening_event(self.kind), Some(update), "");
                    // A first update that already closes the record (a backfilled incident)
                    // still gets its closing event.
                    if update_phase != opening_phase
                        && let Some(kind) = update_phase.entry_event(self.kind)
                    {
                        self.emit(kind, Some(update), "");
                    }
                }
                Some(current) => {
                    let next = current.then(update_phase);
                    let kind = match next.entry_event(self.kind) {
                        Some(kind) if next != current => kind,
                        _ => updated_event(self.kind),
                    };
                    self.emit(kind, Some(update), "");
                    phase = Some(next);
                    continue;
                }
            }
            phase = Some(update_phase);
        }

        let entity_phase = Phase::of(self.kind, &entity.status);
        let current = match phase {
            Some(current) => current,
            None => {
                // A record with no updates at all (some compatible APIs): announce it by its
                // own status.
                let opening_phase = if entity_phase == Phase::Started {
                    Phase::Started
                } else {
                    Phase::Open
                };
                self.emit(opening_phase.opening_event(self.kind), None, "opened");
                opening_phase
            }
        };
        // The record's own status can move without an update (Statuspage's postmortem, an
        // auto-resolve): that status is evidence too, but only forward. A status that goes back
        // without an update (a completed maintenance reading in progress) is a stale copy of
        // the page, not news; a real reopening comes with an update.
        if entity_phase.stage() > current.stage()
            && let Some(kind) = entity_phase.entry_event(self.kind)
        {
            // The latest update in the occurrence: an incident reopened by an update and
            // resolved again by its status is a second resolution, not a repeat of the first.
            let occurrence = match entity.updates.last() {
                Some(latest) => format!("status:{}@{}", entity.status, latest.id),
                None => format!("status:{}", entity.status),
            };
            self.emit(kind, None, &occurrence);
            return entity_phase;
        }
        current
    }

    fn emit(
        &mut self,
        kind: EventType,
        update: Option<&crate::model::IncidentUpdate>,
        occurrence: &str,
    ) {
        if !self.with_events {
            return;
        }
        let entity = self.entity;
        let occurrence = match update {
            Some(update) if occurrence.is_empty() => update.id.clone(),
            Some(update) => format!("{occurrence}:{}", update.id),
            None => occurrence.to_owned(),
        };
        let timestamp = update
            .and_then(|u| u.created_at)
            .or(entity.updated_at)
            .unwrap_or(self.now);
        self.events.push(Event {
            kind,
            id: event_id(&self.provider.id, self.key, &occurrence, kind),
            timestamp,
            data: EventData {
                provider: self.provider.clone(),
                incident: Some(IncidentRef {
                    id: entity.id.clone(),
                    name: entity.name.clone(),
                    status: entity.status.clone(),
                    impact: entity.impact.clone(),
                    url: entity.url.clone(),
                    components: entity.components.clone(),
                    created_at: entity.created_at,
                    resolved_at: entity.resolved_at,
                    scheduled_for: entity.scheduled_for,
                    scheduled_until: entity.scheduled_until,
                }),
                update: update.map(|u| UpdateRef {
                    id: u.id.clone(),
                    status: u.status.clone(),
                    body: u.body.clone(),
                    created_at: u.created_at,
                }),
                component: None,
                moved: None,
                health: None,
            },
        });
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
