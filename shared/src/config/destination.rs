//! `[[destinations]]`: where notifications go, one entry per endpoint, with its secrets resolved.

use std::fmt;
use std::num::NonZeroU32;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{ConfigError, Locator, Secrets, check_name, parse_http_url};
use crate::signing::SigningKey;

/// The destination types, as written in `type = "…"`.
pub const CHANNEL_TYPES: [&str; 10] = [
    "console",
    "webhook",
    "slack",
    "discord",
    "teams",
    "google_chat",
    "mattermost",
    "pagerduty",
    "telegram",
    "sns",
];

pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

#[derive(Debug, Clone)]
pub struct DestinationConfig {
    pub name: String,
    pub channel: ChannelConfig,
    /// Sends allowed per period; `None` takes the channel's documented limit.
    pub rate_limit: Option<RateLimit>,
}

/// `N/s`, `N/min` or `N/h`: at most N sends per period, in a burst of at most N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl RateLimit {
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a rate such as \"1/s\" or \"30/min\""))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {count:?} is not a whole number"))?;
        let count = NonZeroU32::new(count).ok_or_else(|| format!("{text:?}: must be above 0"))?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("{text:?}: unknown unit {other:?} (s, min or h)")),
        };
        Ok(RateLimit { count, per })
    }
}

/// One endpoint. URLs of chat webhooks are credentials (Slack's path, Teams' `sig=`, Google
/// Chat's `key`/`token`), so none of these is ever printed: see the `Debug` impl.
#[derive(Clone)]
pub enum ChannelConfig {
    Console,
    Webhook {
        url: Url,
        secret: Option<SigningKey>,
    },
    Slack {
        url: Url,
    },
    Discord {
        url: Url,
    },
    Teams {
        url: Url,
    },
    GoogleChat {
        url: Url,
    },
    Mattermost {
        url: Url,
    },
    PagerDuty {
        url: Url,
        routing_key: String,
    },
    Telegram {
        api_url: Url,
        bot_token: String,
        chat_id: String,
        thread_id: Option<i64>,
    },
    Sns {
        topic_arn: String,
        region: Option<String>,
    },
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = |url: &Url| url.host_str().unwrap_or("").to_owned();
        let mut out = f.debug_struct(self.kind());
        match self {
            ChannelConfig::Console => {}
            ChannelConfig::Webhook { url, secret } => {
                out.field("host", &host(url))
                    .field("signed", &secret.is_some());
            }
            ChannelConfig::Slack { url }
            | ChannelConfig::Discord { url }
            | ChannelConfig::Teams { url }
            | ChannelConfig::GoogleChat { url }
            | ChannelConfig::Mattermost { url }
            | ChannelConfig::PagerDuty { url, .. } => {
                out.field("host", &host(url));
            }
            ChannelConfig::Telegram {
                api_url, chat_id, ..
            } => {
                out.field("host", &host(api_url)).field("chat_id", chat_id);
            }
            ChannelConfig::Sns { topic_arn, .. } => {
                out.field("topic_arn", topic_arn);
            }
        }
        out.finish()
    }
}

impl ChannelConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Console => "console",
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Slack { .. } => "slack",
            ChannelConfig::Discord { .. } => "discord",
            ChannelConfig::Teams { .. } => "teams",
            ChannelConfig::GoogleChat { .. } => "google_chat",
            ChannelConfig::Mattermost { .. } => "mattermost",
            ChannelConfig::PagerDuty { .. } => "pagerduty",
            ChannelConfig::Telegram { .. } => "telegram",
            ChannelConfig::Sns { .. } => "sns",
        }
    }
}

/// A `[[destinations]]` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDestination {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub secret: Option<Spanned<String>>,
    pub routing_key: Option<Spanned<String>>,
    pub bot_token: Option<Spanned<String>>,
    pub chat_id: Option<Spanned<toml::Value>>,
    pub thread_id: Option<Spanned<i64>>,
    pub api_url: Option<Spanned<String>>,
    pub topic_arn: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub rate_limit: Option<Spanned<String>>,
}

impl RawDestination {
    pub fn into_fields(self) -> (Spanned<String>, Spanned<String>, DestinationFields) {
        let fields = DestinationFields {
            url: self.url,
            secret: self.secret,
            routing_key: self.routing_key,
            bot_token: self.bot_token,
            chat_id: self.chat_id,
            thread_id: self.thread_id,
            api_url: self.api_url,
            topic_arn: self.topic_arn,
            region: self.region,
            rate_limit: self.rate_limit,
        };
        (self.name, self.kind, fields)
    }
}

/// The fields a destination may have; which ones apply depends on its type. A route may
/// carry them inline (with `channel`) instead of naming `[[destinations]]`.
#[derive(Default)]
pub(super) struct DestinationFields {
    pub url: Option<Spanned<String>>,
    pub secret: Option<Spanned<String>>,
    pub routing_key: Option<Spanned<String>>,
    pub bot_token: Option<Spanned<String>>,
    pub chat_id: Option<Spanned<toml::Value>>,
    pub thread_id: Option<Spanned<i64>>,
    pub api_url: Option<Spanned<String>>,
    pub topic_arn: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub rate_limit: Option<Spanned<String>>,
}

impl DestinationFields {
    pub fn first_present(&self) -> Option<(&'static str, std::ops::Range<usize>)> {
        self.present().into_iter().next()
    }

    /// The fields that are set, by name, with their positions.
    fn present(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        let mut add = |name, span: Option<std::ops::Range<usize>>| {
            if let Some(span) = span {
                out.push((name, span));
            }
        };
        add("url", self.url.as_ref().map(Spanned::span));
        add("secret", self.secret.as_ref().map(Spanned::span));
        add("routing_key", self.routing_key.as_ref().map(Spanned::span));
        add("bot_token", self.bot_token.as_ref().map(Spanned::span));
        add("chat_id", self.chat_id.as_ref().map(Spanned::span));
        add("thread_id", self.thread_id.as_ref().map(Spanned::span));
        add("api_url", self.api_url.as_ref().map(Spanned::span));
        add("topic_arn", self.topic_arn.as_ref().map(Spanned::span));
        add("region", self.region.as_ref().map(Spanned::span));
        add("rate_limit", self.rate_limit.as_ref().map(Spanned::span));
        out
    }
}

/// What building a destination needs from the rest of the config.
pub(super) struct Context<'a> {
    pub at: &'a Locator<'a>,
    pub secrets: &'a Secrets,
    pub allow_private: bool,
    /// `destinations[3]` or `routes[1]`, for error messages.
    pub field_prefix: String,
    /// Where to point when a required field is missing.
    pub span: std::ops::Range<usize>,
    /// `type` in `[[destinations]]`, `channel` in an inline route.
    pub kind_field: &'static str,
}

impl Context<'_> {
    fn error(
        &self,
        span: std::ops::Range<usize>,
        field: &str,
        message: impl fmt::Display,
    ) -> ConfigError {
        self.at
            .error(span, format!("{}.{field}: {message}", self.field_prefix))
    }

    fn required<'f, T>(
        &self,
        value: &'f Option<Spanned<T>>,
        field: &str,
        kind: &str,
    ) -> Result<&'f Spanned<T>, ConfigError> {
        value.as_ref().ok_or_else(|| {
            self.error(
                self.span.clone(),
                field,
                format!("a {kind} destination needs `{field}`"),
            )
        })
    }

    /// A secret-capable string: literal, `env:NAME` or `ssm:NAME`. Errors never echo the value.
    fn secret(&self, value: &Spanned<String>, field: &str) -> Result<String, ConfigError> {
        self.secrets
            .resolve(value.get_ref())
            .map_err(|m| self.error(value.span(), field, m))
    }

    fn url(&self, value: &Spanned<String>, field: &str) -> Result<Url, ConfigError> {
        let resolved = Spanned::new(value.span(), self.secret(value, field)?);
        parse_http_url(&resolved, self.allow_private)
            .map_err(|m| self.error(value.span(), field, m))
    }
}

/// The `[[destinations]]` entries, each with the span of its name (where a warning points
/// when no route names it).
pub(super) fn build(
    raw_destinations: Vec<Spanned<RawDestination>>,
    at: &Locator<'_>,
    secrets: &Secrets,
    allow_private: bool,
) -> Result<(Vec<DestinationConfig>, Vec<Range<usize>>), ConfigError> {
    let mut destinations: Vec<DestinationConfig> = Vec::new();
    let mut destination_spans = Vec::new();
    for (index, spanned) in raw_destinations.into_iter().enumerate() {
        let span = spanned.span();
        let (name, kind, fields) = spanned.into_inner().into_fields();
        let display = name.get_ref().trim().to_owned();
        check_name(at, &name, &format!("destinations[{index}].name"))?;
        if destinations.iter().any(|d| d.name == display) {
            return Err(at.error(
                name.span(),
                format!("destinations[{index}].name: duplicate destination name {display:?}"),
            ));
        }
        let cx = Context {
            at,
            secrets,
            allow_private,
            field_prefix: format!("destinations[{index}]"),
            span: span.clone(),
            kind_field: "type",
        };
        let (channel, rate_limit) = build_channel(&kind, &fields, &cx)?;
        destinations.push(DestinationConfig {
            name: display,
            channel,
            rate_limit,
        });
        destination_spans.push(name.span());
    }
    Ok((destinations, destination_spans))
}

/// Checks the fields against the type and builds the channel.
pub(super) fn build_channel(
    kind: &Spanned<String>,
    fields: &DestinationFields,
    cx: &Context<'_>,
) -> Result<(ChannelConfig, Option<RateLimit>), ConfigError> {
    let kind_name = kind.get_ref().as_str();
    let allowed: &[&str] = match kind_name {
        "console" => &[],
        "webhook" => &["url", "secret"],
        "slack" | "discord" | "teams" | "google_chat" | "mattermost" => &["url"],
        "pagerduty" => &["routing_key", "url"],
        "telegram" => &["bot_token", "chat_id", "thread_id", "api_url"],
        "sns" => &["topic_arn", "region"],
        other => {
            return Err(cx.error(
                kind.span(),
                cx.kind_field,
                format!(
                    "unknown destination type {other:?} (known: {})",
                    CHANNEL_TYPES.join(", ")
                ),
            ));
        }
    };
    for (name, span) in fields.present() {
        if name != "rate_limit" && !allowed.contains(&name) {
            return Err(cx.error(
                span,
                name,
                format!("does not apply to a {kind_name} destination"),
            ));
        }
    }
    let rate_limit = match &fields.rate_limit {
        Some(raw) => Some(
            RateLimit::parse(raw.get_ref()).map_err(|m| cx.error(raw.span(), "rate_limit", m))?,
        ),
        None => None,
    };
    // The required `url` of the webhook-style types.
    let required_url = || cx.url(cx.required(&fields.url, "url", kind_name)?, "url");
    let channel = match kind_name {
        "console" => ChannelConfig::Console,
        "webhook" => {
            let url = required_url()?;
            let secret = match &fields.secret {
                None => None,
                Some(raw) => {
                    let value = cx.secret(raw, "secret")?;
                    Some(SigningKey::parse(&value).map_err(|m| cx.error(raw.span(), "secret", m))?)
                }
            };
            ChannelConfig::Webhook { url, secret }
        }
        "slack" => ChannelConfig::Slack {
            url: required_url()?,
        },
        "discord" => ChannelConfig::Discord {
            url: required_url()?,
        },
        "teams" => {
            let raw = cx.required(&fields.url, "url", kind_name)?;
            let url = cx.url(raw, "url")?;
            if is_legacy_teams_connector(&url) {
                return Err(cx.error(
                    raw.span(),
                    "url",
                    "this is an Office 365 connector (Incoming Webhook) URL, which Microsoft has \
                     retired; in Teams, create a Workflows webhook (\"Post to a channel when a \
                     webhook request is received\") and use its URL",
                ));
            }
            ChannelConfig::Teams { url }
        }
        "google_chat" => ChannelConfig::GoogleChat {
            url: required_url()?,
        },
        "mattermost" => ChannelConfig::Mattermost {
            url: required_url()?,
        },
        "pagerduty" => {
            let raw_key = cx.required(&fields.routing_key, "routing_key", kind_name)?;
            let routing_key = cx.secret(raw_key, "routing_key")?;
            if routing_key.len() != 32 || !routing_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(cx.error(
                    raw_key.span(),
                    "routing_key",
                    "must be the 32-character integration key of an Events API v2 integration",
                ));
            }
            let url = match &fields.url {
                Some(raw) => cx.url(raw, "url")?,
                None => Url::parse(PAGERDUTY_EVENTS_URL).expect("constant URL"),
            };
            ChannelConfig::PagerDuty { url, routing_key }
        }
        "telegram" => {
            let raw_token = cx.required(&fields.bot_token, "bot_token", kind_name)?;
            let bot_token = cx.secret(raw_token, "bot_token")?;
            if !bot_token.contains(':')
                || bot_token.contains('/')
                || bot_token.contains(char::is_whitespace)
            {
                return Err(cx.error(
                    raw_token.span(),
                    "bot_token",
                    "must be a bot token from @BotFather (digits, a colon, then letters)",
                ));
            }
            let raw_chat = cx.required(&fields.chat_id, "chat_id", kind_name)?;
            let chat_id = match raw_chat.get_ref() {
                toml::Value::Integer(id) => id.to_string(),
                toml::Value::String(name) if !name.trim().is_empty() => name.trim().to_owned(),
                _ => {
                    return Err(cx.error(
                        raw_chat.span(),
                        "chat_id",
                        "must be a numeric chat id or an @channelusername",
                    ));
                }
            };
            let api_url = match &fields.api_url {
                Some(raw) => cx.url(raw, "api_url")?,
                None => Url::parse(TELEGRAM_API_URL).expect("constant URL"),
            };
            ChannelConfig::Telegram {
                api_url,
                bot_token,
                chat_id,
                thread_id: fields.thread_id.as_ref().map(|t| *t.get_ref()),
            }
        }
        "sns" => {
            let raw_arn = cx.required(&fields.topic_arn, "topic_arn", kind_name)?;
            let topic_arn = raw_arn.get_ref().trim().to_owned();
            if !topic_arn.starts_with("arn:") || topic_arn.split(':').count() != 6 {
                return Err(cx.error(
                    raw_arn.span(),
                    "topic_arn",
                    "must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
                ));
            }
            let region = fields
                .region
                .as_ref()
                .map(|r| r.get_ref().trim().to_owned())
                .or_else(|| topic_arn.split(':').nth(3).map(str::to_owned))
                .filter(|r| !r.is_empty());
            ChannelConfig::Sns { topic_arn, region }
        }
        _ => unreachable!("types are checked above"),
    };
    Ok((channel, rate_limit))
}

/// Office 365 connector URLs (`*.webhook.office.com`, `outlook.office.com/webhook`).
fn is_legacy_teams_connector(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    host == "webhook.office.com"
        || host.ends_with(".webhook.office.com")
        || (matches!(
            host.as_str(),
            "outlook.office.com" | "outlook.office365.com"
        ) && url.path().starts_with("/webhook"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let rate = RateLimit::parse("30/min").unwrap();
        assert_eq!((rate.count.get(), rate.per), (30, Duration::from_secs(60)));
        assert_eq!(RateLimit::parse("1/s").unwrap().per, Duration::from_secs(1));
        assert!(RateLimit::parse("0/s").is_err());
        assert!(RateLimit::parse("5").is_err());
        assert!(RateLimit::parse("5/day").is_err());
    }

    #[test]
    fn legacy_teams_urls_are_recognised() {
        for legacy in [
            "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/x/y",
            "https://outlook.office.com/webhook/abc/IncomingWebhook/x/y",
        ] {
            assert!(
                is_legacy_teams_connector(&Url::parse(legacy).unwrap()),
                "{legacy}"
            );
        }
        let workflows = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sig=x";
        assert!(!is_legacy_teams_connector(&Url::parse(workflows).unwrap()));
    }
}
