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

/// Each destination type, as written in `type = "…"`, with the destination fields it takes
/// besides `rate_limit` (which every type takes). `build_channel` reads them.
const CHANNELS: [(&str, &[&str]); 10] = [
    ("console", &[]),
    ("webhook", &["url", "secret"]),
    ("slack", &["url"]),
    ("discord", &["url"]),
    ("teams", &["url"]),
    ("google_chat", &["url"]),
    ("mattermost", &["url"]),
    ("pagerduty", &["routing_key", "url"]),
    (
        "telegram",
        &["bot_token", "chat_id", "thread_id", "api_url"],
    ),
    ("sns", &["topic_arn", "region"]),
];

/// The destination types, as written in `type = "…"`.
pub const CHANNEL_TYPES: [&str; CHANNELS.len()] = {
    let mut types = [""; CHANNELS.len()];
    let mut i = 0;
    while i < CHANNELS.len() {
        types[i] = CHANNELS[i].0;
        i += 1;
    }
    types
};

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

/// The fields a destination may have, listed once: which ones apply depends on its type
/// (`build_channel`). `[[destinations]]` entries carry them, and so does a route with an inline
/// `channel`, each at the top level of its table (`#[serde(flatten)]` would lose their
/// positions and change serde's messages).
///
/// `destination_fields!(struct DestinationFields)` declares the fields on their own;
/// `destination_fields!(struct Raw { head } { tail })` declares a table with them between its own
/// leading and trailing fields (serde lists the known fields in that order when it meets an
/// unknown one) and `take_destination_fields`, which moves them into a [`DestinationFields`].
macro_rules! destination_fields {
    (@with [$($field:ident: $ty:ty,)*] struct DestinationFields) => {
        #[derive(Default)]
        pub(super) struct DestinationFields {
            $(pub $field: Option<::toml::Spanned<$ty>>,)*
        }

        impl DestinationFields {
            /// The fields that are set, by name, with their positions, in the order above.
            fn present(&self) -> Vec<(&'static str, ::std::ops::Range<usize>)> {
                [$((stringify!($field), self.$field.as_ref().map(::toml::Spanned::span)),)*]
                    .into_iter()
                    .filter_map(|(name, span)| Some((name, span?)))
                    .collect()
            }
        }
    };
    (@with [$($field:ident: $ty:ty,)*]
        $(#[$meta:meta])* $vis:vis struct $name:ident { $($head:tt)* } { $($tail:tt)* }) => {
        $(#[$meta])*
        $vis struct $name {
            $($head)*
            $($field: Option<::toml::Spanned<$ty>>,)*
            $($tail)*
        }

        impl $name {
            /// Moves the destination fields out of the table.
            fn take_destination_fields(&mut self) -> $crate::config::destination::DestinationFields {
                $crate::config::destination::DestinationFields {
                    $($field: self.$field.take(),)*
                }
            }
        }
    };
    ($($declaration:tt)*) => {
        destination_fields!(@with [
            url: String,
            secret: String,
            routing_key: String,
            bot_token: String,
            chat_id: ::toml::Value,
            thread_id: i64,
            api_url: String,
            topic_arn: String,
            region: String,
            rate_limit: String,
        ] $($declaration)*);
    };
}
pub(super) use destination_fields;

destination_fields!(struct DestinationFields);

impl DestinationFields {
    pub fn first_present(&self) -> Option<(&'static str, Range<usize>)> {
        self.present().into_iter().next()
    }
}

destination_fields! {
    /// A `[[destinations]]` entry as written.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RawDestination {
        name: Spanned<String>,
        #[serde(rename = "type")]
        kind: Spanned<String>,
    } {}
}

/// What building a destination needs from the rest of the config.
pub(super) struct Context<'a> {
    pub at: &'a Locator<'a>,
    pub secrets: &'a Secrets,
    pub allow_private: bool,
    /// `destinations[3]` or `routes[1]`, for error messages.
    pub field_prefix: String,
    /// Where to point when a required field is missing.
    pub span: Range<usize>,
    /// `type` in `[[destinations]]`, `channel` in an inline route.
    pub kind_field: &'static str,
}

impl Context<'_> {
    fn error(&self, span: Range<usize>, field: &str, message: impl fmt::Display) -> ConfigError {
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
        let mut raw = spanned.into_inner();
        let (name, kind, fields) = (
            raw.name.clone(),
            raw.kind.clone(),
            raw.take_destination_fields(),
        );
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
    let Some(&(_, allowed)) = CHANNELS.iter().find(|(kind, _)| *kind == kind_name) else {
        return Err(cx.error(
            kind.span(),
            cx.kind_field,
            format!(
                "unknown destination type {kind_name:?} (known: {})",
                CHANNEL_TYPES.join(", ")
            ),
        ));
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
        _ => unreachable!("types are checked against CHANNELS above"),
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
    use crate::config::tests::{PROVIDERS, parse};

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

    #[test]
    fn destination_errors_are_located() {
        let cases = [
            (
                "[[routes]]\nname = \"r\"\ndestinations = [\"nope\"]\n",
                (15, 17),
                "routes[0].destinations[0]: no destination is named \"nope\"",
            ),
            (
                "[[destinations]]\nname = \"s\"\ntype = \"slack\"\nurl = \"https://h.test/x\"\nrouting_key = \"k\"\n",
                (17, 15),
                "destinations[0].routing_key: does not apply to a slack destination",
            ),
            (
                "[[destinations]]\nname = \"t\"\ntype = \"teams\"\nurl = \"https://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c\"\n",
                (16, 7),
                "destinations[0].url: this is an Office 365 connector",
            ),
            (
                "[[routes]]\nname = \"r\"\nchannel = \"console\"\nmin_impact = \"huge\"\n",
                (16, 14),
                "routes[0].min_impact: \"huge\" is not an impact",
            ),
            (
                "[[routes]]\nname = \"r\"\nchannel = \"console\"\ntags = [\"none\"]\n",
                (16, 9),
                "routes[0].tags[0]: no provider has tag \"none\"",
            ),
            (
                "[[routes]]\nname = \"r\"\nchannel = \"console\"\ncomponents = { zz = [\"API\"] }\n",
                (16, 22),
                "routes[0].components.zz: no provider has id \"zz\"",
            ),
        ];
        for (extra, (line, column), message) in cases {
            let err = parse(&format!("{PROVIDERS}{extra}")).unwrap_err();
            assert!(err.message.starts_with(message), "{err}");
            assert_eq!(err.position, Some((line, column)), "{err}");
        }
    }
}
