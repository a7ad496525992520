//! Debian's Chromium, headless (`scripts/test` installs it): the DOM a page leaves after its
//! script ran, for the dashboards' browser passes.

use std::path::{Path, PathBuf};

/// Chromium with the flags this machine needs (no sandbox as root, no background networking
/// on a closed network) and a fresh profile.
pub fn chromium(profile: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        // The viewer's zone: the script must show times in it.
        .env("TZ", "America/New_York");
    command
}

/// The DOM after the page's script ran.
pub fn dump_dom(profile: &Path, url: &str) -> String {
    let out = chromium(profile)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium is installed (scripts/test installs Debian's chromium)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Where the browser passes leave their screenshots (`target/screenshots/`).
pub fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of `url` at `size` ("width,height"), optionally in the system's dark mode,
/// saved as `file` in [`screenshots_dir`]; fails unless it is a PNG of some substance.
pub fn screenshot(profile: &Path, url: &str, file: &str, size: &str, dark: bool) {
    let shot = screenshots_dir().join(file);
    let _ = std::fs::remove_file(&shot);
    let mut command = chromium(profile);
    if dark {
        command.arg("--force-dark-mode");
    }
    let out = command
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={size}"))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{file}: {} bytes",
        png.len()
    );
}
