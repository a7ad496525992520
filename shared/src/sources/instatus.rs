//! Instatus public pages: `<page>/summary.json` (`page`, `activeIncidents`,
//! `activeMaintenances`).
//!
//! What Instatus cannot express, and how it is handled:
//! - only **active** records are listed: an incident that leaves `activeIncidents` is marked
//!   resolved (at the time of the poll that no longer sees it) and carried in the snapshot for
//!   a week, so the change detection announces the resolution once;
//! - there are no update texts or ids: each status an incident reaches becomes an update with
//!   id `<incident>-<status>` and the text "Status: <status>." (a status reached twice is one
//!   update);
//! - ids are optional in the summary: a missing one is derived from the record's URL, else
//!   from its name and start time;
//! - dates come as ISO 8601 or as JavaScript `Date.toString()` strings
//!   (`Sat Jun 11 2022 18:55:50 GMT+0000 (Coordinated Universal Time)`); both are read.
//! - impact: `MAJOROUTAGE` → critical, `PARTIALOUTAGE` → major, `MINOROUTAGE` and
//!   `DEGRADEDPERFORMANCE` → minor; the summary names no components.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    Fetcher, PollError, PollOutcome, Previous, document_url, fetch_single, parse_json,
    status_update,
};
use crate::model::{
    Impact, Incident, IncidentStatus, IncidentUpdate, Indicator, PageInfo, Snapshot,
};

pub const SUMMARY: &str = "/summary.json";
const HINT: &str = "is this an Instatus page?";

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

/// The snapshot of a `summary.json`. `base`: the page URL without a trailing `/`; `prior`:
/// the last snapshot, whose records keep the updates this document no longer shows.
pub fn parse(bytes: &[u8], base: &str, prior: Option<&Snapshot>) -> Result<Snapshot, PollError> {
    let doc: SummaryDoc = parse_json(SUMMARY, bytes, HINT)?;
    Ok(Snapshot {
        page: doc.page.into_page(base),
        components: Vec::new(),
        incidents: doc
            .active_incidents
            .into_iter()
            .map(|i| i.into_incident(false, prior.map(|p| p.incidents.as_slice())))
            .collect(),
        maintenances: doc
            .active_maintenances
            .into_iter()
            .map(|m| m.into_incident(true, prior.map(|p| p.maintenances.as_slice())))
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
struct SummaryDoc {
    page: PageDoc,
    #[serde(rename = "activeIncidents", default)]
    active_incidents: Vec<RecordDoc>,
    #[serde(rename = "activeMaintenances", default)]
    active_maintenances: Vec<RecordDoc>,
}

#[derive(Debug, Deserialize)]
struct PageDoc {
    #[serde(default)]
    name: String,
    url: Option<String>,
    status: Option<String>,
}

impl PageDoc {
    fn into_page(self, base: &str) -> PageInfo {
        let (indicator, description) = match self.status.as_deref() {
            Some("UP") => (Indicator::None, "All systems operational"),
            Some("HASISSUES") => (Indicator::Minor, "Some systems have issues"),
            Some("UNDERMAINTENANCE") => (Indicator::Maintenance, "Under maintenance"),
            Some(other) => (Indicator::Unknown(other.to_owned()), "Status unknown"),
            None => (Indicator::Unknown(String::new()), "Status unknown"),
        };
        PageInfo {
            name: self.name,
            url: self
                .url
                .map_or_else(|| base.to_owned(), |u| u.trim_end_matches('/').to_owned()),
            time_zone: None,
            indicator: Some(indicator),
            description: Some(description.into()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RecordDoc {
    id: Option<String>,
    #[serde(default)]
    name: String,
    /// Incidents: `started`; maintenances: `start`.
    #[serde(alias = "start")]
    started: Option<String>,
    #[serde(default)]
    status: String,
    impact: Option<String>,
    url: Option<String>,
    #[serde(rename = "updatedAt")]
    updated_at: Option<String>,
    /// Minutes, as a string (sometimes a number).
    duration: Option<serde_json::Value>,
}

impl RecordDoc {
    fn into_incident(self, maintenance: bool, prior: Option<&[Incident]>) -> Incident {
        let started = js_or_iso(self.started.as_deref());
        let id = self.id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
            let seed = self.url.clone().unwrap_or_else(|| {
                format!(
                    "{}\0{}",
                    self.name,
                    self.started.clone().unwrap_or_default()
                )
            });
            let digest = Sha256::digest(seed.as_bytes());
            hex::encode(&digest[..8])
        });
        let status = match self.status.as_str() {
            "INVESTIGATING" => IncidentStatus::Investigating,
            "IDENTIFIED" => IncidentStatus::Identified,
            "MONITORING" => IncidentStatus::Monitoring,
            "RESOLVED" => IncidentStatus::Resolved,
            "NOTSTARTEDYET" => IncidentStatus::Scheduled,
            "INPROGRESS" => IncidentStatus::InProgress,
            "COMPLETED" => IncidentStatus::Completed,
            other => IncidentStatus::Unknown(other.to_lowercase()),
        };
        let impact = if maintenance {
            Impact::Maintenance
        } else {
            match self.impact.as_deref() {
                Some("MAJOROUTAGE") => Impact::Critical,
                Some("PARTIALOUTAGE") => Impact::Major,
                Some("MINOROUTAGE" | "DEGRADEDPERFORMANCE") => Impact::Minor,
                Some(other) => Impact::Unknown(other.to_lowercase()),
                None => Impact::None,
            }
        };
        let updated_at = js_or_iso(self.updated_at.as_deref());
        let seen_at = updated_at.or(started).unwrap_or_else(Utc::now);
        // The statuses reached so far: those the previous snapshot knew, plus this one.
        let mut updates: Vec<IncidentUpdate> = prior
            .and_then(|records| records.iter().find(|r| r.id == id))
            .map(|r| r.updates.clone())
            .unwrap_or_default();
        if !updates.iter().any(|u| u.status == status) {
            let at = if updates.is_empty() {
                started.unwrap_or(seen_at)
            } else {
                seen_at
            };
            updates.push(status_update(&id, &status, at));
        }
        let minutes = match &self.duration {
            Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        Incident {
            id,
            name: self.name,
            status: status.clone(),
            impact,
            url: self.url,
            components: Vec::new(),
            created_at: started,
            updated_at,
            resolved_at: status.is_finished().then_some(seen_at),
            scheduled_for: if maintenance { started } else { None },
            scheduled_until: match (maintenance, started, minutes) {
                (true, Some(start), Some(m)) => Some(start + Duration::minutes(m)),
                _ => None,
            },
            updates,
        }
    }
}

/// ISO 8601 / RFC 3339, or JavaScript's `Date.toString()`:
/// `Sat Jun 11 2022 18:55:50 GMT+0000 (Coordinated Universal Time)`.
pub fn js_or_iso(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let without_name = raw.split(" (").next().unwrap_or(raw);
    DateTime::parse_from_str(without_name, "%a %b %d %Y %H:%M:%S GMT%z")
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_javascript_and_iso_dates() {
        let js = js_or_iso(Some(
            "Sat Jun 11 2022 18:55:50 GMT+0000 (Coordinated Universal Time)",
        ));
        assert_eq!(js.unwrap().to_rfc3339(), "2022-06-11T18:55:50+00:00");
        let pdt = js_or_iso(Some(
            "Sat Jun 11 2022 11:55:50 GMT-0700 (Pacific Daylight Time)",
        ));
        assert_eq!(pdt, js);
        assert_eq!(js_or_iso(Some("2022-06-11T18:55:50.000Z")), js);
        assert_eq!(js_or_iso(Some("next tuesday")), None);
    }
}
