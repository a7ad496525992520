//! Google Cloud Service Health (`status.cloud.google.com/incidents.json`; Google Workspace
//! serves the same shape at `www.google.com/appsstatus/dashboard/incidents.json`): one JSON
//! array of every incident, history included, updates newest first.
//!
//! What it cannot express, and how it is handled:
//! - updates have no id: `<incident>-<hash of the update's created time>`;
//! - updates carry a service status, not an incident status: `AVAILABLE` reads as resolved,
//!   anything else as investigating; an incident with `end` is resolved even if no update says so;
//! - impact: `SERVICE_OUTAGE` → critical, `SERVICE_DISRUPTION` → major, `SERVICE_INFORMATION`
//!   → minor; affected products become the affected components; no maintenances.

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

pub const INCIDENTS: &str = "/incidents.json";
const HINT: &str = "is this a Google Cloud or Workspace status dashboard?";

pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let url = document_url(base, INCIDENTS);
    let Some((bytes, validator)) = fetch_single(fetcher, &url, INCIDENTS, previous, HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let snapshot = parse(&bytes, base.as_str().trim_end_matches('/'))?;
    Ok(PollOutcome::single(snapshot, INCIDENTS, validator))
}

/// The snapshot of an `incidents.json`; `base`: the dashboard URL without a trailing `/`.
pub fn parse(bytes: &[u8], base: &str) -> Result<Snapshot, PollError> {
    let docs: Vec<IncidentDoc> = parse_json(INCIDENTS, bytes, HINT)?;
    Ok(Snapshot {
        page: PageInfo {
            name: if base.contains("google.com/appsstatus") {
                "Google Workspace".into()
            } else {
                "Google Cloud".into()
            },
            url: base.to_owned(),
            ..PageInfo::default()
        },
        incidents: docs.into_iter().map(|d| d.into_incident(base)).collect(),
        ..Snapshot::default()
    })
}

#[derive(Debug, Deserialize)]
struct IncidentDoc {
    id: String,
    #[serde(default)]
    external_desc: String,
    begin: Option<String>,
    created: Option<String>,
    end: Option<String>,
    modified: Option<String>,
    status_impact: Option<String>,
    uri: Option<String>,
    #[serde(default)]
    updates: Vec<UpdateDoc>,
    #[serde(default)]
    affected_products: Vec<ProductDoc>,
}

#[derive(Debug, Deserialize)]
struct UpdateDoc {
    created: Option<String>,
    #[serde(default)]
    text: String,
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProductDoc {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
}

impl IncidentDoc {
    fn into_incident(self, base: &str) -> Incident {
        let ended = instant(self.end.as_deref());
        let impact = match self.status_impact.as_deref() {
            Some("SERVICE_OUTAGE") => Impact::Critical,
            Some("SERVICE_DISRUPTION") => Impact::Major,
            Some("SERVICE_INFORMATION") => Impact::Minor,
            Some(other) => Impact::Unknown(other.to_lowercase()),
            None => Impact::None,
        };
        let product_status = match (&ended, &impact) {
            (Some(_), _) => ComponentStatus::Operational,
            (None, Impact::Critical) => ComponentStatus::MajorOutage,
            (None, Impact::Major) => ComponentStatus::PartialOutage,
            _ => ComponentStatus::DegradedPerformance,
        };
        let mut updates: Vec<IncidentUpdate> = self
            .updates
            .into_iter()
            .rev()
            .map(|u| {
                let created = u.created.clone().unwrap_or_default();
                let hex = short_hash(&format!("{}\0{created}", self.id));
                IncidentUpdate {
                    id: format!("{}-{hex}", self.id),
                    status: if u.status.as_deref() == Some("AVAILABLE") {
                        IncidentStatus::Resolved
                    } else {
                        IncidentStatus::Investigating
                    },
                    body: u.text,
                    created_at: instant(u.created.as_deref()),
                    alias: None,
                }
            })
            .collect();
        updates.sort_by_key(|u| u.created_at);
        let status = if ended.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        Incident {
            url: Some(match &self.uri {
                Some(uri) => format!("{base}/{}", uri.trim_start_matches('/')),
                None => format!("{base}/incidents/{}", self.id),
            }),
            id: self.id,
            name: self.external_desc,
            status,
            impact,
            components: self
                .affected_products
                .into_iter()
                .map(|p| AffectedComponent {
                    id: p.id,
                    name: p.title,
                    status: product_status.clone(),
                })
                .collect(),
            created_at: instant(self.begin.as_deref()).or(instant(self.created.as_deref())),
            updated_at: instant(self.modified.as_deref()),
            resolved_at: ended,
            scheduled_for: None,
            scheduled_until: None,
            updates,
        }
    }
}
