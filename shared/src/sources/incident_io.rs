//! incident.io's Widget API (`<page>/api/v1/summary`, enabled by the page's owner), for
//! incident.io pages without the Statuspage-compatible API.
//!
//! What it cannot express, and how it is handled:
//! - only ongoing incidents and in-progress or scheduled maintenances are listed: a record
//!   that leaves the lists is resolved (completed) then, once;
//! - only the latest update is shown, without an id: each distinct `last_update_at` becomes an
//!   update `<id>-<hash of that time>`, accumulated from poll to poll (an update posted and
//!   superseded between two polls is never seen);
//! - impact is the worst component impact (`full_outage` → critical, `partial_outage` →
//!   major, `degraded_performance` → minor); `full_outage` components read as major outages.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::{
    Fetcher, PollError, PollOutcome, Previous, document_url, fetch_single, instant, parse_json,
    short_hash,
};
use crate::model::{
    AffectedComponent, ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate, PageInfo,
    Snapshot,
};

pub const SUMMARY: &str = "/api/v1/summary";
const HINT: &str = "is this an incident.io page with its Widget API enabled?";

pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let url = document_url(base, SUMMARY);
    let Some((bytes, validator)) = fetch_single(fetcher, &url, SUMMARY, previous, HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let base_text = base.as_str().trim_end_matches('/');
    let snapshot = parse(&bytes, base_text, previous.and_then(|p| p.snapshot()))?;
    Ok(PollOutcome::single(snapshot, SUMMARY, validator))
}

/// The snapshot of a widget `summary`. `base`: the page URL without a trailing `/`; `prior`:
/// the last snapshot, whose records keep the updates this document no longer shows.
pub fn parse(bytes: &[u8], base: &str, prior: Option<&Snapshot>) -> Result<Snapshot, PollError> {
    let doc: SummaryDoc = parse_json(SUMMARY, bytes, HINT)?;
    Ok(Snapshot {
        page: PageInfo {
            name: doc.page_title,
            url: doc
                .page_url
                .map_or_else(|| base.to_owned(), |u| u.trim_end_matches('/').to_owned()),
            ..PageInfo::default()
        },
        incidents: doc
            .ongoing_incidents
            .into_iter()
            .map(|r| r.into_incident(false, prior.map(|p| p.incidents.as_slice())))
            .collect(),
        maintenances: doc
            .in_progress_maintenances
            .into_iter()
            .chain(doc.scheduled_maintenances)
            .map(|r| r.into_incident(true, prior.map(|p| p.maintenances.as_slice())))
            .collect(),
        ..Snapshot::default()
    })
}

#[derive(Debug, Deserialize)]
struct SummaryDoc {
    #[serde(default)]
    page_title: String,
    page_url: Option<String>,
    /// Required: the field that tells the widget API apart from any other JSON object.
    ongoing_incidents: Vec<RecordDoc>,
    #[serde(default)]
    in_progress_maintenances: Vec<RecordDoc>,
    #[serde(default)]
    scheduled_maintenances: Vec<RecordDoc>,
}

#[derive(Debug, Deserialize)]
struct RecordDoc {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    url: Option<String>,
    last_update_at: Option<String>,
    last_update_message: Option<String>,
    current_worst_impact: Option<String>,
    started_at: Option<String>,
    starts_at: Option<String>,
    scheduled_end_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default)]
    affected_components: Vec<ComponentDoc>,
}

#[derive(Debug, Deserialize)]
struct ComponentDoc {
    id: String,
    #[serde(default)]
    name: String,
    current_status: Option<String>,
}

fn component_status(raw: Option<&str>) -> ComponentStatus {
    match raw {
        Some("full_outage") => ComponentStatus::MajorOutage,
        Some(other) => ComponentStatus::from(other),
        None => ComponentStatus::Unknown(String::new()),
    }
}

impl RecordDoc {
    fn into_incident(self, maintenance: bool, prior: Option<&[Incident]>) -> Incident {
        let status = match self.status.as_str() {
            "maintenance_in_progress" => IncidentStatus::InProgress,
            "maintenance_scheduled" => IncidentStatus::Scheduled,
            "maintenance_complete" => IncidentStatus::Completed,
            other => IncidentStatus::from(other),
        };
        let impact = if maintenance {
            Impact::Maintenance
        } else {
            match self.current_worst_impact.as_deref() {
                Some("full_outage") => Impact::Critical,
                Some("partial_outage") => Impact::Major,
                Some("degraded_performance") => Impact::Minor,
                Some(other) => Impact::Unknown(other.to_owned()),
                None => Impact::None,
            }
        };
        let started = instant(self.started_at.as_deref()).or(instant(self.starts_at.as_deref()));
        let last_at = instant(self.last_update_at.as_deref());
        let mut updates: Vec<IncidentUpdate> = prior
            .and_then(|records| records.iter().find(|r| r.id == self.id))
            .map(|r| r.updates.clone())
            .unwrap_or_default();
        let stamp = self
            .last_update_at
            .clone()
            .or_else(|| self.started_at.clone())
            .or_else(|| self.starts_at.clone())
            .unwrap_or_default();
        let update_id = format!("{}-{}", self.id, short_hash(&stamp));
        if !updates.iter().any(|u| u.id == update_id) {
            updates.push(IncidentUpdate {
                id: update_id,
                status: status.clone(),
                body: self.last_update_message.unwrap_or_default(),
                created_at: last_at.or(started),
                alias: None,
            });
        }
        let created_at: Option<DateTime<Utc>> =
            started.or_else(|| updates.first().and_then(|u| u.created_at));
        Incident {
            id: self.id,
            name: self.name,
            status,
            impact,
            url: self.url,
            components: self
                .affected_components
                .into_iter()
                .map(|c| AffectedComponent {
                    id: c.id,
                    name: c.name,
                    status: component_status(c.current_status.as_deref()),
                })
                .collect(),
            created_at,
            updated_at: last_at,
            resolved_at: None,
            scheduled_for: if maintenance { started } else { None },
            scheduled_until: if maintenance {
                instant(self.scheduled_end_at.as_deref()).or(instant(self.ends_at.as_deref()))
            } else {
                None
            },
            updates,
        }
    }
}
