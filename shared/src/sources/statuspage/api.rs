//! Statuspage's JSON API v2 documents, and incident.io's compatible copy of them: their shapes
//! and their mapping into the snapshot's records.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::update_alias;
use crate::model::{
    AffectedComponent, Component, Incident, IncidentStatus, IncidentUpdate, PageInfo,
};
use crate::sources::{PollError, instant};

pub const SUMMARY: &str = "/api/v2/summary.json";
pub const INCIDENTS: &str = "/api/v2/incidents.json";
pub const MAINTENANCES: &str = "/api/v2/scheduled-maintenances.json";

const HINT: &str = "is this a Statuspage-compatible page?";

pub(super) fn not_a_statuspage(document: &str, reason: &str) -> PollError {
    crate::sources::not_status_page(document, reason, HINT)
}

fn parse_document<T: DeserializeOwned>(document: &str, bytes: &[u8]) -> Result<T, PollError> {
    crate::sources::parse_json(document, bytes, HINT)
}

/// `summary.json`: the page, every component and, on Atlassian pages, the open incidents and
/// the upcoming or running maintenances (incident.io may leave those two keys out).
pub(super) struct Summary {
    pub page: PageInfo,
    pub components: Vec<Component>,
    pub open_incidents: Option<Vec<Incident>>,
    pub active_maintenances: Option<Vec<Incident>>,
}

pub(super) fn read_summary(bytes: &[u8], base: &str) -> Result<Summary, PollError> {
    let doc: SummaryDoc = parse_document(SUMMARY, bytes)?;
    // Records are read only when a poll needs them (a page without incidents.json); a summary
    // whose records this version cannot read is still a summary.
    let records = |value: Option<serde_json::Value>| {
        let docs: Vec<IncidentDoc> = serde_json::from_value(value?).ok()?;
        Some(docs.into_iter().map(|d| d.into_incident(base)).collect())
    };
    Ok(Summary {
        page: doc.page.into_page(doc.status),
        components: doc
            .components
            .into_iter()
            .map(ComponentDoc::into_component)
            .collect(),
        open_incidents: records(doc.incidents),
        active_maintenances: records(doc.scheduled_maintenances),
    })
}

/// `incidents.json`: the 50 most recent incidents.
pub(super) fn read_incidents(bytes: &[u8], base: &str) -> Result<Vec<Incident>, PollError> {
    let doc: IncidentsDoc = parse_document(INCIDENTS, bytes)?;
    Ok(doc
        .incidents
        .into_iter()
        .map(|i| i.into_incident(base))
        .collect())
}

/// `scheduled-maintenances.json`: the 50 most recent maintenances.
pub(super) fn read_maintenances(bytes: &[u8], base: &str) -> Result<Vec<Incident>, PollError> {
    let doc: MaintenancesDoc = parse_document(MAINTENANCES, bytes)?;
    Ok(doc
        .scheduled_maintenances
        .into_iter()
        .map(|m| m.into_incident(base))
        .collect())
}

/// The pure readers a poll uses, public so they are fuzzed as they run
/// ([`crate::fuzzing`]): the page and its components from `summary.json`…
pub fn parse_summary(bytes: &[u8]) -> Result<(PageInfo, Vec<Component>), PollError> {
    read_summary(bytes, "").map(|summary| (summary.page, summary.components))
}

/// …the incidents of `incidents.json`…
pub fn parse_incidents(bytes: &[u8], base: &str) -> Result<Vec<Incident>, PollError> {
    read_incidents(bytes, base)
}

/// …and the maintenances of `scheduled-maintenances.json`.
pub fn parse_maintenances(bytes: &[u8], base: &str) -> Result<Vec<Incident>, PollError> {
    read_maintenances(bytes, base)
}

#[derive(Debug, Deserialize)]
struct SummaryDoc {
    page: PageDoc,
    status: Option<StatusDoc>,
    components: Vec<ComponentDoc>,
    incidents: Option<serde_json::Value>,
    scheduled_maintenances: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct PageDoc {
    #[serde(default)]
    name: String,
    url: Option<String>,
    time_zone: Option<String>,
}

impl PageDoc {
    fn into_page(self, status: Option<StatusDoc>) -> PageInfo {
        let (indicator, description) = match status {
            Some(s) => (s.indicator.map(Into::into), s.description),
            None => (None, None),
        };
        PageInfo {
            name: self.name,
            url: self
                .url
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_default(),
            time_zone: self.time_zone,
            indicator,
            description,
        }
    }
}

#[derive(Debug, Deserialize)]
struct StatusDoc {
    indicator: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ComponentDoc {
    id: String,
    #[serde(default)]
    name: String,
    status: Option<String>,
    group: Option<bool>,
    group_id: Option<String>,
    position: Option<f64>,
    updated_at: Option<String>,
    /// Group rows list their children; older pages mark groups only this way.
    components: Option<Vec<String>>,
}

impl ComponentDoc {
    fn into_component(self) -> Component {
        let is_group =
            self.group.unwrap_or(false) || self.components.is_some_and(|c| !c.is_empty());
        Component {
            id: self.id,
            name: self.name,
            status: self.status.unwrap_or_else(|| "unknown".into()).into(),
            is_group,
            group_id: self.group_id,
            position: self.position.map(|p| p as i64),
            updated_at: instant(self.updated_at.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct IncidentsDoc {
    incidents: Vec<IncidentDoc>,
}

#[derive(Debug, Deserialize)]
struct MaintenancesDoc {
    scheduled_maintenances: Vec<IncidentDoc>,
}

#[derive(Debug, Deserialize)]
struct IncidentDoc {
    id: String,
    #[serde(default)]
    name: String,
    status: String,
    impact: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    resolved_at: Option<String>,
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
    incident_updates: Option<Vec<UpdateDoc>>,
    components: Option<Vec<ComponentDoc>>,
    postmortem_body: Option<String>,
    postmortem_published_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UpdateDoc {
    id: String,
    status: String,
    body: Option<String>,
    created_at: Option<String>,
    display_at: Option<String>,
}

impl IncidentDoc {
    fn into_incident(self, base: &str) -> Incident {
        let status = IncidentStatus::from(self.status);
        // Sources list updates newest first, but that is not contractual: reverse, then sort
        // by time, so equal timestamps keep the source's relative order.
        let mut updates: Vec<(IncidentUpdate, _)> = self
            .incident_updates
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|u| {
                let created_at = instant(u.created_at.as_deref());
                let display_at = instant(u.display_at.as_deref());
                let update = IncidentUpdate {
                    id: u.id,
                    status: u.status.into(),
                    body: u.body.unwrap_or_default(),
                    created_at: created_at.or(display_at),
                    alias: None,
                };
                (update, display_at.or(created_at))
            })
            .collect();
        updates.sort_by_key(|(u, _)| u.created_at);
        let (mut updates, shown_at): (Vec<IncidentUpdate>, Vec<_>) = updates.into_iter().unzip();
        if status == IncidentStatus::Postmortem
            && let Some(body) = self.postmortem_body.filter(|b| !b.trim().is_empty())
            && !updates
                .iter()
                .any(|u| u.status == IncidentStatus::Postmortem)
        {
            // The postmortem lives on the incident, not in its updates; give it a stable id.
            updates.push(IncidentUpdate {
                id: format!("{}-postmortem", self.id),
                status: IncidentStatus::Postmortem,
                body,
                created_at: instant(self.postmortem_published_at.as_deref())
                    .or(instant(self.updated_at.as_deref())),
                alias: None,
            });
        }
        let mut shown_at = shown_at;
        shown_at.resize(updates.len(), None);
        update_alias::assign(&self.id, &mut updates, &shown_at);
        Incident {
            url: Some(format!("{base}/incidents/{}", self.id)),
            id: self.id,
            name: self.name,
            status,
            impact: self.impact.unwrap_or_else(|| "none".into()).into(),
            components: self
                .components
                .unwrap_or_default()
                .into_iter()
                .map(|c| AffectedComponent {
                    id: c.id,
                    name: c.name,
                    status: c.status.unwrap_or_else(|| "unknown".into()).into(),
                })
                .collect(),
            created_at: instant(self.created_at.as_deref()),
            updated_at: instant(self.updated_at.as_deref()),
            resolved_at: instant(self.resolved_at.as_deref()),
            scheduled_for: instant(self.scheduled_for.as_deref()),
            scheduled_until: instant(self.scheduled_until.as_deref()),
            updates,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use url::Url;

    use super::*;
    use crate::model::{ComponentStatus, Impact};
    use crate::sources::document_url;

    const INCIDENTS_DOC: &str = r#"{"page":{"id":"kctbh9vrtdwd","name":"GitHub","url":"https://www.githubstatus.com","time_zone":"America/Tijuana","updated_at":"2026-11-20T02:14:09.407-08:00"},
      "incidents":[{"id":"abc123def456","name":"Disruption with some GitHub services","status":"resolved","impact":"minor",
        "created_at":"2026-11-20T01:00:00.000-08:00","updated_at":"2026-11-20T02:00:00.000-08:00","monitoring_at":null,
        "resolved_at":"2026-11-20T02:00:00.000-08:00","shortlink":"https://stspg.io/x","started_at":"2026-11-20T00:58:00.000-08:00",
        "page_id":"kctbh9vrtdwd","reminder_intervals":null,"some_new_field":{"x":1},
        "incident_updates":[
          {"id":"u3","status":"resolved","body":"This incident has been resolved.","incident_id":"abc123def456","created_at":"2026-11-20T02:00:00.000-08:00","updated_at":"2026-11-20T02:00:00.000-08:00","display_at":"2026-11-20T02:00:00.000-08:00","affected_components":null,"deliver_notifications":true,"custom_tweet":null,"tweet_id":null},
          {"id":"u2","status":"investigating","body":"We are seeing recovery.<br /><br />More soon.\r\nThanks","incident_id":"abc123def456","created_at":"2026-11-20T01:30:00.000-08:00","updated_at":"2026-11-20T01:30:00.000-08:00","display_at":"2026-11-20T01:30:00.000-08:00","affected_components":[{"code":"c1","name":"Git Operations","old_status":"degraded_performance","new_status":"degraded_performance"}],"deliver_notifications":true},
          {"id":"u1","status":"investigating","body":"We are investigating.","incident_id":"abc123def456","created_at":"2026-11-20T01:00:00.000-08:00","updated_at":"2026-11-20T01:00:00.000-08:00","display_at":"2026-11-20T01:00:00.000-08:00","affected_components":[{"name":"No components were affected by this update."}],"deliver_notifications":true}],
        "components":[{"id":"c1","name":"Git Operations","status":"operational","created_at":"2017-01-31T20:05:05.370Z","updated_at":"2026-11-20T02:00:00.000-08:00","position":1,"description":null,"showcase":true,"start_date":null,"group_id":null,"page_id":"kctbh9vrtdwd","group":false,"only_show_if_degraded":false}]}]}"#;

    #[test]
    fn parses_statuspage_incidents_with_offsets_and_quirks() {
        let doc: IncidentsDoc = parse_document(INCIDENTS, INCIDENTS_DOC.as_bytes()).unwrap();
        let incident = doc
            .incidents
            .into_iter()
            .next()
            .unwrap()
            .into_incident("https://www.githubstatus.com");
        assert_eq!(incident.status, IncidentStatus::Resolved);
        assert_eq!(incident.impact, Impact::Minor);
        assert_eq!(
            incident.created_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()),
            "-08:00 must become 09:00 UTC"
        );
        let ids: Vec<_> = incident.updates.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["u1", "u2", "u3"], "updates are stored oldest first");
        assert!(incident.updates[1].body.contains("<br />"));
        assert_eq!(
            incident.url.as_deref(),
            Some("https://www.githubstatus.com/incidents/abc123def456")
        );
        assert_eq!(incident.components[0].status, ComponentStatus::Operational);
    }

    #[test]
    fn html_truncated_and_invalid_utf8_bodies_fail_the_poll() {
        let html = b"<!DOCTYPE html><html><body>Statuspage | The best way to communicate status</body></html>";
        let err = parse_document::<IncidentsDoc>(INCIDENTS, html).unwrap_err();
        assert!(matches!(err, PollError::NotStatusPage { .. }), "{err}");

        let truncated = &INCIDENTS_DOC.as_bytes()[..INCIDENTS_DOC.len() / 2];
        let err = parse_document::<IncidentsDoc>(INCIDENTS, truncated).unwrap_err();
        assert!(matches!(err, PollError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("line"), "{err}");

        let mut invalid = INCIDENTS_DOC.as_bytes().to_vec();
        let at = INCIDENTS_DOC.find("We are investigating").unwrap();
        invalid[at] = 0xFF;
        let err = parse_document::<IncidentsDoc>(INCIDENTS, &invalid).unwrap_err();
        assert!(matches!(err, PollError::Malformed { .. }), "{err}");

        let wrong_shape = br#"{"page":{"name":"x"},"data":[]}"#;
        let err = parse_document::<IncidentsDoc>(INCIDENTS, wrong_shape).unwrap_err();
        assert!(err.to_string().contains("incidents"), "{err}");
    }

    #[test]
    fn incident_io_summary_without_time_zone_or_groups() {
        let body = br#"{"page":{"id":"01JMBBQ5Z1GA1RW3DN5A4NBE2X","name":"OpenAI","url":"https://status.openai.com/","updated_at":"2026-07-09T19:25:56Z"},
          "status":{"description":"All Systems Operational","indicator":"none"},
          "components":[{"id":"01JMBBQ5Z1GA1RW3DN5A4NBE2Y","name":"APIs","status":"operational","position":1},
                        {"id":"01JMBBQ5Z1GA1RW3DN5A4NBE2Z","name":"ChatGPT","status":"full_outage","position":2,"group":null}]}"#;
        let doc: SummaryDoc = parse_document(SUMMARY, body).unwrap();
        let page = doc.page.into_page(doc.status);
        assert_eq!(page.url, "https://status.openai.com");
        assert_eq!(page.time_zone, None);
        let components: Vec<_> = doc
            .components
            .into_iter()
            .map(ComponentDoc::into_component)
            .collect();
        assert_eq!(
            components[1].status,
            ComponentStatus::Unknown("full_outage".into())
        );
        assert!(!components[1].is_group);
    }

    #[test]
    fn postmortem_on_the_incident_becomes_an_update() {
        let body = br#"{"incidents":[{"id":"pm1","name":"Outage","status":"postmortem","impact":"major",
          "updated_at":"2026-11-21T10:00:00Z","postmortem_body":"Root cause: a bad deploy.","postmortem_published_at":"2026-11-21T09:00:00+01:00",
          "incident_updates":[{"id":"r1","status":"resolved","body":"Fixed","created_at":"2026-11-20T10:00:00Z"}]}]}"#;
        let doc: IncidentsDoc = parse_document(INCIDENTS, body).unwrap();
        let incident = doc
            .incidents
            .into_iter()
            .next()
            .unwrap()
            .into_incident("https://x.test");
        let last = incident.updates.last().unwrap();
        assert_eq!(last.id, "pm1-postmortem");
        assert_eq!(last.status, IncidentStatus::Postmortem);
        assert_eq!(
            last.created_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap())
        );
    }

    #[test]
    fn document_urls_keep_base_paths() {
        let base = Url::parse("http://127.0.0.1:8080/p/7").unwrap();
        assert_eq!(
            document_url(&base, INCIDENTS).as_str(),
            "http://127.0.0.1:8080/p/7/api/v2/incidents.json"
        );
        let root = Url::parse("https://status.openai.com/").unwrap();
        assert_eq!(
            document_url(&root, SUMMARY).as_str(),
            "https://status.openai.com/api/v2/summary.json"
        );
    }
}
