//! HTML → plain text for notifications. html5ever's tokenizer does the hard part (the HTML
//! spec's tokenizing: entities, broken and unclosed markup, the raw text of `<script>` and
//! `<style>`); what is left is small: text with whitespace collapsed, line breaks where block
//! elements and `<br>` put them, list markers, nothing from scripts, styles or comments.
//!
//! A status update is a few paragraphs, so no tree and no layout: html2text's layout engine
//! cost ~14 µs per update body, the largest share of the notifier's time (BENCHMARKS.md).

use std::cell::RefCell;

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, local_name};

/// The text of an HTML fragment: paragraphs separated by a blank line, list items and `<br>`
/// on their own lines, whitespace collapsed as a browser would (except in `<pre>`).
pub fn to_text(html: &str) -> String {
    let input = BufferQueue::default();
    input.push_back(html.into());
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    // Our sink never asks to stop for a script, so the tokenizer consumes all of the input.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.text.into_inner().finish()
}

#[derive(Default)]
struct TextSink {
    text: RefCell<Text>,
}

#[derive(Default)]
struct Text {
    out: String,
    /// Newlines owed before the next text (1: a line break, 2: a blank line).
    newlines: usize,
    /// Collapsed whitespace owed before the next text on the same line.
    space: bool,
    /// Inside an element whose content is not text for a reader (script, style, …).
    hidden: Option<LocalName>,
    /// Depth of `<pre>` elements: whitespace kept as written.
    pre: usize,
    /// Open lists, innermost last: `None` for bullets, `Some(n)` for the next number.
    lists: Vec<Option<u64>>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut text = self.text.borrow_mut();
        match token {
            Token::CharacterTokens(chars) if text.hidden.is_none() => text.push_text(&chars),
            Token::TagToken(tag) => return text.tag(&tag),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Elements that stand on lines of their own, separated from what surrounds them by a blank
/// line (`2`) or a line break (`1`).
fn block_spacing(name: &LocalName) -> Option<usize> {
    Some(match *name {
        local_name!("p")
        | local_name!("h1")
        | local_name!("h2")
        | local_name!("h3")
        | local_name!("h4")
        | local_name!("h5")
        | local_name!("h6")
        | local_name!("blockquote")
        | local_name!("pre")
        | local_name!("table")
        | local_name!("ul")
        | local_name!("ol")
        | local_name!("dl")
        | local_name!("hr") => 2,
        local_name!("div")
        | local_name!("li")
        | local_name!("dt")
        | local_name!("dd")
        | local_name!("tr")
        | local_name!("td")
        | local_name!("th")
        | local_name!("caption")
        | local_name!("section")
        | local_name!("article")
        | local_name!("header")
        | local_name!("footer")
        | local_name!("main")
        | local_name!("nav")
        | local_name!("aside")
        | local_name!("address")
        | local_name!("figure")
        | local_name!("figcaption")
        | local_name!("details")
        | local_name!("summary")
        | local_name!("form")
        | local_name!("fieldset") => 1,
        _ => return None,
    })
}

/// Elements whose content is never shown as text, and how the tokenizer must read it (the
/// tree builder would tell it; without one, the sink does).
fn hidden_content(name: &LocalName) -> Option<Option<RawKind>> {
    Some(match *name {
        local_name!("script") => Some(RawKind::ScriptData),
        local_name!("style")
        | local_name!("xmp")
        | local_name!("iframe")
        | local_name!("noembed")
        | local_name!("noframes") => Some(RawKind::Rawtext),
        local_name!("title") | local_name!("textarea") => Some(RawKind::Rcdata),
        local_name!("head") | local_name!("template") => None,
        _ => return None,
    })
}

impl Text {
    fn tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        if let Some(hidden) = &self.hidden {
            if tag.kind == TagKind::EndTag && tag.name == *hidden {
                self.hidden = None;
            }
            return TokenSinkResult::Continue;
        }
        let start = tag.kind == TagKind::StartTag;
        if start && let Some(raw) = hidden_content(&tag.name) {
            if !tag.self_closing {
                self.hidden = Some(tag.name.clone());
            }
            return match raw {
                Some(kind) if !tag.self_closing => TokenSinkResult::RawData(kind),
                _ => TokenSinkResult::Continue,
            };
        }
        match tag.name {
            // `</br>` breaks a line in browsers too.
            local_name!("br") => self.newlines += 1,
            local_name!("ul") | local_name!("ol") => {
                self.block(if self.lists.is_empty() { 2 } else { 1 });
                if start {
                    let numbered = tag.name == local_name!("ol");
                    self.lists.push(numbered.then_some(1));
                } else {
                    self.lists.pop();
                }
            }
            local_name!("li") => {
                self.block(1);
                if start {
                    let depth = self.lists.len().saturating_sub(1);
                    let marker = match self.lists.last_mut() {
                        Some(Some(next)) => {
                            *next += 1;
                            format!("{}. ", *next - 1)
                        }
                        _ => "* ".to_owned(),
                    };
                    self.push_word(&format!("{}{marker}", "  ".repeat(depth)));
                    self.space = false;
                }
            }
            local_name!("pre") => {
                self.block(2);
                self.pre = if start {
                    self.pre + 1
                } else {
                    self.pre.saturating_sub(1)
                };
            }
            local_name!("img") => {
                if let Some(alt) = tag
                    .attrs
                    .iter()
                    .find(|a| a.name.local == local_name!("alt"))
                    .map(|a| a.value.trim())
                    .filter(|alt| !alt.is_empty())
                {
                    self.push_text(&format!("[{alt}]"));
                }
            }
            ref name => {
                if let Some(spacing) = block_spacing(name) {
                    self.block(spacing);
                }
            }
        }
        TokenSinkResult::Continue
    }

    fn block(&mut self, spacing: usize) {
        self.newlines = self.newlines.max(spacing);
        self.space = false;
    }

    fn push_text(&mut self, chars: &str) {
        if self.pre > 0 {
            self.push_word(chars);
            return;
        }
        // HTML whitespace (not U+00A0, which `&nbsp;` gives: that space is kept).
        let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C');
        let mut rest = chars;
        while !rest.is_empty() {
            let word_start = rest.find(|c| !is_space(c)).unwrap_or(rest.len());
            if word_start > 0 {
                self.space = true;
                rest = &rest[word_start..];
                continue;
            }
            let word_end = rest.find(is_space).unwrap_or(rest.len());
            self.push_word(&rest[..word_end]);
            rest = &rest[word_end..];
        }
    }

    fn push_word(&mut self, word: &str) {
        if self.newlines > 0 {
            if !self.out.is_empty() {
                for _ in 0..self.newlines {
                    self.out.push('\n');
                }
            }
            self.newlines = 0;
        } else if self.space && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push(' ');
        }
        self.space = false;
        if word.contains('\u{a0}') {
            self.out.push_str(&word.replace('\u{a0}', " "));
        } else {
            self.out.push_str(word);
        }
    }

    fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn paragraphs_breaks_and_whitespace() {
        assert_eq!(
            to_text(
                "<p>We are <b>investigating</b>\n   errors.<br />Next update soon.</p><p>Second</p>"
            ),
            "We are investigating errors.\nNext update soon.\n\nSecond"
        );
        assert_eq!(to_text("a<br><br>b</br>c"), "a\n\nb\nc");
        assert_eq!(to_text("<div>one</div><div>two</div>"), "one\ntwo");
        assert_eq!(
            to_text("<pre>  keep\n   this</pre>tail"),
            "  keep\n   this\n\ntail"
        );
    }

    #[test]
    fn lists_tables_and_images() {
        assert_eq!(
            to_text(
                "<ul><li>one</li><li>two</li></ul><ol><li>a</li><li>b<ul><li>c</li></ul></li></ol>"
            ),
            "* one\n* two\n\n1. a\n2. b\n  * c"
        );
        assert_eq!(
            to_text("<table><tr><th>Region</th></tr><tr><td>us-east-1</td></tr></table>"),
            "Region\nus-east-1"
        );
        assert_eq!(to_text("<img src=x alt=' map '><img src=y>x"), "[map]x");
    }

    #[test]
    fn entities_are_decoded_and_hidden_content_dropped() {
        assert_eq!(
            to_text("Fish &amp; chips&nbsp;here &lt;b&gt; &copy; &bogus;"),
            "Fish & chips here <b> © &bogus;"
        );
        assert_eq!(
            to_text(
                "a<script>if (x < y) { document.write('<p>no</p>') }</script>b<style>p{}</style>c<!-- hidden -->d"
            ),
            "abcd"
        );
        // An unclosed script hides the rest, as in a browser.
        assert_eq!(
            to_text("<p>shown <a href='x'>link <script>alert(1)"),
            "shown link"
        );
        assert_eq!(
            to_text("<title>t</title><textarea><b>raw</b></textarea>after"),
            "after"
        );
    }
}
