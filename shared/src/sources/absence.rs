//! Resolution by absence, for platforms whose documents list only open records.

use chrono::{DateTime, Utc};

use crate::model::{Incident, IncidentStatus, IncidentUpdate, Snapshot};

/// How long a record that left a source's list stays in the snapshot as finished.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);

/// For platforms that list only open records ([`Platform::lists_only_open`]): records of the
/// previous snapshot no longer listed are finished now (if they were open) and kept for a
/// week, so their end is seen exactly once. The local watcher passes its last snapshot; the
/// Lambda poller, which keeps none, the records it read back because they vanished.
pub(crate) fn finish_absent(snapshot: &mut Snapshot, prior: &Snapshot, now: DateTime<Utc>) {
    carry_finished(&mut snapshot.incidents, &prior.incidents, false, now);
    carry_finished(&mut snapshot.maintenances, &prior.maintenances, true, now);
}

fn carry_finished(
    listed: &mut Vec<Incident>,
    prior: &[Incident],
    maintenance: bool,
    now: DateTime<Utc>,
) {
    for record in prior {
        if listed.iter().any(|r| r.id == record.id) {
            continue;
        }
        let mut record = record.clone();
        if !record.status.is_finished() {
            let status = if maintenance {
                IncidentStatus::Completed
            } else {
                IncidentStatus::Resolved
            };
            record.updates.push(status_update(&record.id, &status, now));
            record.status = status;
            record.resolved_at = Some(now);
            record.updated_at = Some(now);
        }
        if record
            .resolved_at
            .is_none_or(|at| now - at <= KEEP_FINISHED)
        {
            listed.push(record);
        }
    }
}

pub(crate) fn status_update(
    id: &str,
    status: &IncidentStatus,
    at: DateTime<Utc>,
) -> IncidentUpdate {
    IncidentUpdate {
        id: format!("{id}-{}", status.as_str()),
        status: status.clone(),
        body: format!("Status: {}.", crate::render::humanize(status.as_str())),
        created_at: Some(at),
        alias: None,
    }
}
