//! Queries over the recorded events (the store keeps every event for the retention window):
//! the cross-provider timeline behind `/api/v1/events`, `/feed.atom` and `/incidents`, and one
//! provider's incident and maintenance timelines.
//!
//! Filters come from URL query parameters ([`EventQuery::parse`]); the store answers them in
//! [`crate::state_reader::StateReader::events`]. A bad parameter is an [`QueryError`] naming it,
//! which the web layer turns into a 400.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use crate::config::ProviderConfig;
use crate::event::{Event, EventType, UpdateRef};
use crate::model::{EntityKind, Impact, IncidentStatus};

/// Events per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most events one page may hold: a page is read and serialized in one request.
pub const MAX_LIMIT: usize = 500;

/// A query parameter the read side could not use: answered with a 400 that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub parameter: String,
    pub reason: String,
}

impl QueryError {
    fn new(parameter: &str, reason: impl Into<String>) -> QueryError {
        QueryError {
            parameter: parameter.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query parameter `{}`: {}", self.parameter, self.reason)
    }
}

impl std::error::Error for QueryError {}

/// Where a timeline starts: a fixed time, or a duration before the query runs (`24h`, `7d`),
/// resolved when the query runs so a feed reader's saved URL keeps meaning "the last week".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    At(DateTime<Utc>),
    Ago(std::time::Duration),
}

impl Since {
    fn parse(text: &str) -> Result<Since, QueryError> {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(Since::At(at.with_timezone(&Utc)));
        }
        humantime::parse_duration(text).map(Since::Ago).map_err(|_| {
            QueryError::new(
                "since",
                format!(
                    "`{text}` is neither an RFC 3339 time (2026-11-29T14:00:00Z) nor a duration (24h, 7d)"
                ),
            )
        })
    }

    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Since::At(at) => *at,
            Since::Ago(ago) => Duration::from_std(*ago)
                .ok()
                .and_then(|ago| now.checked_sub_signed(ago))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }

    fn to_param(&self) -> String {
        match self {
            Since::At(at) => at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Since::Ago(ago) => humantime::format_duration(*ago)
                .to_string()
                .replace(' ', ""),
        }
    }
}

/// Which providers a query covers: ids and tags (each narrows; several values of one are
/// alternatives). Shared by every read-side path that takes `provider` and `tag`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderFilter {
    pub providers: BTreeSet<String>,
    pub tags: BTreeSet<String>,
}

impl ProviderFilter {
    /// A query string holding only `provider`, `tag` (and the `token` the auth layer reads).
    pub fn parse(query: &str) -> Result<ProviderFilter, QueryError> {
        let mut filter = ProviderFilter::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if !filter.take(&key, &value)? && key != "token" {
                return Err(unknown_parameter(&key, "provider, tag"));
            }
        }
        Ok(filter)
    }

    /// Takes `provider` and `tag`; false for any other key.
    fn take(&mut self, key: &str, value: &str) -> Result<bool, QueryError> {
        let target = match key {
            "provider" => &mut self.providers,
            "tag" => &mut self.tags,
            _ => return Ok(false),
        };
        for item in list(key, value)? {
            target.insert(item.to_owned());
        }
        Ok(true)
    }

    /// The configured providers the filter selects, in configuration order. An id or tag no
    /// provider has is an error rather than an empty answer: it is almost always a typo.
    pub fn select<'a>(
        &self,
        configs: &'a [ProviderConfig],
    ) -> Result<Vec<&'a ProviderConfig>, QueryError> {
        for id in &self.providers {
            if !configs.iter().any(|p| &p.id == id) {
                return Err(QueryError::new(
                    "provider",
                    format!("no configured provider has the id `{id}`"),
                ));
            }
        }
        for tag in &self.tags {
            if !configs.iter().any(|p| p.tags.contains(tag)) {
                return Err(QueryError::new(
                    "tag",
                    format!("no configured provider has the tag `{tag}`"),
                ));
            }
        }
        Ok(configs
            .iter()
            .filter(|p| self.providers.is_empty() || self.providers.contains(&p.id))
            .filter(|p| self.tags.is_empty() || p.tags.iter().any(|t| self.tags.contains(t)))
            .collect())
    }

    /// Whether any filter is set (else every configured provider).
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty() && self.tags.is_empty()
    }

    fn write_params(&self, out: &mut url::form_urlencoded::Serializer<'_, String>) {
        if !self.providers.is_empty() {
            out.append_pair("provider", &join(&self.providers));
        }
        if !self.tags.is_empty() {
            out.append_pair("tag", &join(&self.tags));
        }
    }
}

/// The filters of the event timeline, from URL query parameters: `since`, `provider`, `tag`,
/// `type`, `impact`, `limit`, `before`. Lists are repeatable or comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub since: Option<Since>,
    pub filter: ProviderFilter,
    /// Empty: every type.
    pub types: BTreeSet<EventTypeKey>,
    /// The least impact an event must have ([`Impact::rank`]; component changes rate as the
    /// notification does, see [`crate::routing::event_impact`]).
    pub min_impact: Option<Impact>,
    pub limit: usize,
    /// Only events recorded before this one (its `seq`): the cursor of the next page.
    pub before: Option<i64>,
}

/// An [`EventType`] ordered by its name, so a set of them prints the same way every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventTypeKey(&'static str);

impl EventTypeKey {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl From<EventType> for EventTypeKey {
    fn from(kind: EventType) -> EventTypeKey {
        EventTypeKey(kind.as_str())
    }
}

impl Default for EventQuery {
    fn default() -> EventQuery {
        EventQuery {
            since: None,
            filter: ProviderFilter::default(),
            types: BTreeSet::new(),
            min_impact: None,
            limit: DEFAULT_LIMIT,
            before: None,
        }
    }
}

impl EventQuery {
    /// Reads a URL query string (without `?`). Unknown parameters are refused, so a misspelt
    /// filter is not silently ignored; `token` belongs to the auth layer and is skipped.
    pub fn parse(query: &str) -> Result<EventQuery, QueryError> {
        let mut parsed = EventQuery::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim();
            if parsed.filter.take(&key, value)? {
                continue;
            }
            match &*key {
                "since" => parsed.since = Some(Since::parse(value)?),
                "type" => {
                    for name in list("type", value)? {
                        let kind = EventType::ALL
                            .into_iter()
                            .find(|k| k.as_str() == name)
                            .ok_or_else(|| {
                                QueryError::new(
                                    "type",
                                    format!(
                                        "unknown event type `{name}` (one of {})",
                                        EventType::ALL.map(EventType::as_str).join(", ")
                                    ),
                                )
                            })?;
                        parsed.types.insert(kind.into());
                    }
                }
                "impact" => {
                    let impact = Impact::from(value);
                    if let Impact::Unknown(_) = impact {
                        return Err(QueryError::new(
                            "impact",
                            format!(
                                "unknown impact `{value}` (one of none, maintenance, minor, major, critical)"
                            ),
                        ));
                    }
                    parsed.min_impact = Some(impact);
                }
                "limit" => {
                    parsed.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            QueryError::new(
                                "limit",
                                format!("`{value}` is not a number from 1 to {MAX_LIMIT}"),
                            )
                        })?;
                }
                "before" => {
                    parsed.before = Some(value.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(
                        || QueryError::new("before", format!("`{value}` is not an event seq")),
                    )?);
                }
                "token" => {}
                other => {
                    return Err(unknown_parameter(
                        other,
                        "since, provider, tag, type, impact, limit, before",
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// The query string of these filters (without `before` when `cursor` is `None`), in one
    /// canonical order: the `next` link of a page, and the identity of a feed.
    pub fn to_query_string(&self, cursor: Option<i64>, with_limit: bool) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(since) = &self.since {
            out.append_pair("since", &since.to_param());
        }
        self.filter.write_params(&mut out);
        if !self.types.is_empty() {
            out.append_pair("type", &join(self.types.iter().map(|t| t.as_str())));
        }
        if let Some(impact) = &self.min_impact {
            out.append_pair("impact", impact.as_str());
        }
        if with_limit && self.limit != DEFAULT_LIMIT {
            out.append_pair("limit", &self.limit.to_string());
        }
        if let Some(cursor) = cursor {
            out.append_pair("before", &cursor.to_string());
        }
        out.finish()
    }

    /// Whether an event passes the filters SQL cannot apply (impact).
    pub fn admits(&self, event: &Event) -> bool {
        self.min_impact
            .as_ref()
            .is_none_or(|least| crate::routing::event_impact(event).rank() >= least.rank())
    }
}

fn unknown_parameter(key: &str, known: &str) -> QueryError {
    QueryError::new(key, format!("unknown parameter (known: {known})"))
}

/// A comma-separated value split into its non-empty items; an empty value is an error (a
/// filter that selects nothing is a mistake, not a wish for everything).
fn list<'a>(key: &str, value: &'a str) -> Result<Vec<&'a str>, QueryError> {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect();
    if items.is_empty() {
        return Err(QueryError::new(key, "empty value"));
    }
    Ok(items)
}

fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let items: Vec<_> = items.into_iter().collect();
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    items.join(",")
}

/// One page of the event timeline, newest first, and the cursor of the next (older) page.
#[derive(Debug, Clone, Default)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// The `before` of the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// One recorded event: its place in the store (the pagination cursor), when the watcher
/// recorded it, and the event as routes received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    #[serde(serialize_with = "rfc3339")]
    pub recorded_at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

/// One incident or maintenance as the recorded events tell it: what its latest event said,
/// and every update the events carried, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentHistory {
    pub id: String,
    pub kind: EntityKind,
    pub name: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    /// The vendor's link, only if it is an http(s) URL ([`crate::render::web_link`]).
    pub url: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    /// When the vendor says it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When the watcher recorded its first and its latest event.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The seq of its latest event.
    pub last_seq: i64,
    pub updates: Vec<UpdateRef>,
}

/// Groups one provider's events (oldest first) into incident and maintenance timelines,
/// latest activity first. Component changes and page moves belong to no incident.
pub fn incident_timelines(events: impl IntoIterator<Item = StoredEvent>) -> Vec<IncidentHistory> {
    let mut timelines: Vec<IncidentHistory> = Vec::new();
    for stored in events {
        let (Some(kind), Some(incident)) = (
            stored.event.entity_kind(),
            stored.event.data.incident.as_ref(),
        ) else {
            continue;
        };
        let index = match timelines
            .iter()
            .position(|t| t.kind == kind && t.id == incident.id)
        {
            Some(index) => index,
            None => {
                timelines.push(IncidentHistory {
                    id: incident.id.clone(),
                    kind,
                    name: String::new(),
                    impact: Impact::None,
                    status: IncidentStatus::Scheduled,
                    url: None,
                    scheduled_for: None,
                    scheduled_until: None,
                    created_at: None,
                    first_seen: stored.recorded_at,
                    last_seen: stored.recorded_at,
                    last_seq: stored.seq,
                    updates: Vec::new(),
                });
                timelines.len() - 1
            }
        };
        let timeline = &mut timelines[index];
        // The latest event describes the record as it is now.
        timeline.name = incident.name.clone();
        timeline.impact = incident.impact.clone();
        timeline.status = incident.status.clone();
        timeline.url = incident.url.as_deref().and_then(crate::render::web_link);
        timeline.scheduled_for = incident.scheduled_for;
        timeline.scheduled_until = incident.scheduled_until;
        timeline.created_at = incident.created_at;
        timeline.last_seen = stored.recorded_at;
        timeline.last_seq = stored.seq;
        if let Some(update) = &stored.event.data.update
            && !timeline.updates.iter().any(|u| u.id == update.id)
        {
            timeline.updates.push(update.clone());
        }
    }
    for timeline in &mut timelines {
        // Stable: updates without a time keep the order they were recorded in.
        timeline
            .updates
            .sort_by_key(|u| u.created_at.unwrap_or(DateTime::<Utc>::MIN_UTC));
    }
    timelines.sort_by_key(|t| std::cmp::Reverse(t.last_seq));
    timelines
}

fn rfc3339<S: serde::Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(query: &str) -> QueryError {
        EventQuery::parse(query).expect_err(query)
    }

    #[test]
    fn filters_parse_from_repeated_and_comma_separated_parameters() {
        let query = EventQuery::parse(
            "since=7d&provider=github,stripe&provider=aws&type=incident.created&type=incident.resolved,maintenance.scheduled&impact=major&limit=20&before=99&token=x",
        )
        .unwrap();
        assert_eq!(
            query.since,
            Some(Since::Ago(std::time::Duration::from_secs(7 * 86_400)))
        );
        assert_eq!(
            query.filter.providers.iter().collect::<Vec<_>>(),
            ["aws", "github", "stripe"]
        );
        assert_eq!(query.types.len(), 3);
        assert_eq!(query.min_impact, Some(Impact::Major));
        assert_eq!((query.limit, query.before), (20, Some(99)));
        // The canonical form reads back as the same query.
        let again = EventQuery::parse(&query.to_query_string(query.before, true)).unwrap();
        assert_eq!(again, query);
        assert_eq!(
            EventQuery::parse("since=2026-11-29T14:00:00%2B01:00")
                .unwrap()
                .since,
            Some(Since::At("2026-11-29T13:00:00Z".parse().unwrap()))
        );
        assert_eq!(EventQuery::parse("").unwrap(), EventQuery::default());
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (query, parameter) in [
            ("since=yesterday", "since"),
            ("since=", "since"),
            ("type=incident.exploded", "type"),
            ("type=", "type"),
            ("impact=apocalyptic", "impact"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=ten", "limit"),
            ("before=-3", "before"),
            ("before=abc", "before"),
            ("provider=", "provider"),
            ("provder=github", "provder"),
        ] {
            let err = error(query);
            assert_eq!(err.parameter, parameter, "{query}: {err}");
            assert!(err.to_string().contains(&format!("`{parameter}`")), "{err}");
        }
        assert!(error("type=nope").reason.contains("incident.created"));
        assert!(ProviderFilter::parse("since=1d").is_err());
        assert!(ProviderFilter::parse("provider=a&tag=b&token=t").is_ok());
    }

    #[test]
    fn relative_since_resolves_at_query_time() {
        let now: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let since = Since::parse("24h").unwrap();
        assert_eq!(since.resolve(now), now - Duration::hours(24));
        assert_eq!(since.to_param(), "1day");
        assert_eq!(Since::parse("1day").unwrap(), since);
        let odd = Since::Ago(std::time::Duration::from_secs(36 * 3600 + 5 * 60));
        assert_eq!(Since::parse(&odd.to_param()).unwrap(), odd);
        // Absurd durations clamp instead of overflowing.
        let far = Since::Ago(std::time::Duration::from_secs(u64::MAX / 2));
        assert_eq!(far.resolve(now), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn timelines_group_by_record_and_deduplicate_updates() {
        use crate::event::{EventData, IncidentRef, ProviderRef};
        let at = |minute: i64| -> DateTime<Utc> {
            "2026-11-29T14:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minute)
        };
        let stored =
            |seq: i64, kind: EventType, record: &str, status: &str, update: &str| StoredEvent {
                seq,
                recorded_at: at(seq),
                event: Event {
                    kind,
                    id: format!("evt_{seq}"),
                    timestamp: at(seq),
                    data: EventData {
                        provider: ProviderRef {
                            id: "p".into(),
                            name: "P".into(),
                            url: "https://status.example".into(),
                        },
                        incident: Some(IncidentRef {
                            id: record.into(),
                            name: format!("{record} as of {seq}"),
                            status: status.into(),
                            impact: Impact::Major,
                            url: Some("javascript:alert(1)".into()),
                            components: Vec::new(),
                            created_at: Some(at(0)),
                            resolved_at: None,
                            scheduled_for: None,
                            scheduled_until: None,
                        }),
                        update: Some(UpdateRef {
                            id: update.into(),
                            status: status.into(),
                            body: String::new(),
                            created_at: Some(at(seq)),
                        }),
                        component: None,
                        moved: None,
                        health: None,
                    },
                },
            };
        let timelines = incident_timelines([
            stored(1, EventType::IncidentCreated, "a", "investigating", "a1"),
            stored(2, EventType::MaintenanceScheduled, "m", "scheduled", "m1"),
            stored(3, EventType::IncidentUpdated, "a", "identified", "a2"),
            // The same update again (a replay under another event) is one update.
            stored(4, EventType::IncidentResolved, "a", "resolved", "a2"),
        ]);
        assert_eq!(timelines.len(), 2);
        let a = &timelines[0];
        assert_eq!((a.id.as_str(), a.kind), ("a", EntityKind::Incident));
        assert_eq!(a.name, "a as of 4");
        assert_eq!(a.status, IncidentStatus::Resolved);
        assert_eq!((a.first_seen, a.last_seen, a.last_seq), (at(1), at(4), 4));
        assert_eq!(
            a.updates.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["a1", "a2"]
        );
        assert_eq!(a.url, None, "only http(s) links survive");
        assert_eq!(timelines[1].kind, EntityKind::Maintenance);
    }
}
