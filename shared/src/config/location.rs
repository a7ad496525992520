//! Locating problems: every error names the file, and the line and column of the value at fault.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column; `None` when the problem is the file itself.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Turns byte spans of the config's text into located [`ConfigError`]s.
pub(super) struct Locator<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Locator<'_> {
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let offset = span.start.min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            path: self.path.to_owned(),
            position: Some((line, column)),
            message: message.into(),
        }
    }

    pub fn file_error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            position: None,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn errors_name_file_line_column_and_field() {
        let err = parse("[[providers]]\nid = \"Bad_Id\"\nurl = \"https://x.test\"\n").unwrap_err();
        assert_eq!(err.position, Some((2, 6)));
        assert!(
            err.to_string()
                .starts_with("conf/sr.toml:2:6: providers[0].id"),
            "{err}"
        );

        let err = parse("[settings]\ninterval = \"soon\"\n").unwrap_err();
        assert_eq!(err.position, Some((2, 12)));
        assert!(err.message.contains("settings.interval"), "{err}");

        let err = parse("[settings]\nintervall = \"60s\"\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(2));
        assert!(err.message.contains("intervall"), "{err}");

        let err = parse("[[providers]\nid=1").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1), "{err}");
    }
}
