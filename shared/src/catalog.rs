//! The built-in provider catalog (`catalog/providers.toml`, compiled in): well-known status
//! pages a config can name by id (`catalog = ["github", "slack"]`).

use std::sync::OnceLock;

use serde::Deserialize;

/// The tag vocabulary: every catalog tag is one of these.
pub const TAGS: [&str; 27] = [
    "ai",
    "analytics",
    "api",
    "cdn",
    "cloud",
    "cms",
    "communication",
    "crm",
    "database",
    "design",
    "developer-tools",
    "devops",
    "ecommerce",
    "email",
    "gaming",
    "hosting",
    "identity",
    "infrastructure",
    "marketing",
    "media",
    "monitoring",
    "payments",
    "productivity",
    "security",
    "social",
    "storage",
    "support",
];

const SOURCE: &str = include_str!("../../catalog/providers.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub url: String,
    pub platform: String,
    pub tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    provider: Vec<Entry>,
}

/// Parses a catalog text (the built-in one, or a candidate in tests).
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    toml::from_str::<File>(text)
        .map(|f| f.provider)
        .map_err(|e| e.to_string())
}

/// The built-in entries. The file is checked by the test suite, so it always parses.
pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| parse(SOURCE).unwrap_or_default())
}

pub fn find(id: &str) -> Option<&'static Entry> {
    entries().iter().find(|e| e.id == id)
}

/// Entries whose id, name or a tag contains `term` (case-insensitive).
pub fn search(term: &str) -> Vec<&'static Entry> {
    let term = term.trim().to_lowercase();
    entries()
        .iter()
        .filter(|e| {
            e.id.contains(&term)
                || e.name.to_lowercase().contains(&term)
                || e.tags.iter().any(|t| t.contains(&term))
        })
        .collect()
}

/// Ids close to a mistyped one (edit distance ≤ 2, or containing it).
pub fn suggest(id: &str) -> Vec<&'static str> {
    let id = id.trim().to_lowercase();
    entries()
        .iter()
        .filter(|e| strsim::levenshtein(&e.id, &id) <= 2 || (id.len() >= 3 && e.id.contains(&id)))
        .map(|e| e.id.as_str())
        .take(5)
        .collect()
}

/// Everything wrong with a catalog: duplicate or malformed ids, URLs that are not https,
/// unknown platforms, tags outside [`TAGS`].
pub fn problems(entries: &[Entry]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        let id = &entry.id;
        if !seen.insert(id.clone()) {
            out.push(format!("{id}: duplicate id"));
        }
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            out.push(format!("{id}: id must match [a-z0-9-]+"));
        }
        if entry.name.trim().is_empty() {
            out.push(format!("{id}: empty name"));
        }
        match url::Url::parse(&entry.url) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {}
            _ => out.push(format!("{id}: url {:?} is not an https URL", entry.url)),
        }
        if crate::config::Platform::parse(&entry.platform).is_none() {
            out.push(format!("{id}: unknown platform {:?}", entry.platform));
        }
        if entry.tags.is_empty() {
            out.push(format!("{id}: no tags"));
        }
        for tag in &entry.tags {
            if !TAGS.contains(&tag.as_str()) {
                out.push(format!("{id}: tag {tag:?} is not in the vocabulary"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_is_valid() {
        let entries = parse(SOURCE).expect("catalog/providers.toml parses");
        assert!(entries.len() >= 90, "{} entries", entries.len());
        assert_eq!(problems(&entries), Vec::<String>::new());
        let mut sorted = entries.clone();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(entries, sorted, "keep the file sorted by id");
    }

    #[test]
    fn problems_are_found() {
        let bad = parse(
            "[[provider]]\nid = \"x\"\nname = \"X\"\nurl = \"http://x.test\"\nplatform = \"nope\"\ntags = [\"weird\"]\n\n[[provider]]\nid = \"x\"\nname = \"\"\nurl = \"https://x.test\"\nplatform = \"statuspage\"\ntags = []\n",
        )
        .unwrap();
        let found = problems(&bad);
        for expected in [
            "x: url \"http://x.test\" is not an https URL",
            "x: unknown platform \"nope\"",
            "x: tag \"weird\" is not in the vocabulary",
            "x: duplicate id",
            "x: empty name",
            "x: no tags",
        ] {
            assert!(found.iter().any(|p| p == expected), "{expected}: {found:?}");
        }
    }

    #[test]
    fn search_by_id_name_or_tag() {
        assert!(search("GitHub").iter().any(|e| e.id == "github"));
        assert!(search("payments").iter().any(|e| e.id == "braintree"));
        assert!(search("no-such-thing-here").is_empty());
    }
}
