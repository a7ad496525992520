//! Adaptive polling and push intake on AWS, without keeping a Lambda awake.
//!
//! The schedule invokes the poller once a minute (`interval`); a Lambda cannot be woken more
//! often by EventBridge, and staying awake between polls would be billed by the second. So the
//! poller hands itself its next polls through an SQS queue with per-message delays:
//!
//! - after a scheduled run, the providers that are hot (open incident, maintenance in
//!   progress, a change in the last 30 minutes) go into one message delayed by
//!   `hot_interval`: **round 1**;
//! - the queue invokes the poller with that message; it polls only those providers and sends
//!   round 2 for the ones still hot, due one `hot_interval` later, and so on until the next
//!   scheduled run takes over (`interval / hot_interval - 1` rounds: 3 with the defaults);
//! - a push (the intake function, `functions/intake`) sends **round 0**, due at once, for its
//!   one provider; it starts no chain of its own.
//!
//! The poller keeps its reserved concurrency of 1, so a queued poll never runs beside a
//! scheduled one (they would race on the same items): the queue's invocation waits its turn.
//! A message carries provider ids only; a forged one could at most cause a poll.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::warn;

/// Most provider ids in one message (SQS takes 256 KiB; ids are at most a few dozen bytes).
const IDS_PER_MESSAGE: usize = 2_000;
/// SQS's longest per-message delay.
const MAX_DELAY_SECONDS: i64 = 900;

/// One queued request to poll some providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRequest {
    pub providers: Vec<String>,
    /// The hot round within the interval (from 1), or 0 for a push.
    pub round: u32,
    /// When the poll is meant to happen.
    pub due: DateTime<Utc>,
}

impl PollRequest {
    pub fn is_push(&self) -> bool {
        self.round == 0
    }

    /// The providers this request names that are in `among`, in the request's order.
    pub fn providers_in(&self, among: &std::collections::HashSet<String>) -> Vec<String> {
        self.providers
            .iter()
            .filter(|id| among.contains(*id))
            .cloned()
            .collect()
    }

    /// A hot round that arrives a whole `hot_interval` late (its invocation waited behind
    /// others) is dropped: the next round or the next scheduled run is due by then.
    pub fn is_stale(&self, now: DateTime<Utc>, hot_interval: Duration) -> bool {
        !self.is_push()
            && now
                .signed_duration_since(self.due)
                .to_std()
                .is_ok_and(|late| late > hot_interval)
    }

    /// The next round for the providers still hot, or `None` when this was the last one.
    pub fn next_round(
        &self,
        still_hot: Vec<String>,
        rounds: u32,
        hot_interval: Duration,
    ) -> Option<PollRequest> {
        if self.is_push() || self.round >= rounds || still_hot.is_empty() {
            return None;
        }
        Some(PollRequest {
            providers: still_hot,
            round: self.round + 1,
            due: self.due + chrono::Duration::from_std(hot_interval).ok()?,
        })
    }
}

/// Hot rounds between two scheduled runs: `interval / hot_interval - 1` (0: adaptive polling
/// off, as when `hot_interval = interval`).
pub fn rounds_per_interval(interval: Duration, hot_interval: Duration) -> u32 {
    if hot_interval.is_zero() {
        return 0;
    }
    let per_interval = interval.as_millis().div_ceil(hot_interval.as_millis());
    u32::try_from(per_interval.saturating_sub(1)).unwrap_or(0)
}

/// The poll requests in an SQS event (`{"Records": [{"eventSource": "aws:sqs", "body": …}]}`),
/// or `None` when the event is not from SQS (a schedule). Unreadable bodies are logged and
/// skipped: retrying them could never succeed.
pub fn requests_in(event: &serde_json::Value) -> Option<Vec<PollRequest>> {
    let records = event.get("Records")?.as_array()?;
    if !records
        .iter()
        .all(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:sqs"))
    {
        return None;
    }
    let requests = records
        .iter()
        .filter_map(|record| {
            let body = record.get("body").and_then(|b| b.as_str()).unwrap_or("");
            match serde_json::from_str::<PollRequest>(body) {
                Ok(request) => Some(request),
                Err(err) => {
                    let id = record.get("messageId").and_then(|m| m.as_str()).unwrap_or("?");
                    warn!(message_id = id, error = %err, "queued poll request is unreadable; skipped");
                    None
                }
            }
        })
        .collect();
    Some(requests)
}

/// The queue of poll requests (`HOT_QUEUE_URL`).
#[derive(Clone)]
pub struct HotQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl HotQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> HotQueue {
        HotQueue {
            client,
            url: url.into(),
        }
    }

    /// Sends the request, delayed until it is due (at once when already due), in chunks of
    /// [`IDS_PER_MESSAGE`] providers.
    pub async fn send(&self, request: &PollRequest, now: DateTime<Utc>) -> Result<(), String> {
        let delay = (request.due - now)
            .num_seconds()
            .clamp(0, MAX_DELAY_SECONDS);
        for providers in request.providers.chunks(IDS_PER_MESSAGE) {
            let body = serde_json::to_string(&PollRequest {
                providers: providers.to_vec(),
                ..request.clone()
            })
            .expect("a poll request serializes");
            self.client
                .send_message()
                .queue_url(&self.url)
                .message_body(body)
                .delay_seconds(delay as i32)
                .send()
                .await
                .map_err(|e| format!("SQS SendMessage: {}", crate::sources::error_chain(&e)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn three_rounds_between_one_minute_runs_at_fifteen_seconds() {
        let minute = Duration::from_secs(60);
        assert_eq!(rounds_per_interval(minute, Duration::from_secs(15)), 3);
        assert_eq!(rounds_per_interval(minute, Duration::from_secs(20)), 2);
        assert_eq!(rounds_per_interval(minute, Duration::from_secs(25)), 2);
        assert_eq!(rounds_per_interval(minute, minute), 0);
        assert_eq!(rounds_per_interval(minute, Duration::ZERO), 0);
    }

    #[test]
    fn rounds_follow_each_other_until_the_last_and_pushes_start_none() {
        let hot = Duration::from_secs(15);
        let first = PollRequest {
            providers: vec!["a".into(), "b".into()],
            round: 1,
            due: at(15),
        };
        let second = first.next_round(vec!["a".into()], 3, hot).unwrap();
        assert_eq!(second.round, 2);
        assert_eq!(second.due, at(30));
        assert_eq!(second.providers, ["a"]);
        let third = second.next_round(vec!["a".into()], 3, hot).unwrap();
        assert_eq!(third.next_round(vec!["a".into()], 3, hot), None);
        assert_eq!(first.next_round(Vec::new(), 3, hot), None, "nobody hot");
        let push = PollRequest {
            providers: vec!["a".into()],
            round: 0,
            due: at(3),
        };
        assert_eq!(push.next_round(vec!["a".into()], 3, hot), None);
    }

    #[test]
    fn a_round_a_whole_hot_interval_late_is_stale_a_push_never() {
        let hot = Duration::from_secs(15);
        let round = PollRequest {
            providers: vec!["a".into()],
            round: 2,
            due: at(30),
        };
        assert!(!round.is_stale(at(29), hot));
        assert!(!round.is_stale(at(44), hot));
        assert!(round.is_stale(at(46), hot));
        let push = PollRequest { round: 0, ..round };
        assert!(!push.is_stale(at(600), hot));
    }

    #[test]
    fn only_sqs_events_carry_requests_and_bad_bodies_are_skipped() {
        let good = serde_json::to_string(&PollRequest {
            providers: vec!["github".into()],
            round: 1,
            due: at(0),
        })
        .unwrap();
        let event = serde_json::json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "1", "body": good},
            {"eventSource": "aws:sqs", "messageId": "2", "body": "{\"providers\": 7}"},
        ]});
        let requests = requests_in(&event).unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].providers, ["github"]);
        let schedule =
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(requests_in(&schedule), None);
        let stream = serde_json::json!({"Records": [{"eventSource": "aws:dynamodb"}]});
        assert_eq!(requests_in(&stream), None);
    }
}
