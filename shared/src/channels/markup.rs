//! Pieces of the per-channel defences against vendor text that several channels share. Which
//! markup each platform interprets, and how each channel neutralises it, is written in that
//! channel's module docs; the README's "Security model" has the table. Mentions are broken
//! once for every channel when the message is built ([`crate::render::break_mentions`]).

use crate::render::cut;

/// Backslash-escapes the markdown punctuation in `special`. CommonMark (Mattermost) and
/// Discord's parser both treat `\` before any ASCII punctuation as a literal, so the text
/// shows as written. (Mentions are already broken in the message: [`crate::render`].)
pub fn escape_markdown(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\\' || special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Cuts untrusted `text` so that its neutralised form (`neutralise`) costs at most `max`
/// (measured by `cost`), then neutralises it: limits apply to what the platform receives.
pub fn neutralised_cut(
    text: &str,
    max: usize,
    neutralise: impl Fn(&str) -> String,
    cost: impl Fn(&str) -> usize,
) -> (String, bool) {
    let (text, was_cut) = cut(text, max, |part| cost(&neutralise(part)));
    (neutralise(&text), was_cut)
}

/// A URL as the target of a markdown link `[label](url)`: characters that would end the
/// target or start a title are percent-encoded. Our own links only (the status page's URL,
/// already checked to be http(s) by [`crate::render`]).
pub fn markdown_link_target(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_escaped_with_backslashes() {
        assert_eq!(
            escape_markdown(r"[click](https://evil.example) \o/", &['[', ']', '(', ')']),
            r"\[click\]\(https://evil.example\) \\o/"
        );
    }

    #[test]
    fn link_targets_cannot_close_the_link() {
        assert_eq!(
            markdown_link_target("https://x.test/a (b)"),
            "https://x.test/a%20%28b%29"
        );
    }
}
