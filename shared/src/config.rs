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
pub use secrets::{Secrets, ssm_references};
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
    Providers,
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
        let providers = providers::build(raw.providers, &raw.catalog, &at, allow_private)?;
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
    use crate::model::Impact;
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
