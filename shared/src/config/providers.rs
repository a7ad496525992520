//! `[[providers]]` and `catalog = [...]`: the status pages to watch.

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{ConfigError, Locator, parse_http_url};
use crate::sources::{DETECTABLE, Platform};

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
    /// The secret a vendor's webhook must carry to `/intake/<id>` (`?token=` or bearer);
    /// `None`: no push intake for this provider (also when read without secrets).
    pub intake_token: Option<String>,
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

/// A `[[providers]]` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    id: Spanned<String>,
    name: Option<String>,
    url: Spanned<String>,
    platform: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    components: Vec<Spanned<String>>,
    intake_token: Option<Spanned<String>>,
}

/// The shortest `intake_token` accepted: it is all that stands between the internet and an
/// extra poll.
const INTAKE_TOKEN_MIN_CHARS: usize = 16;

/// The `[[providers]]` entries, then the `catalog` ids, checked and in that order.
pub(super) fn build(
    raw_providers: Vec<Spanned<RawProvider>>,
    catalog: &[Spanned<String>],
    at: &Locator<'_>,
    allow_private_targets: bool,
    secrets: Option<&super::Secrets>,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    let mut providers = Vec::with_capacity(raw_providers.len() + catalog.len());
    let mut provider_ids = HashSet::new();
    for (index, spanned) in raw_providers.into_iter().enumerate() {
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
        let mut url = parse_http_url(&raw.url, allow_private_targets)
            .map_err(|message| at.error(raw.url.span(), format!("{}: {message}", field("url"))))?;
        let platform = match raw.platform.as_ref().map(|p| p.get_ref().as_str()) {
            None => Platform::Detect,
            Some(name) => Platform::parse(name).ok_or_else(|| {
                at.error(
                    raw.platform.as_ref().map_or(span, |p| p.span()),
                    format!(
                        "{}: unknown platform {name:?} (known: auto, {})",
                        field("platform"),
                        DETECTABLE.map(Platform::as_str).join(", ")
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
        let tags = lowercase_list(&raw.tags, &field("tags"), at)?;
        let components = lowercase_list(&raw.components, &field("components"), at)?;
        let intake_token = match (&raw.intake_token, secrets) {
            (Some(raw_token), Some(secrets)) => {
                let token = secrets.resolve(raw_token.get_ref()).map_err(|m| {
                    at.error(raw_token.span(), format!("{}: {m}", field("intake_token")))
                })?;
                if token.chars().count() < INTAKE_TOKEN_MIN_CHARS {
                    return Err(at.error(
                        raw_token.span(),
                        format!(
                            "{}: must be at least {INTAKE_TOKEN_MIN_CHARS} characters",
                            field("intake_token")
                        ),
                    ));
                }
                Some(token)
            }
            _ => None,
        };
        providers.push(ProviderConfig {
            id,
            name: raw.name.filter(|n| !n.trim().is_empty()),
            url,
            platform,
            tags,
            components,
            intake_token,
        });
    }

    for (i, wanted) in catalog.iter().enumerate() {
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
        let url = Url::parse(&entry.url)
            .map_err(|e| at.error(wanted.span(), format!("catalog[{i}]: bad catalog URL: {e}")))?;
        providers.push(ProviderConfig {
            id: entry.id.clone(),
            name: Some(entry.name.clone()),
            url,
            platform: Platform::parse(&entry.platform).unwrap_or(Platform::Detect),
            tags: entry.tags.clone(),
            components: Vec::new(),
            intake_token: None,
        });
    }
    Ok(providers)
}

/// `tags` and `components`: trimmed, lowercase, none empty.
fn lowercase_list(
    raw: &[Spanned<String>],
    field: &str,
    at: &Locator<'_>,
) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, item) in raw.iter().enumerate() {
        let value = item.get_ref().trim().to_lowercase();
        if value.is_empty() {
            return Err(at.error(item.span(), format!("{field}[{i}]: must not be empty")));
        }
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

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
}
