//! Destinations. Each chat platform is one module behind [`Platform`]: a pure body builder
//! (tested against golden JSON) and the classification of the platform's answers. Sending,
//! rate limiting and cool-downs are shared here ([`HttpChannel`]); retrying, recording and
//! ordering live in [`crate::delivery`].

pub mod console;
pub mod discord;
#[cfg(test)]
pub(crate) mod golden;
pub mod google_chat;
#[cfg(test)]
mod hostile;
pub mod http;
pub mod markup;
pub mod mattermost;
pub mod pagerduty;
pub mod slack;
#[cfg(feature = "sns")]
pub mod sns;
pub mod teams;
pub mod telegram;
pub mod webhook;

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::debug;
use url::Url;

use crate::config::{ChannelConfig, DestinationConfig, RateLimit};
use crate::delivery::Parcel;
use crate::event::Event;
use crate::net::HttpLimits;
use crate::render::Message;
pub use http::{Poster, Reply};

/// How a failed send should be treated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: timeouts, connection errors, 5xx, 429.
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
        /// The destination did not answer in time: retried in a later run, not within this
        /// one, so a destination that hangs costs one timeout per run, not one per attempt.
        timed_out: bool,
    },
    /// Retrying cannot help: dead-lettered. `disable` marks the destination itself as broken
    /// (deleted webhook, archived channel, revoked token), not just this message.
    #[error("{reason}")]
    Permanent {
        reason: String,
        status: Option<u16>,
        response: Option<String>,
        disable: bool,
    },
}

impl SendError {
    pub fn transient(reason: impl Into<String>, retry_after: Option<Duration>) -> SendError {
        SendError::Transient {
            reason: reason.into(),
            retry_after,
            timed_out: false,
        }
    }

    /// No answer within the send timeout.
    pub fn timed_out(reason: impl Into<String>) -> SendError {
        SendError::Transient {
            reason: reason.into(),
            retry_after: None,
            timed_out: true,
        }
    }

    /// Whether retrying within this run is worth it (see [`SendError::timed_out`]).
    pub fn retry_in_this_run(&self) -> bool {
        matches!(
            self,
            SendError::Transient {
                timed_out: false,
                ..
            }
        )
    }

    /// A message the destination refused (a payload problem): dead-letter it, keep sending.
    pub fn rejected(
        reason: impl Into<String>,
        status: Option<u16>,
        response: Option<String>,
    ) -> SendError {
        SendError::Permanent {
            reason: reason.into(),
            status,
            response,
            disable: false,
        }
    }

    /// The destination is gone or refuses us: dead-letter and mark the destination failing.
    pub fn gone(
        reason: impl Into<String>,
        status: Option<u16>,
        response: Option<String>,
    ) -> SendError {
        SendError::Permanent {
            reason: reason.into(),
            status,
            response,
            disable: true,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }

    pub fn disables_destination(&self) -> bool {
        matches!(self, SendError::Permanent { disable: true, .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Transient { retry_after, .. } => *retry_after,
            SendError::Permanent { .. } => None,
        }
    }
}

/// One HTTP request to a platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: Url,
    /// The JSON body, serialized.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `body` as JSON: a platform's typed body or a `serde_json::Value`.
    pub fn json(url: Url, body: &impl serde::Serialize) -> Request {
        Request {
            url,
            body: serde_json::to_vec(body).expect("bodies serialize to JSON"),
        }
    }
}

/// A chat or paging platform: what to send for an event, and what its answers mean.
pub trait Platform: Send + Sync {
    /// The request for this event, or `None` when the event means nothing here (PagerDuty
    /// has no use for a postmortem once the alert is resolved).
    fn request(&self, event: &Event, message: &Message) -> Option<Request>;
    fn classify(&self, reply: &Reply) -> Result<(), SendError>;
    /// A pause the platform asks for after a success (Discord's bucket headers).
    fn pause_after(&self, _reply: &Reply) -> Option<Duration> {
        None
    }
    /// The platform's documented sending rate, when it has one.
    fn default_rate(&self) -> Option<RateLimit>;
    /// Whether many events from one poll may go as one digest message (people read this
    /// platform). Paging platforms need each event: PagerDuty keys alerts by incident.
    fn digests(&self) -> bool {
        true
    }
}

/// A platform behind HTTP, with its rate limiter and cool-down.
pub struct HttpChannel {
    platform: Box<dyn Platform>,
    poster: Poster,
    limiter: Option<DefaultDirectRateLimiter>,
    /// No request before this instant (set by Retry-After and rate-limit headers).
    not_before: Mutex<Option<Instant>>,
}

/// A cool-down longer than this is not slept through: the delivery is deferred instead.
const MAX_COOLDOWN_WAIT: Duration = Duration::from_secs(30);

impl HttpChannel {
    pub fn new(
        platform: Box<dyn Platform>,
        rate: Option<RateLimit>,
        allow_private: bool,
    ) -> HttpChannel {
        let rate = rate.or_else(|| platform.default_rate());
        HttpChannel {
            limiter: rate.map(|rate| RateLimiter::direct(quota(rate))),
            platform,
            poster: Poster::new(allow_private, send_limits()),
            not_before: Mutex::new(None),
        }
    }

    pub async fn send(&self, event: &Event) -> Result<(), SendError> {
        self.send_message(event, &Message::from_event(event)).await
    }

    /// One message for many events of one provider (a flood): see [`Message::digest`].
    pub async fn send_digest(&self, events: &[Event]) -> Result<(), SendError> {
        let (Some(first), Some(message)) = (events.first(), Message::digest(events)) else {
            return Ok(());
        };
        self.send_message(first, &message).await
    }

    async fn send_message(&self, event: &Event, message: &Message) -> Result<(), SendError> {
        let Some(request) = self.platform.request(event, message) else {
            debug!(event_id = %event.id, kind = %event.kind, "nothing to send for this event on this platform");
            return Ok(());
        };
        let wait = self
            .not_before
            .lock()
            .await
            .map(|at| at.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero());
        if let Some(wait) = wait {
            if wait > MAX_COOLDOWN_WAIT {
                return Err(SendError::transient(
                    "destination is cooling down after a rate limit",
                    Some(wait),
                ));
            }
            tokio::time::sleep(wait).await;
        }
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let reply = self.poster.post(&request.url, &[], request.body).await?;
        let result = self.platform.classify(&reply);
        let pause = match &result {
            Err(err) => err.retry_after(),
            Ok(()) => self.platform.pause_after(&reply),
        };
        if let Some(pause) = pause {
            *self.not_before.lock().await = Some(Instant::now() + pause);
        }
        result
    }
}

/// At most `count` per `per`, in bursts of at most 5 (a quiet destination may catch up a
/// little, never flood).
fn quota(rate: RateLimit) -> Quota {
    let period = rate.per / rate.count.get();
    let burst = NonZeroU32::new(rate.count.get().min(5)).expect("count is non-zero");
    Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is non-zero")
        .allow_burst(burst)
}

fn send_limits() -> HttpLimits {
    HttpLimits {
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(15),
        ..HttpLimits::default()
    }
}

/// AWS clients for destinations that need them (the local watcher's `sns` destinations).
#[derive(Clone, Default)]
pub struct Clients {
    #[cfg(feature = "sns")]
    pub sns: Option<aws_sdk_sns::Client>,
}

/// A configured destination, ready to send.
pub enum Channel {
    Console(console::Console),
    Webhook(webhook::Webhook),
    Http(HttpChannel),
    #[cfg(feature = "sns")]
    Sns(sns::SnsTopic),
    /// A destination this build or setup cannot serve; every send fails with the reason.
    Unavailable(String),
}

impl Channel {
    pub fn from_destination(
        destination: &DestinationConfig,
        allow_private: bool,
        clients: &Clients,
    ) -> Channel {
        let rate = destination.rate_limit;
        let http = |platform: Box<dyn Platform>| {
            Channel::Http(HttpChannel::new(platform, rate, allow_private))
        };
        match &destination.channel {
            ChannelConfig::Console => Channel::Console(console::Console),
            ChannelConfig::Webhook { url, secret } => Channel::Webhook(webhook::Webhook::new(
                url.clone(),
                secret.clone(),
                allow_private,
                send_limits(),
            )),
            ChannelConfig::Slack { url } => http(Box::new(slack::Slack::new(url.clone()))),
            ChannelConfig::Discord { url } => http(Box::new(discord::Discord::new(url.clone()))),
            ChannelConfig::Teams { url } => http(Box::new(teams::Teams::new(url.clone()))),
            ChannelConfig::GoogleChat { url } => {
                http(Box::new(google_chat::GoogleChat::new(url.clone())))
            }
            ChannelConfig::Mattermost { url } => {
                http(Box::new(mattermost::Mattermost::new(url.clone())))
            }
            ChannelConfig::PagerDuty { url, routing_key } => http(Box::new(
                pagerduty::PagerDuty::new(url.clone(), routing_key.clone()),
            )),
            ChannelConfig::Telegram {
                api_url,
                bot_token,
                chat_id,
                thread_id,
            } => http(Box::new(telegram::Telegram::new(
                api_url,
                bot_token,
                chat_id.clone(),
                *thread_id,
            ))),
            ChannelConfig::Sns { topic_arn, region } => {
                sns_channel(topic_arn, region.as_deref(), clients)
            }
        }
    }

    /// Whether this destination takes digests ([`Platform::digests`]): chat platforms do;
    /// webhooks, SNS, PagerDuty and the console get every event.
    pub fn digests(&self) -> bool {
        match self {
            Channel::Http(channel) => channel.platform.digests(),
            _ => false,
        }
    }

    /// Sends one parcel: an event, or a digest where [`Channel::digests`].
    pub async fn send_parcel(&self, parcel: Parcel<'_>) -> Result<(), SendError> {
        match (parcel, self) {
            (Parcel::Event { id, payload }, _) => self.send(id, payload).await,
            (Parcel::Digest { payloads }, Channel::Http(channel)) if self.digests() => {
                let events = payloads
                    .iter()
                    .map(|payload| parse_recorded(payload))
                    .collect::<Result<Vec<_>, _>>()?;
                channel.send_digest(&events).await
            }
            (Parcel::Digest { .. }, _) => Err(SendError::rejected(
                "this destination takes every event on its own, not a digest",
                None,
                None,
            )),
        }
    }

    /// Sends one event; `event_id` and `payload` are exactly what the outbox recorded.
    pub async fn send(&self, event_id: &str, payload: &str) -> Result<(), SendError> {
        match self {
            Channel::Console(console) => console.send(payload),
            Channel::Webhook(webhook) => webhook.send(event_id, payload).await,
            Channel::Http(channel) => channel.send(&parse_recorded(payload)?).await,
            #[cfg(feature = "sns")]
            Channel::Sns(topic) => topic.send(payload).await,
            Channel::Unavailable(reason) => Err(SendError::gone(reason.clone(), None, None)),
        }
    }
}

#[cfg(feature = "sns")]
fn sns_channel(topic_arn: &str, region: Option<&str>, clients: &Clients) -> Channel {
    match &clients.sns {
        Some(client) => {
            let mut config = client.config().to_builder();
            if let Some(region) = region {
                config = config.region(aws_sdk_sns::config::Region::new(region.to_owned()));
            }
            let client = aws_sdk_sns::Client::from_conf(config.build());
            Channel::Sns(sns::SnsTopic::new(client, topic_arn.to_owned()))
        }
        None => Channel::Unavailable("no SNS client was set up for this destination".into()),
    }
}

#[cfg(not(feature = "sns"))]
fn sns_channel(_topic_arn: &str, _region: Option<&str>, _clients: &Clients) -> Channel {
    Channel::Unavailable("this build of statusrelay has no SNS support (feature `sns`)".into())
}

/// The outbox and the delivery log hold the event JSON; platforms render from it.
pub fn parse_recorded(payload: &str) -> Result<Event, SendError> {
    serde_json::from_str(payload).map_err(|e| {
        SendError::rejected(format!("recorded event is not readable: {e}"), None, None)
    })
}

/// A one-way digest of what identifies a destination (type, URL, keys), so a destination
/// marked failing is retried once its configuration changes, without storing its secrets.
pub fn fingerprint(channel: &ChannelConfig) -> String {
    let mut hasher = Sha256::new();
    hasher.update(channel.kind().as_bytes());
    let parts: Vec<String> = match channel {
        ChannelConfig::Console => vec![],
        ChannelConfig::Webhook { url, .. }
        | ChannelConfig::Slack { url }
        | ChannelConfig::Discord { url }
        | ChannelConfig::Teams { url }
        | ChannelConfig::GoogleChat { url }
        | ChannelConfig::Mattermost { url } => vec![url.to_string()],
        ChannelConfig::PagerDuty { url, routing_key } => vec![url.to_string(), routing_key.clone()],
        ChannelConfig::Telegram {
            api_url,
            bot_token,
            chat_id,
            thread_id,
        } => vec![
            api_url.to_string(),
            bot_token.clone(),
            chat_id.clone(),
            format!("{thread_id:?}"),
        ],
        ChannelConfig::Sns { topic_arn, region } => vec![topic_arn.clone(), format!("{region:?}")],
    };
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}
