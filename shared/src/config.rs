//! The TOML configuration: parsing, validation and errors that name file:line:column.
//!
//! One file per table of the config file: `settings.rs` (`[settings]`), `providers.rs`
//! (`[[providers]]` and `catalog`), `destination.rs` (`[[destinations]]`), `routes.rs`
//! (`[[routes]]`); `secrets.rs` resolves `env:`/`ssm:` values and `location.rs` turns
//! positions into file:line:column. This file reads the whole and calls each table's `build`.

mod destination;
mod location;
mod providers;
mod routes;
mod secrets;
mod settings;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

pub use destination::{
    CHANNEL_TYPES, ChannelConfig, DestinationConfig, PAGERDUTY_EVENTS_URL, RateLimit,
    TELEGRAM_API_URL,
};
pub use location::ConfigError;
use location::Locator;
pub use providers::ProviderConfig;
pub use routes::RouteConfig;
pub use secrets::{Secrets, intake_token_references, ssm_references};
pub use settings::{DEFAULT_CONCURRENCY, DEFAULT_DIGEST_AFTER, Settings};

use crate::net;
/// Re-exported: providers name their platform, but the sources own it.
pub use crate::sources::Platform;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// Settings and providers, no secrets (the poller).
    Providers,
    /// Settings and providers with their `intake_token`s resolved (the intake function).
    Intake,
}

/// The config file's tables as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: Option<settings::RawSettings>,
    /// Ids from the built-in catalog, added as providers.
    #[serde(default)]
    catalog: Vec<Spanned<String>>,
    #[serde(default)]
    providers: Vec<Spanned<providers::RawProvider>>,
    #[serde(default)]
    destinations: Vec<Spanned<destination::RawDestination>>,
    #[serde(default)]
    routes: Vec<Spanned<routes::RawRoute>>,
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

    /// Settings and providers with `intake_token`s resolved from `secrets`.
    pub fn parse_intake(path: &Path, text: &str, secrets: &Secrets) -> Result<Config, ConfigError> {
        Config::parse_scoped(path, text, secrets, Scope::Intake)
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
        let allow_private = settings.allow_private_targets;
        let secrets_for_providers = (scope != Scope::Providers).then_some(secrets);
        let providers = providers::build(
            raw.providers,
            &raw.catalog,
            &at,
            allow_private,
            secrets_for_providers,
        )?;
        if scope != Scope::Everything {
            return Ok(Config {
                path: path.to_owned(),
                settings,
                providers,
                destinations: Vec::new(),
                routes: Vec::new(),
                warnings: Vec::new(),
            });
        }
        let (mut destinations, destination_spans) =
            destination::build(raw.destinations, &at, secrets, allow_private)?;
        let cx = routes::Context {
            at: &at,
            secrets,
            allow_private,
            providers: &providers,
        };
        let (routes, warnings) =
            routes::build(raw.routes, &mut destinations, &destination_spans, &cx)?;

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

/// An http(s) URL with a host, refused when it points at a private address unless allowed,
/// its path's trailing slashes removed.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Shared by the tests of each table's file.
    pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
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

    /// Two providers (private targets allowed), for the tests of routes and destinations.
    pub(super) const PROVIDERS: &str = "[settings]\nallow_private_targets = true\n\n[[providers]]\nid = \"gh\"\nurl = \"https://www.githubstatus.com\"\ntags = [\"Dev\"]\n\n[[providers]]\nid = \"stripe\"\nurl = \"https://status.stripe.com\"\ntags = [\"payments\"]\n";
}
