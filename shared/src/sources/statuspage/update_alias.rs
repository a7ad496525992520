//! A Statuspage update's name in every channel of the page: its alias.
//!
//! The JSON API names an update by its own id; the history feed gives it none (the feed's ids
//! are derived from the entry). What both show is the incident's code and the time the page
//! displays for the update, to the minute. The alias is built from those: `<code>@<minute>`,
//! `#<n>` added for the n-th further update shown in the same minute, and `<code>@postmortem`
//! for the postmortem (the API dates it by its publication, the feed by its own line). The diff
//! counts an update seen under its id or its alias, so a page read through the other channel
//! than last time announces nothing twice.

use chrono::{DateTime, Utc};

use crate::model::{IncidentStatus, IncidentUpdate};

/// Sets the alias of a record's updates (oldest first); `shown_at[i]` is the time the page
/// displays for `updates[i]`. An update without a time gets none.
pub(crate) fn assign(
    record_id: &str,
    updates: &mut [IncidentUpdate],
    shown_at: &[Option<DateTime<Utc>>],
) {
    let mut minutes: Vec<String> = Vec::with_capacity(updates.len());
    for (update, shown_at) in updates.iter_mut().zip(shown_at) {
        if update.status == IncidentStatus::Postmortem {
            update.alias = Some(format!("{record_id}@postmortem"));
            continue;
        }
        let Some(at) = shown_at else {
            continue;
        };
        let minute = at.format("%Y-%m-%dT%H:%MZ").to_string();
        let earlier = minutes.iter().filter(|m| **m == minute).count();
        update.alias = Some(match earlier {
            0 => format!("{record_id}@{minute}"),
            n => format!("{record_id}@{minute}#{n}"),
        });
        minutes.push(minute);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn update(status: &str) -> IncidentUpdate {
        IncidentUpdate {
            id: String::new(),
            status: status.into(),
            body: String::new(),
            created_at: None,
            alias: None,
        }
    }

    #[test]
    fn aliases_name_the_minute_shown_and_tell_apart_updates_in_the_same_minute() {
        let at = |m, s| Some(Utc.with_ymd_and_hms(2026, 11, 20, 8, m, s).unwrap());
        let mut updates = [
            update("investigating"),
            update("investigating"),
            update("identified"),
            update("resolved"),
            update("postmortem"),
        ];
        let shown = [at(0, 5), at(0, 40), at(12, 0), None, at(59, 0)];
        assign("x7bq0n2v9k3m", &mut updates, &shown);
        let aliases: Vec<_> = updates.iter().map(|u| u.alias.as_deref()).collect();
        assert_eq!(
            aliases,
            [
                Some("x7bq0n2v9k3m@2026-11-20T08:00Z"),
                Some("x7bq0n2v9k3m@2026-11-20T08:00Z#1"),
                Some("x7bq0n2v9k3m@2026-11-20T08:12Z"),
                None,
                Some("x7bq0n2v9k3m@postmortem"),
            ]
        );
    }
}
