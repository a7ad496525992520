//! The normalized model every status-page platform maps into.
//!
//! Enums keep values they do not know as `Unknown(raw)`: vendors add values without notice
//! (Statuspage's `indicator: "maintenance"`, incident.io's `full_outage`), and an unknown value
//! must never read as "operational".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Timestamps are written as RFC 3339 (chrono's `Serialize`). chrono's `Deserialize` reads
/// them with its lenient general parser; its RFC 3339 parser is several times faster, and the
/// notifier reads about sixteen timestamps per stream record. Anything else still goes through
/// the lenient parser.
mod timestamp {
    use std::fmt;

    use chrono::{DateTime, Utc};
    use serde::Deserializer;
    use serde::de::{self, Visitor};

    pub fn option<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(OptionalTimestamp)
    }

    struct OptionalTimestamp;

    impl<'de> Visitor<'de> for OptionalTimestamp {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(Timestamp).map(Some)
        }
    }

    struct Timestamp;

    impl Visitor<'_> for Timestamp {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .or_else(|_| text.parse::<DateTime<Utc>>())
                .map_err(E::custom)
        }
    }
}

/// Defines a string enum whose unknown values are kept verbatim instead of failing the parse.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)+
            /// A value this version of statusrelay does not know, kept as the source wrote it.
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(raw) => raw,
                }
            }
        }

        impl From<String> for $name {
            fn from(raw: String) -> Self {
                match raw.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Unknown(raw),
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self::from(raw.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

open_enum!(
    /// How bad an incident is, as the provider rates it.
    Impact {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
        Maintenance => "maintenance",
    }
);

open_enum!(
    /// Status of an incident or a scheduled maintenance (Statuspage shares one vocabulary).
    IncidentStatus {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Postmortem => "postmortem",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
);

open_enum!(
    /// Status of one component (a service or surface on the page).
    ComponentStatus {
        Operational => "operational",
        DegradedPerformance => "degraded_performance",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
        UnderMaintenance => "under_maintenance",
    }
);

open_enum!(
    /// The page-wide indicator.
    Indicator {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
        Maintenance => "maintenance",
    }
);

impl Impact {
    /// Orders impacts for minimum-impact filters; unknown values rank as major so that a
    /// vendor's new severity is never filtered out as harmless.
    pub fn rank(&self) -> u8 {
        match self {
            Impact::None => 0,
            Impact::Maintenance => 1,
            Impact::Minor => 2,
            Impact::Major | Impact::Unknown(_) => 3,
            Impact::Critical => 4,
        }
    }
}

impl IncidentStatus {
    /// True once an incident or maintenance is over; unknown values count as still open.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Resolved | Self::Postmortem | Self::Completed)
    }

    /// Maintenance in progress (Statuspage's `verifying` is the tail of the work window).
    pub fn is_in_progress(&self) -> bool {
        matches!(self, Self::InProgress | Self::Verifying)
    }
}

impl ComponentStatus {
    pub fn is_operational(&self) -> bool {
        matches!(self, Self::Operational)
    }
}

/// The kind of entity an incident-like record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Incident,
    Maintenance,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Incident => "incident",
            EntityKind::Maintenance => "maintenance",
        }
    }
}

/// A provider (vendor) as configured by the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// The status page's base URL, without a trailing slash.
    pub url: String,
}

/// Everything one successful poll of a status page saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub page: PageInfo,
    pub components: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub maintenances: Vec<Incident>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    pub name: String,
    pub url: String,
    pub time_zone: Option<String>,
    pub indicator: Option<Indicator>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    /// Group headers are components too on Statuspage; they carry no status of their own.
    #[serde(default)]
    pub is_group: bool,
    pub group_id: Option<String>,
    pub position: Option<i64>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// An incident or a scheduled maintenance, with its updates in chronological order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub url: Option<String>,
    pub components: Vec<AffectedComponent>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub scheduled_until: Option<DateTime<Utc>>,
    /// Chronological, oldest first, whatever order the source used.
    pub updates: Vec<IncidentUpdate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    pub id: String,
    pub status: IncidentStatus,
    pub body: String,
    #[serde(default, deserialize_with = "timestamp::option")]
    pub created_at: Option<DateTime<Utc>>,
    /// The id the same update has when read through another channel of its source (a
    /// Statuspage update through the JSON API or through the history feed): an update seen
    /// under either id is not announced again when a page switches channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl Incident {
    /// The time of the latest activity the source shows for this record.
    pub fn last_activity(&self) -> Option<DateTime<Utc>> {
        let latest_update = self.updates.iter().filter_map(|u| u.created_at).max();
        [
            latest_update,
            self.updated_at,
            self.resolved_at,
            self.created_at,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_strictly_fast_and_leniently_otherwise() {
        let update = |created_at: &str| {
            serde_json::from_str::<IncidentUpdate>(&format!(
                r#"{{"id": "u", "status": "resolved", "body": "", {created_at}}}"#
            ))
        };
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 29, 20, 0, 0).unwrap();
        for written in [
            r#""created_at": "2026-11-29T20:00:00Z""#,
            r#""created_at": "2026-11-29T12:00:00-08:00""#,
            r#""created_at": "2026-11-29T20:00:00.000+00:00""#,
            // Lenient: a space instead of `T`.
            r#""created_at": "2026-11-29 20:00:00Z""#,
        ] {
            assert_eq!(update(written).unwrap().created_at, Some(at), "{written}");
        }
        assert_eq!(update(r#""created_at": null"#).unwrap().created_at, None);
        assert_eq!(
            serde_json::from_str::<IncidentUpdate>(r#"{"id": "u", "status": "x", "body": ""}"#)
                .unwrap()
                .created_at,
            None
        );
        let err = update(r#""created_at": "yesterday""#).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        // What is written is read back.
        let written =
            serde_json::to_string(&update(r#""created_at": "2026-11-29T20:00:00.123Z""#).unwrap())
                .unwrap();
        let back: IncidentUpdate = serde_json::from_str(&written).unwrap();
        assert_eq!(back.created_at.unwrap().timestamp_subsec_millis(), 123);
    }

    #[test]
    fn unknown_values_round_trip_and_are_not_operational() {
        let status: ComponentStatus = serde_json::from_str("\"full_outage\"").unwrap();
        assert_eq!(status, ComponentStatus::Unknown("full_outage".into()));
        assert!(!status.is_operational());
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"full_outage\"");

        let indicator: Indicator = serde_json::from_str("\"maintenance\"").unwrap();
        assert_eq!(indicator, Indicator::Maintenance);
        let odd: IncidentStatus = "canceled".into();
        assert!(
            !odd.is_finished(),
            "an unknown status must keep the incident open"
        );
    }

    #[test]
    fn unknown_impact_ranks_as_major() {
        assert_eq!(Impact::from("severe").rank(), Impact::Major.rank());
        assert!(Impact::Critical.rank() > Impact::Minor.rank());
    }
}
