//! Slack's own status API (`slack-status.com/api/v2.0.0/current` and `/history`).
//!
//! What Slack cannot express, and how it is handled:
//! - notes (updates) have no id: each gets `note-<hash of incident id and note time>`, stable
//!   as long as Slack does not re-date a note (an edited body keeps its id and is not re-sent);
//!   a second note in the same second gets `#2` after it (`sources::distinct_update_ids`);
//! - notes have no status: every note carries the incident's open status (`investigating`,
//!   or `in_progress` for maintenance) except the last note of a finished incident, which
//!   carries `resolved` (`completed`);
//! - there is no per-service status list: the services an incident names become its affected
//!   components (status from the incident type), and the snapshot has no components;
//! - impact comes from the type: `outage` → major, `incident` → minor, `notice` → none,
//!   `maintenance` → maintenance.
//!
//! Ids are strings in the docs and integers in Slack's own SDK model; both are read. Times
//! carry Pacific offsets and are stored as UTC.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::{
    Fetched, Fetcher, Id, PollError, PollOutcome, Previous, Validators, distinct_update_ids,
    document_url, instant, not_status_page, parse_json, reuse, short_hash,
};
use crate::model::{
    AffectedComponent, ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate,
    Indicator, PageInfo, Snapshot,
};

pub const CURRENT: &str = "/api/v2.0.0/current";
pub const HISTORY: &str = "/api/v2.0.0/history";
const HINT: &str = "is this Slack's status API (slack-status.com)?";

pub async fn poll(
    fetcher: &Fetcher,
    base: &Url,
    previous: Option<Previous<'_>>,
) -> Result<PollOutcome, PollError> {
    let validator = |doc: &str| previous.and_then(|p| p.validators.get(doc));
    let urls = [CURRENT, HISTORY].map(|doc| document_url(base, doc));
    let (current, history) = tokio::join!(
        fetcher.get(&urls[0], CURRENT, validator(CURRENT)),
        fetcher.get(&urls[1], HISTORY, validator(HISTORY)),
    );
    let (mut current, mut history) = (current?, history?);
    if matches!(
        (&current, &history),
        (Fetched::NotModified, Fetched::NotModified)
    ) && previous.is_some()
    {
        return Ok(PollOutcome::Unchanged);
    }
    if previous.and_then(|p| p.snapshot()).is_none() {
        for (fetched, url, doc) in [
            (&mut current, &urls[0], CURRENT),
            (&mut history, &urls[1], HISTORY),
        ] {
            if matches!(fetched, Fetched::NotModified) {
                *fetched = fetcher.get(url, doc, None).await?;
            }
        }
    }

    let base_text = base.as_str().trim_end_matches('/');
    let mut validators = Validators::new();
    let mut snapshot = Snapshot::default();
    // History first (or the previous snapshot's records when it answered 304), then the
    // open incidents of `current` over it: `current` is the fresher view.
    match history {
        Fetched::Body { bytes, validator } => {
            validators.insert(HISTORY.to_owned(), validator);
            read_history(&bytes, base_text, &mut snapshot)?;
        }
        Fetched::NotModified => reuse(previous, HISTORY, &mut validators, |prev| {
            snapshot.incidents = prev.incidents.clone();
            snapshot.maintenances = prev.maintenances.clone();
        })?,
        Fetched::NotFound => {}
    }
    match current {
        Fetched::Body { bytes, validator } => {
            read_current(&bytes, base_text, &mut snapshot)?;
            validators.insert(CURRENT.to_owned(), validator);
        }
        Fetched::NotModified => {
            let mut open = Vec::new();
            reuse(previous, CURRENT, &mut validators, |prev| {
                snapshot.page = prev.page.clone();
                // The same incidents are still open: the previous snapshot's copies stand in.
                open = prev
                    .incidents
                    .iter()
                    .chain(&prev.maintenances)
                    .filter(|i| !i.status.is_finished())
                    .cloned()
                    .collect();
            })?;
            for record in open {
                let list = if record.impact == Impact::Maintenance {
                    &mut snapshot.maintenances
                } else {
                    &mut snapshot.incidents
                };
                merge(list, std::iter::once(record));
            }
        }
        Fetched::NotFound => {
            return Err(not_status_page(CURRENT, "HTTP 404", HINT));
        }
    }
    Ok(PollOutcome::Fetched {
        snapshot,
        validators,
        documents: None,
    })
}

/// Adds the records of `history` to `snapshot` (replacing records with the same id);
/// `base` is the page URL without a trailing `/`.
pub fn read_history(bytes: &[u8], base: &str, snapshot: &mut Snapshot) -> Result<(), PollError> {
    let listed: Vec<IncidentDoc> = parse_json(HISTORY, bytes, HINT)?;
    add(snapshot, listed, base);
    Ok(())
}

/// Reads `current` into `snapshot`: the page's status, and its open incidents over the
/// records already there (`current` is the fresher view, so it is read after `history`).
pub fn read_current(bytes: &[u8], base: &str, snapshot: &mut Snapshot) -> Result<(), PollError> {
    let doc: CurrentDoc = parse_json(CURRENT, bytes, HINT)?;
    snapshot.page = page(base, &doc.status);
    add(snapshot, doc.active_incidents, base);
    Ok(())
}

fn add(snapshot: &mut Snapshot, records: Vec<IncidentDoc>, base: &str) {
    for record in records {
        let maintenance = record.kind.eq_ignore_ascii_case("maintenance");
        let incident = record.into_incident(base);
        let list = if maintenance {
            &mut snapshot.maintenances
        } else {
            &mut snapshot.incidents
        };
        merge(list, std::iter::once(incident));
    }
}

/// Replaces records by id, keeping the rest.
fn merge(into: &mut Vec<Incident>, records: impl Iterator<Item = Incident>) {
    for record in records {
        match into.iter_mut().find(|r| r.id == record.id) {
            Some(existing) => *existing = record,
            None => into.push(record),
        }
    }
}

fn page(base: &str, status: &str) -> PageInfo {
    let (indicator, description) = match status {
        "ok" => (Indicator::None, "All systems operational"),
        "active" => (Indicator::Minor, "Active incident"),
        "broken" => (Indicator::Major, "Service disruption"),
        other => (Indicator::Unknown(other.to_owned()), "Status unknown"),
    };
    PageInfo {
        name: "Slack".into(),
        url: base.to_owned(),
        time_zone: None,
        indicator: Some(indicator),
        description: Some(description.into()),
    }
}

#[derive(Debug, Deserialize)]
struct CurrentDoc {
    status: String,
    #[serde(default)]
    active_incidents: Vec<IncidentDoc>,
}

#[derive(Debug, Deserialize)]
struct IncidentDoc {
    id: Id,
    #[serde(default)]
    title: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    status: String,
    url: Option<String>,
    date_created: Option<String>,
    date_updated: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    notes: Vec<NoteDoc>,
}

#[derive(Debug, Deserialize)]
struct NoteDoc {
    date_created: Option<String>,
    #[serde(default)]
    body: String,
}

impl IncidentDoc {
    fn into_incident(self, base: &str) -> Incident {
        let maintenance = self.kind.eq_ignore_ascii_case("maintenance");
        let finished = matches!(self.status.as_str(), "resolved" | "completed");
        let (open_status, done_status) = if maintenance {
            (IncidentStatus::InProgress, IncidentStatus::Completed)
        } else {
            (IncidentStatus::Investigating, IncidentStatus::Resolved)
        };
        let status = match self.status.as_str() {
            "active" => open_status.clone(),
            "resolved" | "completed" => done_status.clone(),
            "scheduled" => IncidentStatus::Scheduled,
            other => IncidentStatus::Unknown(other.to_owned()),
        };
        let impact = match self.kind.to_ascii_lowercase().as_str() {
            "outage" => Impact::Major,
            "incident" => Impact::Minor,
            "notice" => Impact::None,
            "maintenance" => Impact::Maintenance,
            other => Impact::Unknown(other.to_owned()),
        };
        let service_status = match &impact {
            _ if finished => ComponentStatus::Operational,
            Impact::Major => ComponentStatus::MajorOutage,
            Impact::Minor => ComponentStatus::PartialOutage,
            Impact::Maintenance => ComponentStatus::UnderMaintenance,
            _ => ComponentStatus::DegradedPerformance,
        };
        let mut notes: Vec<(Option<DateTime<Utc>>, NoteDoc)> = self
            .notes
            .into_iter()
            .map(|n| (instant(n.date_created.as_deref()), n))
            .collect();
        notes.sort_by_key(|(at, _)| *at);
        let last = notes.len().saturating_sub(1);
        let mut updates: Vec<IncidentUpdate> = notes
            .into_iter()
            .enumerate()
            .map(|(index, (at, note))| IncidentUpdate {
                id: note_id(&self.id.0, note.date_created.as_deref().unwrap_or("")),
                status: if finished && index == last {
                    done_status.clone()
                } else {
                    open_status.clone()
                },
                body: note.body,
                created_at: at,
                alias: None,
            })
            .collect();
        distinct_update_ids(&mut updates);
        let updated_at = instant(self.date_updated.as_deref());
        Incident {
            url: self
                .url
                .or_else(|| Some(format!("{base}/incident/{}", self.id.0))),
            id: self.id.0,
            name: self.title,
            status,
            impact,
            components: self
                .services
                .into_iter()
                .map(|name| AffectedComponent {
                    id: name
                        .to_lowercase()
                        .replace(|c: char| !c.is_alphanumeric(), "-"),
                    name,
                    status: service_status.clone(),
                })
                .collect(),
            created_at: instant(self.date_created.as_deref()),
            updated_at,
            resolved_at: if finished { updated_at } else { None },
            scheduled_for: None,
            scheduled_until: None,
            updates,
        }
    }
}

fn note_id(incident: &str, created: &str) -> String {
    format!("note-{}", short_hash(&format!("{incident}\0{created}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_an_incident_with_pacific_times_and_integer_id() {
        let doc: IncidentDoc = serde_json::from_str(
            r#"{"id": 546, "date_created": "2026-11-20T09:02:11-08:00", "date_updated": "2026-11-20T10:15:00-08:00",
                "title": "Trouble loading files", "type": "incident", "status": "resolved",
                "url": "https://slack-status.com/2026-11/abc", "services": ["Files", "Apps/Integrations/APIs"],
                "notes": [{"date_created": "2026-11-20T10:15:00-08:00", "body": "Fixed.\r\nThanks."},
                          {"date_created": "2026-11-20T09:02:11-08:00", "body": "Investigating."}]}"#,
        )
        .unwrap();
        let incident = doc.into_incident("https://slack-status.com");
        assert_eq!(incident.id, "546");
        assert_eq!(incident.status, IncidentStatus::Resolved);
        assert_eq!(incident.impact, Impact::Minor);
        assert_eq!(
            incident.created_at.unwrap().to_rfc3339(),
            "2026-11-20T17:02:11+00:00"
        );
        let statuses: Vec<_> = incident.updates.iter().map(|u| u.status.clone()).collect();
        assert_eq!(
            statuses,
            [IncidentStatus::Investigating, IncidentStatus::Resolved]
        );
        assert_eq!(incident.updates[0].body, "Investigating.");
        assert_eq!(incident.components[1].id, "apps-integrations-apis");
        assert_eq!(incident.components[0].status, ComponentStatus::Operational);
        assert_eq!(
            incident.updates[0].id,
            note_id("546", "2026-11-20T09:02:11-08:00")
        );
    }

    #[test]
    fn two_notes_in_the_same_second_are_both_kept() {
        let doc: IncidentDoc = serde_json::from_str(
            r#"{"id": 547, "date_created": "2026-11-20T09:02:11-08:00", "title": "Delays", "type": "incident",
                "status": "active", "services": ["Messaging"],
                "notes": [{"date_created": "2026-11-20T09:02:11-08:00", "body": "Investigating."},
                          {"date_created": "2026-11-20T09:02:11-08:00", "body": "Also affects huddles."}]}"#,
        )
        .unwrap();
        let incident = doc.into_incident("https://slack-status.com");
        let first = note_id("547", "2026-11-20T09:02:11-08:00");
        let ids: Vec<&str> = incident.updates.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, [first.clone(), format!("{first}#2")]);
        // Both are news to the diff (before, the second was dropped as a repeat of the first).
        let provider = crate::model::Provider {
            id: "slack".into(),
            name: "Slack".into(),
            url: "https://slack-status.com".into(),
        };
        let snapshot = Snapshot {
            incidents: vec![incident],
            ..Snapshot::default()
        };
        let known = crate::diff::ProviderState {
            baseline_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
            ..Default::default()
        };
        let events =
            crate::diff::detect_changes(&provider, &known, &snapshot, chrono::Utc::now()).events;
        let bodies: Vec<&str> = events
            .iter()
            .filter_map(|e| e.data.update.as_ref().map(|u| u.body.as_str()))
            .collect();
        assert_eq!(bodies, ["Investigating.", "Also affects huddles."]);
    }
}
