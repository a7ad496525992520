//! Better Stack (Better Uptime) status pages: `<page>/index.json`, a JSON:API document whose
//! `included` array holds the page's resources, status reports and their updates.
//!
//! What it cannot express, and how it is handled:
//! - updates have ids but no incident status: the last update of a resolved report (one with
//!   `resolved_at`/`ends_at` in the past, or an `operational`/`resolved` aggregate state) reads
//!   as resolved (completed), every other update as investigating (in progress, or scheduled
//!   for a maintenance that has not started);
//! - impact comes from the report's aggregate state: `downtime` → major, `degraded` → minor,
//!   `maintenance` → maintenance; states are compared case-insensitively (the management API
//!   capitalises them);
//! - hosted pages answer 200 for any path with the app's HTML: that is "not a status page".
//!
//! No real body of this format was available; the shape follows Better Stack's documentation.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::{
    Fetcher, PollError, PollOutcome, Previous, document_url, fetch_single, id_text, instant,
    not_status_page, parse_json,
};
use crate::model::{
    AffectedComponent, Component, ComponentStatus, Impact, Incident, IncidentStatus,
    IncidentUpdate, Indicator, PageInfo, Snapshot,
};

pub const INDEX: &str = "/index.json";
const HINT: &str = "is this a Better Stack status page?";

pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let url = document_url(base, INDEX);
    let Some((bytes, validator)) = fetch_single(fetcher, &url, INDEX, previous, HINT).await? else {
        return Ok(PollOutcome::Unchanged);
    };
    let base_text = base.as_str().trim_end_matches('/');
    let snapshot = parse(&bytes, base_text, Utc::now())?;
    Ok(PollOutcome::single(snapshot, INDEX, validator))
}

/// The snapshot of an `index.json`. `base`: the page URL without a trailing `/`; `now` decides
/// whether a report's end (or a maintenance's start) is past.
pub fn parse(bytes: &[u8], base: &str, now: DateTime<Utc>) -> Result<Snapshot, PollError> {
    let not_better_stack = |reason: &str| not_status_page(INDEX, reason, HINT);
    let doc: IndexDoc = parse_json(INDEX, bytes, HINT)?;
    if doc.data.kind != "status_page" {
        return Err(not_better_stack(&format!(
            "data.type is {:?}, not \"status_page\"",
            doc.data.kind
        )));
    }
    let mut snapshot = Snapshot {
        page: page(&doc.data.attributes, base),
        ..Snapshot::default()
    };
    let of_type = |kind: &'static str| doc.included.iter().filter(move |i| i.kind == kind);
    let resource_name = |id: &str| {
        of_type("status_page_resource")
            .find(|r| r.id == id)
            .and_then(|r| r.attributes.public_name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    for resource in of_type("status_page_resource") {
        snapshot.components.push(Component {
            id: resource.id.clone(),
            name: resource.attributes.public_name.clone().unwrap_or_default(),
            status: resource_status(resource.attributes.status.as_deref()),
            is_group: false,
            group_id: resource
                .attributes
                .status_page_section_id
                .as_ref()
                .map(id_text),
            position: None,
            updated_at: None,
        });
    }
    for report in of_type("status_report") {
        let a = &report.attributes;
        let maintenance = a.report_type.as_deref() == Some("maintenance");
        let state = a.aggregate_state.as_deref().unwrap_or("").to_lowercase();
        let ended = instant(a.resolved_at.as_deref())
            .or(instant(a.ends_at.as_deref()))
            .filter(|at| *at <= now);
        let finished = ended.is_some() || matches!(state.as_str(), "operational" | "resolved");
        let (open, done) = if maintenance {
            (IncidentStatus::InProgress, IncidentStatus::Completed)
        } else {
            (IncidentStatus::Investigating, IncidentStatus::Resolved)
        };
        let mut updates: Vec<IncidentUpdate> = of_type("status_update")
            .filter(|u| {
                u.relationships
                    .as_ref()
                    .and_then(|r| r.status_report.as_ref())
                    .is_some_and(|r| id_text(&r.data.id) == report.id)
            })
            .map(|u| IncidentUpdate {
                id: u.id.clone(),
                status: open.clone(),
                body: u.attributes.message.clone().unwrap_or_default(),
                created_at: instant(u.attributes.published_at.as_deref()),
                alias: None,
            })
            .collect();
        updates.sort_by_key(|u| u.created_at);
        let starts = instant(a.starts_at.as_deref());
        let scheduled = maintenance && starts.is_some_and(|s| s > now) && !finished;
        if scheduled {
            for update in &mut updates {
                update.status = IncidentStatus::Scheduled;
            }
        }
        if finished && let Some(last) = updates.last_mut() {
            last.status = done.clone();
        }
        let record = Incident {
            id: report.id.clone(),
            name: a.title.clone().unwrap_or_default(),
            status: if finished {
                done
            } else if scheduled {
                IncidentStatus::Scheduled
            } else {
                open
            },
            impact: match state.as_str() {
                "downtime" => Impact::Major,
                "degraded" => Impact::Minor,
                "maintenance" => Impact::Maintenance,
                _ if maintenance => Impact::Maintenance,
                "" | "operational" | "resolved" => Impact::None,
                other => Impact::Unknown(other.to_owned()),
            },
            url: Some(format!("{base}/reports/{}", report.id)),
            components: a
                .affected_resources
                .iter()
                .map(|r| {
                    let id = id_text(&r.status_page_resource_id);
                    AffectedComponent {
                        name: resource_name(&id),
                        id,
                        status: if finished {
                            ComponentStatus::Operational
                        } else {
                            resource_status(r.status.as_deref())
                        },
                    }
                })
                .collect(),
            created_at: starts.or_else(|| updates.first().and_then(|u| u.created_at)),
            updated_at: updates.last().and_then(|u| u.created_at),
            resolved_at: if finished {
                ended.or_else(|| updates.last().and_then(|u| u.created_at))
            } else {
                None
            },
            scheduled_for: if maintenance { starts } else { None },
            scheduled_until: if maintenance {
                instant(a.ends_at.as_deref())
            } else {
                None
            },
            updates,
        };
        if maintenance {
            snapshot.maintenances.push(record);
        } else {
            snapshot.incidents.push(record);
        }
    }
    Ok(snapshot)
}

fn page(a: &Attributes, base: &str) -> PageInfo {
    let state = a.aggregate_state.as_deref().unwrap_or("").to_lowercase();
    let (indicator, description) = match state.as_str() {
        "operational" => (Indicator::None, "All systems operational"),
        "degraded" => (Indicator::Minor, "Degraded performance"),
        "downtime" => (Indicator::Major, "Downtime"),
        "maintenance" => (Indicator::Maintenance, "Maintenance"),
        other => (Indicator::Unknown(other.to_owned()), "Status unknown"),
    };
    PageInfo {
        name: a.company_name.clone().unwrap_or_default(),
        url: base.to_owned(),
        time_zone: a.timezone.clone(),
        indicator: Some(indicator),
        description: Some(description.into()),
    }
}

fn resource_status(raw: Option<&str>) -> ComponentStatus {
    match raw.map(str::to_lowercase).as_deref() {
        Some("operational") => ComponentStatus::Operational,
        Some("degraded") => ComponentStatus::DegradedPerformance,
        Some("downtime") => ComponentStatus::MajorOutage,
        Some("maintenance") => ComponentStatus::UnderMaintenance,
        Some(other) => ComponentStatus::Unknown(other.to_owned()),
        None => ComponentStatus::Unknown(String::new()),
    }
}

#[derive(Debug, Deserialize)]
struct IndexDoc {
    data: Resource,
    #[serde(default)]
    included: Vec<Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(deserialize_with = "string_id")]
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: Attributes,
    relationships: Option<Relationships>,
}

fn string_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(id_text(&value))
}

#[derive(Debug, Default, Deserialize)]
struct Attributes {
    company_name: Option<String>,
    timezone: Option<String>,
    aggregate_state: Option<String>,
    public_name: Option<String>,
    status: Option<String>,
    status_page_section_id: Option<serde_json::Value>,
    title: Option<String>,
    report_type: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    resolved_at: Option<String>,
    #[serde(default)]
    affected_resources: Vec<AffectedDoc>,
    message: Option<String>,
    published_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AffectedDoc {
    status_page_resource_id: serde_json::Value,
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Relationships {
    status_report: Option<RelationshipOne>,
}

#[derive(Debug, Deserialize)]
struct RelationshipOne {
    data: RelationshipData,
}

#[derive(Debug, Deserialize)]
struct RelationshipData {
    id: serde_json::Value,
}
