//! Revalidation, so that a calendar app or feed reader polling every few minutes costs almost
//! nothing: every successful read-side response carries a weak `ETag` and a `Cache-Control`,
//! and a request whose `If-None-Match` still holds gets a bodiless 304.
//!
//! Where the store keeps a version ([`super::reads::Reads::version`], the AWS table) the tag
//! is made from it, the configuration and the request, so a revalidation is answered after
//! one small read and before any other. Otherwise (the state file, read locally) the tag is
//! the hash of the response: the reads still happen, the transfer does not.
//!
//! What a page shows also moves with the clock (ages, "last good poll", a `since=24h` window,
//! a maintenance that ended): a version tag therefore also names the time bucket it was made
//! in: a minute for pages and the provider API, ten minutes for the event feeds and the
//! calendar. The bucket also bounds how long a tag can outlive a change the table's index had
//! not shown yet when the version moved (the index follows the table within about a second).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::ReadSide;
use crate::config::ProviderConfig;

/// How one kind of response may be kept.
struct Policy {
    cache_control: &'static str,
    /// Seconds a version tag stays valid while the store does not change.
    bucket_seconds: i64,
}

/// Pages reload themselves every 30 s and show ages: always revalidate.
const PAGE: Policy = Policy {
    cache_control: "private, no-cache",
    bucket_seconds: 60,
};
const PROVIDER_API: Policy = Policy {
    cache_control: "private, max-age=30",
    bucket_seconds: 60,
};
/// Feeds, the event API and the calendar: readers poll every few minutes at most.
const FEED: Policy = Policy {
    cache_control: "private, max-age=300",
    bucket_seconds: 600,
};

fn policy_for(path: &str) -> &'static Policy {
    if path == "/feed.atom" || path == "/maintenance.ics" || path == super::events::PATH {
        &FEED
    } else if path.starts_with("/api/") {
        &PROVIDER_API
    } else {
        &PAGE
    }
}

pub async fn revalidate(
    State(side): State<Arc<ReadSide>>,
    request: Request,
    next: Next,
) -> Response {
    let policy = policy_for(request.uri().path());
    let offered = request.headers().get(header::IF_NONE_MATCH).cloned();
    // A store that cannot say its version answers by content below.
    let version = side.reads.version().await.ok().flatten();
    let version_tag = version.map(|version| {
        let bucket = Utc::now().timestamp().div_euclid(policy.bucket_seconds);
        tag_of(&[
            version.as_bytes(),
            &side.configuration,
            identity(request.uri()).as_bytes(),
            &bucket.to_be_bytes(),
        ])
    });
    if let (Some(tag), Some(offered)) = (&version_tag, &offered)
        && matches(offered, tag)
    {
        return not_modified(tag, policy);
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let (tag, body) = match version_tag {
        Some(tag) => (tag, body),
        None => match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (tag_of(&[&bytes]), Body::from(bytes)),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    if offered
        .as_ref()
        .is_some_and(|offered| matches(offered, &tag))
    {
        return not_modified(&tag, policy);
    }
    set_caching(&mut parts.headers, &tag, policy);
    Response::from_parts(parts, body)
}

/// The path and query without the token (the same resource for every holder of it).
fn identity(uri: &Uri) -> String {
    let query = uri.query().unwrap_or_default();
    let kept: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "token"))
        .finish();
    format!("{}?{kept}", uri.path())
}

/// What of the configuration the pages show: a new deployment's names and tags are news even
/// when the table has not changed.
pub(super) fn configuration_hash(providers: &[ProviderConfig]) -> Vec<u8> {
    let mut hash = Sha256::new();
    for provider in providers {
        for part in [
            provider.id.as_str(),
            provider.name.as_deref().unwrap_or_default(),
            provider.url.as_str(),
        ]
        .into_iter()
        .chain(provider.tags.iter().map(String::as_str))
        {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.update([1]);
    }
    hash.finalize().to_vec()
}

/// A weak tag: the body may be served gzipped or not, the meaning is the same.
fn tag_of(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    format!("W/\"{}\"", hex::encode(&hash.finalize()[..12]))
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 §13.1.2).
fn matches(offered: &HeaderValue, tag: &str) -> bool {
    let Ok(offered) = offered.to_str() else {
        return false;
    };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(tag);
    offered
        .split(',')
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == wanted)
}

fn not_modified(tag: &str, policy: &Policy) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_caching(response.headers_mut(), tag, policy);
    response
}

fn set_caching(headers: &mut HeaderMap, tag: &str, policy: &Policy) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(policy.cache_control),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison_accepts_lists_wildcards_and_strong_forms() {
        let tag = tag_of(&[b"v1"]);
        let strong = tag.trim_start_matches("W/").to_owned();
        for offered in [
            tag.clone(),
            strong,
            format!("W/\"other\", {tag}"),
            "*".to_owned(),
        ] {
            assert!(matches(&HeaderValue::from_str(&offered).unwrap(), &tag));
        }
        assert!(!matches(&HeaderValue::from_static("W/\"other\""), &tag));
        assert_ne!(tag, tag_of(&[b"v2"]));
        // Parts are length-prefixed: moving a byte between them changes the tag.
        assert_ne!(tag_of(&[b"ab", b"c"]), tag_of(&[b"a", b"bc"]));
    }

    #[test]
    fn the_token_is_not_part_of_what_is_asked() {
        let with: Uri = "/maintenance.ics?token=secret&tag=cloud".parse().unwrap();
        let without: Uri = "/maintenance.ics?tag=cloud".parse().unwrap();
        assert_eq!(identity(&with), identity(&without));
        assert!(!identity(&with).contains("secret"));
    }
}
