//! Statuspal public status pages: one summary document,
//! `https://statuspal.io/api/v1/status_pages/<subdomain>/summary` (`statuspal.eu` for pages
//! hosted in the EU), with `status_page`, `services`, `incidents`, `maintenances`,
//! `upcoming_maintenances` and `info_notices`.
//!
//! The provider's `url` may be the page on Statuspal (`https://statuspal.io/p/<subdomain>`),
//! the API's status page URL or the summary URL itself. A page on a custom domain does not
//! tell its subdomain, so such a page must be configured with the summary URL.
//!
//! What Statuspal cannot express, and how it is handled:
//! - times have no zone (`2026-11-20T08:00:00`, UTC as Statuspal stores them); offsets are
//!   honoured when present;
//! - update ids are not guaranteed: a missing one becomes `<incident>-<hash of its time and
//!   type>`, stable across polls;
//! - update types beyond investigating/identified/monitoring/resolved (a plain "update") keep
//!   the status the incident already had;
//! - `ends_at` in the past finishes an incident (resolved) or a maintenance (completed) even
//!   without a closing update; a record that leaves the summary is finished once and kept a
//!   week, as the summary lists current records only;
//! - severity is `type`: `major` → major, `minor` → minor; anything else is kept verbatim
//!   (ranked as major by impact filters). A service's `current_incident_type` gives its status:
//!   none → operational, `minor` → degraded performance, `major` → major outage, `scheduled`
//!   or `maintenance` → under maintenance;
//! - info notices are announcements without a status: they are not reported.
//!
//! No real body of this format was available: the shape follows Statuspal's widget and
//! third-party clients (see `../shared/reference/status-formats.md` §7); fields are read
//! leniently (`service_ids` or `services`, `description` or `body`, `inserted_at` or
//! `created_at`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::{
    Fetcher, Id, PollError, PollOutcome, Previous, fetch_single, not_status_page, parse_json,
    short_hash, zoneless,
};
use crate::model::{
    AffectedComponent, Component, ComponentStatus, Impact, Incident, IncidentStatus,
    IncidentUpdate, Indicator, PageInfo, Snapshot,
};

pub const DOCUMENT: &str = "summary";
const HINT: &str = "is this a Statuspal page (https://statuspal.io/p/<subdomain>)?";

pub async fn poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let Some(summary) = summary_url(url) else {
        return Err(not_status_page(
            DOCUMENT,
            "the URL names no Statuspal subdomain (a page on a custom domain needs \
             url = \"https://statuspal.io/api/v1/status_pages/<subdomain>/summary\")",
            HINT,
        ));
    };
    let Some((bytes, validator)) =
        fetch_single(fetcher, &summary, DOCUMENT, previous, HINT).await?
    else {
        return Ok(PollOutcome::Unchanged);
    };
    let snapshot = parse(&bytes, url, Utc::now())?;
    Ok(PollOutcome::single(snapshot, DOCUMENT, validator))
}

/// The snapshot of a summary document; `url` is the provider's (the page's link when the
/// document has none), `now` decides whether an `ends_at` is past.
pub fn parse(bytes: &[u8], url: &Url, now: DateTime<Utc>) -> Result<Snapshot, PollError> {
    let doc: SummaryDoc = parse_json(DOCUMENT, bytes, HINT)?;
    let mut components = Vec::new();
    for service in doc.services {
        service.flatten_into(None, &mut components);
    }
    let incidents = doc
        .incidents
        .into_iter()
        .map(|record| record.into_incident(false, &components, now))
        .collect();
    let mut maintenances: Vec<Incident> = Vec::new();
    for record in doc
        .maintenances
        .into_iter()
        .chain(doc.upcoming_maintenances)
    {
        let record = record.into_incident(true, &components, now);
        if !maintenances.iter().any(|m| m.id == record.id) {
            maintenances.push(record);
        }
    }
    Ok(Snapshot {
        page: doc.status_page.into_page(url),
        components,
        incidents,
        maintenances,
    })
}

/// The summary document's URL for a page URL: `…/p/<sub>` or `…/api/v1/status_pages/<sub>`
/// (with or without `/summary`). Any prefix before those is kept (a proxy, a test server).
pub fn summary_url(url: &Url) -> Option<Url> {
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let api = segments
        .windows(4)
        .position(|w| w[..3] == ["api", "v1", "status_pages"] && !w[3].is_empty());
    let (prefix, subdomain) = match api {
        Some(at) => (&segments[..at], segments[at + 3]),
        None => {
            let at = segments.windows(2).position(|w| w[0] == "p")?;
            (&segments[..at], segments[at + 1])
        }
    };
    let mut summary = url.clone();
    summary.set_query(None);
    summary.set_fragment(None);
    let mut path = String::new();
    for segment in prefix {
        path.push('/');
        path.push_str(segment);
    }
    path.push_str("/api/v1/status_pages/");
    path.push_str(subdomain);
    path.push_str("/summary");
    summary.set_path(&path);
    Some(summary)
}

#[derive(Debug, Deserialize)]
struct SummaryDoc {
    status_page: PageDoc,
    #[serde(default)]
    services: Vec<ServiceDoc>,
    #[serde(default)]
    incidents: Vec<RecordDoc>,
    #[serde(default)]
    maintenances: Vec<RecordDoc>,
    #[serde(default)]
    upcoming_maintenances: Vec<RecordDoc>,
}

#[derive(Debug, Deserialize)]
struct PageDoc {
    #[serde(default)]
    name: String,
    url: Option<String>,
    time_zone: Option<String>,
    current_incident_type: Option<String>,
}

impl PageDoc {
    fn into_page(self, url: &Url) -> PageInfo {
        let (indicator, description) = match self.current_incident_type.as_deref() {
            None | Some("") => (Indicator::None, "All systems operational"),
            Some("minor") => (Indicator::Minor, "Minor incident"),
            Some("major") => (Indicator::Major, "Major incident"),
            Some("scheduled" | "maintenance") => (Indicator::Maintenance, "Under maintenance"),
            Some(other) => (Indicator::Unknown(other.to_owned()), "Status unknown"),
        };
        PageInfo {
            name: self.name,
            url: self.url.filter(|u| !u.is_empty()).map_or_else(
                || url.as_str().to_owned(),
                |u| u.trim_end_matches('/').to_owned(),
            ),
            time_zone: self.time_zone,
            indicator: Some(indicator),
            description: Some(description.into()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ServiceDoc {
    id: Id,
    #[serde(default)]
    name: String,
    current_incident_type: Option<String>,
    parent_id: Option<Id>,
    #[serde(default)]
    children: Vec<ServiceDoc>,
}

impl ServiceDoc {
    /// Services may nest (`children`): parents become groups of their children.
    fn flatten_into(self, parent: Option<&str>, out: &mut Vec<Component>) {
        let id = self.id.0;
        out.push(Component {
            id: id.clone(),
            name: self.name,
            status: service_status(self.current_incident_type.as_deref()),
            is_group: !self.children.is_empty(),
            group_id: parent.map(str::to_owned).or(self.parent_id.map(|p| p.0)),
            position: Some(out.len() as i64),
            updated_at: None,
        });
        for child in self.children {
            child.flatten_into(Some(&id), out);
        }
    }
}

fn service_status(incident_type: Option<&str>) -> ComponentStatus {
    match incident_type {
        None | Some("") => ComponentStatus::Operational,
        Some("minor") => ComponentStatus::DegradedPerformance,
        Some("major") => ComponentStatus::MajorOutage,
        Some("scheduled" | "maintenance") => ComponentStatus::UnderMaintenance,
        Some(other) => ComponentStatus::Unknown(other.to_owned()),
    }
}

#[derive(Debug, Deserialize)]
struct RecordDoc {
    id: Id,
    #[serde(default)]
    title: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    url: Option<String>,
    #[serde(default)]
    service_ids: Vec<Id>,
    #[serde(default)]
    services: Vec<ServiceRef>,
    #[serde(default)]
    updates: Vec<UpdateDoc>,
    updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ServiceRef {
    id: Id,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UpdateDoc {
    id: Option<Id>,
    #[serde(rename = "type", alias = "status")]
    kind: Option<String>,
    #[serde(alias = "body", default)]
    description: Option<String>,
    #[serde(alias = "created_at")]
    inserted_at: Option<String>,
}

impl RecordDoc {
    fn into_incident(
        self,
        maintenance: bool,
        services: &[Component],
        now: DateTime<Utc>,
    ) -> Incident {
        let id = self.id.0;
        let starts = zoneless(self.starts_at.as_deref());
        let ends = zoneless(self.ends_at.as_deref());
        let ids = self
            .service_ids
            .into_iter()
            .map(|s| (s.0, None))
            .chain(self.services.into_iter().map(|s| (s.id.0, s.name)));
        let mut components: Vec<AffectedComponent> = Vec::new();
        for (service_id, name) in ids {
            if components.iter().any(|c| c.id == service_id) {
                continue;
            }
            let known = services.iter().find(|c| c.id == service_id);
            components.push(AffectedComponent {
                name: known
                    .map(|c| c.name.clone())
                    .or(name)
                    .unwrap_or_else(|| service_id.clone()),
                status: known.map_or(ComponentStatus::Operational, |c| c.status.clone()),
                id: service_id,
            });
        }
        let mut raw_updates: Vec<(Option<DateTime<Utc>>, UpdateDoc)> = self
            .updates
            .into_iter()
            .map(|u| (zoneless(u.inserted_at.as_deref()), u))
            .collect();
        raw_updates.sort_by_key(|(at, _)| *at);
        let opening = if maintenance {
            if starts.is_some_and(|s| s > now) {
                IncidentStatus::Scheduled
            } else {
                IncidentStatus::InProgress
            }
        } else {
            IncidentStatus::Investigating
        };
        let mut status = opening.clone();
        let mut updates = Vec::with_capacity(raw_updates.len());
        for (at, update) in raw_updates {
            let kind = update.kind.unwrap_or_default().trim().to_lowercase();
            status = match IncidentStatus::from(kind.as_str()) {
                IncidentStatus::Unknown(_) => status,
                known => known,
            };
            let update_id = update.id.map(|i| i.0).unwrap_or_else(|| {
                let seed = format!(
                    "{id}\0{}\0{kind}",
                    at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
                format!("{id}-{}", short_hash(&seed))
            });
            updates.push(IncidentUpdate {
                id: update_id,
                status: status.clone(),
                body: update.description.unwrap_or_default(),
                created_at: at,
                alias: None,
            });
        }
        if updates.is_empty() {
            updates.push(IncidentUpdate {
                id: format!("{id}-{}", opening.as_str()),
                status: opening.clone(),
                body: String::new(),
                created_at: starts,
                alias: None,
            });
        }
        let over = ends.filter(|end| *end <= now);
        if let Some(end) = over {
            let finished = if maintenance {
                IncidentStatus::Completed
            } else {
                IncidentStatus::Resolved
            };
            if !status.is_finished() {
                updates.push(super::status_update(&id, &finished, end));
                status = finished;
            }
        }
        let impact = if maintenance {
            Impact::Maintenance
        } else {
            match self.kind.as_deref() {
                Some("major") => Impact::Major,
                Some("minor") => Impact::Minor,
                Some(other) if !other.is_empty() => Impact::Unknown(other.to_owned()),
                _ => Impact::None,
            }
        };
        let last_update = updates.iter().filter_map(|u| u.created_at).max();
        Incident {
            name: self.title,
            status: status.clone(),
            impact,
            url: self.url.filter(|u| !u.is_empty()),
            components,
            created_at: starts,
            updated_at: zoneless(self.updated_at.as_deref()).or(last_update),
            resolved_at: if status.is_finished() {
                over.or(last_update)
            } else {
                None
            },
            scheduled_for: if maintenance { starts } else { None },
            scheduled_until: if maintenance { ends } else { None },
            updates,
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(url: &str) -> Option<String> {
        summary_url(&Url::parse(url).unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn finds_the_summary_of_a_page_url() {
        let expected = Some("https://statuspal.io/api/v1/status_pages/acme/summary".to_owned());
        assert_eq!(summary("https://statuspal.io/p/acme"), expected);
        assert_eq!(
            summary("https://statuspal.io/p/acme/incidents?x=1"),
            expected
        );
        assert_eq!(
            summary("https://statuspal.io/api/v1/status_pages/acme"),
            expected
        );
        assert_eq!(
            summary("https://statuspal.io/api/v1/status_pages/acme/summary"),
            expected
        );
        assert_eq!(
            summary("http://127.0.0.1:9/statuspal/p/acme"),
            Some("http://127.0.0.1:9/statuspal/api/v1/status_pages/acme/summary".to_owned())
        );
        assert_eq!(summary("https://status.acme.com"), None);
        assert_eq!(summary("https://status.acme.com/api/v2/summary.json"), None);
    }
}
