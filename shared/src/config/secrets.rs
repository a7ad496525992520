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
