//! Outbound HTTP: one client shape for sources and routes, guarded against private targets.
//!
//! Status page URLs and webhook URLs come from configuration (and, later, catalogs), so a
//! request must never reach the instance metadata service or the user's LAN by accident. The
//! guard runs twice: on the URL (IP literals) and in the DNS resolver (names that resolve to
//! private addresses, including rebinding), unless `allow_private_targets` is set.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// How a config allows private targets; `check` says its own flag instead.
pub const PRIVATE_HINT: &str = "set settings.allow_private_targets = true to allow it";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{target} is a private, loopback or link-local address; {PRIVATE_HINT}")]
pub struct PrivateTargetError {
    pub target: String,
}

/// True for addresses a public status page or webhook never has.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // 100.64.0.0/10, carrier-grade NAT
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
            }
        },
    }
}

/// Refuses URLs whose host is a private IP literal (names are checked when resolved).
pub fn check_url_host(url: &Url) -> Result<(), PrivateTargetError> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(name)) => {
            if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") {
                return Err(PrivateTargetError {
                    target: name.to_owned(),
                });
            }
            return Ok(());
        }
        None => return Ok(()),
    };
    if is_private(ip) {
        return Err(PrivateTargetError {
            target: ip.to_string(),
        });
    }
    Ok(())
}

/// How a host name becomes addresses: the system resolver in the product, a scripted one in
/// tests (DNS rebinding cannot be staged with the system's).
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>;
}

/// The system resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    }
}

/// Resolves, then drops private addresses; a name with only private ones is refused. Every
/// new connection resolves again, so a name that answers public, then private (DNS
/// rebinding), is refused the second time instead of reaching the private address.
pub struct PublicOnlyResolver<L> {
    lookup: Arc<L>,
}

impl<L: Lookup> PublicOnlyResolver<L> {
    pub fn new(lookup: L) -> PublicOnlyResolver<L> {
        PublicOnlyResolver {
            lookup: Arc::new(lookup),
        }
    }
}

impl<L: Lookup> Resolve for PublicOnlyResolver<L> {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = lookup.lookup(host.clone()).await?;
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| !is_private(a.ip()))
                .collect();
            if public.is_empty() && !addrs.is_empty() {
                return Err(Box::new(PrivateTargetError { target: host })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// How long an idle connection stays in the pool.
    pub keep_idle: Duration,
    /// How many servers' TLS sessions the client remembers, so that a new connection to any
    /// of them resumes instead of paying a full handshake (`with_tls_sessions_for`).
    pub tls_session_hosts: usize,
    /// Idle connections kept per host (`None`: no limit).
    pub idle_per_host: Option<usize>,
}

/// Servers whose TLS sessions a client remembers unless told how many hosts it talks to.
pub const DEFAULT_TLS_SESSION_HOSTS: usize = 256;

/// TLS 1.3 tickets rustls keeps per server; its session cache is sized in tickets, so a cache
/// for `n` servers holds `n * TLS13_TICKETS_PER_SERVER`.
const TLS13_TICKETS_PER_SERVER: usize = 8;

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
            keep_idle: Duration::from_secs(90),
            tls_session_hosts: DEFAULT_TLS_SESSION_HOSTS,
            idle_per_host: None,
        }
    }
}

impl HttpLimits {
    /// For a client that polls every `interval`: idle connections outlive the interval, so
    /// the next cycle (or the next warm Lambda invocation) reuses them instead of paying a
    /// TCP and TLS handshake per vendor host each cycle. Vendors that close idle
    /// connections sooner are simply reconnected.
    pub fn for_polling(interval: Duration) -> HttpLimits {
        HttpLimits {
            keep_idle: (interval + Duration::from_secs(30)).max(Duration::from_secs(90)),
            ..HttpLimits::default()
        }
    }

    /// Keeps at most `n` idle connections per host (0: none, every request connects).
    pub fn with_idle_per_host(self, n: usize) -> HttpLimits {
        HttpLimits {
            idle_per_host: Some(n),
            ..self
        }
    }

    /// Remembers TLS sessions for `hosts` servers (at least the default's): a watcher of
    /// thousands of vendor pages resumes each host's session when it reconnects (the host
    /// closed the idle connection, or the poller is a fresh Lambda container's warm client)
    /// instead of doing a full handshake, certificate chain verification included.
    pub fn with_tls_sessions_for(self, hosts: usize) -> HttpLimits {
        HttpLimits {
            tls_session_hosts: hosts.max(DEFAULT_TLS_SESSION_HOSTS),
            ..self
        }
    }
}

pub fn user_agent() -> String {
    format!(
        "statusrelay/{} (+https://github.com/statusrelay/statusrelay)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The client's TLS configuration: what reqwest builds by default (aws-lc-rs, TLS 1.2 and 1.3,
/// the platform's certificate verifier and roots, ALPN h2 and http/1.1), except for a session
/// cache that holds `hosts` servers. rustls' default cache takes 256 *tickets*, 8 per server:
/// 32 servers, so a fleet of hundreds of hosts evicts every session before it is reused.
///
/// `None` when the platform verifier cannot be built (no CA certificates on the system):
/// reqwest then builds its own and reports the same error it always did.
pub fn tls_config(hosts: usize) -> Option<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
    // `dangerous()` is only rustls' door to a verifier of one's own; this one is the same
    // platform verifier reqwest installs, so certificates are checked exactly as before.
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::in_memory_sessions(
        hosts.saturating_mul(TLS13_TICKETS_PER_SERVER),
    );
    Some(config)
}

/// A client builder with the guard, timeouts and user agent set; callers add their redirect
/// policy.
pub fn client_builder(allow_private: bool, limits: HttpLimits) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent())
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        .pool_idle_timeout(limits.keep_idle);
    if let Some(n) = limits.idle_per_host {
        builder = builder.pool_max_idle_per_host(n);
    }
    if let Some(tls) = tls_config(limits.tls_session_hosts) {
        builder = builder.tls_backend_preconfigured(tls);
    }
    if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnlyResolver::new(SystemLookup)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} should be private");
        }
        for ip in ["1.1.1.1", "140.82.112.3", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn polling_clients_keep_connections_past_the_interval() {
        let five_minutes = HttpLimits::for_polling(Duration::from_secs(300));
        assert_eq!(five_minutes.keep_idle, Duration::from_secs(330));
        let one_minute = HttpLimits::for_polling(Duration::from_secs(60));
        assert_eq!(one_minute.keep_idle, Duration::from_secs(90));
    }

    #[test]
    fn tls_sessions_are_kept_for_every_polled_host() {
        let limits = HttpLimits::for_polling(Duration::from_secs(60));
        assert_eq!(limits.tls_session_hosts, DEFAULT_TLS_SESSION_HOSTS);
        assert_eq!(limits.with_tls_sessions_for(5000).tls_session_hosts, 5000);
        assert_eq!(
            limits.with_tls_sessions_for(3).tls_session_hosts,
            DEFAULT_TLS_SESSION_HOSTS
        );
        let config = tls_config(5000).expect("the platform verifier loads");
        assert_eq!(config.alpn_protocols, [&b"h2"[..], &b"http/1.1"[..]]);
        assert!(config.enable_sni);
    }

    #[test]
    fn url_hosts_are_checked() {
        assert!(check_url_host(&Url::parse("http://169.254.169.254/").unwrap()).is_err());
        assert!(check_url_host(&Url::parse("http://localhost:8080/").unwrap()).is_err());
        assert!(check_url_host(&Url::parse("http://[::1]:8080/").unwrap()).is_err());
        assert!(check_url_host(&Url::parse("https://www.githubstatus.com").unwrap()).is_ok());
    }

    #[tokio::test]
    async fn resolver_refuses_names_that_resolve_privately() {
        let client = client_builder(false, HttpLimits::default())
            .build()
            .unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        let chain = crate::sources::error_chain(&err);
        assert!(chain.contains("allow_private_targets"), "{chain}");
    }

    /// A name that answers a public address first and a private one after (DNS rebinding).
    struct Rebinding(std::sync::atomic::AtomicUsize);

    impl Lookup for Rebinding {
        fn lookup(&self, _host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
            let call = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ip = if call == 0 {
                "93.184.216.34"
            } else {
                "127.0.0.1"
            };
            Box::pin(async move { Ok(vec![SocketAddr::new(ip.parse().unwrap(), 0)]) })
        }
    }

    #[tokio::test]
    async fn a_name_rebound_to_a_private_address_is_refused() {
        use std::str::FromStr;
        let resolver = PublicOnlyResolver::new(Rebinding(Default::default()));
        let name = || Name::from_str("rebind.test").unwrap();
        let first: Vec<SocketAddr> = resolver.resolve(name()).await.unwrap().collect();
        assert_eq!(first, ["93.184.216.34:0".parse().unwrap()]);
        let second = resolver.resolve(name()).await.err().expect("refused");
        assert!(second.to_string().contains("rebind.test"), "{second}");

        // Through a real client: the connection to the rebound name is never made.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnlyResolver::new(Rebinding(1.into()))))
            .build()
            .unwrap();
        let err = client
            .get(format!("http://rebind.test:{port}/"))
            .send()
            .await
            .unwrap_err();
        let chain = crate::sources::error_chain(&err);
        assert!(chain.contains("private"), "{chain}");
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "a connection reached the private address"
        );
    }
}
