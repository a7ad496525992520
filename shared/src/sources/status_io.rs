//! Status.io public status API (`url` = `https://api.status.io/1.0/status/<24-hex page id>`,
//! the page id being in the status page's HTML): components with containers, active
//! incidents with their messages, active and upcoming maintenance.
//!
//! What it cannot express, and how it is handled:
//! - only active incidents and maintenances are listed: leaving the list resolves (completes)
//!   them, once;
//! - messages may lack ids: `<incident>-<hash of the message time>`; message states are read
//!   when present (`Investigating`, `Identified`, `Monitoring`, `Resolved`), else investigating;
//! - status codes: 100 operational, 200 planned maintenance, 300 degraded performance, 400
//!   partial disruption, 500 service disruption, 600 security event (read as major outage);
//!   a component's status is its worst container's; an incident's impact is the worst status
//!   of what it affects.
//!
//! No real body of this format was available; the shape follows public descriptions of it.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::{
    Fetcher, PollError, PollOutcome, Previous, distinct_update_ids, fetch_single, instant,
    parse_json, short_hash,
};
use crate::model::{
    AffectedComponent, Component, ComponentStatus, Impact, Incident, IncidentStatus,
    IncidentUpdate, Indicator, PageInfo, Snapshot,
};

pub const DOCUMENT: &str = "status";
const HINT: &str =
    "is this a Status.io status API URL (https://api.status.io/1.0/status/<page id>)?";

pub async fn poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let Some((bytes, validator)) = fetch_single(fetcher, url, DOCUMENT, previous, HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let snapshot = parse(&bytes, url, previous.and_then(|p| p.snapshot()), Utc::now())?;
    Ok(PollOutcome::single(snapshot, DOCUMENT, validator))
}

/// The snapshot of a status document. `url`: the document's (it is the page's link);
/// `prior`: the last snapshot, which keeps the page's name (the document has none); `now`
/// tells upcoming maintenance from running.
pub fn parse(
    bytes: &[u8],
    url: &Url,
    prior: Option<&Snapshot>,
    now: DateTime<Utc>,
) -> Result<Snapshot, PollError> {
    let doc: Document = parse_json(DOCUMENT, bytes, HINT)?;
    let result = doc.result;
    let mut snapshot = Snapshot {
        page: PageInfo {
            name: prior.map(|p| p.page.name.clone()).unwrap_or_default(),
            url: url.as_str().to_owned(),
            time_zone: None,
            indicator: result
                .status_overall
                .as_ref()
                .map(|o| indicator(o.status_code)),
            description: result
                .status_overall
                .as_ref()
                .and_then(|o| o.status.clone()),
        },
        ..Snapshot::default()
    };
    for component in &result.status {
        let worst = component
            .containers
            .iter()
            .map(|c| c.status_code.unwrap_or(100))
            .chain(component.status_code)
            .max()
            .unwrap_or(100);
        snapshot.components.push(Component {
            id: component.id.clone(),
            name: component.name.clone(),
            status: component_status(worst),
            is_group: false,
            group_id: None,
            position: None,
            updated_at: None,
        });
    }
    let code_of = |id: &str| {
        result.status.iter().find(|c| c.id == id).map(|c| {
            c.containers
                .iter()
                .filter_map(|x| x.status_code)
                .chain(c.status_code)
                .max()
                .unwrap_or(100)
        })
    };
    let to_incident = |record: &RecordDoc, maintenance: bool| {
        let affected: Vec<AffectedComponent> = record
            .components
            .iter()
            .map(|c| AffectedComponent {
                id: c.id.clone(),
                name: c.name.clone(),
                status: component_status(code_of(&c.id).unwrap_or(100)),
            })
            .collect();
        let worst = record
            .components
            .iter()
            .filter_map(|c| code_of(&c.id))
            .max()
            .unwrap_or(0);
        let mut updates: Vec<IncidentUpdate> = record
            .messages
            .iter()
            .map(|m| {
                let at = m.datetime.clone().unwrap_or_default();
                IncidentUpdate {
                    id: m.id.clone().unwrap_or_else(|| {
                        let hex = short_hash(&format!("{}\0{at}", record.id));
                        format!("{}-{hex}", record.id)
                    }),
                    status: match m.state.as_deref().map(str::to_lowercase).as_deref() {
                        Some(
                            state @ ("investigating" | "identified" | "monitoring" | "resolved"),
                        ) => IncidentStatus::from(state),
                        _ if maintenance => IncidentStatus::InProgress,
                        _ => IncidentStatus::Investigating,
                    },
                    body: m.details.clone().unwrap_or_default(),
                    created_at: instant(m.datetime.as_deref()),
                    alias: None,
                }
            })
            .collect();
        updates.sort_by_key(|u| u.created_at);
        distinct_update_ids(&mut updates);
        let upcoming = maintenance
            && instant(record.datetime_planned_start.as_deref()).is_some_and(|s| s > now);
        if upcoming {
            for update in &mut updates {
                update.status = IncidentStatus::Scheduled;
            }
        }
        Incident {
            id: record.id.clone(),
            name: record.name.clone(),
            status: updates.last().map_or(
                if upcoming {
                    IncidentStatus::Scheduled
                } else if maintenance {
                    IncidentStatus::InProgress
                } else {
                    IncidentStatus::Investigating
                },
                |u| u.status.clone(),
            ),
            impact: if maintenance {
                Impact::Maintenance
            } else {
                match worst {
                    500.. => Impact::Critical,
                    400..=499 => Impact::Major,
                    300..=399 => Impact::Minor,
                    _ => Impact::Unknown("unspecified".into()),
                }
            },
            url: None,
            components: affected,
            created_at: instant(record.datetime_open.as_deref())
                .or(instant(record.datetime_planned_start.as_deref())),
            updated_at: updates.last().and_then(|u| u.created_at),
            resolved_at: None,
            scheduled_for: if maintenance {
                instant(record.datetime_planned_start.as_deref())
            } else {
                None
            },
            scheduled_until: if maintenance {
                instant(record.datetime_planned_end.as_deref())
            } else {
                None
            },
            updates,
        }
    };
    snapshot.incidents = result
        .incidents
        .iter()
        .map(|r| to_incident(r, false))
        .collect();
    snapshot.maintenances = result
        .maintenance
        .active
        .iter()
        .chain(&result.maintenance.upcoming)
        .map(|r| to_incident(r, true))
        .collect();
    Ok(snapshot)
}

fn indicator(code: Option<u32>) -> Indicator {
    match code.unwrap_or(0) {
        100 => Indicator::None,
        200 => Indicator::Maintenance,
        300 => Indicator::Minor,
        400 => Indicator::Major,
        500 | 600 => Indicator::Critical,
        other => Indicator::Unknown(other.to_string()),
    }
}

fn component_status(code: u32) -> ComponentStatus {
    match code {
        100 => ComponentStatus::Operational,
        200 => ComponentStatus::UnderMaintenance,
        300 => ComponentStatus::DegradedPerformance,
        400 => ComponentStatus::PartialOutage,
        500 | 600 => ComponentStatus::MajorOutage,
        other => ComponentStatus::Unknown(other.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct Document {
    result: ResultDoc,
}

#[derive(Debug, Deserialize)]
struct ResultDoc {
    status_overall: Option<OverallDoc>,
    #[serde(default)]
    status: Vec<ComponentDoc>,
    #[serde(default)]
    incidents: Vec<RecordDoc>,
    #[serde(default)]
    maintenance: MaintenanceDoc,
}

#[derive(Debug, Deserialize)]
struct OverallDoc {
    status: Option<String>,
    status_code: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ComponentDoc {
    id: String,
    #[serde(default)]
    name: String,
    status_code: Option<u32>,
    #[serde(default)]
    containers: Vec<ContainerDoc>,
}

#[derive(Debug, Deserialize)]
struct ContainerDoc {
    status_code: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct MaintenanceDoc {
    #[serde(default)]
    active: Vec<RecordDoc>,
    #[serde(default)]
    upcoming: Vec<RecordDoc>,
}

#[derive(Debug, Deserialize)]
struct RecordDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    name: String,
    datetime_open: Option<String>,
    datetime_planned_start: Option<String>,
    datetime_planned_end: Option<String>,
    #[serde(default)]
    messages: Vec<MessageDoc>,
    #[serde(default)]
    components: Vec<NamedDoc>,
}

#[derive(Debug, Deserialize)]
struct MessageDoc {
    #[serde(rename = "_id")]
    id: Option<String>,
    datetime: Option<String>,
    details: Option<String>,
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NamedDoc {
    #[serde(rename = "_id", alias = "id")]
    id: String,
    #[serde(default)]
    name: String,
}
