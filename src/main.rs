//! The `statusrelay` command: the local watcher and its tools.

mod catalog_verify;
mod onboarding;
mod status;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use statusrelay_core::channels::Clients;
use statusrelay_core::config::{ChannelConfig, Config, ssm_references};
use statusrelay_core::delivery::test_route::send_test;
use statusrelay_core::intake::PushInbox;
use statusrelay_core::metrics::Metrics;
use statusrelay_core::model::Snapshot;
use statusrelay_core::net::{HttpLimits, PRIVATE_HINT};
use statusrelay_core::sources::{DEFAULT_MAX_BODY_BYTES, Fetcher, PollOutcome, detect_and_poll};
use statusrelay_core::store::Store;
use statusrelay_core::watcher::Watcher;
use statusrelay_core::web::{self, Heartbeat, WebState};
use tokio::sync::Notify;
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(
    name = "statusrelay",
    version,
    about = "Watch vendor status pages and relay every change exactly once"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Poll the configured providers and deliver changes to routes.
    Run {
        #[arg(long, short)]
        config: PathBuf,
        /// Run one cycle, then exit.
        #[arg(long)]
        once: bool,
        /// Serve the read side (health, JSON API, metrics) on this address while watching, e.g.
        /// 127.0.0.1:8080; overrides settings.listen. Anything but loopback needs
        /// settings.http_token.
        #[arg(long, conflicts_with = "once")]
        listen: Option<SocketAddr>,
    },
    /// Show a status page's components, open incidents and maintenances.
    Check {
        /// The status page's base URL, e.g. https://www.githubstatus.com
        url: String,
        /// Print the normalized snapshot as JSON.
        #[arg(long)]
        json: bool,
        /// Allow loopback and private addresses (for testing local pages).
        #[arg(long)]
        allow_private: bool,
    },
    /// Show every configured provider's overall state, worst first, from the state file
    /// (also while a watcher runs on it).
    Status {
        #[arg(long, short)]
        config: PathBuf,
        /// Print the overview as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a commented starter config (never overwrites one).
    Init {
        #[arg(long, short, default_value = "statusrelay.toml")]
        config: PathBuf,
        /// Catalog ids to watch, comma-separated, e.g. github,stripe.
        #[arg(long, value_delimiter = ',')]
        catalog: Vec<String>,
    },
    /// Add a provider to a config: a catalog id or name, or a status page URL. Shows the
    /// page's components and keeps the file's comments and layout.
    Add {
        /// e.g. stripe, "Amazon Web Services", https://status.example.com
        target: String,
        #[arg(long, short)]
        config: PathBuf,
        /// Only these components (names or ids, comma-separated), e.g. "API,Dashboard".
        #[arg(long)]
        components: Option<String>,
        /// Add without reading the page (no components shown or checked).
        #[arg(long)]
        no_check: bool,
    },
    /// Ask a running watcher's `/healthz` (a container's HEALTHCHECK); exits non-zero unless
    /// it answers 200 within five seconds.
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Check a configuration file and exit.
    Validate {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// List the built-in provider catalog, or search it by id, name, alias or tag.
    Catalog {
        /// Print the licence notices of the third-party data in the catalog and exit.
        #[arg(long)]
        licenses: bool,
        #[command(subcommand)]
        action: Option<CatalogAction>,
    },
    /// Send a clearly marked test incident to every destination of a route and report
    /// each destination's answer.
    TestRoute {
        /// The route's name.
        name: String,
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum CatalogAction {
    /// Entries matching TERM (case-insensitive) on id, name, alias or tag, best first: exact
    /// id, prefix, substring, then near misses.
    Search { term: String },
    /// Probe entries live: reachable, platform detected vs recorded, moved, dead. Its --json
    /// output feeds scripts/catalog/generate.py --verify-json.
    Verify {
        /// Only these ids (repeat, or comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// One JSON array of verdicts instead of a table.
        #[arg(long)]
        json: bool,
        /// A catalog file to verify instead of the built-in one (same format).
        #[arg(long)]
        catalog_file: Option<PathBuf>,
        /// Allow loopback and private addresses (for testing local pages).
        #[arg(long)]
        allow_private: bool,
    },
}

/// Rust's allocations go to mimalloc (below); glibc's malloc still serves SQLite. glibc gives
/// threads that contend for it arenas of their own (up to eight per core) and keeps what each
/// freed, which grew the watcher's peak RSS under dashboard load by a third when it served
/// everything (BENCHMARKS.md, "Dashboard"). A `MALLOC_ARENA_MAX` in the environment still
/// wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a parameter of the allocator; no thread has started yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Raises the soft limit on open files to the hard one. Every vendor is a host of its own, and
/// the client keeps up to three idle connections per host between cycles (one per document
/// it fetched at once), so a watcher of a few hundred HTTPS vendors needs more descriptors
/// than the soft limit systemd gives services (1,024; the hard one is 524,288). Failing to
/// raise it is not fatal: connections then fail with "too many open files" and are retried.
fn raise_open_files_limit() {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max
            {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    }
}

/// mimalloc instead of glibc's malloc: parsing a first cycle of 5,000 GitHub-sized pages took
/// 11.0 s of CPU on glibc's allocator (8.6 s with one arena, most of the difference in its
/// locks and consolidation) and 7.2 s on mimalloc (BENCHMARKS.md, "Cold cycles"). The
/// shipped unit and image set `MIMALLOC_ARENA_EAGER_COMMIT=0` (as the notifier Lambda does)
/// and `MIMALLOC_PURGE_DELAY=0`: without them the watcher's peak RSS at 5,000 providers
/// under dashboard load was 118 MiB instead of 86, for ~2 % more CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    limit_malloc_arenas();
    raise_open_files_limit();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("statusrelay: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One clear line: the chain of causes, no backtrace.
            eprintln!("statusrelay: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    // Only statusrelay speaks unless asked otherwise: rustls and its platform verifier log
    // their own ERROR line for a certificate they refuse, before the one-line error
    // statusrelay gives anyway. A filter that names them (`rustls=debug`) is obeyed.
    let mut directives = std::env::var("STATUSRELAY_LOG").unwrap_or_else(|_| "info".into());
    if !directives.contains("rustls") {
        directives.push_str(",rustls=off,rustls_platform_verifier=off");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,rustls=off,rustls_platform_verifier=off")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(use_colour())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
fn use_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run {
            config,
            once,
            listen,
        } => run(config, once, listen).await,
        Command::Check {
            url,
            json,
            allow_private,
        } => check(&url, json, allow_private).await,
        Command::Status { config, json } => status::status(&config, json),
        Command::Health { url } => health(&url).await,
        Command::Init { config, catalog } => onboarding::init(&config, &catalog),
        Command::Add {
            target,
            config,
            components,
            no_check,
        } => {
            let loaded = load_config(&config).await?;
            onboarding::add(
                onboarding::AddRequest {
                    config_path: &config,
                    target: &target,
                    components: components.as_deref(),
                    no_check,
                },
                &loaded,
            )
            .await
        }
        Command::Validate { config } => {
            let config = load_config(&config).await?;
            for warning in &config.warnings {
                println!("warning: {warning}");
            }
            println!(
                "{}: ok ({} providers, {} destinations, {} routes, state {})",
                config.path.display(),
                config.providers.len(),
                config.destinations.len(),
                config.routes.len(),
                config.settings.state.display()
            );
            Ok(())
        }
        Command::TestRoute { name, config } => test_route(&name, &config).await,
        Command::Catalog { licenses: true, .. } => {
            print_to_pipe(statusrelay_core::catalog::THIRD_PARTY_NOTICES)
        }
        Command::Catalog { action, .. } => match action {
            None => list_catalog(None),
            Some(CatalogAction::Search { term }) => list_catalog(Some(&term)),
            Some(CatalogAction::Verify {
                only,
                json,
                catalog_file,
                allow_private,
            }) => verify_catalog(&only, json, catalog_file.as_deref(), allow_private).await,
        },
    }
}

/// `catalog` (every entry) and `catalog search TERM`, one line per entry (so `catalog | wc -l`
/// counts them); unverified pages say so after the URL, where the columns are not disturbed.
fn list_catalog(term: Option<&str>) -> Result<()> {
    let entries: Vec<&statusrelay_core::catalog::Entry> = match term {
        None => statusrelay_core::catalog::entries().iter().collect(),
        Some(term) => statusrelay_core::catalog::search(term),
    };
    if entries.is_empty() {
        bail!("no catalog entry matches");
    }
    println!(
        "{:<24} {:<28} {:<11} {:<34} url",
        "id", "name", "platform", "tags"
    );
    let mut listing = String::new();
    for entry in &entries {
        let unverified = if entry.unverified {
            "  (unverified)"
        } else {
            ""
        };
        let _ = writeln!(
            listing,
            "{:<24} {:<28} {:<11} {:<34} {}{unverified}",
            entry.id,
            entry.name,
            entry.platform,
            entry.tags.join(","),
            entry.url
        );
    }
    let _ = writeln!(
        listing,
        "\n{} entries; use them with catalog = [\"{}\", …] in a config; \
         `statusrelay catalog --licenses` credits the lists they come from",
        entries.len(),
        entries[0].id
    );
    print_to_pipe(&listing)
}

/// Writes a listing to stdout; a reader that stops early (`| head`) is not an error.
fn print_to_pipe(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Reads the config, fetching its `ssm:` secrets first when it has any.
async fn load_config(path: &std::path::Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read config: {e}", path.display()))?;
    if ssm_references(&text).is_empty() {
        return Ok(Config::parse(path, &text)?);
    }
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = statusrelay_core::ssm::fetch_references(&text, &aws_sdk_ssm::Client::new(&aws))
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Config::parse_with(path, &text, &secrets)?)
}

/// AWS clients, built only when a destination needs one.
async fn clients(config: &Config) -> Clients {
    let needs_sns = config
        .destinations
        .iter()
        .any(|d| matches!(d.channel, ChannelConfig::Sns { .. }));
    if !needs_sns {
        return Clients::default();
    }
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Clients {
        sns: Some(aws_sdk_sns::Client::new(&aws)),
    }
}

async fn test_route(name: &str, config_path: &std::path::Path) -> Result<()> {
    let config = load_config(config_path).await?;
    let clients = clients(&config).await;
    let outcomes = send_test(&config, name, &clients)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.path.display()))?;
    let mut failed = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(()) => println!("{} ({}): sent", outcome.destination, outcome.kind),
            Err(reason) => {
                failed += 1;
                println!(
                    "{} ({}): FAILED: {reason}",
                    outcome.destination, outcome.kind
                );
            }
        }
    }
    if failed > 0 {
        bail!(
            "route {name}: {failed} of {} destinations failed",
            outcomes.len()
        );
    }
    Ok(())
}

async fn run(config_path: PathBuf, once: bool, listen: Option<SocketAddr>) -> Result<()> {
    let config = load_config(&config_path).await?;
    for warning in &config.warnings {
        warn!("{warning}");
    }
    let store = Store::open(&config.settings.state)?;
    let watcher = Watcher::new(&config, store, &clients(&config).await);
    let state = config.settings.state.display().to_string();
    if once {
        // A store error (a full disk, a corrupt page) names the file it is about.
        watcher
            .run_cycle()
            .await
            .with_context(|| format!("state file {state}"))?;
        return Ok(());
    }

    let heartbeat = Arc::new(Heartbeat::new(config.settings.interval));
    let pushes = Arc::new(PushInbox::default());
    if let Some(addr) = listen.or(config.settings.listen) {
        serve_read_side(
            &config,
            addr,
            heartbeat.clone(),
            watcher.metrics(),
            pushes.clone(),
        )
        .await?;
        // Metrics are only read when served: fill them from the state file once, so the
        // first scrape after a restart is not empty.
        if let Err(err) = watcher.restore_metrics() {
            warn!(error = %err, state = %state, "cannot restore the metrics from the state file");
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    spawn_signal_listener(stop.clone(), wake.clone())?;
    info!(
        providers = config.providers.len(),
        interval = ?config.settings.interval,
        hot_interval = ?config.settings.hot_interval,
        state = %config.settings.state.display(),
        "watching"
    );
    // A signal during a round lets it finish: state and outbox stay consistent either way,
    // but finishing avoids re-sending what is in flight.
    watcher
        .watch(&stop, &wake, &pushes, || heartbeat.beat())
        .await
        .with_context(|| format!("state file {state}"))?;
    info!("stopped");
    Ok(())
}

async fn verify_catalog(
    only: &[String],
    json: bool,
    catalog_file: Option<&std::path::Path>,
    allow_private: bool,
) -> Result<()> {
    let from_file;
    let all: Vec<&statusrelay_core::catalog::Entry> = match catalog_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            from_file = statusrelay_core::catalog::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            from_file.iter().collect()
        }
        None => statusrelay_core::catalog::entries().iter().collect(),
    };
    if let Some(unknown) = only.iter().find(|id| !all.iter().any(|e| &e.id == *id)) {
        bail!("--only: `{unknown}` is not a catalog id");
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.id))
        .collect();
    let verdicts = catalog_verify::verify(&chosen, allow_private).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&verdicts)?);
    } else {
        catalog_verify::print_table(&verdicts);
    }
    Ok(())
}

async fn health(url: &str) -> Result<()> {
    let answer = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url}: HTTP {}: {}", status.as_u16(), text.trim());
    }
    println!("{}", text.trim());
    Ok(())
}

/// Binds the read side and serves it beside the watch loop. A bind failure (address in use)
/// stops `run` before it starts watching, with the address in the error.
async fn serve_read_side(
    config: &Config,
    addr: SocketAddr,
    heartbeat: Arc<Heartbeat>,
    metrics: Arc<Metrics>,
    pushes: Arc<PushInbox>,
) -> Result<()> {
    if let Some(why) = config.settings.refuse_listen(addr) {
        bail!("--listen {why}");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let state = Arc::new(WebState {
        state_path: config.settings.state.clone(),
        providers: config.providers.clone(),
        destinations: config.destinations.iter().map(|d| d.name.clone()).collect(),
        token: config.settings.http_token.clone(),
        heartbeat,
        metrics,
        pushes: Some(pushes),
    });
    info!(url = %web::display_url(bound), "serving the read side");
    tokio::spawn(async move {
        if let Err(err) = web::serve(listener, state).await {
            error!(error = %err, "the read side stopped");
        }
    });
    Ok(())
}

fn spawn_signal_listener(stop: Arc<AtomicBool>, wake: Arc<Notify>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        info!("signal received; finishing the current cycle");
        stop.store(true, Ordering::SeqCst);
        wake.notify_one();
    });
    Ok(())
}

async fn check(url: &str, json: bool, allow_private: bool) -> Result<()> {
    // Taken as written: a feed's trailing slash can matter; page platforms ignore it.
    let base = url::Url::parse(url).with_context(|| format!("{url}: not a valid URL"))?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!("{url}: only http and https URLs are supported");
    }
    let fetcher = Fetcher::new(allow_private, HttpLimits::default(), DEFAULT_MAX_BODY_BYTES);
    let (platform, outcome) = detect_and_poll(&fetcher, &base, None)
        .await
        // `check` takes no config: point at its own flag, not the setting.
        .map_err(|e| {
            anyhow::anyhow!(
                e.to_string()
                    .replace(PRIVATE_HINT, "pass --allow-private to allow it")
            )
        })
        .with_context(|| format!("{url}: not readable as a status page"))?;
    let (snapshot, documents) = match outcome {
        PollOutcome::Fetched {
            snapshot,
            documents,
            ..
        } => (snapshot, documents),
        PollOutcome::Unchanged => unreachable!("an unconditional poll always fetches"),
    };
    if !json {
        println!("platform: {}", platform.as_str());
        // Only when the page is read through other documents than its platform's usual ones.
        if let Some(documents) = documents {
            println!("documents: {documents}");
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", render_check(&snapshot));
    }
    Ok(())
}

fn render_check(snapshot: &Snapshot) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let page = &snapshot.page;
    let status = page.description.as_deref().unwrap_or("status unknown");
    let _ = writeln!(out, "{} ({}): {status}", page.name, page.url);
    let _ = writeln!(out, "\nComponents:");
    let groups: std::collections::HashMap<&str, &str> = snapshot
        .components
        .iter()
        .filter(|c| c.is_group)
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    for component in snapshot.components.iter().filter(|c| !c.is_group) {
        let group = component
            .group_id
            .as_deref()
            .and_then(|g| groups.get(g))
            .map(|g| format!("{g} / "))
            .unwrap_or_default();
        let _ = writeln!(out, "  {:<22} {group}{}", component.status, component.name);
    }
    let open: Vec<_> = snapshot
        .incidents
        .iter()
        .filter(|i| !i.status.is_finished())
        .collect();
    let _ = writeln!(out, "\nOpen incidents: {}", open.len());
    for incident in open {
        let _ = writeln!(
            out,
            "  [{}, impact {}] {} {}",
            incident.status,
            incident.impact,
            incident.name,
            incident.url.as_deref().unwrap_or("")
        );
    }
    let maintenances: Vec<_> = snapshot
        .maintenances
        .iter()
        .filter(|m| !m.status.is_finished())
        .collect();
    let _ = writeln!(
        out,
        "\nUpcoming and active maintenances: {}",
        maintenances.len()
    );
    for maintenance in maintenances {
        let window = match (maintenance.scheduled_for, maintenance.scheduled_until) {
            (Some(from), Some(until)) => format!(" {} → {}", from.to_rfc3339(), until.to_rfc3339()),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  [{}] {}{window}",
            maintenance.status, maintenance.name
        );
    }
    out
}
