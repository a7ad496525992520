//! The TOML configuration: parsing, validation and errors that name file:line:column.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::event::EventType;
use crate::net;
use crate::routing::RouteFilter;
use crate::signing::SigningKey;

/// A configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column; `None` when the problem is the file itself.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub settings: Settings,
    pub providers: Vec<ProviderConfig>,
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Resolved against the config file's folder when relative.
    pub state: PathBuf,
    pub interval: Duration,
    pub allow_private_targets: bool,
    /// How many providers are polled at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Not given: detected from the page itself.
    Detect,
    Statuspage,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub id: String,
    pub name: Option<String>,
    /// Base URL of the page, without a trailing slash.
    pub url: Url,
    pub platform: Platform,
}

impl ProviderConfig {
    /// The provider as events name it: the configured name, else the page's own, else the id.
    pub fn provider(&self, page_name: &str) -> crate::model::Provider {
        let name = self
            .name
            .clone()
            .or_else(|| Some(page_name.to_owned()).filter(|n| !n.is_empty()))
            .unwrap_or_else(|| self.id.clone());
        crate::model::Provider {
            id: self.id.clone(),
            name,
            url: self.url.as_str().trim_end_matches('/').to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub name: String,
    pub channel: ChannelConfig,
    pub filter: RouteFilter,
}

#[derive(Clone)]
pub enum ChannelConfig {
    Console,
    Webhook {
        url: Url,
        secret: Option<SigningKey>,
    },
}

// Webhook URLs often embed credentials; Debug output must never show them.
impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelConfig::Console => f.write_str("Console"),
            ChannelConfig::Webhook { url, secret } => f
                .debug_struct("Webhook")
                .field("host", &url.host_str().unwrap_or(""))
                .field("signed", &secret.is_some())
                .finish(),
        }
    }
}

impl ChannelConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Console => "console",
            ChannelConfig::Webhook { .. } => "webhook",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: Option<RawSettings>,
    #[serde(default)]
    providers: Vec<Spanned<RawProvider>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    state: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    #[serde(default)]
    allow_private_targets: bool,
    concurrency: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: Spanned<String>,
    name: Option<String>,
    url: Spanned<String>,
    platform: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Spanned<String>,
    channel: Spanned<String>,
    url: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    providers: Option<Vec<Spanned<String>>>,
    events: Option<Vec<Spanned<String>>>,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_CONCURRENCY: usize = 32;

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            position: None,
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let at = Locator { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            match e.span() {
                Some(span) => at.error(span, message),
                None => at.file_error(message),
            }
        })?;

        let settings = raw.settings;
        let allow_private_targets = settings.as_ref().is_some_and(|s| s.allow_private_targets);
        let state = match settings.as_ref().and_then(|s| s.state.as_ref()) {
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
        let interval = match settings.as_ref().and_then(|s| s.interval.as_ref()) {
            Some(raw) => {
                let interval = humantime::parse_duration(raw.get_ref()).map_err(|e| {
                    at.error(
                        raw.span(),
                        format!(
                            "settings.interval: {e} (write a duration such as \"60s\" or \"5m\")"
                        ),
                    )
                })?;
                if interval < Duration::from_secs(1) {
                    return Err(at.error(raw.span(), "settings.interval: must be at least 1s"));
                }
                interval
            }
            None => DEFAULT_INTERVAL,
        };
        let concurrency = match settings.as_ref().and_then(|s| s.concurrency.as_ref()) {
            Some(raw) if (1..=1024).contains(raw.get_ref()) => *raw.get_ref() as usize,
            Some(raw) => {
                return Err(at.error(
                    raw.span(),
                    "settings.concurrency: must be between 1 and 1024",
                ));
            }
            None => DEFAULT_CONCURRENCY,
        };

        let mut providers = Vec::with_capacity(raw.providers.len());
        let mut provider_ids = HashSet::new();
        for (index, spanned) in raw.providers.into_iter().enumerate() {
            let span = spanned.span();
            let raw = spanned.into_inner();
            let field = |name: &str| format!("providers[{index}].{name}");
            let id = raw.id.get_ref().clone();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(at.error(
                    raw.id.span(),
                    format!("{}: {id:?} must match [a-z0-9-]+", field("id")),
                ));
            }
            if !provider_ids.insert(id.clone()) {
                return Err(at.error(
                    raw.id.span(),
                    format!("{}: duplicate provider id {id:?}", field("id")),
                ));
            }
            let url = parse_http_url(&raw.url, allow_private_targets).map_err(|message| {
                at.error(raw.url.span(), format!("{}: {message}", field("url")))
            })?;
            let platform = match raw.platform.as_ref().map(|p| p.get_ref().as_str()) {
                None | Some("auto") => Platform::Detect,
                Some("statuspage") => Platform::Statuspage,
                Some(other) => {
                    return Err(at.error(
                        raw.platform.as_ref().map_or(span, |p| p.span()),
                        format!(
                            "{}: unknown platform {other:?} (known: statuspage)",
                            field("platform")
                        ),
                    ));
                }
            };
            providers.push(ProviderConfig {
                id,
                name: raw.name.filter(|n| !n.trim().is_empty()),
                url,
                platform,
            });
        }

        let mut routes = Vec::with_capacity(raw.routes.len());
        let mut route_names = HashSet::new();
        for (index, spanned) in raw.routes.into_iter().enumerate() {
            let span = spanned.span();
            let raw = spanned.into_inner();
            let field = |name: &str| format!("routes[{index}].{name}");
            let name = raw.name.get_ref().trim().to_owned();
            if name.is_empty() {
                return Err(at.error(
                    raw.name.span(),
                    format!("{}: must not be empty", field("name")),
                ));
            }
            if !route_names.insert(name.clone()) {
                return Err(at.error(
                    raw.name.span(),
                    format!("{}: duplicate route name {name:?}", field("name")),
                ));
            }
            let channel = match raw.channel.get_ref().as_str() {
                "console" => ChannelConfig::Console,
                "webhook" => {
                    let Some(url) = raw.url.as_ref() else {
                        return Err(at.error(
                            span,
                            format!("{}: a webhook route needs a url", field("url")),
                        ));
                    };
                    let resolved = resolve_secret(url.get_ref())
                        .map_err(|m| at.error(url.span(), format!("{}: {m}", field("url"))))?;
                    let resolved = Spanned::new(url.span(), resolved);
                    let url_value = parse_http_url(&resolved, allow_private_targets)
                        .map_err(|m| at.error(url.span(), format!("{}: {m}", field("url"))))?;
                    let secret = match raw.secret.as_ref() {
                        None => None,
                        Some(secret) => {
                            let value = resolve_secret(secret.get_ref()).map_err(|m| {
                                at.error(secret.span(), format!("{}: {m}", field("secret")))
                            })?;
                            Some(SigningKey::parse(&value).map_err(|m| {
                                at.error(secret.span(), format!("{}: {m}", field("secret")))
                            })?)
                        }
                    };
                    ChannelConfig::Webhook {
                        url: url_value,
                        secret,
                    }
                }
                other => {
                    return Err(at.error(
                        raw.channel.span(),
                        format!(
                            "{}: unknown channel {other:?} (known: console, webhook)",
                            field("channel")
                        ),
                    ));
                }
            };
            let provider_filter = match raw.providers {
                None => None,
                Some(list) => {
                    let mut ids = Vec::with_capacity(list.len());
                    for (i, id) in list.iter().enumerate() {
                        if !provider_ids.contains(id.get_ref()) {
                            return Err(at.error(
                                id.span(),
                                format!(
                                    "{}[{i}]: no provider has id {:?}",
                                    field("providers"),
                                    id.get_ref()
                                ),
                            ));
                        }
                        ids.push(id.get_ref().clone());
                    }
                    Some(ids)
                }
            };
            let mut event_patterns = Vec::new();
            for (i, pattern) in raw.events.iter().flatten().enumerate() {
                let compiled = glob::Pattern::new(pattern.get_ref()).map_err(|e| {
                    at.error(pattern.span(), format!("{}[{i}]: {e}", field("events")))
                })?;
                if !EventType::ALL.iter().any(|t| compiled.matches(t.as_str())) {
                    return Err(at.error(
                        pattern.span(),
                        format!(
                            "{}[{i}]: {:?} matches no event type (types: {})",
                            field("events"),
                            pattern.get_ref(),
                            EventType::ALL.map(EventType::as_str).join(", ")
                        ),
                    ));
                }
                event_patterns.push(compiled);
            }
            routes.push(RouteConfig {
                name,
                channel,
                filter: RouteFilter::new(provider_filter, event_patterns),
            });
        }

        Ok(Config {
            path: path.to_owned(),
            settings: Settings {
                state,
                interval,
                allow_private_targets,
                concurrency,
            },
            providers,
            routes,
        })
    }
}

/// `env:NAME` reads the value from the environment so config files need not hold secrets.
fn resolve_secret(value: &str) -> Result<String, String> {
    match value.strip_prefix("env:") {
        Some(name) => std::env::var(name)
            .map_err(|_| format!("environment variable {name} is not set or not UTF-8")),
        None => Ok(value.to_owned()),
    }
}

fn parse_http_url(raw: &Spanned<String>, allow_private: bool) -> Result<Url, String> {
    let text = raw.get_ref().trim();
    let mut url = Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !allow_private {
        net::check_url_host(&url).map_err(|e| e.to_string())?;
    }
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let offset = span.start.min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            path: self.path.to_owned(),
            position: Some((line, column)),
            message: message.into(),
        }
    }

    fn file_error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            position: None,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("conf/sr.toml"), text)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse(
            "[[providers]]\nid = \"gh\"\nurl = \"https://www.githubstatus.com/\"\n\n[[routes]]\nname = \"out\"\nchannel = \"console\"\n",
        )
        .unwrap();
        assert_eq!(config.settings.interval, Duration::from_secs(60));
        assert_eq!(config.settings.state, PathBuf::from("conf/statusrelay.db"));
        assert_eq!(
            config.providers[0].url.as_str(),
            "https://www.githubstatus.com/"
        );
        assert_eq!(config.providers[0].platform, Platform::Detect);
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let err = parse("[[providers]]\nid = \"Bad_Id\"\nurl = \"https://x.test\"\n").unwrap_err();
        assert_eq!(err.position, Some((2, 6)));
        assert!(
            err.to_string()
                .starts_with("conf/sr.toml:2:6: providers[0].id"),
            "{err}"
        );

        let err = parse("[settings]\ninterval = \"soon\"\n").unwrap_err();
        assert_eq!(err.position, Some((2, 12)));
        assert!(err.message.contains("settings.interval"), "{err}");

        let err = parse("[settings]\nintervall = \"60s\"\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(2));
        assert!(err.message.contains("intervall"), "{err}");

        let err = parse("[[providers]\nid=1").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1), "{err}");
    }

    #[test]
    fn route_validation() {
        let base = "[[providers]]\nid = \"gh\"\nurl = \"https://www.githubstatus.com\"\n";
        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"https://h.test/x\"\nproviders = [\"gh\", \"nope\"]\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("routes[0].providers[1]"), "{err}");
        assert_eq!(err.position, Some((8, 20)));

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"console\"\nevents = [\"incident.create\"]\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("matches no event type"), "{err}");

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"https://h.test/x\"\nsecret = \"whsec_***\"\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("routes[0].secret"), "{err}");
        assert!(
            !err.to_string().contains("***"),
            "errors must not echo secrets: {err}"
        );

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"pager\"\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("unknown channel"), "{err}");
    }

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        let text = "[[providers]]\nid = \"local\"\nurl = \"http://127.0.0.1:8080\"\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("allow_private_targets"), "{err}");
        assert!(parse(&format!("[settings]\nallow_private_targets = true\n{text}")).is_ok());
        let meta = "[[providers]]\nid = \"m\"\nurl = \"http://169.254.169.254/latest\"\n";
        assert!(parse(meta).is_err());
    }

    #[test]
    fn env_references_resolve_and_missing_ones_fail_clearly() {
        let text = "[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"env:STATUSRELAY_TEST_UNSET_VAR\"\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("STATUSRELAY_TEST_UNSET_VAR"), "{err}");
        assert_eq!(err.position, Some((4, 7)));
    }
}
