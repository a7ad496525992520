//! The one DynamoDB table: provider meta, state items (the stream's subject) and the delivery
//! log. Keys: `pk` (string) and `sk` (string).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | provider meta (validators, baseline time, item hashes) | `P#<provider>` | `META` |
//! | incident / maintenance / component | `P#<provider>` | `I#<id>` / `M#<id>` / `C#<id>` |
//! | delivery log (destination, event) | `DLOG#<destination>` | `<event id>` |
//! | destination marked failing (fingerprint, reason) | `DEST#<destination>` | `STATUS` |
//! | last push that triggered a poll (debounce) | `P#<provider>` | `PUSH` |
//! | a shard's lease (sharded polling: who polls it now, which container last did) | `L#<shard>/<shards>` | `LEASE` |
//! | a provider's board summary (what the dashboard lists) | `P#<provider>` | `BOARD` |
//! | one recorded event (history) | `H#<provider>` | `E#<seq>#<event id>` |
//! | when a shard's last scheduled run ended | `CYCLE` | `<shard>/<shards>` |
//! | the read side's version (bumped by every write it shows) | `VERSION` | `VERSION` |

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::sources::Validators;
use crate::stream::{META_SK, StateItem, provider_pk};

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB {operation}: {reason}")]
pub struct TableError {
    pub operation: &'static str,
    pub reason: String,
}

pub(super) fn table_error<
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
>(
    operation: &'static str,
    err: SdkError<E, R>,
) -> TableError {
    let reason = match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        None => crate::sources::error_chain(&err),
    };
    TableError { operation, reason }
}

pub(super) fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A conditional PutItem's outcome: written (true), condition not met (false), or an error.
fn put_outcome<O, R: std::fmt::Debug>(
    result: Result<O, SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>>,
) -> Result<bool, TableError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failure(&err) => Ok(false),
        Err(err) => Err(table_error("PutItem", err)),
    }
}

/// Per-provider bookkeeping of the poller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMeta {
    pub pk: String,
    pub sk: String,
    pub baseline_at: DateTime<Utc>,
    pub validators: Validators,
    /// sk → content hash of the items last written, so unchanged items cost no write.
    pub hashes: BTreeMap<String, String>,
    /// Failed polls in a row since the last good one.
    #[serde(default)]
    pub failed_polls: u32,
    /// When `provider.unreachable` was announced for the current outage (its occurrence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_since: Option<String>,
    /// Where the page was found after its configured place failed (polled there while the
    /// config still says what it said then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocated: Option<crate::event::Relocated>,
    /// The page showed an open incident or a maintenance in progress at its last read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
    /// When a poll last wrote a change (with `open`, whether the provider is hot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
    /// What the page showed at its last good read (the provider's state while its polls
    /// succeed): the dashboard and the per-state metrics read it without the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<crate::overview::OverallState>,
    /// The hash of the provider's board summary as last written ([`super::board`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_hash: Option<String>,
}

#[derive(Serialize)]
struct DeliveryLogItem<'a> {
    pk: String,
    sk: &'a str,
    status: &'a str,
    detail: &'a str,
    at: DateTime<Utc>,
    expires_at: i64,
}

#[derive(Clone)]
pub struct Table {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) name: String,
}

/// The table's one secondary index, shared by the read side's queries across partitions:
/// the event timeline (`gsi_pk = "T"`, [`super::history`]) and every provider's board summary
/// (`gsi_pk = "B"`, [`super::board`]).
pub const READ_INDEX: &str = "read-side";

/// The sort key of a provider's push debounce item.
const PUSH_SK: &str = "PUSH";

/// The sort key of a shard's lease.
const LEASE_SK: &str = "LEASE";

/// The outcome of taking a shard's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Taken. `others_polled`: another container held it last (or nobody ever did), so what
    /// this container cached of the shard's providers may be stale.
    Held { others_polled: bool },
    /// Another invocation is polling the shard now.
    Busy,
}

fn lease_pk(shard: u32, shards: u32) -> String {
    format!("L#{shard}/{shards}")
}

/// Delivery log entries are kept this long (far beyond the stream's 24 h retention).
const DELIVERY_LOG_DAYS: i64 = 30;

impl Table {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Table {
        Table {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    pub async fn meta(&self, provider_id: &str) -> Result<Option<ProviderMeta>, TableError> {
        self.get(provider_pk(provider_id), META_SK, || {
            format!("meta of {provider_id}")
        })
        .await
    }

    /// One stored state item (an incident, maintenance or component of a provider).
    pub async fn state_item(&self, pk: &str, sk: &str) -> Result<Option<StateItem>, TableError> {
        self.get(pk.to_owned(), sk, || format!("state item {pk} {sk}"))
            .await
    }

    /// A consistent read of one item; `what` names it when it cannot be read.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        what: impl Fn() -> String,
    ) -> Result<Option<T>, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Table::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| table_error("GetItem", e))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| TableError {
                    operation: "GetItem",
                    reason: format!("{} is unreadable: {e}", what()),
                })
            })
            .transpose()
    }

    pub async fn put_meta(&self, meta: &ProviderMeta) -> Result<(), TableError> {
        self.put(meta).await
    }

    /// An unconditional PutItem of an item whose keys are among its fields.
    pub(super) async fn put<T: Serialize>(&self, item: &T) -> Result<(), TableError> {
        let item = serde_dynamo::to_item(item).expect("table items serialize");
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| table_error("PutItem", e))?;
        Ok(())
    }

    /// Every item a Query returns, page after page: of the base table (`index` `None`) or
    /// of [`READ_INDEX`]. `values` binds the key condition's placeholders.
    pub(super) async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, TableError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.name)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(key_condition)
                .set_exclusive_start_key(start);
            for (name, value) in values {
                query = query.expression_attribute_values(*name, value.clone());
            }
            let output = query.send().await.map_err(|e| table_error("Query", e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Claims the provider's next push-triggered poll: true when no push claimed one in the
    /// last `gap` (one conditional put; the stream's filter never passes this item on).
    pub async fn claim_push(
        &self,
        provider_id: &str,
        now: DateTime<Utc>,
        gap: std::time::Duration,
    ) -> Result<bool, TableError> {
        let at = now.timestamp_millis();
        let cutoff = at - i64::try_from(gap.as_millis()).unwrap_or(i64::MAX);
        let mut item = Table::key(provider_pk(provider_id), PUSH_SK);
        item.insert("pushed_at".to_owned(), AttributeValue::N(at.to_string()));
        item.insert(
            "expires_at".to_owned(),
            AttributeValue::N((now + Duration::days(1)).timestamp().to_string()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR pushed_at < :cutoff")
            .expression_attribute_values(":cutoff", AttributeValue::N(cutoff.to_string()))
            .send()
            .await;
        put_outcome(result)
    }

    /// Takes a shard's lease until `now + hold` unless another invocation holds it (one
    /// conditional put, which also says which container held it last). `holder` names this
    /// invocation, `container` the process. The stream's filter never passes this item on.
    pub async fn take_lease(
        &self,
        shard: (u32, u32),
        holder: &str,
        container: &str,
        now: DateTime<Utc>,
        hold: std::time::Duration,
    ) -> Result<Lease, TableError> {
        let until = now + Duration::from_std(hold).unwrap_or(Duration::minutes(1));
        let item = Table::lease_item(shard, holder, container, until.timestamp_millis(), now);
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let last = output
                    .attributes()
                    .and_then(|old| old.get("container"))
                    .and_then(|c| c.as_s().ok());
                Ok(Lease::Held {
                    others_polled: last.map(String::as_str) != Some(container),
                })
            }
            Err(err) if is_condition_failure(&err) => Ok(Lease::Busy),
            Err(err) => Err(table_error("PutItem", err)),
        }
    }

    /// Gives a shard's lease back, still naming this container as the last to poll (a put,
    /// so the poller needs no UpdateItem). A lease taken over after it expired is left to its
    /// new holder.
    pub async fn release_lease(
        &self,
        shard: (u32, u32),
        holder: &str,
        container: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TableError> {
        let item = Table::lease_item(shard, holder, container, 0, now);
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        put_outcome(result).map(|_| ())
    }

    fn lease_item(
        (shard, shards): (u32, u32),
        holder: &str,
        container: &str,
        until_ms: i64,
        now: DateTime<Utc>,
    ) -> HashMap<String, AttributeValue> {
        let mut item = Table::key(lease_pk(shard, shards), LEASE_SK);
        for (name, value) in [
            ("holder", AttributeValue::S(holder.to_owned())),
            ("container", AttributeValue::S(container.to_owned())),
            ("until", AttributeValue::N(until_ms.to_string())),
            (
                "expires_at",
                AttributeValue::N((now + Duration::days(1)).timestamp().to_string()),
            ),
        ] {
            item.insert(name.to_owned(), value);
        }
        item
    }

    /// Writes a state item unless the table already holds the same content. Returns whether
    /// a write happened (a skipped write leaves no stream record).
    pub async fn put_if_changed(&self, item: &StateItem) -> Result<bool, TableError> {
        let attributes = serde_dynamo::to_item(item).expect("state item serializes");
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(attributes))
            .condition_expression("attribute_not_exists(pk) OR content_hash <> :hash")
            .expression_attribute_values(":hash", AttributeValue::S(item.content_hash.clone()))
            .send()
            .await;
        put_outcome(result)
    }

    /// Whether (route, event) already has a final outcome (sent or dead-lettered).
    pub async fn delivery_logged(&self, route: &str, event_id: &str) -> Result<bool, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Table::key(format!("DLOG#{route}"), event_id)))
            .consistent_read(true)
            .projection_expression("pk")
            .send()
            .await
            .map_err(|e| table_error("GetItem", e))?;
        Ok(output.item.is_some())
    }

    /// Records a final outcome; a concurrent duplicate record is not an error.
    pub async fn log_delivery(
        &self,
        route: &str,
        event_id: &str,
        status: &str,
        detail: &str,
    ) -> Result<(), TableError> {
        let now = Utc::now();
        let item = serde_dynamo::to_item(DeliveryLogItem {
            pk: format!("DLOG#{route}"),
            sk: event_id,
            status,
            detail,
            at: now,
            expires_at: (now + Duration::days(DELIVERY_LOG_DAYS)).timestamp(),
        })
        .expect("log item serializes");
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(table_error("PutItem", err)),
        }
    }

    /// The fingerprint and reason a destination was marked failing with, if it was.
    pub async fn failing_destination(
        &self,
        name: &str,
    ) -> Result<Option<(String, String)>, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Table::key(format!("DEST#{name}"), "STATUS")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| table_error("GetItem", e))?;
        let text = |item: &HashMap<String, AttributeValue>, key: &str| {
            item.get(key)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Ok(output
            .item
            .map(|item| (text(&item, "fingerprint"), text(&item, "reason"))))
    }

    pub async fn mark_destination_failing(
        &self,
        name: &str,
        fingerprint: &str,
        reason: &str,
    ) -> Result<(), TableError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .item("pk", AttributeValue::S(format!("DEST#{name}")))
            .item("sk", AttributeValue::S("STATUS".into()))
            .item("fingerprint", AttributeValue::S(fingerprint.into()))
            .item("reason", AttributeValue::S(reason.into()))
            .item("since", AttributeValue::S(Utc::now().to_rfc3339()))
            .send()
            .await
            .map_err(|e| table_error("PutItem", e))?;
        Ok(())
    }
}
