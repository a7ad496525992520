//! `[settings]`: where state lives and how long it keeps history, how often and how widely to
//! poll, and when chat destinations get one digest instead of a flood.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Locator, Secrets};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Resolved against the config file's folder when relative.
    pub state: PathBuf,
    pub interval: Duration,
    /// How often a hot provider (an open incident, a maintenance in progress, a change in the
    /// last 30 minutes) is polled; at most `interval`.
    pub hot_interval: Duration,
    pub allow_private_targets: bool,
    /// How many providers are polled at once.
    pub concurrency: usize,
    /// A chat destination that would get more than this many events from one provider in one
    /// poll gets one digest message instead (webhooks, SNS and PagerDuty still get each one).
    pub digest_after: usize,
    /// Failed polls in a row after which a page is announced `provider.unreachable` (once;
    /// `provider.recovered` follows its next good poll).
    pub unreachable_after: u32,
    /// How long delivered events (the history) are kept in the state file.
    pub retention: Duration,
    /// Where `run` serves its read side (health, JSON API); `run --listen` overrides it.
    pub listen: Option<SocketAddr>,
    /// Required to serve on anything but loopback: `Authorization: Bearer <token>` or
    /// `?token=`. `None` also when the config was read without its secrets (`status`).
    pub http_token: Option<String>,
}

impl Settings {
    /// Why serving on `addr` is refused, if it is: any address but loopback needs a token, or
    /// everyone on the network could read (and later act on) the watcher.
    pub fn refuse_listen(&self, addr: SocketAddr) -> Option<String> {
        (!addr.ip().is_loopback() && self.http_token.is_none()).then(|| {
            format!(
                "{addr} is not a loopback address: set settings.http_token so only holders of the token are served"
            )
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    state: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    hot_interval: Option<Spanned<String>>,
    #[serde(default)]
    allow_private_targets: bool,
    concurrency: Option<Spanned<i64>>,
    digest_after: Option<Spanned<i64>>,
    unreachable_after: Option<Spanned<i64>>,
    retention: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    http_token: Option<Spanned<String>>,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// During an outage the next update is what people wait for: four polls a minute.
pub const DEFAULT_HOT_INTERVAL: Duration = Duration::from_secs(15);
/// Providers polled at once: at 50 ms per request, 128 polls 5,000 Statuspage pages (three
/// documents each) in ~3.5 s on two cores (BENCHMARKS.md); 32 took ~10 s.
pub const DEFAULT_CONCURRENCY: usize = 128;
/// Five events from one provider in one poll is an ordinary busy update (an incident opened
/// with its components); forty is a page migration or a backfill, which nobody reads one by one.
pub const DEFAULT_DIGEST_AFTER: usize = 5;
/// Five polls (five minutes at the default interval): long enough that a vendor's blip or a
/// deploy is not announced, short enough that a page gone dark is noticed within the hour.
pub const DEFAULT_UNREACHABLE_AFTER: u32 = 5;
/// A quarter of history: enough to look back on an incident and its postmortem.
const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// `secrets`: how to resolve `env:`/`ssm:` values; `None` reads the config without them (the
/// token is then left unset).
pub(super) fn build(
    settings: Option<&RawSettings>,
    path: &Path,
    at: &Locator,
    secrets: Option<&Secrets>,
) -> Result<Settings, ConfigError> {
    let allow_private_targets = settings.is_some_and(|s| s.allow_private_targets);
    let state = match settings.and_then(|s| s.state.as_ref()) {
        Some(state) if state.get_ref().trim().is_empty() => {
            return Err(at.error(state.span(), "settings.state: must not be empty"));
        }
        Some(state) => PathBuf::from(state.get_ref()),
        None => PathBuf::from("statusrelay.db"),
    };
    let state = if state.is_relative() {
        path.parent().unwrap_or(Path::new("")).join(state)
    } else {
        state
    };
    let interval = duration(
        settings.and_then(|s| s.interval.as_ref()),
        "settings.interval",
        Duration::from_secs(1),
        at,
    )?
    .unwrap_or(DEFAULT_INTERVAL);
    // A hot interval longer than the interval would make hot providers slower than quiet ones.
    let hot_interval = duration(
        settings.and_then(|s| s.hot_interval.as_ref()),
        "settings.hot_interval",
        Duration::from_secs(1),
        at,
    )?
    .unwrap_or(DEFAULT_HOT_INTERVAL)
    .min(interval);
    let retention = duration(
        settings.and_then(|s| s.retention.as_ref()),
        "settings.retention",
        Duration::from_secs(24 * 3600),
        at,
    )?
    .unwrap_or(DEFAULT_RETENTION);
    let concurrency = bounded(
        settings.and_then(|s| s.concurrency.as_ref()),
        "settings.concurrency",
        1..=1024,
        at,
    )?
    .unwrap_or(DEFAULT_CONCURRENCY);
    let digest_after = bounded(
        settings.and_then(|s| s.digest_after.as_ref()),
        "settings.digest_after",
        1..=10_000,
        at,
    )?
    .unwrap_or(DEFAULT_DIGEST_AFTER);
    let unreachable_after = bounded(
        settings.and_then(|s| s.unreachable_after.as_ref()),
        "settings.unreachable_after",
        1..=10_000,
        at,
    )?
    .map_or(DEFAULT_UNREACHABLE_AFTER, |n| n as u32);
    let listen = match settings.and_then(|s| s.listen.as_ref()) {
        Some(raw) => Some(raw.get_ref().parse::<SocketAddr>().map_err(|_| {
            at.error(
                raw.span(),
                format!(
                    "settings.listen: {:?} is not an address and port such as \"127.0.0.1:8080\"",
                    raw.get_ref()
                ),
            )
        })?),
        None => None,
    };
    let http_token = match (settings.and_then(|s| s.http_token.as_ref()), secrets) {
        (Some(raw), Some(secrets)) => {
            let token = secrets
                .resolve(raw.get_ref())
                .map_err(|m| at.error(raw.span(), format!("settings.http_token: {m}")))?;
            if token.len() < 16 {
                return Err(at.error(
                    raw.span(),
                    "settings.http_token: must be at least 16 characters",
                ));
            }
            Some(token)
        }
        _ => None,
    };
    let built = Settings {
        state,
        interval,
        hot_interval,
        allow_private_targets,
        concurrency,
        digest_after,
        unreachable_after,
        retention,
        listen,
        http_token,
    };
    if let (Some(addr), Some(raw), Some(_)) = (
        built.listen,
        settings.and_then(|s| s.listen.as_ref()),
        secrets,
    ) && let Some(why) = built.refuse_listen(addr)
    {
        return Err(at.error(raw.span(), format!("settings.listen: {why}")));
    }
    Ok(built)
}

/// A humantime duration setting of at least `min`, or an error at its place.
fn duration(
    raw: Option<&Spanned<String>>,
    field: &str,
    min: Duration,
    at: &Locator,
) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let value = humantime::parse_duration(raw.get_ref()).map_err(|e| {
        at.error(
            raw.span(),
            format!("{field}: {e} (write a duration such as \"60s\", \"5m\" or \"90d\")"),
        )
    })?;
    if value < min {
        return Err(at.error(
            raw.span(),
            format!(
                "{field}: must be at least {}",
                humantime::format_duration(min)
            ),
        ));
    }
    Ok(Some(value))
}

/// A whole number setting within `range`, or an error at its place.
fn bounded(
    raw: Option<&Spanned<i64>>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
    at: &Locator,
) -> Result<Option<usize>, ConfigError> {
    match raw {
        Some(raw) if range.contains(raw.get_ref()) => Ok(Some(*raw.get_ref() as usize)),
        Some(raw) => Err(at.error(
            raw.span(),
            format!(
                "{field}: must be between {} and {}",
                range.start(),
                range.end()
            ),
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, DEFAULT_DIGEST_AFTER};

    #[test]
    fn retention_is_a_duration_of_a_day_or_more() {
        let parse = |text: &str| Config::parse(Path::new("sr.toml"), text);
        assert_eq!(
            parse("").unwrap().settings.retention,
            std::time::Duration::from_secs(90 * 86_400)
        );
        assert_eq!(
            parse("[settings]\nretention = \"30d\"\n")
                .unwrap()
                .settings
                .retention,
            std::time::Duration::from_secs(30 * 86_400)
        );
        let err = parse("[settings]\nretention = \"1h\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "sr.toml:2:13: settings.retention: must be at least 1day"
        );
    }

    #[test]
    fn digest_after_defaults_and_is_bounded() {
        let parse = |text: &str| Config::parse(Path::new("sr.toml"), text);
        assert_eq!(
            parse("").unwrap().settings.digest_after,
            DEFAULT_DIGEST_AFTER
        );
        assert_eq!(
            parse("[settings]\ndigest_after = 20\n")
                .unwrap()
                .settings
                .digest_after,
            20
        );
        let err = parse("[settings]\ndigest_after = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "sr.toml:2:16: settings.digest_after: must be between 1 and 10000"
        );
    }
}
