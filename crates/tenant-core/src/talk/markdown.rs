//! Message bodies: Markdown as people type it, turned once, when it is written, into HTML
//! that is safe to put into a page as it is.
//!
//! The Markdown is read by pulldown-cmark (CommonMark with tables, strikethrough and task
//! lists). What it would pass through as it is, raw HTML, is shown as text instead; an
//! image becomes a link to it (pages load no remote images, and the brand's CSP would
//! refuse them anyway); nesting deeper than [`DEEPEST`] is flattened, so no body makes a
//! page that browsers or the sanitiser choke on. The HTML is then cleaned by ammonia
//! (its default list of harmless tags and attributes, without images; links only to
//! `http`, `https`, `mailto` or a path on the brand's own site, each with
//! `rel="noopener nofollow ugc"`). The result is what [`Body::html`] gives and the one
//! place templates take markup unescaped.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::error::{Error, Result};

/// The most characters a body may have.
pub const LONGEST: usize = 20_000;
/// Elements nested deeper than this are dropped (their text stays).
const DEEPEST: usize = 24;

/// A message body: its Markdown and the sanitised HTML made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    markdown: String,
    html: String,
}

impl Body {
    /// Reads a body typed into `field`: not empty, at most [`LONGEST`] characters, no
    /// control characters but line breaks and tabs.
    pub fn parse(field: &'static str, text: &str) -> Result<Body> {
        let text = text.replace("\r\n", "\n");
        let markdown = text.trim();
        if markdown.is_empty() {
            return Err(Error::field(field, "write something first"));
        }
        if markdown.chars().count() > LONGEST {
            return Err(Error::field(
                field,
                format!("a message may have at most {LONGEST} characters"),
            ));
        }
        if markdown
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(Error::field(
                field,
                "a message may not hold control characters",
            ));
        }
        Ok(Body {
            html: render(markdown),
            markdown: markdown.to_owned(),
        })
    }

    /// A body as stored (already checked and rendered when it was written).
    pub(crate) fn stored(markdown: String, html: String) -> Body {
        Body { markdown, html }
    }

    /// The Markdown as typed.
    pub fn markdown(&self) -> &str {
        &self.markdown
    }

    /// The sanitised HTML, safe to put into a page unescaped.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The text without markup, on one line, cut at `chars` characters (with "…"): for
    /// notification sentences and mail subjects.
    pub fn excerpt(&self, chars: usize) -> String {
        excerpt(&self.markdown, chars)
    }
}

/// `markdown`'s text without markup, on one line, cut at `chars` characters.
pub(crate) fn excerpt(markdown: &str, chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= chars {
        return line;
    }
    let mut cut: String = line.chars().take(chars.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('\u{2026}');
    cut
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut cleaner = ammonia::Builder::default();
    cleaner
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(own_site)))
        .link_rel(Some("noopener nofollow ugc"));
    cleaner
});

/// A link without a scheme is kept only as a path on the brand's own site or a place on
/// the page (`/projects/…`, `#comment-…`); anything else (`//elsewhere`, text that a
/// browser might read otherwise) loses its address.
fn own_site(url: &str) -> Option<std::borrow::Cow<'_, str>> {
    let path = (url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\"))
        || url.starts_with('#');
    path.then_some(std::borrow::Cow::Borrowed(url))
}

/// The sanitised HTML of `markdown` (see the module's text).
pub(crate) fn render(markdown: &str) -> String {
    let mut depth = 0usize;
    // Whether each open element was kept (so its end is kept too).
    let mut kept: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        Event::Start(tag) => {
            let keep = depth < DEEPEST;
            kept.push(keep);
            if !keep {
                return None;
            }
            depth += 1;
            Some(Event::Start(match tag {
                Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                } => Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                },
                other => other,
            }))
        }
        Event::End(end) => {
            if !kept.pop().unwrap_or(false) {
                return None;
            }
            depth = depth.saturating_sub(1);
            Some(Event::End(match end {
                TagEnd::Image => TagEnd::Link,
                other => other,
            }))
        }
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events);
    CLEANER.clean(&html).to_string().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered() {
        let html = render("**bold** and _it_\n\n- one\n- two\n\n`code`");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("<em>it</em>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render("<script>alert(1)</script>\n\nhi <b onclick=\"x()\">there</b>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&lt;b onclick"), "shown as text: {html}");
    }

    #[test]
    fn links_are_safe_and_marked() {
        let html = render(
            "[a](https://example.com) [b](javascript:alert(1)) [c](/projects/1) <https://x.test>",
        );
        assert!(
            html.contains(r#"<a href="https://example.com" rel="noopener nofollow ugc">a</a>"#),
            "{html}"
        );
        assert!(!html.to_lowercase().contains("javascript"), "{html}");
        assert!(html.contains(r#"href="/projects/1""#), "{html}");
        let encoded = render("[x](jav&#x09;ascript:alert(1)) [y](data:text/html,<script>)");
        assert!(!encoded.contains("href=\"jav"), "{encoded}");
        let elsewhere = render("[x](//evil.test/a) [y](#comment-1) [z](relative/path)");
        assert!(!elsewhere.contains("evil.test"), "{elsewhere}");
        assert!(elsewhere.contains(r##"href="#comment-1""##), "{elsewhere}");
        assert!(!elsewhere.contains("relative/path"), "{elsewhere}");
        assert!(!encoded.contains("href=\"data"), "{encoded}");
    }

    #[test]
    fn images_become_links_and_load_nothing() {
        let html = render("![logo](https://evil.test/track.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains(r#"href="https://evil.test/track.png""#),
            "{html}"
        );
        assert!(html.contains(">logo</a>"), "{html}");
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let deep = ">".repeat(19_000) + " bottom";
        let html = render(&deep);
        assert!(html.matches("<blockquote>").count() <= DEEPEST, "too deep");
        assert!(html.contains("bottom"));
        let lists = (0..2000)
            .map(|i| format!("{}- x", "  ".repeat(i)))
            .collect::<Vec<_>>();
        let html = render(&lists.join("\n"));
        assert!(html.matches("<ul>").count() <= DEEPEST);
    }

    #[test]
    fn bodies_are_checked() {
        assert!(Body::parse("body", "  ").is_err());
        assert!(Body::parse("body", &"x".repeat(LONGEST + 1)).is_err());
        assert!(Body::parse("body", "a\u{0007}b").is_err());
        let body = Body::parse("body", " Hello\r\nthere ").unwrap();
        assert_eq!(body.markdown(), "Hello\nthere");
        assert_eq!(body.excerpt(8), "Hello t\u{2026}");
        assert_eq!(body.excerpt(50), "Hello there");
    }
}
