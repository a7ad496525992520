//! The network floor of a watcher cycle, for the fleet benchmark: the same providers, HTTP
//! client (`Fetcher`), limits, concurrency and conditional requests as `statusrelay run
//! --once` on Statuspage pages, but the bytes are only fetched: no parse, diff or store.
//!
//! `raw_fetch CONFIG VALIDATORS` fetches every provider's three documents, sending the ETags
//! recorded in the VALIDATORS file (JSON, URL → ETag) when it exists, and writes the new ones
//! back. It prints one JSON line: documents fetched, answered 304, failed, bytes.

use std::collections::HashMap;
use std::path::Path;

use futures::StreamExt;
use statusrelay_core::config::Config;
use statusrelay_core::net::HttpLimits;
use statusrelay_core::sources::statuspage::{INCIDENTS, MAINTENANCES, SUMMARY};
use statusrelay_core::sources::{
    DEFAULT_MAX_BODY_BYTES, Fetched, Fetcher, Validator, document_url,
};
use url::Url;

const DOCUMENTS: [&str; 3] = [SUMMARY, INCIDENTS, MAINTENANCES];

#[derive(Default)]
struct Tally {
    fetched: usize,
    not_modified: usize,
    failed: usize,
    bytes: usize,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, config_path, validators_path] = args.as_slice() else {
        eprintln!("usage: raw_fetch CONFIG VALIDATORS");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(config_path).expect("config readable");
    let config = Config::parse(Path::new(config_path), &text).expect("config valid");
    let known: HashMap<String, String> = std::fs::read(validators_path)
        .ok()
        .map(|bytes| serde_json::from_slice(&bytes).expect("validators file is JSON"))
        .unwrap_or_default();
    let fetcher = Fetcher::new(
        config.settings.allow_private_targets,
        HttpLimits::default(),
        DEFAULT_MAX_BODY_BYTES,
    );
    let urls: Vec<Url> = config
        .providers
        .iter()
        .flat_map(|p| DOCUMENTS.map(|doc| document_url(&p.url, doc)))
        .collect();
    // Three documents of a provider at once, providers `concurrency` at a time: the watcher's
    // shape for Statuspage pages. Bodies are counted and dropped as they arrive.
    let mut tally = Tally::default();
    let mut seen = known.clone();
    let mut results = futures::stream::iter(urls.chunks(DOCUMENTS.len()))
        .map(|docs| {
            let (fetcher, known) = (&fetcher, &known);
            async move {
                let fetches = docs.iter().map(|url| async move {
                    let validator = known.get(url.as_str()).map(|etag| Validator {
                        etag: Some(etag.clone()),
                        last_modified: None,
                    });
                    let result = fetcher.get(url, url.path(), validator.as_ref()).await;
                    (url, result)
                });
                futures::future::join_all(fetches).await
            }
        })
        .buffer_unordered(config.settings.concurrency);
    while let Some(provider) = results.next().await {
        for (url, result) in provider {
            match result {
                Ok(Fetched::Body { bytes, validator }) => {
                    tally.fetched += 1;
                    tally.bytes += bytes.len();
                    if let Some(etag) = validator.etag {
                        seen.insert(url.to_string(), etag);
                    }
                }
                Ok(Fetched::NotModified) => tally.not_modified += 1,
                Ok(Fetched::NotFound) | Err(_) => tally.failed += 1,
            }
        }
    }
    drop(results);
    std::fs::write(
        validators_path,
        serde_json::to_vec(&seen).expect("validators serialize"),
    )
    .expect("validators file writable");
    println!(
        "{{\"fetched\":{},\"not_modified\":{},\"failed\":{},\"bytes\":{}}}",
        tally.fetched, tally.not_modified, tally.failed, tally.bytes
    );
}
