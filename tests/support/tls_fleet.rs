//! The fleet over HTTPS, watched by one long-running `statusrelay run`: every provider on a host
//! of its own (`p<i>.fleet.test`), so each has its own SNI, TLS session and connections, as a
//! fleet of vendor pages has.
//!
//! How the unchanged product reaches those hosts and trusts them, with no test hook in it:
//! - **`HTTPS_PROXY`**: reqwest reads the proxy variables whatever its features (hyper-util's
//!   `Matcher::from_system` starts from the environment), so the watcher opens each connection
//!   with `CONNECT p17.fleet.test:443` to a loopback proxy. The proxy here is the TLS server
//!   itself: it answers `200`, then terminates TLS for the named host on the same socket and
//!   serves the `StatusServer`'s pages over HTTP/1.1 or HTTP/2 (one hop, no relay).
//! - **`SSL_CERT_FILE`**: rustls-platform-verifier on Linux takes its roots from
//!   rustls-native-certs, which loads only the file that variable names when it is set; the
//!   file holds the test CA made at start (`TestCa`), which nothing but this process and the
//!   watcher it starts ever trusts.
//!
//! The server's knobs make the modes (`ServerMode`); the watcher's CPU per cycle comes from
//! `/proc/<pid>/stat` (utime + stime) at each cycle's end, its peak RSS from `/proc/<pid>/status`,
//! and the server counts connections, full handshakes and resumed ones.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::HandshakeKind;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::fleet::{FleetOptions, FleetPages};
use super::process::{cpu_of, rss_of};
use super::{StatusServer, WebhookReceiver, Workspace};

/// The domain every provider's host is under.
pub const FLEET_DOMAIN: &str = "fleet.test";

/// A certificate authority made for one run, and a wildcard certificate for `*.fleet.test`
/// it signed (ECDSA P-256, as most CDNs serve).
pub struct TestCa {
    /// The CA certificate, PEM, for `SSL_CERT_FILE`.
    pub ca_pem: String,
    pub leaf: CertificateDer<'static>,
    pub leaf_key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "statusrelay fleet bench CA (test only)");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec![format!("*.{FLEET_DOMAIN}")]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, format!("*.{FLEET_DOMAIN}"));
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            leaf: leaf_cert.der().clone(),
            leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        }
    }

    pub fn write_ca(&self, path: &Path) {
        std::fs::File::create(path)
            .and_then(|mut f| f.write_all(self.ca_pem.as_bytes()))
            .unwrap();
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// What the HTTPS server does with connections and sessions (server-side knobs only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMode {
    /// Closes each connection after its response (HTTP/1.1, `Connection: close`) and offers
    /// no resumption: no tickets, no session cache. Every request is a full handshake.
    FullHandshakes,
    /// Closes each connection after its response, but issues TLS 1.3 session tickets
    /// (stateless, two per handshake, as rustls and OpenSSL servers do).
    Resumption,
    /// Keeps connections open (HTTP/2 offered, HTTP/1.1 keep-alive) and issues tickets.
    KeepAlive,
}

impl ServerMode {
    pub fn label(self) -> &'static str {
        match self {
            ServerMode::FullHandshakes => "https, full handshakes",
            ServerMode::Resumption => "https, resumption",
            ServerMode::KeepAlive => "https, keep-alive",
        }
    }

    fn closes(self) -> bool {
        self != ServerMode::KeepAlive
    }
}

/// What the TLS server saw so far.
#[derive(Debug, Default)]
pub struct TlsCounts {
    pub connections: AtomicUsize,
    pub full: AtomicUsize,
    pub resumed: AtomicUsize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsSnapshot {
    pub connections: usize,
    pub full: usize,
    pub resumed: usize,
}

impl TlsCounts {
    pub fn snapshot(&self) -> TlsSnapshot {
        TlsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            full: self.full.load(Ordering::Relaxed),
            resumed: self.resumed.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::Sub for TlsSnapshot {
    type Output = TlsSnapshot;
    fn sub(self, earlier: TlsSnapshot) -> TlsSnapshot {
        TlsSnapshot {
            connections: self.connections - earlier.connections,
            full: self.full - earlier.full,
            resumed: self.resumed - earlier.resumed,
        }
    }
}

/// A loopback HTTP CONNECT proxy that is also the TLS server of every `*.fleet.test` host: it
/// answers the CONNECT, then terminates TLS on the same socket and serves `server`'s pages.
pub struct TlsFront {
    pub addr: std::net::SocketAddr,
    pub counts: Arc<TlsCounts>,
}

impl TlsFront {
    pub async fn start(server: &StatusServer, ca: &TestCa, mode: ServerMode) -> TlsFront {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![ca.leaf.clone()],
                PrivateKeyDer::Pkcs8(ca.leaf_key.clone_key()),
            )
            .unwrap();
        match mode {
            ServerMode::FullHandshakes => {
                config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
                config.send_tls13_tickets = 0;
            }
            ServerMode::Resumption | ServerMode::KeepAlive => {
                config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().unwrap();
            }
        }
        config.alpn_protocols = if mode.closes() {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(TlsCounts::default());
        let (router, task_counts) = (server.router(), counts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, router, counts) =
                    (acceptor.clone(), router.clone(), task_counts.clone());
                tokio::spawn(async move {
                    let _ = serve_tunnel(stream, acceptor, router, counts, mode).await;
                });
            }
        });
        TlsFront { addr, counts }
    }

    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn serve_tunnel(
    mut stream: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    counts: Arc<TlsCounts>,
    mode: ServerMode,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    // The client sends its CONNECT and waits for the answer before its ClientHello, so
    // reading up to the blank line takes nothing of the TLS stream.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"CONNECT ") {
        stream
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    stream
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    counts.connections.fetch_add(1, Ordering::Relaxed);
    let tls = acceptor.accept(stream).await?;
    match tls.get_ref().1.handshake_kind() {
        Some(HandshakeKind::Resumed) => counts.resumed.fetch_add(1, Ordering::Relaxed),
        _ => counts.full.fetch_add(1, Ordering::Relaxed),
    };
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    if mode.closes() {
        builder = builder.http1_only();
        builder.http1().keep_alive(false);
    }
    builder
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
        .await
        .map_err(std::io::Error::other)
}

/// How the watcher reaches the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `http://127.0.0.1:<port>/p<i>`: one origin for the whole fleet (the plain fleet bench's
    /// setup), so its keep-alive connections are shared by all providers.
    Plain,
    Https(ServerMode),
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Plain => "plain http (one origin)",
            Transport::Https(mode) => mode.label(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub fleet: FleetOptions,
    pub transport: Transport,
    /// `settings.interval` (and `hot_interval`): longer than a cycle.
    pub interval: Duration,
    /// Cycles measured after the cold one.
    pub steady_cycles: usize,
    /// The `statusrelay` binary to watch with.
    pub binary: PathBuf,
}

/// One cycle: the watcher's rounds that together polled every provider once.
#[derive(Debug, Clone, Copy)]
pub struct WatchCycle {
    /// The rounds' own time (their `elapsed_ms`), added up: for the cold cycle, one round over
    /// the whole fleet; for steady ones, the rounds the schedule spreads over the interval.
    pub rounds: Duration,
    /// The watcher's CPU (user + system) since the previous cycle's end (the cold cycle: since
    /// the process started, start-up included).
    pub cpu: Duration,
    /// VmHWM and VmRSS at the cycle's end, KiB.
    pub peak_rss_kib: u64,
    pub rss_kib: u64,
    pub polled: usize,
    pub failed: usize,
    /// Requests served (of which 304) during the cycle.
    pub requests: usize,
    pub not_modified: usize,
    /// Connections, full handshakes and resumed ones during the cycle (zero over plain HTTP).
    pub tls: TlsSnapshot,
}

#[derive(Debug, Clone)]
pub struct WatchReport {
    pub transport: Transport,
    pub providers: usize,
    pub page_bytes: (usize, usize),
    pub cycles: Vec<WatchCycle>,
}

/// Starts the fleet, its front and one `statusrelay run` over it; measures the cold cycle and
/// `steady_cycles` more, then stops the watcher.
pub async fn watch_fleet(options: WatchOptions) -> WatchReport {
    let fleet = options.fleet;
    let server = StatusServer::with_latency(fleet.latency).await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let pages = FleetPages::new(&fleet, &server);
    pages.publish(&fleet, &server);

    let ca = TestCa::new();
    let ca_path = work.path("fleet-ca.pem");
    ca.write_ca(&ca_path);
    let front = match options.transport {
        Transport::Https(mode) => Some(TlsFront::start(&server, &ca, mode).await),
        Transport::Plain => None,
    };

    let interval = format!("{}s", options.interval.as_secs().max(1));
    let mut config = format!(
        "[settings]\nstate = \"fleet.db\"\nallow_private_targets = true\nconcurrency = {}\ninterval = \"{interval}\"\nhot_interval = \"{interval}\"\n\n[[routes]]\nname = \"hook\"\nchannel = \"webhook\"\nurl = \"{}\"\n",
        fleet.concurrency,
        receiver.url()
    );
    for i in 0..fleet.providers {
        let url = match options.transport {
            // The slug stays in the path: the page server serves `/<slug>/...` whatever the host.
            Transport::Https(_) => format!("https://p{i}.{FLEET_DOMAIN}/p{i}"),
            Transport::Plain => server.url(&format!("p{i}")),
        };
        config.push_str(&format!(
            "\n[[providers]]\nid = \"p{i}\"\nurl = \"{url}\"\nplatform = \"statuspage\"\n"
        ));
    }
    let config_path = work.write_config(&config);

    let mut command = tokio::process::Command::new(&options.binary);
    command
        .args(["--log-format", "json", "run", "--config"])
        .arg(&config_path)
        .env("STATUSRELAY_LOG", "warn,statusrelay_core::watcher=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        command.env_remove(name);
    }
    if let Some(front) = &front {
        command
            .env("HTTPS_PROXY", front.proxy_url())
            .env("SSL_CERT_FILE", &ca_path);
    }
    let mut child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    let stderr = child.stderr.take().unwrap();

    // The log is read to its end (a full pipe would stall the watcher); each cycle's end is
    // measured the moment its last "round finished" line is read.
    let (sender, mut cycles) = mpsc::unbounded_channel();
    let counts = front.as_ref().map(|f| f.counts.clone());
    let (log_server, providers) = (server.clone(), fleet.providers);
    let warnings = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log_warnings = warnings.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let tls_now = || counts.as_ref().map(|c| c.snapshot()).unwrap_or_default();
        let (mut last_cpu, mut last_tls, mut last_counts) =
            (Duration::ZERO, tls_now(), log_server.counts());
        let (mut polled, mut failed, mut rounds) = (0, 0, Duration::ZERO);
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if entry["message"] != "round finished" {
                if entry["level"] == "WARN" || entry["level"] == "ERROR" {
                    log_warnings.lock().unwrap().push(line);
                }
                continue;
            }
            let field = |name: &str| entry[name].as_u64().unwrap_or_default();
            polled += field("providers") as usize;
            failed += field("failed") as usize;
            rounds += Duration::from_millis(field("elapsed_ms"));
            if polled < providers {
                continue;
            }
            let (cpu, tls, served) = (cpu_of(pid), tls_now(), log_server.counts());
            let (peak_rss_kib, rss_kib) = rss_of(pid);
            let cycle = WatchCycle {
                rounds,
                cpu: cpu - last_cpu,
                peak_rss_kib,
                rss_kib,
                polled,
                failed,
                requests: served.0 - last_counts.0,
                not_modified: served.1 - last_counts.1,
                tls: tls - last_tls,
            };
            (last_cpu, last_tls, last_counts) = (cpu, tls, served);
            (polled, failed, rounds) = (0, 0, Duration::ZERO);
            if sender.send(cycle).is_err() {
                break;
            }
        }
    });

    let mut measured = Vec::new();
    let deadline = options.interval * 3 + Duration::from_secs(600);
    let started = Instant::now();
    while measured.len() < 1 + options.steady_cycles {
        let left = deadline.saturating_sub(started.elapsed());
        let cycle = tokio::time::timeout(left, cycles.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} cycles of {} within {deadline:?}; warnings: {:?}",
                    measured.len(),
                    1 + options.steady_cycles,
                    warnings.lock().unwrap()
                )
            })
            .unwrap_or_else(|| panic!("the watcher stopped: {:?}", warnings.lock().unwrap()));
        if measured.is_empty() {
            // The pages with an incident under way post their update for the first steady
            // cycle (the schedule polls nobody again before a quarter of the interval).
            pages.post_updates(&fleet, &server);
        }
        measured.push(cycle);
    }
    let _ = child.kill().await;
    WatchReport {
        transport: options.transport,
        providers: fleet.providers,
        page_bytes: pages.page_bytes,
        cycles: measured,
    }
}
