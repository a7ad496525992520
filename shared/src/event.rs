//! The event contract: what routes receive, and how an event id is derived.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::model::{
    AffectedComponent, ComponentStatus, EntityKind, Impact, IncidentStatus, Provider,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "incident.created")]
    IncidentCreated,
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
    #[serde(rename = "incident.postmortem")]
    IncidentPostmortem,
    #[serde(rename = "maintenance.scheduled")]
    MaintenanceScheduled,
    #[serde(rename = "maintenance.started")]
    MaintenanceStarted,
    #[serde(rename = "maintenance.updated")]
    MaintenanceUpdated,
    #[serde(rename = "maintenance.completed")]
    MaintenanceCompleted,
    #[serde(rename = "component.status_changed")]
    ComponentStatusChanged,
    /// Every record of the page changed identity at once (a migration to another platform or
    /// page): reported once instead of N resolutions and N new incidents.
    #[serde(rename = "provider.moved")]
    ProviderMoved,
    /// statusrelay could not read the page for `settings.unreachable_after` polls in a row:
    /// its incidents are not being followed (told once per outage of the page itself).
    #[serde(rename = "provider.unreachable")]
    ProviderUnreachable,
    /// The first good poll after `provider.unreachable`.
    #[serde(rename = "provider.recovered")]
    ProviderRecovered,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::IncidentCreated,
        EventType::IncidentUpdated,
        EventType::IncidentResolved,
        EventType::IncidentPostmortem,
        EventType::MaintenanceScheduled,
        EventType::MaintenanceStarted,
        EventType::MaintenanceUpdated,
        EventType::MaintenanceCompleted,
        EventType::ComponentStatusChanged,
        EventType::ProviderMoved,
        EventType::ProviderUnreachable,
        EventType::ProviderRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::IncidentCreated => "incident.created",
            EventType::IncidentUpdated => "incident.updated",
            EventType::IncidentResolved => "incident.resolved",
            EventType::IncidentPostmortem => "incident.postmortem",
            EventType::MaintenanceScheduled => "maintenance.scheduled",
            EventType::MaintenanceStarted => "maintenance.started",
            EventType::MaintenanceUpdated => "maintenance.updated",
            EventType::MaintenanceCompleted => "maintenance.completed",
            EventType::ComponentStatusChanged => "component.status_changed",
            EventType::ProviderMoved => "provider.moved",
            EventType::ProviderUnreachable => "provider.unreachable",
            EventType::ProviderRecovered => "provider.recovered",
        }
    }

    /// Events about statusrelay's own view of a page, not the vendor's news: routes send them
    /// to machine destinations (webhook, SNS, console) by default, to chat only when their
    /// `events` name them.
    pub fn is_provider_health(self) -> bool {
        matches!(
            self,
            EventType::ProviderUnreachable | EventType::ProviderRecovered
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change, as delivered to every route (the webhook body is this, serialized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub id: String,
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    pub provider: ProviderRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<ProviderMove>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ProviderHealth>,
}

/// What `provider.unreachable` and `provider.recovered` say about the polls of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHealth {
    /// Failed polls in a row (for `provider.recovered`: before this good one).
    pub failed_polls: u32,
    /// The last good poll before the failures, if there was one.
    #[serde(default)]
    pub last_good_poll: Option<DateTime<Utc>>,
    /// The latest failure, as the log said it.
    pub last_error: String,
}

/// What a `provider.moved` event says: how many records the page had and has, and what is
/// open on it now (recorded without an announcement of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMove {
    pub records_before: usize,
    pub records_now: usize,
    /// Names of the incidents and maintenances open on the page now.
    pub open_now: Vec<String>,
    /// Set when statusrelay found the page elsewhere or as another platform after its polls
    /// failed: what to write in the config instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocated: Option<Relocated>,
}

/// Where a provider's page was and is: the config's URL and platform, and where it reads now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relocated {
    pub from_url: String,
    pub from_platform: String,
    pub to_url: String,
    pub to_platform: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRef {
    pub id: String,
    pub name: String,
    pub url: String,
}

impl From<Provider> for ProviderRef {
    fn from(provider: Provider) -> ProviderRef {
        ProviderRef {
            id: provider.id,
            name: provider.name,
            url: provider.url,
        }
    }
}

/// An incident, or a maintenance (which also carries its window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRef {
    pub id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub url: Option<String>,
    pub components: Vec<AffectedComponent>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_opt"
    )]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_opt"
    )]
    pub scheduled_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRef {
    pub id: String,
    pub status: IncidentStatus,
    pub body: String,
    #[serde(serialize_with = "rfc3339_opt")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentChange {
    pub id: String,
    pub name: String,
    pub old_status: Option<ComponentStatus>,
    pub new_status: ComponentStatus,
}

impl Event {
    /// A `provider.moved` event. `occurrence` names the move (what the new page holds), so
    /// the same move replayed keeps its id and a later move gets another.
    pub fn provider_moved(
        provider: ProviderRef,
        occurrence: &str,
        timestamp: DateTime<Utc>,
        moved: ProviderMove,
    ) -> Event {
        Event {
            kind: EventType::ProviderMoved,
            id: event_id(
                &provider.id,
                "provider",
                occurrence,
                EventType::ProviderMoved,
            ),
            timestamp,
            data: EventData {
                provider,
                incident: None,
                update: None,
                component: None,
                moved: Some(moved),
                health: None,
            },
        }
    }

    /// `provider.unreachable` or `provider.recovered`; `occurrence` tells one outage of the
    /// page from the next (the unreachable event's announcement time, shared by its recovery).
    pub fn provider_health(
        kind: EventType,
        provider: ProviderRef,
        occurrence: &str,
        timestamp: DateTime<Utc>,
        health: ProviderHealth,
    ) -> Event {
        debug_assert!(kind.is_provider_health());
        Event {
            kind,
            id: event_id(&provider.id, "polls", occurrence, kind),
            timestamp,
            data: EventData {
                provider,
                incident: None,
                update: None,
                component: None,
                moved: None,
                health: Some(health),
            },
        }
    }

    /// The entity (incident or maintenance) this event is about, with its kind.
    pub fn entity_kind(&self) -> Option<EntityKind> {
        match self.kind {
            EventType::ComponentStatusChanged
            | EventType::ProviderMoved
            | EventType::ProviderUnreachable
            | EventType::ProviderRecovered => None,
            EventType::MaintenanceScheduled
            | EventType::MaintenanceStarted
            | EventType::MaintenanceUpdated
            | EventType::MaintenanceCompleted => Some(EntityKind::Maintenance),
            _ => Some(EntityKind::Incident),
        }
    }

    /// One readable line, used by the console route and in logs.
    pub fn summary_line(&self) -> String {
        let provider = &self.data.provider.name;
        let when = self.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Some(component) = &self.data.component {
            let old = component
                .old_status
                .as_ref()
                .map_or("(new)", ComponentStatus::as_str);
            return format!(
                "{when} {provider} {}: {} {old} -> {}",
                self.kind, component.name, component.new_status
            );
        }
        let Some(incident) = &self.data.incident else {
            return format!("{when} {provider} {}", self.kind);
        };
        let mut line = format!(
            "{when} {provider} {}: {} [{}, impact {}]",
            self.kind, incident.name, incident.status, incident.impact
        );
        if let Some(update) = &self.data.update {
            let body = one_line(&update.body, 160);
            if !body.is_empty() {
                line.push_str(" - ");
                line.push_str(&body);
            }
        }
        if let Some(url) = &incident.url {
            line.push(' ');
            line.push_str(url);
        }
        line
    }
}

/// Derives the stable event id from what the event is about, so a retry or a re-run of the
/// same change yields the same id and a different change never does.
pub fn event_id(provider_id: &str, entity: &str, occurrence: &str, kind: EventType) -> String {
    let mut hasher = Sha256::new();
    for part in [provider_id, entity, occurrence, kind.as_str()] {
        hasher.update(part.as_bytes());
        // A separator that cannot occur in the parts keeps ("a","bc") apart from ("ab","c").
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex = hex::encode(&digest[..16]);
    format!("evt_{hex}")
}

/// Collapses whitespace and HTML line breaks, and cuts on a character boundary.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let replaced = text.replace("<br />", " ").replace("<br>", " ");
    let mut out = String::new();
    for word in replaced.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > max_chars {
        let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
        return format!("{cut}…");
    }
    out
}

fn rfc3339<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn rfc3339_opt<S: Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => rfc3339(value, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_and_distinct() {
        let a = event_id("github", "incident:abc", "upd1", EventType::IncidentCreated);
        assert_eq!(
            a,
            event_id("github", "incident:abc", "upd1", EventType::IncidentCreated)
        );
        assert_ne!(
            a,
            event_id(
                "github",
                "incident:abc",
                "upd1",
                EventType::IncidentResolved
            )
        );
        assert_ne!(
            event_id("git", "hubincident:abc", "upd1", EventType::IncidentCreated),
            a
        );
        assert!(a.starts_with("evt_") && a.len() == 36 && !a.contains('.'));
    }

    #[test]
    fn one_line_cuts_on_char_boundaries() {
        let text = "Ünïcödé<br />line\r\ntwo 🚀🚀🚀";
        assert_eq!(one_line(text, 100), "Ünïcödé line two 🚀🚀🚀");
        let cut = one_line(text, 15);
        assert_eq!(cut, "Ünïcödé line t…");
        assert!(cut.ends_with('…'));
    }
}
