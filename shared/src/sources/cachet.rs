//! Cachet (self-hosted, API v1): `/api/v1/components`, `/api/v1/incidents` (newest 50) and
//! `/api/v1/incidents/{id}/updates`.
//!
//! What Cachet cannot express, and how it is handled:
//! - timestamps have **no time zone** (`2026-11-20 08:00:00`, the server's local time): they
//!   are read as UTC; RFC 3339 values are read as such;
//! - no impact: it is taken from the incident's component (major outage → critical, partial
//!   outage → major, performance issues → minor), else unspecified (which never filters out);
//! - updates need one request per incident: they are fetched for incidents that are open or
//!   whose `updated_at` moved since the last poll (all of the newest 50 on the first poll);
//!   the incident's own `message` is its first update, `<id>-message`;
//! - scheduled maintenance is an incident with status 0 (`Scheduled`): it is announced as
//!   scheduled; Cachet v1 says nothing of its start or end;
//! - `per_page` and ids may be strings or numbers; both are read.

use serde::Deserialize;
use url::Url;

use super::{
    Fetched, Fetcher, Id, PollError, PollOutcome, Previous, Validators, document_url,
    not_status_page, parse_json, reuse, zoneless,
};
use crate::model::{
    AffectedComponent, Component, ComponentStatus, Impact, Incident, IncidentStatus,
    IncidentUpdate, Indicator, PageInfo, Snapshot,
};

pub const COMPONENTS: &str = "/api/v1/components";
pub const INCIDENTS: &str = "/api/v1/incidents";
const HINT: &str = "is this a Cachet page with its API enabled?";

pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let validator = |doc: &str| previous.and_then(|p| p.validators.get(doc));
    let mut components_url = document_url(base, COMPONENTS);
    components_url.set_query(Some("per_page=100"));
    let mut incidents_url = document_url(base, INCIDENTS);
    incidents_url.set_query(Some("sort=id&order=desc&per_page=50"));
    let (components, incidents) = tokio::join!(
        fetcher.get(&components_url, COMPONENTS, validator(COMPONENTS)),
        fetcher.get(&incidents_url, INCIDENTS, validator(INCIDENTS)),
    );
    let (mut components, mut incidents) = (components?, incidents?);
    if matches!(
        (&components, &incidents),
        (Fetched::NotModified, Fetched::NotModified)
    ) && previous.is_some()
    {
        return Ok(PollOutcome::Unchanged);
    }
    let prior = previous.and_then(|p| p.snapshot());
    if prior.is_none() {
        for (fetched, url, doc) in [
            (&mut components, &components_url, COMPONENTS),
            (&mut incidents, &incidents_url, INCIDENTS),
        ] {
            if matches!(fetched, Fetched::NotModified) {
                *fetched = fetcher.get(url, doc, None).await?;
            }
        }
    }
    let not_cachet = |doc: &str, reason: &str| not_status_page(doc, reason, HINT);
    let base_text = base.as_str().trim_end_matches('/');
    let mut validators = Validators::new();
    let mut snapshot = Snapshot::default();
    match components {
        Fetched::Body { bytes, validator } => {
            snapshot.components = parse_components(&bytes)?;
            validators.insert(COMPONENTS.to_owned(), validator);
        }
        Fetched::NotModified => reuse(previous, COMPONENTS, &mut validators, |p| {
            snapshot.components = p.components.clone()
        })?,
        Fetched::NotFound => return Err(not_cachet(COMPONENTS, "HTTP 404")),
    }
    let docs: Vec<IncidentDoc> = match incidents {
        Fetched::Body { bytes, validator } => {
            validators.insert(INCIDENTS.to_owned(), validator);
            parse_incidents(&bytes)?
        }
        Fetched::NotModified => {
            reuse(previous, INCIDENTS, &mut validators, |p| {
                snapshot.incidents = p.incidents.clone();
                snapshot.maintenances = p.maintenances.clone();
            })?;
            Vec::new()
        }
        Fetched::NotFound => return Err(not_cachet(INCIDENTS, "HTTP 404")),
    };
    for doc in docs {
        let id = doc.id.0.clone();
        let known = prior
            .and_then(|p| {
                p.incidents
                    .iter()
                    .chain(&p.maintenances)
                    .find(|i| i.id == id)
            })
            .cloned();
        let changed = known.as_ref().is_none_or(|k| {
            k.updated_at != zoneless(doc.updated_at.as_deref()) || !k.status.is_finished()
        });
        let updates = if changed {
            let mut url = document_url(base, &format!("{INCIDENTS}/{id}/updates"));
            url.set_query(Some("sort=id&order=asc&per_page=100"));
            let document = format!("{INCIDENTS}/{id}/updates");
            match fetcher.get(&url, &document, None).await? {
                Fetched::Body { bytes, .. } => parse_updates(&document, &bytes)?,
                // Older Cachet versions have no updates endpoint.
                Fetched::NotFound | Fetched::NotModified => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let record = match (changed, known) {
            (false, Some(known)) => known,
            _ => doc.into_incident(updates, &snapshot.components, base_text),
        };
        file(&mut snapshot, record);
    }
    snapshot.page = page(&snapshot.components, prior, base);
    Ok(PollOutcome::Fetched {
        snapshot,
        validators,
        documents: None,
    })
}

/// The enabled components of `/api/v1/components`.
pub fn parse_components(bytes: &[u8]) -> Result<Vec<Component>, PollError> {
    let doc: Envelope<ComponentDoc> = parse_json(COMPONENTS, bytes, HINT)?;
    Ok(doc
        .data
        .into_iter()
        .filter(|c| c.enabled.unwrap_or(true))
        .map(ComponentDoc::into_component)
        .collect())
}

/// The visible incidents of `/api/v1/incidents`, each to be completed with its updates
/// ([`IncidentDoc::into_incident`]).
pub fn parse_incidents(bytes: &[u8]) -> Result<Vec<IncidentDoc>, PollError> {
    let doc: Envelope<IncidentDoc> = parse_json(INCIDENTS, bytes, HINT)?;
    Ok(doc
        .data
        .into_iter()
        .filter(|d| d.visible.unwrap_or(1) != 0)
        .collect())
}

/// The updates of one incident (`document` = `/api/v1/incidents/<id>/updates`).
pub fn parse_updates(document: &str, bytes: &[u8]) -> Result<Vec<UpdateDoc>, PollError> {
    Ok(parse_json::<Envelope<UpdateDoc>>(document, bytes, HINT)?.data)
}

/// Files a record: Cachet's scheduled incidents are the snapshot's maintenances.
pub fn file(snapshot: &mut Snapshot, record: Incident) {
    if record.status == IncidentStatus::Scheduled {
        snapshot.maintenances.push(record);
    } else {
        snapshot.incidents.push(record);
    }
}

/// The page: Cachet's API has no page document, so the name is the last snapshot's (or the
/// host) and the indicator the worst component status.
pub fn page(components: &[Component], prior: Option<&Snapshot>, base: &Url) -> PageInfo {
    let worst = components
        .iter()
        .map(|c| component_rank(&c.status))
        .max()
        .unwrap_or(0);
    PageInfo {
        name: prior
            .map(|p| p.page.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| base.host_str().unwrap_or("Cachet").to_owned()),
        url: base.as_str().trim_end_matches('/').to_owned(),
        time_zone: None,
        indicator: Some(match worst {
            0 => Indicator::None,
            1 => Indicator::Minor,
            2 => Indicator::Major,
            _ => Indicator::Critical,
        }),
        description: None,
    }
}

fn component_rank(status: &ComponentStatus) -> u8 {
    match status {
        ComponentStatus::DegradedPerformance => 1,
        ComponentStatus::PartialOutage => 2,
        ComponentStatus::MajorOutage => 3,
        _ => 0,
    }
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct ComponentDoc {
    id: Id,
    #[serde(default)]
    name: String,
    status: Option<Id>,
    group_id: Option<Id>,
    order: Option<Id>,
    enabled: Option<bool>,
    updated_at: Option<String>,
}

impl ComponentDoc {
    fn into_component(self) -> Component {
        Component {
            id: self.id.0,
            name: self.name,
            status: component_status(self.status.as_ref().map(|s| s.0.as_str())),
            is_group: false,
            group_id: self
                .group_id
                .map(|g| g.0)
                .filter(|g| g != "0" && g != "null"),
            position: self.order.and_then(|o| o.0.parse().ok()),
            updated_at: zoneless(self.updated_at.as_deref()),
        }
    }
}

fn component_status(raw: Option<&str>) -> ComponentStatus {
    match raw {
        Some("1") => ComponentStatus::Operational,
        Some("2") => ComponentStatus::DegradedPerformance,
        Some("3") => ComponentStatus::PartialOutage,
        Some("4") => ComponentStatus::MajorOutage,
        Some(other) => ComponentStatus::Unknown(other.to_owned()),
        None => ComponentStatus::Unknown(String::new()),
    }
}

fn incident_status(raw: &str) -> IncidentStatus {
    match raw {
        "0" => IncidentStatus::Scheduled,
        "1" => IncidentStatus::Investigating,
        "2" => IncidentStatus::Identified,
        "3" => IncidentStatus::Monitoring,
        "4" => IncidentStatus::Resolved,
        other => IncidentStatus::Unknown(other.to_owned()),
    }
}

/// An incident as `/api/v1/incidents` lists it, before its updates are fetched.
#[derive(Debug, Deserialize)]
pub struct IncidentDoc {
    id: Id,
    component_id: Option<Id>,
    #[serde(default)]
    name: String,
    status: Option<Id>,
    visible: Option<u8>,
    #[serde(default)]
    message: String,
    scheduled_at: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// One update of an incident, as its updates document lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateDoc {
    id: Id,
    status: Option<Id>,
    #[serde(default)]
    message: String,
    created_at: Option<String>,
}

impl IncidentDoc {
    pub fn id(&self) -> &str {
        &self.id.0
    }

    /// The incident with its updates; `components` gives the impact of the component it
    /// names, `base` (the page URL without a trailing `/`) its link.
    pub fn into_incident(
        self,
        updates: Vec<UpdateDoc>,
        components: &[Component],
        base: &str,
    ) -> Incident {
        let status = incident_status(self.status.as_ref().map_or("", |s| s.0.as_str()));
        let created = zoneless(self.created_at.as_deref());
        let component = self
            .component_id
            .as_ref()
            .and_then(|id| components.iter().find(|c| c.id == id.0));
        let impact = match component.map(|c| &c.status) {
            _ if status == IncidentStatus::Scheduled => Impact::Maintenance,
            Some(ComponentStatus::MajorOutage) => Impact::Critical,
            Some(ComponentStatus::PartialOutage) => Impact::Major,
            Some(ComponentStatus::DegradedPerformance) => Impact::Minor,
            _ => Impact::Unknown("unspecified".into()),
        };
        // The incident's own message opens it. Cachet does not keep the status it was opened
        // with: with later updates it is taken as investigating, alone it is the current one.
        let first_status = if updates.is_empty() || status == IncidentStatus::Scheduled {
            status.clone()
        } else {
            IncidentStatus::Investigating
        };
        let mut all = vec![IncidentUpdate {
            id: format!("{}-message", self.id.0),
            status: first_status,
            body: self.message,
            created_at: created,
            alias: None,
        }];
        let mut sorted: Vec<UpdateDoc> = updates;
        sorted.sort_by_key(|u| {
            (
                zoneless(u.created_at.as_deref()),
                u.id.0.parse::<u64>().unwrap_or(0),
            )
        });
        all.extend(sorted.into_iter().map(|u| IncidentUpdate {
            id: u.id.0,
            status: incident_status(u.status.as_ref().map_or("", |s| s.0.as_str())),
            body: u.message,
            created_at: zoneless(u.created_at.as_deref()),
            alias: None,
        }));
        let updated_at = zoneless(self.updated_at.as_deref());
        Incident {
            url: Some(format!("{base}/incidents/{}", self.id.0)),
            id: self.id.0,
            name: self.name,
            status: status.clone(),
            impact,
            components: component
                .map(|c| AffectedComponent {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    status: c.status.clone(),
                })
                .into_iter()
                .collect(),
            created_at: created,
            updated_at,
            resolved_at: status.is_finished().then_some(updated_at).flatten(),
            scheduled_for: zoneless(self.scheduled_at.as_deref())
                .filter(|_| status == IncidentStatus::Scheduled),
            scheduled_until: None,
            updates: all,
        }
    }
}
