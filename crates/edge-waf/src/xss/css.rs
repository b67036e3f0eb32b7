//! CSS that runs script or escapes its declaration: IE `expression(`,
//! `url(javascript:`, `-moz-binding`/`behavior: url(`, read through CSS
//! comments and escapes (`expr/**/ession(`, `\0075\0072\006c\0028`), and a
//! `style` attribute that breaks out (`font-family:foo}color=red`, a
//! newline ending a CSS string). Adds `xss-css`.

use super::script_uris::ends_with_compact;
use super::{add, hex_value};
use crate::rules::{self, Rule};

/// CSS after a property's `:` at `colon`: `prop: expression(` /
/// `url(javascript:` / `-moz-binding:` / `behavior: url(`, read through CSS
/// comments and escapes (`expr/**/ession(`, `expression\28`,
/// `\0075\0072\006c\0028`).
pub(super) fn scan_css_declaration(text: &[u8], colon: usize, out: &mut Vec<&'static Rule>) {
    // Cheap gate: such a value starts with `e`, `u`, an escape or a comment.
    let first = text[colon + 1..].iter().find(|&&b| b > b' ');
    if !matches!(first, Some(b'e' | b'u' | b'\\' | b'/')) {
        return;
    }
    let mut buf = [0u8; CSS_VIEW];
    let (view, ended) = css_view(text, colon + 1, &mut buf);
    if view.starts_with(b"expression(") {
        add(out, &rules::XSS_CSS);
    }
    if let Some(url) = view.strip_prefix(b"url(") {
        let url = url
            .strip_prefix(b"'")
            .or_else(|| url.strip_prefix(b"\""))
            .unwrap_or(url);
        for scheme in [&b"javascript"[..], b"vbscript"] {
            if let Some(after) = url.strip_prefix(scheme)
                && (after.first() == Some(&b':') || (after.is_empty() && ended))
            {
                add(out, &rules::XSS_CSS);
            }
        }
    }
    if (ends_with_compact(text, colon, b"-moz-binding")
        || ends_with_compact(text, colon, b"behavior"))
        && view.starts_with(b"url")
    {
        add(out, &rules::XSS_CSS);
    }
}

/// A `style` value that loads something or escapes its declaration:
/// `url(`, IE `expression`/`behavior`, `-moz-binding`, CSS escapes,
/// comments, braces or brackets (`font-family:foo}color=red`).
pub(super) fn css_breaks_out(value: &[u8]) -> bool {
    let find = |p: &[u8]| crate::normalize::find(value, p).is_some();
    value
        .iter()
        .any(|&c| matches!(c, b'\\' | b'{' | b'}' | b'['))
        || find(b"url(")
        || find(b"expression")
        || find(b"behavio")
        || find(b"binding")
        || find(b"/*")
        || find(b"@import")
        || newline_in_css_string(value)
}

/// `font-family:'foo⏎;color:red'`: a newline ends a CSS string early, so
/// what follows becomes declarations.
fn newline_in_css_string(value: &[u8]) -> bool {
    let mut open: Option<u8> = None;
    for &b in value.iter().skip(1) {
        match (open, b) {
            (None, b'\'' | b'"') => open = Some(b),
            (Some(q), _) if b == q => open = None,
            (Some(_), b'\n' | b'\r' | 0x0c) => return true,
            _ => {}
        }
    }
    false
}

/// Bytes of a CSS value [`css_view`] keeps.
const CSS_VIEW: usize = 32;

/// The start of a CSS value from `from` with whitespace and `/*…*/`
/// comments dropped and `\hex` / `\c` escapes decoded (non-ASCII as `?`);
/// true when the input ended before the view filled up.
fn css_view<'b>(text: &[u8], from: usize, buf: &'b mut [u8; CSS_VIEW]) -> (&'b [u8], bool) {
    let limit = text.len().min(from.saturating_add(512));
    let mut at = from;
    let mut len = 0;
    while at < limit && len < CSS_VIEW {
        let b = text[at];
        if b <= b' ' {
            at += 1;
            continue;
        }
        if b == b'/' && text.get(at + 1) == Some(&b'*') {
            at = crate::normalize::find(&text[at + 2..limit], b"*/")
                .map_or(limit, |p| at + 2 + p + 2);
            continue;
        }
        let decoded = if b == b'\\' {
            let mut escape_end = at + 1;
            let mut code_point: u32 = 0;
            while escape_end < limit && escape_end < at + 7 && text[escape_end].is_ascii_hexdigit()
            {
                code_point = code_point << 4 | u32::from(hex_value(text[escape_end]));
                escape_end += 1;
            }
            if escape_end > at + 1 {
                if escape_end < limit && text[escape_end] <= b' ' {
                    escape_end += 1;
                }
                at = escape_end;
                u8::try_from(code_point)
                    .ok()
                    .filter(u8::is_ascii)
                    .unwrap_or(b'?')
            } else {
                at += 2;
                match text.get(at - 1) {
                    Some(&escaped) => escaped,
                    None => break,
                }
            }
        } else {
            at += 1;
            b
        };
        buf[len] = decoded.to_ascii_lowercase();
        len += 1;
    }
    (&buf[..len], at >= text.len())
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn css_that_runs_script() {
        assert_fires("<div style=\"width: expression(alert(1))\">", "xss-css");
        assert_fires("<p style=\"font-family:foo}color=red\">", "xss-css");
    }

    #[test]
    fn plain_styles() {
        assert_quiet("<p style=\"color: red; margin: 0 auto\">hi</p>", "xss-css");
        assert_quiet("margin: 0; url: https://example.com", "xss-css");
    }
}
