//! Realistic Statuspage documents, modelled on captured GitHub and Discord responses: dozens of
//! components in groups, the 50 most recent incidents with several updates each, HTML `<br />`
//! and `\r\n` in bodies, timestamps in the page's own offset, null `affected_components`.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

const GROUPS: [(&str, &[&str]); 6] = [
    (
        "Code",
        &[
            "Git Operations",
            "Pull Requests",
            "Issues",
            "Code Review",
            "Repositories",
            "Search",
        ],
    ),
    (
        "Automation",
        &[
            "Actions",
            "Webhooks",
            "API Requests",
            "Packages",
            "Dependabot",
        ],
    ),
    (
        "Collaboration",
        &["Discussions", "Notifications", "Wikis", "Projects", "Gists"],
    ),
    (
        "Hosting",
        &["Pages", "Codespaces", "Container Registry", "LFS"],
    ),
    (
        "Intelligence",
        &[
            "Copilot",
            "Copilot Chat",
            "Code Scanning",
            "Secret Scanning",
        ],
    ),
    (
        "Regions",
        &[
            "North America",
            "Europe",
            "Asia Pacific",
            "South America",
            "Australia",
        ],
    ),
];

#[derive(Clone)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: String,
    pub group: bool,
    pub group_id: Option<String>,
    pub position: usize,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Update {
    pub id: String,
    pub status: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Incident {
    pub id: String,
    pub name: String,
    pub status: String,
    pub impact: String,
    pub created: DateTime<Utc>,
    pub components: Vec<String>,
    pub updates: Vec<Update>,
    pub scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub postmortem_body: Option<String>,
}

pub struct Page {
    pub id: String,
    pub name: String,
    pub url: String,
    /// Offset the page writes its timestamps in (Statuspage uses the page's zone).
    pub offset: FixedOffset,
    /// incident.io's compatible API: no time_zone, ULID-like ids, trailing slash.
    pub incident_io: bool,
    pub components: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub maintenances: Vec<Incident>,
    counter: usize,
}

/// A fixed clock for fixtures: history happened before it.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

impl Page {
    /// A GitHub-sized page: 29 components in 6 groups, 50 resolved incidents of history.
    pub fn realistic(name: &str, url: &str) -> Page {
        let mut page = Page {
            id: "kctbh9vrtdwd".into(),
            name: name.into(),
            url: url.trim_end_matches('/').into(),
            offset: FixedOffset::west_opt(8 * 3600).unwrap(),
            incident_io: false,
            components: Vec::new(),
            incidents: Vec::new(),
            maintenances: Vec::new(),
            counter: 0,
        };
        let mut position = 1;
        for (g, (group, members)) in GROUPS.iter().enumerate() {
            let group_id = format!("grp{g:09}");
            page.components.push(Component {
                id: group_id.clone(),
                name: (*group).into(),
                status: "operational".into(),
                group: true,
                group_id: None,
                position,
                updated_at: epoch() - Duration::days(30),
            });
            position += 1;
            for (m, member) in members.iter().enumerate() {
                page.components.push(Component {
                    id: format!("cmp{g}{m:08}"),
                    name: (*member).into(),
                    status: "operational".into(),
                    group: false,
                    group_id: Some(group_id.clone()),
                    position,
                    updated_at: epoch() - Duration::days(30),
                });
                position += 1;
            }
        }
        for n in 0..50 {
            let created = epoch() - Duration::hours(6 + 13 * (50 - n as i64));
            let component = page.leaf_ids()[n % 28].clone();
            let id = format!("hist{n:08}");
            let mut incident = Incident {
                id: id.clone(),
                name: format!("Incident with {} (#{n})", page.component_name(&component)),
                status: "resolved".into(),
                impact: ["minor", "major", "none", "critical"][n % 4].into(),
                created,
                components: vec![component],
                updates: Vec::new(),
                scheduled: None,
                postmortem_body: None,
            };
            let steps = [
                ("investigating", long_body("We are investigating reports of degraded performance", n)),
                ("identified", long_body("We have identified the cause and are rolling out a fix", n)),
                ("monitoring", long_body("A fix has been deployed and we are monitoring recovery", n)),
                ("resolved", "This incident has been resolved. Thank you for your patience and understanding as we addressed this issue. A detailed root cause analysis will be shared as soon as it is available.".to_owned()),
            ];
            for (s, (status, body)) in steps.iter().enumerate() {
                incident.updates.push(Update {
                    id: format!("{id}u{s}"),
                    status: (*status).into(),
                    body: body.clone(),
                    at: created + Duration::minutes(20 * s as i64),
                });
            }
            page.incidents.push(incident);
        }
        page
    }

    /// The incident.io flavour of the same page (status.openai.com style).
    pub fn incident_io(name: &str, url: &str) -> Page {
        let mut page = Page::realistic(name, url);
        page.incident_io = true;
        page.id = "01JMBBQ5Z1GA1RW3DN5A4NBE2X".into();
        page.offset = FixedOffset::east_opt(0).unwrap();
        page.components.retain(|c| !c.group);
        for (i, c) in page.components.iter_mut().enumerate() {
            c.id = format!("01JMBBQ5Z1GA1RW3DN5A{i:06}");
            c.group_id = None;
        }
        page
    }

    /// The vendor moves its page to another platform: every record gets a new id (`prefix`
    /// before the old one).
    pub fn migrate(&mut self, prefix: &str) {
        let rekey = |id: &str| format!("{prefix}{id}");
        for component in &mut self.components {
            component.id = rekey(&component.id);
            component.group_id = component.group_id.as_deref().map(rekey);
        }
        for record in self
            .incidents
            .iter_mut()
            .chain(self.maintenances.iter_mut())
        {
            record.id = rekey(&record.id);
            record.components = record.components.iter().map(|c| rekey(c)).collect();
            for update in &mut record.updates {
                update.id = rekey(&update.id);
            }
        }
    }

    pub fn leaf_ids(&self) -> Vec<String> {
        self.components
            .iter()
            .filter(|c| !c.group)
            .map(|c| c.id.clone())
            .collect()
    }

    pub fn component_name(&self, id: &str) -> String {
        self.components
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    pub fn set_component(&mut self, id: &str, status: &str, at: DateTime<Utc>) {
        let c = self
            .components
            .iter_mut()
            .find(|c| c.id == id)
            .expect("component");
        c.status = status.into();
        c.updated_at = at;
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        if self.incident_io {
            format!("01JN{prefix:0>4}{:018}", self.counter).to_uppercase()
        } else {
            format!("{prefix}{:08}", self.counter)
        }
    }

    /// Opens an incident with its first update; returns the incident id.
    pub fn open_incident(
        &mut self,
        name: &str,
        impact: &str,
        components: &[String],
        body: &str,
        at: DateTime<Utc>,
    ) -> String {
        let id = self.next_id("inc");
        let update_id = self.next_id("upd");
        self.incidents.push(Incident {
            id: id.clone(),
            name: name.into(),
            status: "investigating".into(),
            impact: impact.into(),
            created: at,
            components: components.to_vec(),
            updates: vec![Update {
                id: update_id,
                status: "investigating".into(),
                body: body.into(),
                at,
            }],
            scheduled: None,
            postmortem_body: None,
        });
        id
    }

    pub fn schedule_maintenance(
        &mut self,
        name: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> String {
        let id = self.next_id("mnt");
        let update_id = self.next_id("upd");
        self.maintenances.push(Incident {
            id: id.clone(),
            name: name.into(),
            status: "scheduled".into(),
            impact: "maintenance".into(),
            created: at,
            components: vec![self.leaf_ids()[3].clone()],
            updates: vec![Update {
                id: update_id,
                status: "scheduled".into(),
                body: "We will be performing scheduled maintenance.\r\nDuring this window, Git operations may be slower than usual.".into(),
                at,
            }],
            scheduled: Some((from, until)),
            postmortem_body: None,
        });
        id
    }

    /// Posts an update to an incident or maintenance; its status becomes the update's.
    pub fn post_update(&mut self, id: &str, status: &str, body: &str, at: DateTime<Utc>) -> String {
        let update_id = self.next_id("upd");
        let record = self
            .incidents
            .iter_mut()
            .chain(self.maintenances.iter_mut())
            .find(|i| i.id == id)
            .expect("incident");
        record.status = status.into();
        record.updates.push(Update {
            id: update_id.clone(),
            status: status.into(),
            body: body.into(),
            at,
        });
        update_id
    }

    pub fn publish_postmortem(&mut self, id: &str, body: &str) {
        let record = self
            .incidents
            .iter_mut()
            .find(|i| i.id == id)
            .expect("incident");
        record.status = "postmortem".into();
        record.postmortem_body = Some(body.into());
    }

    fn time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.offset);
        if self.incident_io {
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        } else {
            local.to_rfc3339_opts(SecondsFormat::Millis, false)
        }
    }

    fn page_json(&self) -> Value {
        let updated = self
            .incidents
            .iter()
            .flat_map(|i| i.updates.iter().map(|u| u.at))
            .max()
            .unwrap_or_else(epoch);
        if self.incident_io {
            json!({"id": self.id, "name": self.name, "url": format!("{}/", self.url), "updated_at": self.time(updated)})
        } else {
            json!({"id": self.id, "name": self.name, "url": self.url, "time_zone": "America/Tijuana", "updated_at": self.time(updated)})
        }
    }

    fn component_json(&self, c: &Component) -> Value {
        if self.incident_io {
            return json!({"id": c.id, "name": c.name, "status": c.status, "position": c.position, "group": null});
        }
        let children: Vec<&str> = self
            .components
            .iter()
            .filter(|x| x.group_id.as_deref() == Some(c.id.as_str()))
            .map(|x| x.id.as_str())
            .collect();
        let mut v = json!({
            "id": c.id, "name": c.name, "status": c.status,
            "created_at": self.time(epoch() - Duration::days(900)), "updated_at": self.time(c.updated_at),
            "position": c.position, "description": if c.group { Value::Null } else { json!(format!("{} for all repositories", c.name)) },
            "showcase": !c.group, "start_date": null, "group_id": c.group_id, "page_id": self.id,
            "group": c.group, "only_show_if_degraded": false
        });
        if c.group {
            v["components"] = json!(children);
        }
        v
    }

    fn incident_json(&self, i: &Incident) -> Value {
        let last = i.updates.last().map(|u| u.at).unwrap_or(i.created);
        let resolved_at = i
            .updates
            .iter()
            .find(|u| u.status == "resolved" || u.status == "completed")
            .map(|u| self.time(u.at));
        let monitoring_at = i
            .updates
            .iter()
            .find(|u| u.status == "monitoring")
            .map(|u| self.time(u.at));
        let components: Vec<Value> = i
            .components
            .iter()
            .filter_map(|id| self.components.iter().find(|c| &c.id == id))
            .map(|c| self.component_json(c))
            .collect();
        let updates: Vec<Value> = i
            .updates
            .iter()
            .rev()
            .enumerate()
            .map(|(n, u)| {
                // Real pages: the newest update often carries a components diff, older ones
                // null, legacy ones a placeholder.
                let affected = match n % 3 {
                    0 => json!(i.components.iter().map(|id| json!({"code": id, "name": self.component_name(id), "old_status": "operational", "new_status": "degraded_performance"})).collect::<Vec<_>>()),
                    1 => Value::Null,
                    _ => json!([{"name": "No components were affected by this update."}]),
                };
                json!({
                    "id": u.id, "status": u.status, "body": u.body, "incident_id": i.id,
                    "created_at": self.time(u.at), "updated_at": self.time(u.at), "display_at": self.time(u.at),
                    "affected_components": affected, "deliver_notifications": true, "custom_tweet": null, "tweet_id": null
                })
            })
            .collect();
        let mut v = json!({
            "id": i.id, "name": i.name, "status": i.status, "impact": i.impact,
            "created_at": self.time(i.created), "updated_at": self.time(last),
            "monitoring_at": monitoring_at, "resolved_at": resolved_at,
            "shortlink": format!("https://stspg.io/{}", &i.id[i.id.len().saturating_sub(6)..]),
            "started_at": self.time(i.created - Duration::minutes(2)), "page_id": self.id,
            "incident_updates": updates, "components": components, "reminder_intervals": null
        });
        if let Some((from, until)) = i.scheduled {
            v["scheduled_for"] = json!(self.time(from));
            v["scheduled_until"] = json!(self.time(until));
            v["scheduled_remind_prior"] = json!(true);
            v["scheduled_auto_in_progress"] = json!(true);
            v["scheduled_auto_completed"] = json!(true);
        }
        if let Some(body) = &i.postmortem_body {
            v["postmortem_body"] = json!(body);
            v["postmortem_published_at"] = json!(self.time(last + Duration::days(2)));
        }
        v
    }

    fn indicator(&self) -> (&'static str, &'static str) {
        let worst = self
            .incidents
            .iter()
            .filter(|i| !matches!(i.status.as_str(), "resolved" | "postmortem"))
            .map(|i| i.impact.as_str())
            .collect::<Vec<_>>();
        if worst.contains(&"critical") {
            ("critical", "Major System Outage")
        } else if worst.contains(&"major") {
            ("major", "Partial System Outage")
        } else if !worst.is_empty() {
            ("minor", "Minor Service Outage")
        } else {
            ("none", "All Systems Operational")
        }
    }

    pub fn summary_json(&self) -> String {
        let (indicator, description) = self.indicator();
        let open: Vec<Value> = self
            .incidents
            .iter()
            .filter(|i| !matches!(i.status.as_str(), "resolved" | "postmortem"))
            .map(|i| self.incident_json(i))
            .collect();
        let active: Vec<Value> = self
            .maintenances
            .iter()
            .filter(|m| m.status != "completed")
            .map(|m| self.incident_json(m))
            .collect();
        let components: Vec<Value> = self
            .components
            .iter()
            .map(|c| self.component_json(c))
            .collect();
        if self.incident_io {
            return json!({"page": self.page_json(), "status": {"description": description, "indicator": indicator}, "components": components}).to_string();
        }
        json!({"page": self.page_json(), "status": {"indicator": indicator, "description": description},
               "components": components, "incidents": open, "scheduled_maintenances": active})
        .to_string()
    }

    /// The 50 most recent incidents, newest first.
    pub fn incidents_json(&self) -> String {
        json!({"page": self.page_json(), "incidents": self.newest_fifty(&self.incidents)})
            .to_string()
    }

    pub fn maintenances_json(&self) -> String {
        json!({"page": self.page_json(), "scheduled_maintenances": self.newest_fifty(&self.maintenances)})
            .to_string()
    }

    /// `/history.atom` as Statuspage renders it from the same records: the 25 most recently
    /// updated incidents and maintenances, one `<p>` per update, newest first, in the page's
    /// zone (`PST`), days space-padded and no year, "Update" when the status did not change.
    pub fn history_atom(&self) -> String {
        let host = self.url.split("://").nth(1).unwrap_or(&self.url);
        let mut records: Vec<(&Incident, bool)> = self
            .incidents
            .iter()
            .map(|i| (i, false))
            .chain(self.maintenances.iter().map(|m| (m, true)))
            .collect();
        let last = |i: &Incident| i.updates.last().map(|u| u.at).unwrap_or(i.created);
        records.sort_by_key(|(i, _)| std::cmp::Reverse(last(i)));
        let escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let shown = |at: DateTime<Utc>| {
            let local = at.with_timezone(&self.offset);
            format!(
                "{} <var data-var='date'>{:>2}</var>, <var data-var='time'>{}</var> PST",
                local.format("%b"),
                local.format("%-d"),
                local.format("%H:%M")
            )
        };
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:{host},2005:/history</id>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n  <link rel=\"self\" type=\"application/atom+xml\" href=\"{url}/history.atom\"/>\n  <title>{name} Status - Incident History</title>\n  <updated>{updated}</updated>\n",
            url = self.url,
            name = self.name,
            updated = self.time(records.first().map_or_else(epoch, |(i, _)| last(i)))
        );
        for (n, (record, maintenance)) in records.iter().take(25).enumerate() {
            let mut paragraphs = Vec::new();
            let mut previous_status = "";
            for update in &record.updates {
                let label = if update.status == previous_status {
                    "Update".to_owned()
                } else {
                    let mut label = update.status.replace('_', " ");
                    label[..1].make_ascii_uppercase();
                    label
                };
                previous_status = &update.status;
                paragraphs.push(format!(
                    "<p><small>{}</small><br><strong>{label}</strong> - {}</p>",
                    shown(update.at),
                    update.body.replace("\r\n", "<br />")
                ));
            }
            if let Some(body) = &record.postmortem_body {
                paragraphs.push(format!(
                    "<p><small>{}</small><br><strong>Postmortem</strong> - {body}</p>",
                    shown(last(record) + Duration::days(2))
                ));
            }
            paragraphs.reverse();
            if let (true, Some((from, until))) = (maintenance, record.scheduled) {
                let (from, until) = (
                    from.with_timezone(&self.offset),
                    until.with_timezone(&self.offset),
                );
                paragraphs.insert(
                    0,
                    format!(
                        "<p><strong>THIS IS A SCHEDULED EVENT {} - {} PST</strong></p>",
                        from.format("%b %-d, %H:%M"),
                        until.format("%H:%M")
                    ),
                );
            }
            out.push_str(&format!(
                "  <entry>\n    <id>tag:{host},2005:Incident/{}</id>\n    <published>{}</published>\n    <updated>{}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{}/incidents/{}\"/>\n    <title>{}</title>\n    <content type=\"html\">{}</content>\n  </entry>\n",
                21_000_000 - n,
                self.time(last(record)),
                self.time(last(record)),
                self.url,
                record.id,
                escape(&record.name),
                escape(&paragraphs.join(""))
            ));
        }
        out.push_str("</feed>\n");
        out
    }

    /// Statuspage lists return the 50 most recently created records, newest first.
    fn newest_fifty(&self, records: &[Incident]) -> Vec<Value> {
        let mut list: Vec<&Incident> = records.iter().collect();
        list.sort_by_key(|i| std::cmp::Reverse(i.created));
        list.into_iter()
            .take(50)
            .map(|i| self.incident_json(i))
            .collect()
    }
}

fn long_body(lead: &str, n: usize) -> String {
    format!(
        "{lead} affecting a subset of customers (ref {n}).<br /><br />Users may see elevated error rates and increased latency when pushing, pulling or cloning repositories over HTTPS and SSH. \r\nWe will provide another update within 30 minutes or as soon as we have more information. Ünïcödé and kaomoji (ﾉ◕ヮ◕)ﾉ*:･ﾟ✧ are part of real bodies too."
    )
}
