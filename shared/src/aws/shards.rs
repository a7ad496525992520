//! Sharded polling, for fleets one invocation cannot poll within its timeout.
//!
//! With `POLLER_SHARDS` = n > 1 the scheduled run polls nothing itself: it sends one
//! [`ShardRun`] per shard to the shard queue (`SHARD_QUEUE_URL`), whose trigger invokes the
//! poller once per message, up to n at a time. Each provider belongs to one shard
//! ([`shard_of`], stable across config edits that do not touch it). A shard run, and a hot
//! round or push naming that shard's providers, polls only while it holds the shard's lease in
//! the table ([`crate::aws::table::Lease`]), so concurrent invocations never poll the same
//! provider twice at once; a redelivered shard message finds the lease busy and polls nothing.
//! The lease also says whether another container polled the shard since this one did, in which
//! case this container's cached meta for those providers is dropped and read again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::warn;

/// Which shard a provider belongs to: stable across config edits that do not touch it.
pub fn shard_of(provider_id: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(provider_id.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (n % u64::from(shards.max(1))) as u32
}

/// One shard's poll, as queued by the scheduled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRun {
    pub shard: u32,
    pub shards: u32,
    /// The scheduled run that queued it; a run found a whole interval late is dropped.
    pub scheduled: DateTime<Utc>,
}

/// The shard runs in an SQS event, or `None` when the event holds none (a schedule, or hot
/// rounds and pushes). Unreadable bodies are for [`crate::aws::hot::requests_in`] to report.
pub fn shard_runs_in(event: &serde_json::Value) -> Option<Vec<ShardRun>> {
    let records = event.get("Records")?.as_array()?;
    let runs: Vec<ShardRun> = records
        .iter()
        .filter(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:sqs"))
        .filter_map(|r| serde_json::from_str(r.get("body")?.as_str()?).ok())
        .collect();
    (!runs.is_empty()).then_some(runs)
}

/// The shard queue (`SHARD_QUEUE_URL`).
#[derive(Clone)]
pub struct ShardQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// SQS takes at most ten messages per batch.
const BATCH: usize = 10;

impl ShardQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> ShardQueue {
        ShardQueue {
            client,
            url: url.into(),
        }
    }

    /// Queues one run per shard; returns how many were queued. A shard whose message SQS
    /// refuses is logged and waits for the next scheduled run.
    pub async fn dispatch(&self, shards: u32, scheduled: DateTime<Utc>) -> Result<usize, String> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let runs: Vec<ShardRun> = (0..shards)
            .map(|shard| ShardRun {
                shard,
                shards,
                scheduled,
            })
            .collect();
        let mut queued = 0;
        for chunk in runs.chunks(BATCH) {
            let entries = chunk
                .iter()
                .map(|run| {
                    SendMessageBatchRequestEntry::builder()
                        .id(run.shard.to_string())
                        .message_body(serde_json::to_string(run).expect("a shard run serializes"))
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    format!("SQS SendMessageBatch: {}", crate::sources::error_chain(&e))
                })?;
            for failed in output.failed() {
                warn!(
                    shard = failed.id(),
                    reason = failed.message().unwrap_or(""),
                    "shard run not queued; its providers wait for the next scheduled run"
                );
            }
            queued += output.successful().len();
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_providers_stably() {
        let ids: Vec<String> = (0..300).map(|i| format!("vendor-{i}")).collect();
        let mut counts = [0usize; 3];
        for id in &ids {
            let shard = shard_of(id, 3);
            assert_eq!(shard, shard_of(id, 3));
            counts[shard as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), 300);
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
        assert_eq!(shard_of("x", 0), 0);
    }

    #[test]
    fn shard_runs_are_told_apart_from_poll_requests() {
        let run = ShardRun {
            shard: 3,
            shards: 12,
            scheduled: "2026-12-07T10:00:00Z".parse().unwrap(),
        };
        let record = |body: String| serde_json::json!({"eventSource": "aws:sqs", "body": body});
        let event = serde_json::json!({"Records": [record(serde_json::to_string(&run).unwrap())]});
        assert_eq!(shard_runs_in(&event), Some(vec![run]));
        let hot = serde_json::json!({"Records": [record(
            r#"{"providers":["a"],"round":1,"due":"2026-12-07T10:00:15Z"}"#.to_owned()
        )]});
        assert_eq!(shard_runs_in(&hot), None);
        assert_eq!(shard_runs_in(&serde_json::json!({})), None);
    }
}
