//! State as table items, for the serverless shape: the poller writes one item per incident,
//! maintenance and component, and the notifier turns each item's old and new image into
//! events with the same [`diff`](crate::diff) the local watcher uses.
//!
//! Items carry what the diff needs and nothing volatile, so an unchanged entity produces an
//! identical item (and the poller skips the write), and a replayed stream record yields the
//! same events with the same ids.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::collections::BTreeSet;

use crate::diff::{ProviderState, detect_changes, known_after, open_records};
use crate::event::{Event, EventType, ProviderHealth, ProviderMove};
use crate::model::{Component, Incident, Provider, Snapshot};

pub const INCIDENT_PREFIX: &str = "I#";
pub const MAINTENANCE_PREFIX: &str = "M#";
pub const COMPONENT_PREFIX: &str = "C#";
pub const META_SK: &str = "META";
/// The marker a poll writes when it finds the page moved ([`crate::diff::is_move`]); the
/// notifier turns it into one `provider.moved` event.
pub const MOVED_PREFIX: &str = "MOVED#";
/// The marker a poll writes when it finds the page unreachable, or reachable again after
/// that: `HEALTH#<occurrence>#unreachable` and `HEALTH#<occurrence>#recovered`, each turned
/// into one event by the notifier on insertion.
pub const HEALTH_PREFIX: &str = "HEALTH#";

/// Whether the notifier reads the stream records of items with this sort key: state items and
/// move markers, as the template's `FilterCriteria` passes them (not meta or the delivery log).
pub fn is_notified_key(sk: &str) -> bool {
    [
        INCIDENT_PREFIX,
        MAINTENANCE_PREFIX,
        COMPONENT_PREFIX,
        MOVED_PREFIX,
        HEALTH_PREFIX,
    ]
    .iter()
    .any(|prefix| sk.starts_with(prefix))
}

pub fn provider_pk(provider_id: &str) -> String {
    format!("P#{provider_id}")
}

/// One incident, maintenance or component of one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateItem {
    pub pk: String,
    pub sk: String,
    pub provider_id: String,
    pub provider_name: String,
    pub provider_url: String,
    /// Written by the provider's first poll: the notifier applies the baseline rule.
    pub baseline: bool,
    /// When the provider's first poll happened (RFC 3339).
    pub baseline_at: DateTime<Utc>,
    /// Hash of the entity, so the poller writes only what changed.
    pub content_hash: String,
    /// The entity, stored as one JSON string (see [`entity_json`]).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "entity_json")]
    pub incident: Option<Incident>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "entity_json")]
    pub maintenance: Option<Incident>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "entity_json")]
    pub component: Option<Component>,
    /// TTL (epoch seconds) on finished incidents and maintenances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Written by the poll that found the page moved: its insertion announces nothing (the
    /// move marker does, once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_move: bool,
    /// On a move marker (`MOVED#…`): what the `provider.moved` event says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<ProviderMove>,
    /// On a health marker (`HEALTH#…`): which event, and what it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthMarker>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMarker {
    /// `provider.unreachable` or `provider.recovered`.
    pub kind: EventType,
    pub health: ProviderHealth,
}

/// The marker of `provider.unreachable` or `provider.recovered` for one outage of a page
/// (`occurrence`: when it was found unreachable, shared by both); kept `keep`, then expired.
pub fn health_marker(
    provider: &Provider,
    kind: EventType,
    occurrence: &str,
    health: ProviderHealth,
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> StateItem {
    let suffix = kind.as_str().trim_start_matches("provider.");
    StateItem {
        health: Some(HealthMarker { kind, health }),
        ..marker(
            provider,
            format!("{HEALTH_PREFIX}{occurrence}#{suffix}"),
            now,
            keep,
        )
    }
}

/// A marker item: no entity, its key its own hash (written once), expiring after `keep`.
fn marker(
    provider: &Provider,
    sk: String,
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> StateItem {
    StateItem {
        pk: provider_pk(&provider.id),
        content_hash: sk.clone(),
        sk,
        provider_id: provider.id.clone(),
        provider_name: provider.name.clone(),
        provider_url: provider.url.clone(),
        baseline: false,
        baseline_at: now,
        incident: None,
        maintenance: None,
        component: None,
        expires_at: Some((now + keep).timestamp()),
        after_move: false,
        moved: None,
        health: None,
    }
}

/// An item's entity is one string attribute holding its JSON, not a nested DynamoDB map.
/// The notifier decodes two images per stream record: as maps, every field of every update
/// is a tagged attribute value in the Lambda event, then a second walk through serde_dynamo
/// (the largest share of the notifier's time per record, BENCHMARKS.md); as a string it is
/// one JSON parse. Items written as maps (before this format) are still read.
mod entity_json {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        entity: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match entity {
            Some(entity) => {
                let json = serde_json::to_string(entity).map_err(serde::ser::Error::custom)?;
                serializer.serialize_some(&json)
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_any(EntityVisitor(PhantomData))
    }

    struct EntityVisitor<T>(PhantomData<T>);

    impl<'de, T: DeserializeOwned> Visitor<'de> for EntityVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an entity as a JSON string (or, as written before, a map)")
        }

        fn visit_str<E: de::Error>(self, json: &str) -> Result<Self::Value, E> {
            serde_json::from_str(json).map(Some).map_err(E::custom)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
}

/// The hash of an incident or maintenance leaves out its components' statuses: Statuspage
/// lists them as they are now, not as they were, so one component change would otherwise
/// rewrite every incident that ever touched it, without any news for those incidents.
fn record_hash(record: &Incident) -> String {
    let mut stable = record.clone();
    for component in &mut stable.components {
        component.status = crate::model::ComponentStatus::Unknown(String::new());
    }
    hash_of(&stable)
}

fn hash_of<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("model serializes");
    let digest = Sha256::digest(json);
    hex::encode(&digest[..12])
}

/// The items a snapshot is stored as. Group rows are kept (components reference them) but
/// never produce events.
pub fn state_items(
    provider: &Provider,
    snapshot: &Snapshot,
    baseline: bool,
    baseline_at: DateTime<Utc>,
    now: DateTime<Utc>,
    keep_finished: Duration,
) -> Vec<StateItem> {
    let base = |sk: String, content_hash: String| StateItem {
        pk: provider_pk(&provider.id),
        sk,
        provider_id: provider.id.clone(),
        provider_name: provider.name.clone(),
        provider_url: provider.url.clone(),
        baseline,
        baseline_at,
        content_hash,
        incident: None,
        maintenance: None,
        component: None,
        expires_at: None,
        after_move: false,
        moved: None,
        health: None,
    };
    let expiry = |record: &Incident| {
        record
            .status
            .is_finished()
            .then(|| (now + keep_finished).timestamp())
    };
    let mut items = Vec::new();
    for incident in &snapshot.incidents {
        let mut item = base(
            format!("{INCIDENT_PREFIX}{}", incident.id),
            record_hash(incident),
        );
        item.expires_at = expiry(incident);
        item.incident = Some(incident.clone());
        items.push(item);
    }
    for maintenance in &snapshot.maintenances {
        let mut item = base(
            format!("{MAINTENANCE_PREFIX}{}", maintenance.id),
            record_hash(maintenance),
        );
        item.expires_at = expiry(maintenance);
        item.maintenance = Some(maintenance.clone());
        items.push(item);
    }
    for component in &snapshot.components {
        let mut item = base(
            format!("{COMPONENT_PREFIX}{}", component.id),
            hash_of(&(&component.status, &component.name, component.is_group)),
        );
        item.component = Some(component.clone());
        items.push(item);
    }
    items
}

impl StateItem {
    fn provider(&self) -> Provider {
        Provider {
            id: self.provider_id.clone(),
            name: self.provider_name.clone(),
            url: self.provider_url.clone(),
        }
    }

    fn into_snapshot(self) -> Snapshot {
        Snapshot {
            incidents: self.incident.into_iter().collect(),
            maintenances: self.maintenance.into_iter().collect(),
            components: self.component.into_iter().collect(),
            ..Snapshot::default()
        }
    }
}

/// The keys a snapshot's items have (as [`state_items`] writes them).
pub fn item_keys(snapshot: &Snapshot) -> BTreeSet<String> {
    let incidents = snapshot
        .incidents
        .iter()
        .map(|i| format!("{INCIDENT_PREFIX}{}", i.id));
    let maintenances = snapshot
        .maintenances
        .iter()
        .map(|m| format!("{MAINTENANCE_PREFIX}{}", m.id));
    let components = snapshot
        .components
        .iter()
        .map(|c| format!("{COMPONENT_PREFIX}{}", c.id));
    incidents.chain(maintenances).chain(components).collect()
}

/// The items a poll that found the page moved writes: the new page's items, silent on
/// insertion, and one marker keyed by the new page's records, so a repeated poll (the
/// invocation died before the meta) rewrites the same marker and announces nothing twice.
pub fn moved_items(
    mut items: Vec<StateItem>,
    snapshot: &Snapshot,
    (records_before, records_now): (usize, usize),
    keep: Duration,
    now: DateTime<Utc>,
) -> Vec<StateItem> {
    let Some(first) = items.first() else {
        return items;
    };
    // The items' own keys (what `item_keys` gives for their snapshot), in order.
    let keys: BTreeSet<&str> = items.iter().map(|item| item.sk.as_str()).collect();
    let key_hash = hash_of(&keys);
    let marker = StateItem {
        sk: format!("{MOVED_PREFIX}{key_hash}"),
        content_hash: key_hash,
        baseline: false,
        incident: None,
        maintenance: None,
        component: None,
        expires_at: Some((now + keep).timestamp()),
        after_move: true,
        moved: Some(ProviderMove {
            records_before,
            records_now,
            open_now: open_records(snapshot),
            relocated: None,
        }),
        ..first.clone()
    };
    for item in &mut items {
        item.after_move = true;
        item.baseline = false;
    }
    items.push(marker);
    items
}

/// The marker of a page found elsewhere (or as another platform) whose records did not all
/// change identity: one `provider.moved` naming the new place. Its key comes from the place,
/// so the same relocation written twice is one marker.
pub fn relocation_marker(
    provider: &Provider,
    relocated: &crate::event::Relocated,
    snapshot: &Snapshot,
    records_before: usize,
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> StateItem {
    let place = format!("relocated:{}:{}", relocated.to_url, relocated.to_platform);
    let sk = format!(
        "{MOVED_PREFIX}{}",
        hex::encode(&Sha256::digest(place.as_bytes())[..8])
    );
    StateItem {
        moved: Some(ProviderMove {
            records_before,
            records_now: item_keys(snapshot).len(),
            open_now: open_records(snapshot),
            relocated: Some(relocated.clone()),
        }),
        ..marker(provider, sk, now, keep)
    }
}

/// The events between an item's old and new image. `observed_at` is the stream record's
/// creation time: stable across replays, so event ids are too.
pub fn item_events(
    old: Option<StateItem>,
    new: StateItem,
    observed_at: DateTime<Utc>,
) -> Vec<Event> {
    let provider = new.provider();
    if let Some(moved) = &new.moved {
        return vec![moved_event(&new, moved.clone(), observed_at)];
    }
    if let Some(marker) = &new.health {
        // Announced when the marker appears; a rewrite of it says nothing new.
        if old.is_some() {
            return Vec::new();
        }
        let occurrence = new
            .sk
            .trim_start_matches(HEALTH_PREFIX)
            .rsplit_once('#')
            .map_or(new.sk.as_str(), |(occurrence, _)| occurrence);
        return vec![Event::provider_health(
            marker.kind,
            provider.into(),
            occurrence,
            observed_at,
            marker.health.clone(),
        )];
    }
    if old.is_none() && new.after_move {
        return Vec::new();
    }
    let after_baseline = ProviderState {
        baseline_at: Some(new.baseline_at),
        ..ProviderState::default()
    };
    let previous = match old {
        // The provider's first poll: the baseline rule (announce what is open, once).
        None if new.baseline => ProviderState::default(),
        None => after_baseline,
        // What the watcher knew before this change is what the old image shows, replayed
        // silently (components recorded, updates marked seen, phase reached).
        Some(old) => {
            let known = ProviderState {
                baseline_at: Some(old.baseline_at),
                ..ProviderState::default()
            };
            known_after(&provider, &known, &old.into_snapshot(), observed_at)
        }
    };
    detect_changes(&provider, &previous, &new.into_snapshot(), observed_at).events
}

/// The `provider.moved` event of a move marker; its id comes from the marker's key, so a
/// replayed record yields the same id.
fn moved_event(marker: &StateItem, moved: ProviderMove, observed_at: DateTime<Utc>) -> Event {
    Event::provider_moved(marker.provider().into(), &marker.sk, observed_at, moved)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::event::EventType;
    use crate::model::{IncidentStatus, IncidentUpdate};

    fn t(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, minute, 0).unwrap()
    }

    fn provider() -> Provider {
        Provider {
            id: "github".into(),
            name: "GitHub".into(),
            url: "https://www.githubstatus.com".into(),
        }
    }

    fn snapshot(updates: &[(&str, &str, u32)], component_status: &str) -> Snapshot {
        let updates: Vec<IncidentUpdate> = updates
            .iter()
            .map(|(id, status, minute)| IncidentUpdate {
                id: (*id).into(),
                status: (*status).into(),
                body: format!("update {id}"),
                created_at: Some(t(*minute)),
                alias: None,
            })
            .collect();
        Snapshot {
            incidents: vec![Incident {
                id: "inc1".into(),
                name: "Git failures".into(),
                status: updates.last().unwrap().status.clone(),
                impact: "major".into(),
                url: None,
                components: vec![],
                created_at: Some(t(0)),
                updated_at: updates.last().unwrap().created_at,
                resolved_at: None,
                scheduled_for: None,
                scheduled_until: None,
                updates,
            }],
            components: vec![Component {
                id: "git".into(),
                name: "Git Operations".into(),
                status: component_status.into(),
                is_group: false,
                group_id: None,
                position: Some(1),
                updated_at: None,
            }],
            ..Snapshot::default()
        }
    }

    fn items(snap: &Snapshot, baseline: bool) -> Vec<StateItem> {
        state_items(&provider(), snap, baseline, t(0), t(30), Duration::days(30))
    }

    fn kinds(events: &[Event]) -> Vec<EventType> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn unchanged_entities_hash_the_same_and_changes_do_not() {
        let a = items(
            &snapshot(&[("u1", "investigating", 1)], "operational"),
            false,
        );
        let b = items(
            &snapshot(&[("u1", "investigating", 1)], "operational"),
            false,
        );
        assert_eq!(a, b);
        let c = items(
            &snapshot(
                &[("u1", "investigating", 1), ("u2", "resolved", 5)],
                "operational",
            ),
            false,
        );
        assert_ne!(a[0].content_hash, c[0].content_hash);
        assert_eq!(a[1].content_hash, c[1].content_hash, "component unchanged");
        assert_eq!(
            c[0].expires_at,
            Some((t(30) + Duration::days(30)).timestamp())
        );

        // A component's current status shown on an old incident is not a change of it.
        let mut shown = snapshot(&[("u1", "investigating", 1)], "operational");
        shown.incidents[0].components = vec![crate::model::AffectedComponent {
            id: "git".into(),
            name: "Git Operations".into(),
            status: "operational".into(),
        }];
        let before = items(&shown, false);
        shown.incidents[0].components[0].status = "major_outage".into();
        assert_eq!(before[0].content_hash, items(&shown, false)[0].content_hash);
        assert_eq!(a[0].expires_at, None, "open incidents never expire");
    }

    #[test]
    fn insert_and_modify_images_follow_the_diff_semantics() {
        // Baseline insert of an open incident: announced once; component silent.
        let base = items(
            &snapshot(&[("u1", "investigating", 1)], "major_outage"),
            true,
        );
        assert_eq!(
            kinds(&item_events(None, base[0].clone(), t(2))),
            [EventType::IncidentCreated]
        );
        assert!(item_events(None, base[1].clone(), t(2)).is_empty());

        // Modify: two new updates, one event each, in order.
        let next = items(
            &snapshot(
                &[
                    ("u1", "investigating", 1),
                    ("u2", "identified", 3),
                    ("u3", "resolved", 4),
                ],
                "operational",
            ),
            false,
        );
        assert_eq!(
            kinds(&item_events(Some(base[0].clone()), next[0].clone(), t(5))),
            [EventType::IncidentUpdated, EventType::IncidentResolved]
        );
        let component = item_events(Some(base[1].clone()), next[1].clone(), t(5));
        assert_eq!(kinds(&component), [EventType::ComponentStatusChanged]);
        // A replay of the same record gives the same ids.
        assert_eq!(
            component,
            item_events(Some(base[1].clone()), next[1].clone(), t(5))
        );

        // After the baseline, an insert already resolved: created then resolved.
        let late = items(&snapshot(&[("u9", "resolved", 20)], "operational"), false);
        assert_eq!(
            kinds(&item_events(None, late[0].clone(), t(21))),
            [EventType::IncidentCreated, EventType::IncidentResolved]
        );
    }

    #[cfg(feature = "aws")]
    #[test]
    fn items_written_as_nested_maps_are_still_read() {
        let item = &items(
            &snapshot(&[("u1", "investigating", 1)], "operational"),
            true,
        )[0];
        let mut stored: serde_dynamo::Item = serde_dynamo::to_item(item).unwrap();
        assert!(
            matches!(
                stored.get("incident"),
                Some(serde_dynamo::AttributeValue::S(_))
            ),
            "written as a JSON string"
        );
        assert_eq!(
            &serde_dynamo::from_item::<_, StateItem>(stored.clone()).unwrap(),
            item
        );

        let as_map = serde_dynamo::to_attribute_value(item.incident.as_ref().unwrap()).unwrap();
        assert!(matches!(as_map, serde_dynamo::AttributeValue::M(_)));
        stored.insert("incident".into(), as_map);
        assert_eq!(
            &serde_dynamo::from_item::<_, StateItem>(stored.clone()).unwrap(),
            item
        );

        stored.insert(
            "incident".into(),
            serde_dynamo::AttributeValue::S("{\"id\": 5}".into()),
        );
        let err = serde_dynamo::from_item::<_, StateItem>(stored).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn item_round_trips_through_json() {
        let item = &items(
            &snapshot(&[("u1", "investigating", 1)], "operational"),
            true,
        )[0];
        let back: StateItem = serde_json::from_value(serde_json::to_value(item).unwrap()).unwrap();
        assert_eq!(&back, item);
        assert_eq!(back.incident.unwrap().status, IncidentStatus::Investigating);
    }

    #[test]
    fn a_move_marker_is_one_event_and_the_moved_items_are_silent() {
        let snap = snapshot(&[("u1", "investigating", 1)], "major_outage");
        let moved = moved_items(
            items(&snap, false),
            &snap,
            (4, 2),
            Duration::days(30),
            t(30),
        );
        let (marker, records) = moved.split_last().unwrap();
        assert!(marker.sk.starts_with(MOVED_PREFIX));
        for item in records {
            assert!(
                item_events(None, item.clone(), t(31)).is_empty(),
                "{}",
                item.sk
            );
        }
        let events = item_events(None, marker.clone(), t(31));
        assert_eq!(kinds(&events), [EventType::ProviderMoved]);
        assert_eq!(
            events[0].data.moved.as_ref().unwrap().open_now,
            ["Git failures"]
        );
        // A replayed record, or a marker rewritten by a repeated poll: the same event id.
        let again = moved_items(
            items(&snap, false),
            &snap,
            (4, 2),
            Duration::days(30),
            t(40),
        );
        let replayed = item_events(None, again.last().unwrap().clone(), t(41));
        assert_eq!(replayed[0].id, events[0].id);
    }
}
