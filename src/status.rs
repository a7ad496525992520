//! `statusrelay status`: the overview of every configured provider in the terminal, worst
//! first, read from the state file while a watcher may be running on it.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use statusrelay_core::config::Config;
use statusrelay_core::overview::ProviderOverview;
use statusrelay_core::render::single_line;
use statusrelay_core::state_reader::StateReader;

pub fn status(config_path: &Path, json: bool) -> Result<()> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("{}: cannot read config", config_path.display()))?;
    // Providers and the state path only: no secret is needed to look.
    let config = Config::parse_providers(config_path, &text)?;
    let overviews = StateReader::open(&config.settings.state)?.overviews(&config.providers)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&overviews)?);
    } else {
        print!("{}", render(&overviews, Utc::now()));
    }
    Ok(())
}

/// One line per provider: state, name, open incidents, last good poll, last error.
pub fn render(overviews: &[ProviderOverview], now: DateTime<Utc>) -> String {
    let name_width = overviews
        .iter()
        .map(|o| o.name.chars().count().min(32))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for o in overviews {
        let name: String = single_line(&o.name).chars().take(32).collect();
        let incidents = match o.open_incidents.as_slice() {
            [] => "no open incident".to_owned(),
            [one] => format!("1 open: {} ({})", single_line(&one.name), one.status),
            many => format!("{} open: {} …", many.len(), single_line(&many[0].name)),
        };
        let polled = match o.last_good_poll {
            Some(at) => format!("last good poll {} ago", age(now - at)),
            None => "never polled successfully".to_owned(),
        };
        let _ = write!(
            out,
            "{:<16} {name:<name_width$}  {incidents} · {polled}",
            o.state.as_str().to_uppercase()
        );
        if o.consecutive_failures > 0
            && let Some(error) = &o.last_error
        {
            let _ = write!(
                out,
                " · {} failed poll(s), last: {}",
                o.consecutive_failures,
                single_line(error)
            );
        }
        out.push('\n');
    }
    out
}

/// "45s", "12m", "3h", "2d": how long ago, at a glance.
fn age(elapsed: chrono::Duration) -> String {
    let seconds = elapsed.num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86_400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}
