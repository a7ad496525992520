//! Getting started: `statusrelay init` writes a commented starter config, and `statusrelay add`
//! appends one provider — found in the catalog or detected from a URL — to an existing config
//! with a format-preserving editor (`toml_edit`), so the user's comments and layout stay as
//! they were.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use statusrelay_core::catalog::{self, Entry};
use statusrelay_core::config::{Config, ProviderConfig};
use statusrelay_core::model::Snapshot;
use statusrelay_core::net::HttpLimits;
use statusrelay_core::sources::{DEFAULT_MAX_BODY_BYTES, Fetcher, PollOutcome, detect_and_poll};
use toml_edit::{Array, DocumentMut, Item, Table, value};

/// Catalog matches listed when a name is ambiguous.
const SUGGESTIONS: usize = 5;

pub struct AddRequest<'a> {
    pub config_path: &'a Path,
    /// A catalog id or name, or a status page URL.
    pub target: &'a str,
    /// Component names (or ids) to watch, comma-separated; all when absent.
    pub components: Option<&'a str>,
    /// Add without reading the page (no components shown or checked).
    pub no_check: bool,
}

/// What will be written for the provider.
struct NewProvider {
    id: String,
    name: String,
    url: String,
    /// `None`: detected on the first poll.
    platform: Option<String>,
    tags: Vec<String>,
    from_catalog: Option<String>,
}

pub async fn add(request: AddRequest<'_>, config: &Config) -> Result<()> {
    let path = request.config_path;
    let mut provider = resolve(request.target)?;
    if let Some(present) = already_present(&config.providers, &provider) {
        bail!(
            "{}: {} is already watched (provider `{present}`)",
            path.display(),
            provider.url
        );
    }
    let mut components = Vec::new();
    if !request.no_check {
        let (platform, snapshot) = read_page(&provider.url, config.settings.allow_private_targets)
            .await
            .with_context(|| format!("{}: not readable as a status page", provider.url))?;
        if provider.from_catalog.is_none() {
            provider.platform = Some(platform);
            if !snapshot.page.name.trim().is_empty() {
                provider.name = snapshot.page.name.trim().to_owned();
                provider.id = slug(&provider.name);
            }
        }
        print!("{}", component_list(&provider.name, &snapshot));
        if let Some(wanted) = request.components {
            components = pick_components(&snapshot, wanted)?;
        }
    } else if request.components.is_some() {
        bail!("--components needs the page's components: leave out --no-check");
    }
    provider.id = unique_id(&provider.id, &config.providers);

    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read config", path.display()))?;
    let edited = append_provider(&text, &provider, &components)
        .with_context(|| format!("{}: cannot edit", path.display()))?;
    // What is written must load: checked before the file is touched.
    if statusrelay_core::config::ssm_references(&edited).is_empty() {
        Config::parse(path, &edited)
            .map_err(|e| anyhow!("the edited config would not load: {e}"))?;
    }
    write_atomically(path, &edited)?;
    println!(
        "added `{}` ({}) to {}{}",
        provider.id,
        provider.url,
        path.display(),
        if components.is_empty() {
            String::new()
        } else {
            format!(", watching {}", components.join(", "))
        }
    );
    Ok(())
}

/// A catalog entry by id or name, else a URL to detect; one clear line otherwise.
fn resolve(target: &str) -> Result<NewProvider> {
    let target = target.trim();
    if target.starts_with("http://") || target.starts_with("https://") {
        let url = url::Url::parse(target).map_err(|e| anyhow!("{target}: not a valid URL: {e}"))?;
        let host = url.host_str().unwrap_or("provider").to_owned();
        return Ok(NewProvider {
            id: slug(&host),
            name: host,
            url: target.trim_end_matches('/').to_owned(),
            platform: None,
            tags: Vec::new(),
            from_catalog: None,
        });
    }
    let entry = find_in_catalog(target)?;
    Ok(NewProvider {
        id: entry.id.clone(),
        name: entry.name.clone(),
        url: entry.url.clone(),
        platform: (entry.platform != "auto").then(|| entry.platform.clone()),
        tags: entry.tags.clone(),
        from_catalog: Some(entry.id.clone()),
    })
}

fn find_in_catalog(term: &str) -> Result<&'static Entry> {
    if let Some(entry) = catalog::find(&term.to_lowercase()) {
        return Ok(entry);
    }
    let found = catalog::search(term);
    if let [only] = found.as_slice() {
        return Ok(only);
    }
    if let Some(named) = found.iter().find(|e| e.name.eq_ignore_ascii_case(term)) {
        return Ok(named);
    }
    if found.is_empty() {
        bail!(
            "`{term}` is not in the catalog (`statusrelay catalog search {term}`); give the status page's URL instead"
        );
    }
    let names: Vec<String> = found
        .iter()
        .take(SUGGESTIONS)
        .map(|e| format!("{} ({})", e.id, e.name))
        .collect();
    bail!(
        "`{term}` matches several catalog entries: {}{}; add one by its id",
        names.join(", "),
        if found.len() > SUGGESTIONS {
            ", …"
        } else {
            ""
        }
    )
}

fn already_present<'a>(providers: &'a [ProviderConfig], new: &NewProvider) -> Option<&'a str> {
    let same_url = |configured: &str| {
        configured
            .trim_end_matches('/')
            .eq_ignore_ascii_case(new.url.trim_end_matches('/'))
    };
    providers
        .iter()
        .find(|p| same_url(p.url.as_str()) || new.from_catalog.as_deref() == Some(p.id.as_str()))
        .map(|p| p.id.as_str())
}

async fn read_page(url: &str, allow_private: bool) -> Result<(String, Snapshot)> {
    let base = url::Url::parse(url).with_context(|| format!("{url}: not a valid URL"))?;
    let fetcher = Fetcher::new(allow_private, HttpLimits::default(), DEFAULT_MAX_BODY_BYTES);
    let (platform, outcome) = detect_and_poll(&fetcher, &base, None).await?;
    match outcome {
        PollOutcome::Fetched { snapshot, .. } => Ok((platform.as_str().to_owned(), snapshot)),
        PollOutcome::Unchanged => bail!("the page answered \"not modified\" to a first request"),
    }
}

/// The page's components, grouped, so the user can choose `--components`.
fn component_list(name: &str, snapshot: &Snapshot) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "{name}: {} components\n",
        snapshot.components.iter().filter(|c| !c.is_group).count()
    );
    for group in snapshot.components.iter().filter(|c| c.is_group) {
        let _ = writeln!(out, "  {}", group.name);
        for member in snapshot
            .components
            .iter()
            .filter(|c| c.group_id.as_deref() == Some(group.id.as_str()) && !c.is_group)
        {
            let _ = writeln!(out, "    {}", member.name);
        }
    }
    for single in snapshot.components.iter().filter(|c| {
        !c.is_group
            && c.group_id
                .as_deref()
                .is_none_or(|g| !snapshot.components.iter().any(|o| o.id == g))
    }) {
        let _ = writeln!(out, "  {}", single.name);
    }
    out
}

/// The components named in `--components`, as the page names them; an unknown name is an
/// error listing what the page has.
fn pick_components(snapshot: &Snapshot, wanted: &str) -> Result<Vec<String>> {
    let mut picked = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let found = snapshot
            .components
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) || c.id == name)
            .ok_or_else(|| {
                anyhow!(
                    "--components: the page has no component `{name}` (it has: {})",
                    snapshot
                        .components
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        picked.push(found.name.clone());
    }
    if picked.is_empty() {
        bail!("--components: no component named");
    }
    Ok(picked)
}

/// `[a-z0-9-]+` from a name: "Amazon Web Services" → "amazon-web-services".
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "provider".into()
    } else {
        out
    }
}

fn unique_id(id: &str, providers: &[ProviderConfig]) -> String {
    let taken = |candidate: &str| providers.iter().any(|p| p.id == candidate);
    if !taken(id) {
        return id.to_owned();
    }
    (2..)
        .map(|n| format!("{id}-{n}"))
        .find(|candidate| !taken(candidate))
        .expect("some suffix is free")
}

/// The config text with one more `[[providers]]` table at the end of the providers, every
/// other byte of the file as it was.
fn append_provider(text: &str, provider: &NewProvider, components: &[String]) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML")?;
    let mut table = Table::new();
    table.insert("id", value(&provider.id));
    table.insert("name", value(&provider.name));
    table.insert("url", value(&provider.url));
    if let Some(platform) = &provider.platform {
        table.insert("platform", value(platform));
    }
    if !provider.tags.is_empty() {
        table.insert("tags", value(provider.tags.iter().collect::<Array>()));
    }
    if !components.is_empty() {
        table.insert("components", value(components.iter().collect::<Array>()));
    }
    let origin = match &provider.from_catalog {
        Some(id) => format!("from the catalog (`{id}`)"),
        None => "detected from its page".to_owned(),
    };
    table
        .decor_mut()
        .set_prefix(format!("\n# Added by `statusrelay add`, {origin}.\n"));
    match doc.get_mut("providers") {
        None => {
            let mut providers = toml_edit::ArrayOfTables::new();
            providers.push(table);
            doc.insert("providers", Item::ArrayOfTables(providers));
        }
        Some(Item::ArrayOfTables(providers)) => providers.push(table),
        Some(_) => bail!("`providers` is not a list of [[providers]] tables"),
    }
    Ok(doc.to_string())
}

/// Written beside and renamed over: a failure midway never leaves half a config.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("toml.statusrelay-tmp");
    std::fs::write(&temporary, text)
        .with_context(|| format!("{}: cannot write", temporary.display()))?;
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path).with_context(|| format!("{}: cannot replace", path.display()))
}

/// `statusrelay init`: a commented starter config with a console route. Never overwrites.
pub fn init(path: &Path, catalog_ids: &[String]) -> Result<()> {
    if path.exists() {
        bail!(
            "{}: already exists (statusrelay init never overwrites a config)",
            path.display()
        );
    }
    for id in catalog_ids {
        if catalog::find(id).is_none() {
            let near: Vec<&str> = catalog::search(id)
                .iter()
                .take(SUGGESTIONS)
                .map(|e| e.id.as_str())
                .collect();
            if near.is_empty() {
                bail!("--catalog: `{id}` is not in the catalog (`statusrelay catalog search`)");
            }
            bail!(
                "--catalog: `{id}` is not a catalog id; did you mean {}?",
                near.join(", ")
            );
        }
    }
    let text = starter_config(catalog_ids);
    Config::parse(path, &text).map_err(|e| anyhow!("the starter config would not load: {e}"))?;
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "wrote {} ({} providers); run it with: statusrelay run --config {} --listen 127.0.0.1:8080",
        path.display(),
        catalog_ids.len(),
        path.display()
    );
    Ok(())
}

fn starter_config(catalog_ids: &[String]) -> String {
    let chosen = if catalog_ids.is_empty() {
        "# catalog = [\"github\", \"stripe\"]".to_owned()
    } else {
        format!(
            "catalog = [{}]",
            catalog_ids
                .iter()
                .map(|id| format!("\"{id}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        r#"# statusrelay configuration, written by `statusrelay init`.
# Check it with `statusrelay validate --config <this file>`; every key is in README.md.

# Providers from the built-in catalog (`statusrelay catalog search <name>`), by id:
{chosen}

[settings]
# What statusrelay has seen and delivered (relative to this file).
state = "statusrelay.db"
# How often each status page is polled.
interval = "60s"
# Serve the dashboard while watching (or pass --listen to `run`); loopback only without a token.
# listen = "127.0.0.1:8080"

# Or any status page: `statusrelay add <name or URL> --config <this file>` appends one here.
# [[providers]]
# id = "acme"
# url = "https://status.acme.example"

# Where changes go: this route prints one line per change on the terminal. Add Slack, Teams,
# PagerDuty or a webhook as destinations and name them in a route (README "Destinations").
[[routes]]
name = "terminal"
channel = "console"
maintenance = true
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> NewProvider {
        NewProvider {
            id: "acme".into(),
            name: "Acme".into(),
            url: "https://status.acme.example".into(),
            platform: Some("statuspage".into()),
            tags: vec!["payments".into()],
            from_catalog: None,
        }
    }

    #[test]
    fn appending_keeps_every_other_byte() {
        let text = "# my vendors\n[settings]\ninterval = \"30s\"   # fast\n\n[[providers]]\n# the big one\nid = \"github\"\nurl = \"https://www.githubstatus.com\"\n\n[[routes]]\nname = \"t\"\nchannel = \"console\"\n";
        let edited = append_provider(text, &provider(), &["API".into()]).unwrap();
        assert!(edited.starts_with("# my vendors\n[settings]\ninterval = \"30s\"   # fast\n"));
        assert!(edited.contains("# the big one\nid = \"github\""));
        assert!(edited.contains("[[routes]]\nname = \"t\"\nchannel = \"console\"\n"));
        let added = &edited[edited.find("# Added by").unwrap()..];
        assert!(added.contains("id = \"acme\"") && added.contains("components = [\"API\"]"));
        // The new table sits with the other providers, before the routes.
        assert!(edited.find("id = \"acme\"").unwrap() < edited.find("[[routes]]").unwrap());
    }

    #[test]
    fn slugs_and_unique_ids() {
        assert_eq!(slug("Amazon Web Services"), "amazon-web-services");
        assert_eq!(slug("status.acme.example"), "status-acme-example");
        assert_eq!(slug("!!!"), "provider");
    }

    #[test]
    fn the_starter_config_loads_with_and_without_catalog_ids() {
        for ids in [vec![], vec!["github".to_owned(), "slack".to_owned()]] {
            let text = starter_config(&ids);
            let config = Config::parse(Path::new("statusrelay.toml"), &text).unwrap();
            assert_eq!(config.providers.len(), ids.len());
            assert_eq!(config.routes.len(), 1);
        }
    }
}
