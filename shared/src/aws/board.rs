//! What the dashboard lists, kept by the poller so that one Query answers `/`, `/maintenance`
//! and the calendar: one board summary per provider (`P#<provider>` / `BOARD`, in the read
//! index under `B`), the end of each shard's last scheduled run (`CYCLE`), and the read
//! side's version (`VERSION`), which every write the read side shows bumps.
//!
//! A summary is written when what it shows changes (its hash is kept in the provider's meta),
//! so a page that stays the same costs no write; a failed poll updates only its failure
//! fields. While a provider's polls succeed, its last good poll is its shard's last run.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::table::{READ_INDEX, Table, TableError, table_error};
use crate::model::{Incident, Snapshot};
use crate::overview::{
    OpenIncident, OverallState, PollHealth, ProviderOverview, current_state, overview,
};
use crate::stream::provider_pk;

/// The read index's partition of the board summaries.
pub const BOARD: &str = "B";
/// The sort key of a provider's board item.
pub const BOARD_SK: &str = "BOARD";
const CYCLE_PK: &str = "CYCLE";
const VERSION_KEY: &str = "VERSION";

/// What the dashboard shows of a provider from its last good read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardSummary {
    /// As events name the provider (the configured name, else the page's own).
    pub name: String,
    pub shown: OverallState,
    pub open_incidents: Vec<OpenIncident>,
    pub maintenance_in_progress: usize,
    /// Unfinished maintenances (a cancelled one is not finished: the calendar marks it), each
    /// with its latest update only: the overview, the maintenance page and the calendar need
    /// no more.
    pub maintenances: Vec<Incident>,
}

impl BoardSummary {
    pub fn of(provider_id: &str, name: &str, snapshot: &Snapshot) -> BoardSummary {
        let view = overview(provider_id, name, Some(snapshot), &PollHealth::default());
        let maintenances = snapshot
            .maintenances
            .iter()
            .filter(|m| !m.status.is_finished())
            .map(|m| Incident {
                updates: m.updates.last().cloned().into_iter().collect(),
                components: Vec::new(),
                ..m.clone()
            })
            .collect();
        BoardSummary {
            name: view.name,
            // With no failed poll, the overview's state is what the page shows.
            shown: view.state,
            open_incidents: view.open_incidents,
            maintenance_in_progress: view.maintenance_in_progress,
            maintenances,
        }
    }

    /// Identifies the content, so an unchanged summary is not written again.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("summaries serialize");
        hex::encode(&Sha256::digest(&json)[..12])
    }
}

/// A provider's board item as stored: the summary of its last good read and how its polls go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardItem {
    pub pk: String,
    pub sk: String,
    pub gsi_pk: String,
    /// The provider id.
    pub gsi_sk: String,
    /// The summary as JSON; absent while the provider has failed every poll so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// When the summary was written (a good poll that changed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub failed_polls: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<DateTime<Utc>>,
}

impl BoardItem {
    pub fn of(provider_id: &str, summary: &BoardSummary, now: DateTime<Utc>) -> BoardItem {
        BoardItem {
            pk: provider_pk(provider_id),
            sk: BOARD_SK.to_owned(),
            gsi_pk: BOARD.to_owned(),
            gsi_sk: provider_id.to_owned(),
            summary: Some(serde_json::to_string(summary).expect("summaries serialize")),
            written_at: Some(now),
            failed_polls: 0,
            last_error: None,
            last_error_at: None,
        }
    }

    pub fn provider_id(&self) -> &str {
        &self.gsi_sk
    }

    pub fn summary(&self) -> Option<BoardSummary> {
        let json = self.summary.as_deref()?;
        serde_json::from_str(json)
            .map_err(|e| {
                tracing::warn!(provider = %self.gsi_sk, error = %e, "unreadable board summary; shown as never read");
            })
            .ok()
    }

    /// The provider's overview; `configured_name`: the config's `name`, which wins over the
    /// summary's (written at the last read of the page, perhaps under an older config);
    /// `last_run`: when its shard's last scheduled run ended.
    pub fn overview(
        &self,
        provider_id: &str,
        configured_name: Option<&str>,
        last_run: Option<DateTime<Utc>>,
    ) -> (ProviderOverview, Option<BoardSummary>) {
        let summary = self.summary();
        let shown = summary.as_ref().map(|s| s.shown);
        let state = current_state(shown, self.failed_polls);
        let unknown = state == OverallState::Unknown;
        // Polls that succeed write nothing unless the page changed: the shard's last run is
        // the last good poll of every provider whose polls succeed.
        let last_good_poll = match (self.written_at, last_run) {
            (Some(written), Some(run)) if self.failed_polls == 0 => Some(written.max(run)),
            (written, _) => written,
        };
        let view = ProviderOverview {
            id: provider_id.to_owned(),
            name: configured_name
                .map(str::to_owned)
                .or_else(|| summary.as_ref().map(|s| s.name.clone()))
                .unwrap_or_else(|| provider_id.to_owned()),
            state,
            last_known_state: if unknown { shown } else { None },
            open_incidents: summary
                .as_ref()
                .map(|s| s.open_incidents.clone())
                .unwrap_or_default(),
            maintenance_in_progress: summary.as_ref().map_or(0, |s| s.maintenance_in_progress),
            last_good_poll,
            last_error: self.last_error.clone(),
            consecutive_failures: self.failed_polls,
        };
        (view, summary)
    }
}

/// When a shard's last scheduled run ended (`CYCLE` / [`cycle_key`]).
#[derive(Serialize, Deserialize)]
struct CycleItem {
    pk: String,
    sk: String,
    finished_at: DateTime<Utc>,
}

/// A shard's run key: `<shard>/<shards>`.
pub fn cycle_key(shard: u32, shards: u32) -> String {
    format!("{shard}/{shards}")
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

impl Table {
    pub async fn put_board(&self, item: &BoardItem) -> Result<(), TableError> {
        self.put(item).await
    }

    /// A failed poll: only the failure fields change (the summary stays what the last good
    /// read showed). Creates the item for a provider never read.
    pub async fn board_failed(
        &self,
        provider_id: &str,
        failed_polls: u32,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), TableError> {
        self.update_board(
            provider_id,
            "SET gsi_pk = :b, gsi_sk = :id, failed_polls = :n, last_error = :e, last_error_at = :at",
            [
                (":n", AttributeValue::N(failed_polls.to_string())),
                (":e", AttributeValue::S(error.to_owned())),
                (":at", AttributeValue::S(at.to_rfc3339())),
            ],
        )
        .await
    }

    /// A good poll that found nothing new ends a run of failures: the summary stays.
    pub async fn board_recovered(&self, provider_id: &str) -> Result<(), TableError> {
        self.update_board(
            provider_id,
            "SET gsi_pk = :b, gsi_sk = :id, failed_polls = :n REMOVE last_error, last_error_at",
            [(":n", AttributeValue::N("0".to_owned()))],
        )
        .await
    }

    /// An UpdateItem of a board item's fields that also keeps it in the read index.
    async fn update_board(
        &self,
        provider_id: &str,
        expression: &str,
        values: impl IntoIterator<Item = (&str, AttributeValue)>,
    ) -> Result<(), TableError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(&provider_pk(provider_id), BOARD_SK)))
            .update_expression(expression)
            .expression_attribute_values(":b", AttributeValue::S(BOARD.to_owned()))
            .expression_attribute_values(":id", AttributeValue::S(provider_id.to_owned()));
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        update
            .send()
            .await
            .map_err(|e| table_error("UpdateItem", e))?;
        Ok(())
    }

    /// Every provider's board item (one Query of the read index, in pages of up to 1 MB).
    pub async fn boards(&self) -> Result<Vec<BoardItem>, TableError> {
        let items = self
            .query_all(
                Some(READ_INDEX),
                "gsi_pk = :b",
                &[(":b", AttributeValue::S(BOARD.to_owned()))],
            )
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                serde_dynamo::from_item::<_, BoardItem>(item)
                    .map_err(|e| tracing::warn!(error = %e, "skipping an unreadable board item"))
                    .ok()
            })
            .collect())
    }

    /// Every item of one provider's partition: its state items, meta and board item.
    pub async fn provider_items(
        &self,
        provider_id: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, TableError> {
        self.query_all(
            None,
            "pk = :pk",
            &[(":pk", AttributeValue::S(provider_pk(provider_id)))],
        )
        .await
    }

    /// A scheduled run of a shard ended at `at`.
    pub async fn record_cycle(
        &self,
        shard: u32,
        shards: u32,
        at: DateTime<Utc>,
    ) -> Result<(), TableError> {
        self.put(&CycleItem {
            pk: CYCLE_PK.to_owned(),
            sk: cycle_key(shard, shards),
            finished_at: at,
        })
        .await
    }

    /// When each shard's last scheduled run ended, by [`cycle_key`].
    pub async fn cycles(&self) -> Result<HashMap<String, DateTime<Utc>>, TableError> {
        let items = self
            .query_all(
                None,
                "pk = :pk",
                &[(":pk", AttributeValue::S(CYCLE_PK.to_owned()))],
            )
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|item| serde_dynamo::from_item::<_, CycleItem>(item).ok())
            .map(|cycle| (cycle.sk, cycle.finished_at))
            .collect())
    }

    /// Something the read side shows changed: its version moves on.
    pub async fn bump_version(&self) -> Result<u64, TableError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(VERSION_KEY, VERSION_KEY)))
            .update_expression("ADD version :one")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| table_error("UpdateItem", e))?;
        Ok(output
            .attributes
            .and_then(|a| a.get("version")?.as_n().ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// The read side's version (0 before the first write it shows). Eventually consistent:
    /// half the price, and a second's lag only delays one revalidation.
    pub async fn version(&self) -> Result<u64, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(VERSION_KEY, VERSION_KEY)))
            .send()
            .await
            .map_err(|e| table_error("GetItem", e))?;
        Ok(output
            .item
            .and_then(|a| a.get("version")?.as_n().ok()?.parse().ok())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Component, IncidentUpdate};

    fn maintenance(id: &str, status: &str, updates: usize) -> Incident {
        Incident {
            id: id.into(),
            name: format!("Maintenance {id}"),
            status: status.into(),
            impact: "maintenance".into(),
            url: None,
            components: vec![],
            created_at: None,
            updated_at: None,
            resolved_at: None,
            scheduled_for: None,
            scheduled_until: None,
            updates: (0..updates)
                .map(|i| IncidentUpdate {
                    id: format!("u{i}"),
                    status: status.into(),
                    body: format!("update {i}"),
                    created_at: None,
                    alias: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_summary_keeps_what_the_board_and_calendar_need_and_nothing_else() {
        let snapshot = Snapshot {
            components: vec![Component {
                id: "c".into(),
                name: "API".into(),
                status: "partial_outage".into(),
                is_group: false,
                group_id: None,
                position: None,
                updated_at: None,
            }],
            maintenances: vec![
                maintenance("m1", "scheduled", 3),
                maintenance("m2", "completed", 2),
                maintenance("m3", "cancelled", 1),
            ],
            ..Snapshot::default()
        };
        let summary = BoardSummary::of("p", "P", &snapshot);
        assert_eq!(summary.shown, OverallState::PartialOutage);
        let kept: Vec<&str> = summary.maintenances.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(kept, ["m1", "m3"]);
        assert_eq!(summary.maintenances[0].updates.len(), 1);
        assert_eq!(summary.maintenances[0].updates[0].body, "update 2");
        let same = BoardSummary::of("p", "P", &snapshot);
        assert_eq!(summary.hash(), same.hash());
        let renamed = BoardSummary::of("p", "Q", &snapshot);
        assert_ne!(summary.hash(), renamed.hash());
    }

    #[test]
    fn failing_polls_make_the_state_unknown_and_healthy_ones_take_the_last_run() {
        let summary = BoardSummary::of("p", "P", &Snapshot::default());
        let written = Utc::now() - chrono::Duration::days(3);
        let run = Utc::now();
        let mut item = BoardItem::of("p", &summary, written);
        let (view, _) = item.overview("p", None, Some(run));
        assert_eq!(view.state, OverallState::Operational);
        assert_eq!(view.last_good_poll, Some(run));
        assert_eq!(view.name, "P", "the page's name, as last read");
        let (renamed, _) = item.overview("p", Some("Configured"), Some(run));
        assert_eq!(renamed.name, "Configured", "the config's name wins");
        item.failed_polls = 2;
        item.last_error = Some("timed out".into());
        let (view, _) = item.overview("p", None, Some(run));
        assert_eq!(view.state, OverallState::Unknown);
        assert_eq!(view.last_known_state, Some(OverallState::Operational));
        assert_eq!(view.last_good_poll, Some(written));
    }
}
