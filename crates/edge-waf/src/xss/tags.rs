//! Markup injection: active elements (`<script>`, `<iframe>`, `<svg>`,
//! `<object>`), elements that carry handlers (`<img>`, `<body>`, `<form>`),
//! namespace-prefixed active content (`<svg:x>`, `<v:…>`), DTD and
//! processing-instruction injection (`<!ENTITY`, `<?xml-stylesheet`),
//! server-side includes, and tag names disguised by spaces, escaped null
//! bytes or dropped high bits (`<s c r i p t`, `<scr\0ipt`, `¼script¾`).
//! Adds `xss-script`, `xss-dangerous-tag` and `xss-suspect-tag`; the
//! attributes are read by [`super::attributes`].

use super::attributes::scan_attributes;
use super::{add, is_letter};
use crate::rules::{self, Rule};

/// Elements that load or run active content.
pub(super) const DANGEROUS_TAGS: &[&[u8]] = &[
    b"iframe",
    b"frame",
    b"frameset",
    b"object",
    b"embed",
    b"applet",
    b"base",
    b"meta",
    b"import",
    b"isindex",
    b"bgsound",
    b"layer",
    b"ilayer",
    b"xss",
    b"portal",
    b"xml",
    b"svg",
    b"style",
    b"link",
    b"math",
    b"set",
    b"animate",
    b"xsl",
    b"listener",
    b"handler",
    b"include",
    b"vmlframe",
];

/// XML namespace prefixes whose elements are active content (`<svg:x>`, `<v:x>`).
const ACTIVE_PREFIXES: &[&[u8]] = &[b"svg", b"v", b"xsl", b"xi", b"xhtml", b"html", b"math"];

/// Elements injections use for handlers or layout, also common in HTML.
const SUSPECT_TAGS: &[&[u8]] = &[
    b"form",
    b"template",
    b"image",
    b"video",
    b"audio",
    b"source",
    b"details",
    b"marquee",
    b"body",
    b"input",
    b"button",
    b"textarea",
    b"keygen",
    b"select",
    b"isindex",
    b"x",
    b"title",
    b"noscript",
    b"plaintext",
    b"listing",
    b"xmp",
    b"comment",
    b"html",
    b"foreignobject",
    b"handler",
    b"use",
];

/// The tag whose name starts at `start`, right after a `<`.
pub(super) fn scan_tag(text: &[u8], start: usize, out: &mut Vec<&'static Rule>) {
    // `</b style=…>`: browsers drop a closing tag's attributes, old IE ran
    // their CSS; read them, but the name is no new element.
    let closing =
        text.get(start) == Some(&b'/') && text.get(start + 1).is_some_and(|&b| is_letter(b));
    let start = start + usize::from(closing);
    // `<:vmlframe`: an empty namespace prefix.
    let start = start
        + usize::from(
            text.get(start) == Some(&b':') && text.get(start + 1).is_some_and(|&b| is_letter(b)),
        );
    if !closing && spaced_tag(text, start) {
        add(out, &rules::XSS_TAG);
    }
    let mut name_end = start;
    while name_end < text.len()
        && (text[name_end].is_ascii_alphanumeric() || matches!(text[name_end], b':' | b'-' | b'_'))
    {
        name_end += 1;
    }
    null_escaped_name(text, start, name_end, out);
    match text.get(start) {
        Some(b'?') => return processing_instruction(&text[start + 1..], out),
        Some(b'!') => return declaration(&text[start + 1..], out),
        _ => {}
    }
    if name_end == start || !is_letter(text[start]) {
        return;
    }
    element_name(&text[start..name_end], closing, out);
    scan_attributes(text, start, name_end, out);
}

/// `<scr\0ipt`: a null byte spelled as an escape inside the name.
fn null_escaped_name(text: &[u8], start: usize, name_end: usize, out: &mut Vec<&'static Rule>) {
    if !(text[name_end..].starts_with(b"\\0")
        && text.get(name_end + 2).is_some_and(|&b| is_letter(b))
        && name_end > start)
    {
        return;
    }
    let mut joined = text[start..name_end].to_vec();
    let mut at = name_end + 2;
    while at < text.len() && is_letter(text[at]) && joined.len() < 16 {
        joined.push(text[at]);
        at += 1;
    }
    if joined == b"script" {
        add(out, &rules::XSS_SCRIPT);
    } else if DANGEROUS_TAGS.contains(&joined.as_slice()) {
        add(out, &rules::XSS_TAG);
    }
}

/// `<?xml-stylesheet href=…?>`, `<?import implementation=…>`.
fn processing_instruction(body: &[u8], out: &mut Vec<&'static Rule>) {
    if body.starts_with(b"xml-stylesheet")
        || body.starts_with(b"import")
        || body.starts_with(b"xml:namespace")
    {
        add(out, &rules::XSS_TAG);
    }
}

/// DTD injection: `<!ENTITY x SYSTEM …>`, `<!ATTLIST img onerror …>`,
/// `<!DOCTYPE x [` with an internal subset; `<!--#exec cmd=…-->`: a
/// server-side include.
fn declaration(body: &[u8], out: &mut Vec<&'static Rule>) {
    let internal_subset = body.starts_with(b"doctype")
        && body
            .iter()
            .take(128)
            .take_while(|&&c| c != b'>')
            .any(|&c| c == b'[');
    let server_side_include = body.starts_with(b"--#exec") || body.starts_with(b"--#include");
    if body.starts_with(b"entity")
        || body.starts_with(b"attlist")
        || internal_subset
        || server_side_include
    {
        add(out, &rules::XSS_TAG);
    }
}

/// `<script`, `<iframe`, `<svg:x`, `<form`: the element's (prefixed) name.
fn element_name(full: &[u8], closing: bool, out: &mut Vec<&'static Rule>) {
    let name = full.rsplit(|&b| b == b':').next().unwrap_or(full);
    if name.len() < full.len() {
        let prefix = full.split(|&b| b == b':').next().unwrap_or(full);
        // `<xml:namespace prefix=t>`: IE's behaviour-binding declaration.
        if ACTIVE_PREFIXES.contains(&prefix) || full == b"xml:namespace" {
            add(out, &rules::XSS_TAG);
        }
    }
    // A closing tag only carries attributes; its name adds no element.
    if !closing {
        if name == b"script" {
            add(out, &rules::XSS_SCRIPT);
        } else if DANGEROUS_TAGS.contains(&name) {
            add(out, &rules::XSS_TAG);
        } else if SUSPECT_TAGS.contains(&name) {
            add(out, &rules::XSS_SUSPECT_TAG);
        }
    }
}

/// `¼script¾`, `¼test¾…¼/test¾` (0xbc/0xbe): US-ASCII pages drop the high
/// bit, so these are tags; also written as `\xbc` escapes or UTF-8 `c2 bc`.
pub(super) fn scan_high_bit_markup(text: &[u8], out: &mut Vec<&'static Rule>) {
    if (text.contains(&0xbc) || crate::normalize::find(text, b"\\xbc").is_some())
        && memchr::memmem::find_iter(text, b"script").any(|p| {
            let head = &text[..p];
            head.ends_with(&[0xbc]) || head.ends_with(b"\\xbc")
        })
    {
        add(out, &rules::XSS_SCRIPT);
    }
    if (text.contains(&0xbe) || crate::normalize::find(text, b"\\xbe").is_some())
        && high_bit_tag(text)
    {
        add(out, &rules::XSS_TAG);
    }
}

/// `<f o r m`, `<s c r i p t`: an active element's name spelled out with
/// spaces, which filters that strip whitespace put back together.
fn spaced_tag(text: &[u8], start: usize) -> bool {
    let mut name = [0u8; 16];
    let mut len = 0;
    let mut k = start;
    while len < name.len() && text.get(k).is_some_and(|&b| is_letter(b)) {
        if text.get(k + 1).is_some_and(|&b| is_letter(b)) {
            return false; // a word, not spelled-out letters
        }
        name[len] = text[k];
        len += 1;
        k += 1;
        if text.get(k) != Some(&b' ') {
            break;
        }
        k += 1;
    }
    let name = &name[..len];
    len >= 4
        && (name == b"script"
            || name == b"dialog"
            || DANGEROUS_TAGS.contains(&name)
            || SUSPECT_TAGS.contains(&name))
}

/// `¼name¾` (or `\xbcname\xbe`): a tag once the high bit is dropped.
fn high_bit_tag(text: &[u8]) -> bool {
    let open = |i: usize| -> Option<usize> {
        if text[i] == 0xbc {
            Some(i + 1)
        } else if text[i..].starts_with(b"\\xbc") {
            Some(i + 4)
        } else {
            None
        }
    };
    (0..text.len()).filter_map(open).any(|a| {
        let a = a + usize::from(text.get(a) == Some(&b'/'));
        let w = text[a..].iter().take_while(|&&c| is_letter(c)).count();
        w > 0 && (text.get(a + w) == Some(&0xbe) || text[a + w..].starts_with(b"\\xbe"))
    })
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn script_and_active_elements() {
        assert_fires("<script>alert(1)</script>", "xss-script");
        assert_fires("<iframe src=//evil.example>", "xss-dangerous-tag");
        assert_fires("<s c r i p t>", "xss-dangerous-tag");
    }

    #[test]
    fn comparisons_hearts_and_plain_markup() {
        for value in ["a < b and c > d", "I <3 you", "<b>bold</b> and <i>it</i>"] {
            assert_quiet(value, "xss-script");
            assert_quiet(value, "xss-dangerous-tag");
        }
    }
}
