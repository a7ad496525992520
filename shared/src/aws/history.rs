//! The event history in the table: every event the notifier derives, recorded once, kept for
//! the retention window (`HISTORY_DAYS`, TTL), and read by the dashboard function.
//!
//! | item | pk | sk | read-index keys (`gsi_pk`, `gsi_sk`) |
//! |---|---|---|---|
//! | one event | `H#<provider>` | `E#<seq>#<event id>` | `T`, `<seq>` |
//!
//! - "Events of provider P" is one Query of the base table on `H#<P>`, oldest first.
//! - "Events since T" (the timeline, the feed, `/incidents`) is one Query of the read index on
//!   `T`, newest first, from the seq of T; the next page continues below the last seq read.
//!
//! `seq` orders events by when they were recorded: the stream record's creation time in
//! seconds (DynamoDB Streams gives no finer time) × 10⁹, plus nine digits of the event id's
//! hash. It is the same for the same event whenever its record is delivered again, so the
//! conditional put records it once; it fits an i64 (until 2262) and the read side's `before`
//! cursor. Events of one second are ordered among themselves by that hash; two of them sharing
//! all 19 digits is a one-in-a-billion chance per pair (500 events in one second: about one in
//! 8,000), and costs one of them on a page boundary.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::table::{READ_INDEX, Table, TableError, is_condition_failure, table_error};
use crate::event::Event;
use crate::history::StoredEvent;

/// The read index's partition of the event timeline.
pub const TIMELINE: &str = "T";

/// Retention when the template does not say (its `HistoryDays` default).
pub const DEFAULT_HISTORY_DAYS: i64 = 90;

pub fn history_pk(provider_id: &str) -> String {
    format!("H#{provider_id}")
}

const PER_SECOND: i64 = 1_000_000_000;

/// The seq of an event recorded at `recorded_at` (see the module's comment).
pub fn seq_of(event_id: &str, recorded_at: DateTime<Utc>) -> i64 {
    let hash = Sha256::digest(event_id.as_bytes());
    let low = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % PER_SECOND as u64;
    first_seq_at(recorded_at).saturating_add(low as i64)
}

/// The seq as the index's sort key: fixed width, so text order is number order.
fn seq_key(seq: i64) -> String {
    format!("{seq:019}")
}

/// The first seq of a second, for "since" (clamped to what an i64 holds).
pub fn first_seq_at(at: DateTime<Utc>) -> i64 {
    at.timestamp().max(0).saturating_mul(PER_SECOND)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub pk: String,
    pub sk: String,
    pub gsi_pk: String,
    pub gsi_sk: String,
    pub seq: i64,
    pub provider_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub recorded_at: DateTime<Utc>,
    /// The event as routes received it (the webhook JSON).
    pub event: String,
    /// TTL (epoch seconds): the end of the retention window.
    pub expires_at: i64,
}

impl HistoryItem {
    pub fn of(event: &Event, recorded_at: DateTime<Utc>, keep_days: i64) -> HistoryItem {
        let seq = seq_of(&event.id, recorded_at);
        HistoryItem {
            pk: history_pk(&event.data.provider.id),
            sk: format!("E#{}#{}", seq_key(seq), event.id),
            gsi_pk: TIMELINE.to_owned(),
            gsi_sk: seq_key(seq),
            seq,
            provider_id: event.data.provider.id.clone(),
            kind: event.kind.as_str().to_owned(),
            recorded_at,
            event: serde_json::to_string(event).expect("events serialize"),
            expires_at: (recorded_at + Duration::days(keep_days)).timestamp(),
        }
    }

    /// The event as the read side shows it; `None` for one this version cannot read.
    pub fn stored(&self) -> Option<StoredEvent> {
        match serde_json::from_str::<Event>(&self.event) {
            Ok(event) => Some(StoredEvent {
                seq: self.seq,
                recorded_at: self.recorded_at,
                event,
            }),
            Err(e) => {
                tracing::warn!(seq = self.seq, error = %e, "skipping an unreadable history item");
                None
            }
        }
    }
}

/// The time a stream record was created, as the notifier receives it.
pub fn recorded_at(approximate_creation: DateTime<Utc>) -> DateTime<Utc> {
    // A record without a time (never from DynamoDB) sorts at the epoch rather than failing.
    if approximate_creation.timestamp() <= 0 {
        return Utc.timestamp_opt(0, 0).single().expect("the epoch exists");
    }
    approximate_creation
}

/// One page of a history query: the items, and where the next page starts.
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    pub last_key: Option<std::collections::HashMap<String, AttributeValue>>,
}

impl Table {
    /// Records an event unless it is already recorded. Returns whether it was new.
    pub async fn record_history(&self, item: &HistoryItem) -> Result<bool, TableError> {
        let attributes = serde_dynamo::to_item(item).expect("history items serialize");
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(attributes))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(table_error("PutItem", err)),
        }
    }

    /// Every recorded event of one provider, oldest first.
    pub async fn history_of(&self, provider_id: &str) -> Result<Vec<HistoryItem>, TableError> {
        let items = self
            .query_all(
                None,
                "pk = :pk",
                &[(":pk", AttributeValue::S(history_pk(provider_id)))],
            )
            .await?;
        Ok(decode(items))
    }

    /// One query page of one provider's events, newest first, seqs from `from` (inclusive)
    /// to `below` (exclusive): the timeline of a filter that selects a few providers, read
    /// from their own partitions instead of sifting the whole fleet's.
    pub async fn provider_timeline(
        &self,
        provider_id: &str,
        from: i64,
        below: i64,
        limit: i32,
        start: Option<std::collections::HashMap<String, AttributeValue>>,
    ) -> Result<HistoryPage, TableError> {
        // `E#<seq>#<id>`: `#` sorts before `$`, so `E#<last seq>$` closes the range.
        let range = Range {
            index: None,
            partition: ("pk", history_pk(provider_id)),
            sort_key: "sk",
            bounds: |from, last| {
                (
                    format!("E#{}", seq_key(from)),
                    format!("E#{}$", seq_key(last)),
                )
            },
        };
        self.newest_first(range, from, below, limit, start).await
    }

    /// One query page of the timeline, newest first: seqs from `from` (inclusive) to `below`
    /// (exclusive), at most `limit` items, continuing after `start`.
    pub async fn timeline(
        &self,
        from: i64,
        below: i64,
        limit: i32,
        start: Option<std::collections::HashMap<String, AttributeValue>>,
    ) -> Result<HistoryPage, TableError> {
        let range = Range {
            index: Some(READ_INDEX),
            partition: ("gsi_pk", TIMELINE.to_owned()),
            sort_key: "gsi_sk",
            bounds: |from, last| (seq_key(from), seq_key(last)),
        };
        self.newest_first(range, from, below, limit, start).await
    }

    async fn newest_first(
        &self,
        range: Range,
        from: i64,
        below: i64,
        limit: i32,
        start: Option<std::collections::HashMap<String, AttributeValue>>,
    ) -> Result<HistoryPage, TableError> {
        // DynamoDB refuses a BETWEEN whose bounds are the wrong way round (a `since` in the
        // future, a cursor older than `since`): nothing can be in such a range.
        if from >= below {
            return Ok(HistoryPage {
                items: Vec::new(),
                last_key: None,
            });
        }
        let (low, high) = (range.bounds)(from.max(0), below.saturating_sub(1).max(0));
        let (partition_name, partition) = range.partition;
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(range.index.map(str::to_owned))
            .key_condition_expression(format!(
                "{partition_name} = :p AND {} BETWEEN :low AND :high",
                range.sort_key
            ))
            .expression_attribute_values(":p", AttributeValue::S(partition))
            .expression_attribute_values(":low", AttributeValue::S(low))
            .expression_attribute_values(":high", AttributeValue::S(high))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| table_error("Query", e))?;
        Ok(HistoryPage {
            items: decode(output.items.unwrap_or_default()),
            last_key: output.last_evaluated_key,
        })
    }
}

/// Where a range of events is queried: which index, which partition (key name and value),
/// and the sort key's bounds for a first and a last seq.
struct Range {
    index: Option<&'static str>,
    partition: (&'static str, String),
    sort_key: &'static str,
    bounds: fn(i64, i64) -> (String, String),
}

/// Items this version cannot read are skipped with a log line: the rest of the page shows.
fn decode(items: Vec<std::collections::HashMap<String, AttributeValue>>) -> Vec<HistoryItem> {
    items
        .into_iter()
        .filter_map(|item| match serde_dynamo::from_item(item) {
            Ok(item) => Some(item),
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable history item");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_follow_time_and_stay_the_same_for_the_same_event() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let a = seq_of("evt-a", at);
        assert_eq!(a, seq_of("evt-a", at));
        assert_ne!(a, seq_of("evt-b", at));
        let later = at + Duration::seconds(1);
        assert!(seq_of("evt-a", later) > seq_of("evt-b", at));
        assert!(first_seq_at(at) <= a && a < first_seq_at(later));
        // 2100 still fits an i64 and 19 digits.
        let far = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(seq_key(seq_of("x", far)).len(), 19);
    }
}
