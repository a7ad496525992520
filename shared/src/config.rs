//! The TOML configuration: parsing, validation and errors that name file:line:column.

mod destination;
mod settings;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

pub use destination::{
    CHANNEL_TYPES, ChannelConfig, DestinationConfig, PAGERDUTY_EVENTS_URL, RateLimit,
    TELEGRAM_API_URL,
};
use destination::{DestinationFields, RawDestination};
use settings::RawSettings;
pub use settings::{DEFAULT_CONCURRENCY, DEFAULT_DIGEST_AFTER, Settings};

use crate::event::EventType;
use crate::model::Impact;
use crate::net;
use crate::routing::{RouteFilter, matched_types, names_maintenance};
/// Re-exported: providers name their platform, but the sources own it.
pub use crate::sources::Platform;

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
    pub destinations: Vec<DestinationConfig>,
    pub routes: Vec<RouteConfig>,
    /// Things that are allowed but probably not meant, located like errors.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub id: String,
    pub name: Option<String>,
    /// Base URL of the page, without a trailing slash.
    pub url: Url,
    pub platform: Platform,
    /// Categories routes can select by (`tags = ["payments"]`).
    pub tags: Vec<String>,
    /// Components or component groups to watch (lowercase names, or ids); empty: all.
    pub components: Vec<String>,
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

/// A notification group: filters, and the destinations that matching events go to.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub name: String,
    pub destinations: Vec<String>,
    pub filter: RouteFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everything,
    Providers,
}

/// Values fetched ahead of parsing for `ssm:NAME` references (see [`ssm_references`]).
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    pub ssm: HashMap<String, String>,
}

impl Secrets {
    /// `env:NAME` and `ssm:NAME` keep secrets out of config files; anything else is literal.
    /// Errors name the reference, never the value.
    pub fn resolve(&self, value: &str) -> Result<String, String> {
        if let Some(name) = value.strip_prefix("env:") {
            return std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set or not UTF-8"));
        }
        if let Some(name) = value.strip_prefix("ssm:") {
            return self
                .ssm
                .get(name)
                .cloned()
                .ok_or_else(|| format!("SSM parameter {name} was not found or is not readable"));
        }
        Ok(value.to_owned())
    }
}

/// Every `ssm:NAME` string in a config's text, to fetch before [`Config::parse_with`].
pub fn ssm_references(text: &str) -> Vec<String> {
    fn walk(value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::String(s) => {
                if let Some(name) = s.strip_prefix("ssm:")
                    && !name.is_empty()
                    && !out.iter().any(|n| n == name)
                {
                    out.push(name.to_owned());
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            toml::Value::Table(table) => table.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        table.values().for_each(|v| walk(v, &mut out));
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: Option<RawSettings>,
    /// Ids from the built-in catalog, added as providers.
    #[serde(default)]
    catalog: Vec<Spanned<String>>,
    #[serde(default)]
    providers: Vec<Spanned<RawProvider>>,
    #[serde(default)]
    destinations: Vec<Spanned<RawDestination>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: Spanned<String>,
    name: Option<String>,
    url: Spanned<String>,
    platform: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    components: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Spanned<String>,
    /// Names of `[[destinations]]`.
    destinations: Option<Vec<Spanned<String>>>,
    /// Or one destination inline, named after the route: its type and fields.
    channel: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    routing_key: Option<Spanned<String>>,
    bot_token: Option<Spanned<String>>,
    chat_id: Option<Spanned<toml::Value>>,
    thread_id: Option<Spanned<i64>>,
    api_url: Option<Spanned<String>>,
    topic_arn: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    rate_limit: Option<Spanned<String>>,
    providers: Option<Vec<Spanned<String>>>,
    tags: Option<Vec<Spanned<String>>>,
    components: Option<HashMap<String, Vec<Spanned<String>>>>,
    min_impact: Option<Spanned<String>>,
    events: Option<Vec<Spanned<String>>>,
    maintenance: Option<bool>,
}

impl RawRoute {
    fn inline_fields(&mut self) -> DestinationFields {
        DestinationFields {
            url: self.url.take(),
            secret: self.secret.take(),
            routing_key: self.routing_key.take(),
            bot_token: self.bot_token.take(),
            chat_id: self.chat_id.take(),
            thread_id: self.thread_id.take(),
            api_url: self.api_url.take(),
            topic_arn: self.topic_arn.take(),
            region: self.region.take(),
            rate_limit: self.rate_limit.take(),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            position: None,
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Parses a config whose `ssm:` references (if any) need no values: they fail clearly.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::parse_with(path, text, &Secrets::default())
    }

    /// Parses a config, resolving `ssm:` references from `secrets`.
    pub fn parse_with(path: &Path, text: &str, secrets: &Secrets) -> Result<Config, ConfigError> {
        Config::parse_scoped(path, text, secrets, Scope::Everything)
    }

    /// Settings and providers only: destinations and routes are neither read nor checked,
    /// so the poller needs no access to the secrets they reference.
    pub fn parse_providers(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::parse_scoped(path, text, &Secrets::default(), Scope::Providers)
    }

    fn parse_scoped(
        path: &Path,
        text: &str,
        secrets: &Secrets,
        scope: Scope,
    ) -> Result<Config, ConfigError> {
        let at = Locator { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            match e.span() {
                Some(span) => at.error(span, message),
                None => at.file_error(message),
            }
        })?;

        let secrets_for_settings = (scope == Scope::Everything).then_some(secrets);
        let settings = settings::build(raw.settings.as_ref(), path, &at, secrets_for_settings)?;
        let allow_private_targets = settings.allow_private_targets;

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
            let mut url = parse_http_url(&raw.url, allow_private_targets).map_err(|message| {
                at.error(raw.url.span(), format!("{}: {message}", field("url")))
            })?;
            let platform = match raw.platform.as_ref().map(|p| p.get_ref().as_str()) {
                None => Platform::Detect,
                Some(name) => Platform::parse(name).ok_or_else(|| {
                    at.error(
                        raw.platform.as_ref().map_or(span, |p| p.span()),
                        format!(
                            "{}: unknown platform {name:?} (known: auto, {})",
                            field("platform"),
                            crate::sources::DETECTABLE.map(Platform::as_str).join(", ")
                        ),
                    )
                })?,
            };
            // A feed is fetched as written: its trailing slash can matter (and detection may
            // find a feed).
            if matches!(
                platform,
                Platform::Feed | Platform::AwsHealth | Platform::StatusIo | Platform::Detect
            ) && raw.url.get_ref().trim().ends_with('/')
            {
                let path = format!("{}/", url.path().trim_end_matches('/'));
                url.set_path(&path);
            }
            let mut tags = Vec::with_capacity(raw.tags.len());
            for (i, tag) in raw.tags.iter().enumerate() {
                let value = tag.get_ref().trim().to_lowercase();
                if value.is_empty() {
                    return Err(at.error(
                        tag.span(),
                        format!("{}[{i}]: must not be empty", field("tags")),
                    ));
                }
                tags.push(value);
            }
            let mut components = Vec::with_capacity(raw.components.len());
            for (i, component) in raw.components.iter().enumerate() {
                let value = component.get_ref().trim().to_lowercase();
                if value.is_empty() {
                    return Err(at.error(
                        component.span(),
                        format!("{}[{i}]: must not be empty", field("components")),
                    ));
                }
                components.push(value);
            }
            providers.push(ProviderConfig {
                id,
                name: raw.name.filter(|n| !n.trim().is_empty()),
                url,
                platform,
                tags,
                components,
            });
        }

        for (i, wanted) in raw.catalog.iter().enumerate() {
            let id = wanted.get_ref().trim();
            let Some(entry) = crate::catalog::find(id) else {
                let close = crate::catalog::suggest(id);
                let hint = if close.is_empty() {
                    "see `statusrelay catalog`".to_owned()
                } else {
                    format!("did you mean {}?", close.join(", "))
                };
                return Err(at.error(
                    wanted.span(),
                    format!("catalog[{i}]: no catalog entry {id:?}; {hint}"),
                ));
            };
            if !provider_ids.insert(entry.id.clone()) {
                return Err(at.error(
                    wanted.span(),
                    format!("catalog[{i}]: {id:?} is also a [[providers]] id (or listed twice)"),
                ));
            }
            let url = Url::parse(&entry.url).map_err(|e| {
                at.error(wanted.span(), format!("catalog[{i}]: bad catalog URL: {e}"))
            })?;
            providers.push(ProviderConfig {
                id: entry.id.clone(),
                name: Some(entry.name.clone()),
                url,
                platform: Platform::parse(&entry.platform).unwrap_or(Platform::Detect),
                tags: entry.tags.clone(),
                components: Vec::new(),
            });
        }

        if scope == Scope::Providers {
            return Ok(Config {
                path: path.to_owned(),
                settings,
                providers,
                destinations: Vec::new(),
                routes: Vec::new(),
                warnings: Vec::new(),
            });
        }
        let mut destinations: Vec<DestinationConfig> = Vec::new();
        let mut destination_spans = Vec::new();
        for (index, spanned) in raw.destinations.into_iter().enumerate() {
            let span = spanned.span();
            let (name, kind, fields) = spanned.into_inner().into_fields();
            let display = name.get_ref().trim().to_owned();
            check_name(&at, &name, &format!("destinations[{index}].name"))?;
            if destinations.iter().any(|d| d.name == display) {
                return Err(at.error(
                    name.span(),
                    format!("destinations[{index}].name: duplicate destination name {display:?}"),
                ));
            }
            let cx = destination::Context {
                at: &at,
                secrets,
                allow_private: allow_private_targets,
                field_prefix: format!("destinations[{index}]"),
                span: span.clone(),
                kind_field: "type",
            };
            let (channel, rate_limit) = destination::build(&kind, &fields, &cx)?;
            destinations.push(DestinationConfig {
                name: display,
                channel,
                rate_limit,
            });
            destination_spans.push(name.span());
        }
        let declared = destinations.len();
        let mut used = vec![false; declared];

        let mut routes = Vec::with_capacity(raw.routes.len());
        let mut route_names = HashSet::new();
        for (index, spanned) in raw.routes.into_iter().enumerate() {
            let span = spanned.span();
            let mut raw = spanned.into_inner();
            let field = |name: &str| format!("routes[{index}].{name}");
            check_name(&at, &raw.name, &field("name"))?;
            let name = raw.name.get_ref().trim().to_owned();
            if !route_names.insert(name.clone()) {
                return Err(at.error(
                    raw.name.span(),
                    format!("{}: duplicate route name {name:?}", field("name")),
                ));
            }
            let inline = raw.inline_fields();
            let route_destinations = match (&raw.channel, &raw.destinations) {
                (Some(_), Some(list)) => {
                    return Err(at.error(
                        list.first().map_or(span.clone(), Spanned::span),
                        format!(
                            "{}: give either `channel` (one destination inline) or `destinations`, not both",
                            field("destinations")
                        ),
                    ));
                }
                (None, None) => {
                    return Err(at.error(
                        span,
                        format!(
                            "{}: a route needs `destinations = [...]` naming [[destinations]], or an inline `channel`",
                            field("destinations")
                        ),
                    ));
                }
                (Some(kind), None) => {
                    // An inline destination takes the route's name.
                    if destinations.iter().any(|d| d.name == name) {
                        return Err(at.error(
                            raw.name.span(),
                            format!("{}: a destination is already named {name:?}", field("name")),
                        ));
                    }
                    let cx = destination::Context {
                        at: &at,
                        secrets,
                        allow_private: allow_private_targets,
                        field_prefix: format!("routes[{index}]"),
                        span: span.clone(),
                        kind_field: "channel",
                    };
                    let (channel, rate_limit) = destination::build(kind, &inline, &cx)?;
                    destinations.push(DestinationConfig {
                        name: name.clone(),
                        channel,
                        rate_limit,
                    });
                    vec![name.clone()]
                }
                (None, Some(list)) => {
                    if let Some((field_name, span)) = inline.first_present() {
                        return Err(at.error(
                            span,
                            format!(
                                "{}: destination fields belong in [[destinations]] when the route lists `destinations`",
                                field(field_name)
                            ),
                        ));
                    }
                    if list.is_empty() {
                        return Err(at.error(
                            span,
                            format!(
                                "{}: must name at least one destination",
                                field("destinations")
                            ),
                        ));
                    }
                    let mut names = Vec::with_capacity(list.len());
                    for (i, entry) in list.iter().enumerate() {
                        let wanted = entry.get_ref().trim();
                        let Some(position) = destinations[..declared]
                            .iter()
                            .position(|d| d.name == wanted)
                        else {
                            return Err(at.error(
                                entry.span(),
                                format!(
                                    "{}[{i}]: no destination is named {wanted:?}",
                                    field("destinations")
                                ),
                            ));
                        };
                        used[position] = true;
                        if !names.iter().any(|n| n == wanted) {
                            names.push(wanted.to_owned());
                        }
                    }
                    names
                }
            };

            let mut provider_filter: Option<HashSet<String>> = None;
            for (i, id) in raw.providers.iter().flatten().enumerate() {
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
                provider_filter
                    .get_or_insert_default()
                    .insert(id.get_ref().clone());
            }
            for (i, tag) in raw.tags.iter().flatten().enumerate() {
                let wanted = tag.get_ref().trim().to_lowercase();
                let tagged: Vec<&ProviderConfig> = providers
                    .iter()
                    .filter(|p| p.tags.contains(&wanted))
                    .collect();
                if tagged.is_empty() {
                    return Err(at.error(
                        tag.span(),
                        format!("{}[{i}]: no provider has tag {wanted:?}", field("tags")),
                    ));
                }
                let set = provider_filter.get_or_insert_default();
                set.extend(tagged.into_iter().map(|p| p.id.clone()));
            }

            let mut components = HashMap::new();
            for (provider, list) in raw.components.iter().flatten() {
                if !provider_ids.contains(provider) {
                    let span = list.first().map_or(span.clone(), Spanned::span);
                    return Err(at.error(
                        span,
                        format!(
                            "{}.{provider}: no provider has id {provider:?}",
                            field("components")
                        ),
                    ));
                }
                let mut watched = Vec::with_capacity(list.len());
                for entry in list {
                    let value = entry.get_ref().trim();
                    if value.is_empty() {
                        return Err(at.error(
                            entry.span(),
                            format!("{}.{provider}: empty component name", field("components")),
                        ));
                    }
                    // Names compare case-insensitively; ids are lowercase on every platform
                    // statusrelay reads, so one lowercase list serves both.
                    watched.push(value.to_lowercase());
                }
                components.insert(provider.clone(), watched);
            }

            let min_impact = match &raw.min_impact {
                None => None,
                Some(raw_impact) => {
                    let impact = Impact::from(raw_impact.get_ref().trim().to_lowercase());
                    if matches!(impact, Impact::Unknown(_) | Impact::Maintenance) {
                        return Err(at.error(
                            raw_impact.span(),
                            format!(
                                "{}: {:?} is not an impact (none, minor, major, critical)",
                                field("min_impact"),
                                raw_impact.get_ref()
                            ),
                        ));
                    }
                    Some(impact)
                }
            };

            let mut event_patterns = Vec::new();
            for (i, pattern) in raw.events.iter().flatten().enumerate() {
                let compiled = glob::Pattern::new(pattern.get_ref()).map_err(|e| {
                    at.error(pattern.span(), format!("{}[{i}]: {e}", field("events")))
                })?;
                if matched_types(&compiled).is_empty() {
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
            let maintenance = raw
                .maintenance
                .unwrap_or_else(|| names_maintenance(&event_patterns));
            routes.push(RouteConfig {
                name,
                destinations: route_destinations,
                filter: RouteFilter {
                    providers: provider_filter,
                    components,
                    min_impact,
                    events: event_patterns,
                    maintenance,
                },
            });
        }
        // Unused destinations are allowed (a route commented out for a while) but said.
        let mut warnings = Vec::new();
        for (index, _) in used.iter().enumerate().filter(|(_, used)| !**used) {
            let located = at.error(
                destination_spans[index].clone(),
                format!(
                    "destinations[{index}]: {:?} is not named by any route; it receives nothing",
                    destinations[index].name
                ),
            );
            warnings.push(located.to_string());
        }

        Ok(Config {
            path: path.to_owned(),
            settings,
            providers,
            destinations,
            routes,
            warnings,
        })
    }
}

/// Names are shown in logs and used as keys in the delivery records.
fn check_name(at: &Locator<'_>, name: &Spanned<String>, field: &str) -> Result<(), ConfigError> {
    let value = name.get_ref().trim();
    if value.is_empty() || value.len() > 64 || value.chars().any(char::is_control) {
        return Err(at.error(
            name.span(),
            format!("{field}: must be 1 to 64 characters, without control characters"),
        ));
    }
    Ok(())
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
    use std::time::Duration;

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
        assert!(
            err.message
                .contains("routes[0].channel: unknown destination type"),
            "{err}"
        );
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

    const PROVIDERS: &str = "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"gh\"\nurl = \"https://www.githubstatus.com\"\ntags = [\"Dev\"]\n\n[[providers]]\nid = \"stripe\"\nurl = \"https://status.stripe.com\"\ntags = [\"payments\"]\n";

    #[test]
    fn notification_groups_share_destinations() {
        let config = parse(&format!(
            "{PROVIDERS}
[[destinations]]
name = \"ops-slack\"
type = \"slack\"
url = \"https://hooks.slack.test/services/T0/B0/x\"
rate_limit = \"2/s\"

[[destinations]]
name = \"pager\"
type = \"pagerduty\"
routing_key = \"R0UTINGKEY0123456789ABCDEFGHIJKL\"

[[routes]]
name = \"major\"
destinations = [\"ops-slack\", \"pager\", \"ops-slack\"]
tags = [\"payments\"]
providers = [\"gh\"]
min_impact = \"Major\"
components = {{ gh = [\"Actions\", \"br0l2tvcx85d\"] }}

[[routes]]
name = \"maintenance\"
destinations = [\"ops-slack\"]
events = [\"maintenance.*\"]
"
        ))
        .unwrap();
        assert_eq!(config.destinations.len(), 2);
        assert_eq!(
            config.destinations[0].rate_limit,
            Some(RateLimit::parse("2/s").unwrap())
        );
        let major = &config.routes[0];
        assert_eq!(major.destinations, ["ops-slack", "pager"]);
        let providers = major.filter.providers.as_ref().unwrap();
        assert!(providers.contains("gh") && providers.contains("stripe"));
        assert_eq!(major.filter.min_impact, Some(Impact::Major));
        assert_eq!(major.filter.components["gh"], ["actions", "br0l2tvcx85d"]);
        assert!(!major.filter.maintenance, "maintenance is off unless asked");
        assert!(
            config.routes[1].filter.maintenance,
            "naming maintenance events turns it on"
        );
        assert!(matches!(
            &config.destinations[1].channel,
            ChannelConfig::PagerDuty { url, .. } if url.as_str() == PAGERDUTY_EVENTS_URL
        ));
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

    #[test]
    fn catalog_ids_become_providers() {
        let config = parse("catalog = [\"github\", \"slack\"]\n").unwrap();
        let ids: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["github", "slack"]);
        assert_eq!(config.providers[1].platform, Platform::Slack);
        assert!(
            config.providers[0]
                .tags
                .contains(&"developer-tools".to_owned())
        );

        let err = parse("catalog = [\"githubb\"]\n").unwrap_err();
        assert_eq!(err.position, Some((1, 12)));
        assert!(
            err.message
                .contains("no catalog entry \"githubb\"; did you mean github?"),
            "{err}"
        );
        let err = parse(
            "catalog = [\"github\"]\n[[providers]]\nid = \"github\"\nurl = \"https://x.test\"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("also a [[providers]] id"), "{err}");
    }

    #[test]
    fn unused_destinations_are_a_warning() {
        let config = parse(&format!(
            "{PROVIDERS}[[destinations]]\nname = \"s\"\ntype = \"slack\"\nurl = \"https://h.test/x\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.warnings,
            [
                "conf/sr.toml:14:8: destinations[0]: \"s\" is not named by any route; it receives nothing"
            ]
        );
    }

    #[test]
    fn secrets_come_from_env_or_ssm_and_are_never_echoed() {
        let text = format!(
            "{PROVIDERS}[[routes]]\nname = \"pd\"\nchannel = \"pagerduty\"\nrouting_key = \"ssm:/statusrelay/pd\"\n"
        );
        assert_eq!(ssm_references(&text), ["/statusrelay/pd"]);
        let err = parse(&text).unwrap_err();
        assert!(
            err.message
                .contains("SSM parameter /statusrelay/pd was not found"),
            "{err}"
        );

        let mut secrets = Secrets::default();
        secrets
            .ssm
            .insert("/statusrelay/pd".into(), "not-a-key-SECRETVALUE".into());
        let err = Config::parse_with(Path::new("x.toml"), &text, &secrets).unwrap_err();
        assert!(
            err.message.contains("32-character integration key"),
            "{err}"
        );
        assert!(!err.to_string().contains("SECRETVALUE"), "{err}");

        secrets.ssm.insert(
            "/statusrelay/pd".into(),
            "R0UTINGKEY0123456789ABCDEFGHIJKL".into(),
        );
        let config = Config::parse_with(Path::new("x.toml"), &text, &secrets).unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("R0UTINGKEY"),
            "Debug must not show secrets: {debug}"
        );
    }
}
