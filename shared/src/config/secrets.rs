//! Secret values: literal, `env:NAME` or `ssm:NAME`, and the `ssm:` names to fetch beforehand.

use std::collections::HashMap;

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

/// Every `ssm:NAME` string in a config's text, to fetch before
/// [`Config::parse_with`](super::Config::parse_with).
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

/// The `ssm:` parameter names the providers' `intake_token`s refer to, and nothing else: all
/// the intake function may read.
pub fn intake_token_references(text: &str) -> Vec<String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let providers = table.get("providers").and_then(|p| p.as_array());
    let mut out: Vec<String> = Vec::new();
    for token in providers
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("intake_token")?.as_str())
    {
        if let Some(name) = token.strip_prefix("ssm:").filter(|n| !n.is_empty())
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::config::tests::{PROVIDERS, parse};

    #[test]
    fn env_references_resolve_and_missing_ones_fail_clearly() {
        let text = "[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"env:STATUSRELAY_TEST_UNSET_VAR\"\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("STATUSRELAY_TEST_UNSET_VAR"), "{err}");
        assert_eq!(err.position, Some((4, 7)));
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

    /// The intake function may read the intake tokens and nothing else: the names it fetches
    /// are those of `intake_token`s only, and its parse resolves them without the routes'
    /// secrets (which it cannot read).
    #[test]
    fn the_intake_scope_reads_only_intake_tokens() {
        let text = "[[providers]]\nid = \"stripe\"\nurl = \"https://status.stripe.com\"\nintake_token = \"ssm:/statusrelay/secrets/intake/stripe\"\n\n\
                    [[providers]]\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\nintake_token = \"literal-intake-token-0001\"\n\n\
                    [[providers]]\nid = \"slack\"\nurl = \"https://slack-status.com\"\n\n\
                    [[routes]]\nname = \"pd\"\nchannel = \"pagerduty\"\nrouting_key = \"ssm:/statusrelay/secrets/pd\"\n";
        assert_eq!(
            intake_token_references(text),
            ["/statusrelay/secrets/intake/stripe"]
        );
        assert_eq!(
            ssm_references(text).len(),
            2,
            "the full scope would read both"
        );
        let mut secrets = Secrets::default();
        secrets.ssm.insert(
            "/statusrelay/secrets/intake/stripe".into(),
            "stripe-intake-token-from-ssm".into(),
        );
        let config = Config::parse_intake(Path::new("x.toml"), text, &secrets).unwrap();
        let token = |id: &str| {
            config
                .providers
                .iter()
                .find(|p| p.id == id)
                .and_then(|p| p.intake_token.clone())
        };
        assert_eq!(
            token("stripe").as_deref(),
            Some("stripe-intake-token-from-ssm")
        );
        assert_eq!(
            token("github").as_deref(),
            Some("literal-intake-token-0001")
        );
        assert_eq!(token("slack"), None);
        assert!(config.routes.is_empty(), "routes are not read");
        // The poller's scope resolves no token at all.
        let poller = Config::parse_providers(Path::new("x.toml"), text).unwrap();
        assert!(poller.providers.iter().all(|p| p.intake_token.is_none()));
        assert!(intake_token_references("not toml [").is_empty());
    }
}
