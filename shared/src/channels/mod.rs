//! Destinations. Each channel turns a recorded event into a request and classifies the answer;
//! retrying, recording and ordering live in [`crate::delivery`].

pub mod console;
#[cfg(feature = "aws")]
pub mod sns;
pub mod webhook;

use std::time::Duration;

use crate::config::ChannelConfig;
use crate::net::HttpLimits;

/// How a failed send should be treated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: timeouts, connection errors, 5xx, 429.
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help: other 4xx, redirects, refused targets. Dead-lettered.
    #[error("{reason}")]
    Permanent {
        reason: String,
        status: Option<u16>,
        response: Option<String>,
    },
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Transient { retry_after, .. } => *retry_after,
            SendError::Permanent { .. } => None,
        }
    }
}

/// A configured destination, ready to send.
pub enum Channel {
    Console(console::Console),
    Webhook(webhook::Webhook),
    #[cfg(feature = "aws")]
    Sns(sns::SnsTopic),
}

impl Channel {
    pub fn from_config(config: &ChannelConfig, allow_private: bool) -> Channel {
        match config {
            ChannelConfig::Console => Channel::Console(console::Console),
            ChannelConfig::Webhook { url, secret } => Channel::Webhook(webhook::Webhook::new(
                url.clone(),
                secret.clone(),
                allow_private,
                HttpLimits {
                    connect_timeout: Duration::from_secs(5),
                    total_timeout: Duration::from_secs(15),
                },
            )),
        }
    }

    /// Sends one event; `event_id` and `payload` are exactly what the outbox recorded.
    pub async fn send(&self, event_id: &str, payload: &str) -> Result<(), SendError> {
        match self {
            Channel::Console(console) => console.send(payload),
            Channel::Webhook(webhook) => webhook.send(event_id, payload).await,
            #[cfg(feature = "aws")]
            Channel::Sns(topic) => topic.send(payload).await,
        }
    }
}
