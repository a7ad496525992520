//! The intake function's core: a vendor's webhook arrives at the function URL as
//! `POST /intake/<provider-id>?token=…` (or with `Authorization: Bearer …`), the same contract
//! as the local watcher's `/intake/<id>`. A push with the provider's `intake_token` claims the
//! provider's next push-triggered poll in the table (at most one per [`PUSH_GAP`]) and queues
//! it for the poller; the body is never read beyond its size. Unknown providers, providers
//! without a token and wrong tokens all answer the same 404, before the table or the queue is
//! touched.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{Value, json};
use tracing::{error, info};

use super::hot::{HotQueue, PollRequest};
use super::table::Table;
use crate::config::Config;
use crate::intake::{MAX_BODY_BYTES, offered_token, token_matches};
use crate::schedule::PUSH_GAP;

pub struct Intake {
    /// Provider id → its resolved `intake_token` (providers without one take no pushes).
    tokens: HashMap<String, String>,
    table: Table,
    queue: HotQueue,
}

impl Intake {
    pub fn new(config: &Config, table: Table, queue: HotQueue) -> Intake {
        let tokens = config
            .providers
            .iter()
            .filter_map(|p| Some((p.id.clone(), p.intake_token.clone()?)))
            .collect();
        Intake {
            tokens,
            table,
            queue,
        }
    }

    /// One function URL request (payload format 2.0) → its response.
    pub async fn handle(&self, request: &Value) -> Value {
        let method = request["requestContext"]["http"]["method"]
            .as_str()
            .unwrap_or("");
        let path = request["rawPath"].as_str().unwrap_or("");
        let Some(id) = path
            .strip_prefix("/intake/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        else {
            return respond(404, "not found");
        };
        if method != "POST" {
            return respond(405, "POST only");
        }
        let header = |name: &str| request["headers"][name].as_str();
        let offered = offered_token(header("authorization"), request["rawQueryString"].as_str());
        let expected = self.tokens.get(id).map(String::as_str);
        if !token_matches(expected, offered.as_deref()) {
            return respond(404, "not found");
        }
        if body_len(request) > MAX_BODY_BYTES {
            return respond(413, "body over 64 KiB");
        }
        let now = Utc::now();
        match self.table.claim_push(id, now, PUSH_GAP).await {
            Ok(false) => {
                info!(provider = %id, "push coalesced with one moments ago");
                respond(202, "accepted: the page will be polled")
            }
            Ok(true) => {
                let request = PollRequest {
                    providers: vec![id.to_owned()],
                    round: 0,
                    due: now,
                };
                match self.queue.send(&request, now).await {
                    Ok(()) => {
                        info!(provider = %id, "push received; poll queued");
                        respond(202, "accepted: the page will be polled")
                    }
                    Err(err) => {
                        error!(provider = %id, error = %err, "push accepted but its poll could not be queued");
                        respond(503, "try again later")
                    }
                }
            }
            Err(err) => {
                error!(provider = %id, error = %err, "push debounce unavailable");
                respond(503, "try again later")
            }
        }
    }
}

/// The body's size as sent (a base64 body decodes to three quarters of its length).
fn body_len(request: &Value) -> usize {
    let body = request["body"].as_str().map_or(0, str::len);
    if request["isBase64Encoded"].as_bool() == Some(true) {
        body / 4 * 3
    } else {
        body
    }
}

fn respond(status: u16, message: &str) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"},
        "body": format!("{message}\n"),
        "isBase64Encoded": false,
    })
}
