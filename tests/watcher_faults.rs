//! The local watcher when its own machine misbehaves: a corrupt state file, a full disk, a
//! state file locked by another process, a destination that hangs. Each gives one clear error
//! (or one log line), leaves the state file as it was, and loses or repeats nothing afterwards.

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::fixture::{Page, epoch};
use support::*;

struct Setup {
    server: StatusServer,
    receiver: WebhookReceiver,
    work: Workspace,
    page: Page,
    config: PathBuf,
}

async fn setup(extra: &str) -> Setup {
    let server = StatusServer::start().await;
    let receiver = WebhookReceiver::start().await;
    let work = Workspace::new();
    let page = Page::realistic("Kustomer", &server.url("kustomer"));
    server.publish("kustomer", &page);
    let config = work.write_config(&format!(
        "[settings]\nstate = \"state.db\"\ninterval = \"1s\"\nallow_private_targets = true\n\n[[providers]]\nid = \"kustomer\"\nurl = \"{}\"\n\n[[destinations]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n{extra}\n[[routes]]\nname = \"all\"\ndestinations = [\"hook\"{}]\n",
        server.url("kustomer"),
        receiver.url(),
        if extra.is_empty() { "" } else { ", \"slow\"" },
    ));
    Setup {
        server,
        receiver,
        work,
        page,
        config,
    }
}

impl Setup {
    fn open_incident(&mut self, name: &str) {
        let leaves = self.page.leaf_ids();
        self.page
            .open_incident(name, "minor", &leaves[..1], "Investigating.", epoch());
        self.server.publish("kustomer", &self.page);
    }
}

fn digest(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

/// `statusrelay run --once` with the size a process may write to any file capped at
/// `max_file_bytes` (RLIMIT_FSIZE): writes past it fail with EFBIG, as on a full disk.
async fn run_once_on_a_full_disk(config: &Path, max_file_bytes: u64) -> Output {
    let mut command = std::process::Command::new(binary());
    command.args(["run", "--once", "--config", config.to_str().unwrap()]);
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_file_bytes,
                rlim_max: max_file_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Without this the kernel kills the process at the limit (SIGXFSZ); ignored, the
            // write fails with EFBIG, which is what a full disk looks like to SQLite.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    tokio::process::Command::from(command)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_one_error_and_is_left_as_it_was() {
    let s = setup("").await;
    let state = s.work.path("state.db");
    // Not a database at all: what a disk error or a stray copy leaves.
    let garbage: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&state, &garbage).unwrap();
    let before = digest(&state);

    let out = run_once(&s.config).await;
    assert_no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one clear error:\n{err}");
    assert!(lines[0].contains("state.db"), "names the file: {err}");
    assert_eq!(digest(&state), before, "the corrupt file is left as it was");
    assert!(s.receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_the_state_and_the_next_run_delivers_once() {
    let mut s = setup("").await;
    let baseline = run_once(&s.config).await;
    assert!(baseline.status.success(), "{}", stderr(&baseline));
    let state = s.work.path("state.db");
    let before = digest(&state);

    s.open_incident("Delayed email delivery");
    // Room for SQLite's 32 KiB shared-memory index, not for the poll's commit.
    let full = run_once_on_a_full_disk(&s.config, 40 * 1024).await;
    assert_no_panic(&full);
    let err = stderr(&full);
    assert!(!full.status.success());
    assert_eq!(err.trim().lines().count(), 1, "one error line:\n{err}");
    assert!(
        err.contains("state.db") && (err.contains("full") || err.contains("disk")),
        "a clear error naming the state file:\n{err}"
    );
    assert!(
        s.receiver.received().is_empty(),
        "nothing sent from an uncommitted poll"
    );
    assert_eq!(digest(&state), before, "the state file is as it was");

    let recovered = run_once(&s.config).await;
    assert!(recovered.status.success(), "{}", stderr(&recovered));
    assert_eq!(s.receiver.delivered_types(), ["incident.created"]);
    run_once(&s.config).await;
    assert_eq!(s.receiver.delivered().len(), 1, "never twice");
}

/// Makes a file unwritable even for root (the tests run as root, which ignores mode bits):
/// the immutable attribute, as `chattr +i` sets it.
fn set_immutable(path: &Path, immutable: bool) {
    let flag = if immutable { "+i" } else { "-i" };
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("chattr (e2fsprogs) runs");
    assert!(status.success(), "chattr {flag} {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_state_file_is_one_error_and_is_left_as_it_was() {
    let mut s = setup("").await;
    assert!(run_once(&s.config).await.status.success());
    let state = s.work.path("state.db");
    let before = digest(&state);
    s.open_incident("Delayed email delivery");
    set_immutable(&state, true);
    let out = run_once(&s.config).await;
    set_immutable(&state, false);
    assert_no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one error line:\n{err}");
    assert!(err.contains("state.db"), "names the file: {err}");
    assert_eq!(digest(&state), before);
    assert!(s.receiver.received().is_empty());

    assert!(run_once(&s.config).await.status.success());
    assert_eq!(s.receiver.delivered_types(), ["incident.created"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_in_use_by_another_watcher_is_refused() {
    let s = setup("").await;
    let mut first = tokio::process::Command::new(binary())
        .args(["run", "--config", s.config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lock = s.work.path("state.db.lock");
    for _ in 0..100 {
        if s.work.path("state.db").exists() && lock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = run_once(&s.config).await;
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains("in use by another statusrelay process"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    first.kill().await.unwrap();
    first.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_hangs_costs_one_timeout_and_delays_no_other() {
    let slow = WebhookReceiver::start().await;
    let mut s = setup(&format!(
        "\n[[destinations]]\nname = \"slow\"\ntype = \"webhook\"\nurl = \"{}\"\n",
        slow.url()
    ))
    .await;
    assert!(run_once(&s.config).await.status.success());
    slow.plan([Answer::Hang]);
    s.open_incident("Delayed email delivery");

    let out = run_once(&s.config).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.receiver.delivered_types(), ["incident.created"]);
    assert_eq!(
        slow.received().len(),
        1,
        "a timeout is not retried within the run: one attempt, one timeout"
    );
    assert!(slow.delivered().is_empty());
    assert!(
        stderr(&out).contains("paused until the next run"),
        "{}",
        stderr(&out)
    );

    // The next run delivers it, once.
    let next = run_once(&s.config).await;
    assert!(next.status.success(), "{}", stderr(&next));
    assert_eq!(slow.delivered_types(), ["incident.created"]);
    assert_eq!(s.receiver.delivered().len(), 1);
}
