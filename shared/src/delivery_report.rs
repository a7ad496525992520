//! The operators' view of the outbox (`/deliveries`): per destination, how many deliveries were
//! sent, are waiting or were dead-lettered, whether the destination is paused, and its most
//! recent deliveries with their errors. Read from the state file beside a running watcher.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use crate::event::Event;
use crate::state_reader::StateReader;
use crate::store::StoreError;

/// How many recent deliveries each destination lists.
pub const RECENT_PER_DESTINATION: usize = 20;

#[derive(Debug, Default, Serialize)]
pub struct DestinationReport {
    pub name: String,
    pub sent: i64,
    pub pending: i64,
    pub dead: i64,
    /// Why and since when the destination's deliveries are dead-lettered without sending
    /// (it answered "gone": a deleted webhook, a revoked token).
    pub paused: Option<Paused>,
    pub recent: Vec<DeliveryLine>,
}

#[derive(Debug, Serialize)]
pub struct Paused {
    pub reason: String,
    pub since: String,
}

#[derive(Debug, Serialize)]
pub struct DeliveryLine {
    pub event_id: String,
    pub event_type: String,
    pub provider: String,
    /// The incident, maintenance or component the event is about.
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub response_status: Option<i64>,
    pub updated_at: String,
}

impl StateReader {
    /// Every destination named in `configured` or in the outbox, by name.
    pub fn delivery_report(
        &self,
        configured: &[String],
    ) -> Result<Vec<DestinationReport>, StoreError> {
        let conn = self.connection();
        let mut reports: BTreeMap<String, DestinationReport> = configured
            .iter()
            .map(|name| {
                let report = DestinationReport {
                    name: name.clone(),
                    ..DestinationReport::default()
                };
                (name.clone(), report)
            })
            .collect();
        let report = |reports: &mut BTreeMap<String, DestinationReport>, name: &str| {
            reports
                .entry(name.to_owned())
                .or_insert_with(|| DestinationReport {
                    name: name.to_owned(),
                    ..DestinationReport::default()
                });
        };
        let mut counts =
            conn.prepare("SELECT route, status, COUNT(*) FROM deliveries GROUP BY route, status")?;
        let mut rows = counts.query([])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            let status: String = row.get(1)?;
            let n: i64 = row.get(2)?;
            report(&mut reports, &name);
            let entry = reports.get_mut(&name).expect("inserted above");
            match status.as_str() {
                "sent" => entry.sent = n,
                "pending" => entry.pending = n,
                "dead" => entry.dead = n,
                _ => {}
            }
        }
        let mut paused = conn.prepare("SELECT name, reason, since FROM failing_destinations")?;
        let mut rows = paused.query([])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            report(&mut reports, &name);
            reports.get_mut(&name).expect("inserted above").paused = Some(Paused {
                reason: row.get(1)?,
                since: row.get(2)?,
            });
        }
        let mut recent = conn.prepare(
            "SELECT e.id, e.type, e.provider, e.payload, d.status, d.attempts, d.last_error,
                    d.response_status, d.updated_at
             FROM deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.route = ?1 ORDER BY d.updated_at DESC, d.event_seq DESC LIMIT ?2",
        )?;
        for report in reports.values_mut() {
            let mut rows = recent.query(params![report.name, RECENT_PER_DESTINATION as i64])?;
            while let Some(row) = rows.next()? {
                let payload: String = row.get(3)?;
                report.recent.push(DeliveryLine {
                    event_id: row.get(0)?,
                    event_type: row.get(1)?,
                    provider: row.get(2)?,
                    subject: subject(&payload),
                    status: row.get(4)?,
                    attempts: row.get(5)?,
                    last_error: row.get(6)?,
                    response_status: row.get(7)?,
                    updated_at: row.get(8)?,
                });
            }
        }
        Ok(reports.into_values().collect())
    }
}

/// What an event is about, from its stored payload; an unreadable payload shows as empty
/// rather than hiding the delivery.
fn subject(payload: &str) -> String {
    let Ok(event) = serde_json::from_str::<Event>(payload) else {
        return String::new();
    };
    let data = event.data;
    data.incident
        .map(|i| i.name)
        .or(data.component.map(|c| c.name))
        .unwrap_or(data.provider.name)
}
