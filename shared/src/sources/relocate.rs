//! Providers that heal themselves. Vendors move: their page changes platform at the same URL,
//! or moves to another address of the same site behind a permanent redirect. When a provider's
//! polls keep failing in a way that says "not here, not like this" (404, an HTML page where a
//! document was, a document that reads as no status page, a redirect to another host), the
//! watcher asks [`relocate`] where the page is now: it follows one permanent redirect of the
//! page's own URL when it stays on the same site (same registrable domain, the SSRF guard
//! still on), and detects the platform there afresh.

use url::Url;

use super::Platform;
use super::{Fetcher, PollError, PollOutcome, detect_and_poll};
use crate::net::{HttpLimits, client_builder};

/// Where a failing provider's page reads now.
pub struct Relocation {
    pub url: Url,
    pub platform: Platform,
    /// The first poll there (unconditional: a full snapshot).
    pub outcome: PollOutcome,
}

/// Whether a failure says the page is not where or what it was (worth a relocation attempt),
/// rather than that it is down for a while (a timeout, a 5xx, a refused connection).
pub fn suggests_a_move(err: &PollError) -> bool {
    match err {
        PollError::Status { status, .. } => matches!(status, 404 | 410),
        PollError::Redirect { .. }
        | PollError::NotStatusPage { .. }
        | PollError::Malformed { .. } => true,
        PollError::Timeout { .. }
        | PollError::Network { .. }
        | PollError::TooLarge { .. }
        | PollError::Throttled { .. } => false,
    }
}

/// Reads the page at its permanent redirect's target (same site only) or at the same URL as
/// whatever platform it is now. `None` when it reads nowhere, or exactly as configured (then
/// the failure was not a move).
pub async fn relocate(
    fetcher: &Fetcher,
    allow_private: bool,
    url: &Url,
    platform: Platform,
) -> Option<Relocation> {
    let target = permanent_redirect(allow_private, url).await;
    let at = target.clone().unwrap_or_else(|| url.clone());
    let (found, outcome) = detect_and_poll(fetcher, &at, None).await.ok()?;
    let same_place = target.is_none();
    let same_platform = platform == Platform::Detect || found == platform;
    if same_place && same_platform {
        return None;
    }
    Some(Relocation {
        url: at,
        platform: found,
        outcome,
    })
}

/// The target of a 301/308 answer to a plain GET of `url`, when it stays on the same site.
async fn permanent_redirect(allow_private: bool, url: &Url) -> Option<Url> {
    let client = client_builder(allow_private, HttpLimits::default())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let answer = client.get(url.clone()).send().await.ok()?;
    if !matches!(answer.status().as_u16(), 301 | 308) {
        return None;
    }
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let target = url.join(location).ok()?;
    (same_site(url, &target) && matches!(target.scheme(), "http" | "https") && target != *url)
        .then_some(target)
}

/// Same registrable domain ("status.acme.com" and "acme.com/status"; not "acme.statuspage.io"),
/// by the Public Suffix List; IP addresses only when identical.
pub fn same_site(a: &Url, b: &Url) -> bool {
    let (Some(host_a), Some(host_b)) = (a.host_str(), b.host_str()) else {
        return false;
    };
    if host_a.eq_ignore_ascii_case(host_b) {
        return true;
    }
    match (psl::domain_str(host_a), psl::domain_str(host_b)) {
        (Some(site_a), Some(site_b)) => site_a.eq_ignore_ascii_case(site_b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn same_site_is_the_registrable_domain() {
        assert!(same_site(
            &url("https://status.acme.com"),
            &url("https://acme.com/status")
        ));
        assert!(same_site(
            &url("https://status.acme.co.uk"),
            &url("https://www.acme.co.uk")
        ));
        assert!(!same_site(
            &url("https://status.acme.com"),
            &url("https://acme.statuspage.io")
        ));
        // Two tenants of one hosting suffix are different sites.
        assert!(!same_site(
            &url("https://acme.github.io"),
            &url("https://evil.github.io")
        ));
        assert!(same_site(
            &url("http://127.0.0.1:8080/a"),
            &url("http://127.0.0.1:9090/b")
        ));
    }

    #[test]
    fn only_failures_that_say_moved_are_worth_a_relocation() {
        let status = |status| PollError::Status {
            document: "d".into(),
            status,
        };
        assert!(suggests_a_move(&status(404)));
        assert!(!suggests_a_move(&status(503)));
        assert!(!suggests_a_move(&PollError::Timeout {
            document: "d".into()
        }));
        assert!(suggests_a_move(&PollError::NotStatusPage {
            document: "d".into(),
            reason: "html".into()
        }));
    }
}
