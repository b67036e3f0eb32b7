//! Script-capable URIs: `javascript:`, `vbscript:`, `livescript:` (also
//! split by tabs and newlines a URL parser drops, `j⏎a⏎v⏎a…:`), and `data:`
//! URIs whose body is markup (`data:text/html,…`, base64 `PHNj…`). A colon
//! that ends a CSS property goes to [`super::css`]. Adds `xss-js-uri` and
//! `xss-data-uri`.

use super::add;
use super::css::scan_css_declaration;
use crate::rules::{self, Rule};

/// The `:` at `colon`: the end of a script scheme (`javascript:`), of
/// `data:`, or of a CSS property name.
pub(super) fn scan_colon(text: &[u8], colon: usize, out: &mut Vec<&'static Rule>) {
    if colon >= 5
        && SCRIPT_SCHEMES
            .iter()
            .any(|scheme| ends_with_compact(text, colon, scheme))
    {
        if script_uri_body(text, colon) {
            add(out, &rules::XSS_JS_URI);
        }
        return;
    }
    if colon >= 4 && ends_with_compact(text, colon, b"data") {
        if markup_data_uri(&text[colon + 1..]) {
            add(out, &rules::XSS_DATA_URI);
        }
        return;
    }
    scan_css_declaration(text, colon, out);
}

/// URL schemes that run script.
const SCRIPT_SCHEMES: &[&[u8]] = &[
    b"javascript",
    b"vbscript",
    b"livescript",
    b"mocha",
    b"mhtml",
];

/// After `javascript:` at `colon`: code rather than prose (`javascript:
/// is a language`).
fn script_uri_body(text: &[u8], colon: usize) -> bool {
    let next_solid = text.get(colon + 1).is_some_and(|&b| b > b' ');
    // URL parsers drop tabs and newlines anywhere (`j⏎a⏎v⏎a…:⏎a⏎l…`):
    // when the scheme itself was split, so may the rest be.
    // (`ja&tab;vascript:` is no prose, whatever follows.)
    let split = text[colon.saturating_sub(14)..colon]
        .iter()
        .any(|&b| matches!(b, b'\t' | b'\n' | b'\r'));
    // `javascript: \\u0061lert`: an escape is no prose either.
    let escape = text[colon + 1..].trim_ascii_start().first() == Some(&b'\\');
    next_solid || split || escape
}

/// After `data:`: a markup media type, or a markup body plain or base64.
fn markup_data_uri(rest: &[u8]) -> bool {
    let rest = &rest[rest.iter().position(|&b| b > b' ').unwrap_or(rest.len())..];
    [
        &b"text/html"[..],
        b"image/svg",
        b"application/xhtml",
        b"text/xml",
        b"application/x-shockwave",
    ]
    .iter()
    .any(|media_type| rest.starts_with(media_type))
        || base64_markup(rest)
        || markup_body(rest)
}

/// Matches `word` ending right before `end`, skipping control/space bytes.
pub(super) fn ends_with_compact(text: &[u8], end: usize, word: &[u8]) -> bool {
    let mut k = end;
    for &w in word.iter().rev() {
        while k > 0 && text[k - 1] <= b' ' {
            k -= 1;
        }
        if k == 0 || text[k - 1] != w {
            return false;
        }
        k -= 1;
    }
    true
}

/// `data:,<svg onload…>`: a data URI without a media type whose body
/// is markup.
fn markup_body(rest: &[u8]) -> bool {
    rest.strip_prefix(b",")
        .is_some_and(|b| b.trim_ascii_start().first() == Some(&b'<'))
}

/// A data-URI body (any media type) whose base64 payload decodes to markup:
/// base64 text starting with `P` decodes to a first byte `<`..`?` (`PHNj` is
/// `<sc`, `PHN2` is `<sv`); images and documents start otherwise (`iVBOR`,
/// `/9j/`, `R0lGOD`, `JVBER`).
fn base64_markup(rest: &[u8]) -> bool {
    let mut compact = [0u8; 96];
    let mut len = 0;
    for &b in rest.iter().take(256) {
        if b > b' ' {
            compact[len] = b;
            len += 1;
            if len == compact.len() {
                break;
            }
        }
    }
    let compact = &compact[..len];
    crate::normalize::find(compact, b";base64,").is_some_and(|p| compact.get(p + 8) == Some(&b'p'))
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn script_and_markup_uris() {
        assert_fires("javascript:alert(1)", "xss-js-uri");
        assert_fires("data:text/html,<script>alert(1)</script>", "xss-data-uri");
    }

    #[test]
    fn schemes_named_in_prose() {
        assert_quiet("Read JavaScript: The Good Parts", "xss-js-uri");
        assert_quiet("data: see the attached sheet", "xss-data-uri");
    }
}
