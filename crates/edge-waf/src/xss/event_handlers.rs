//! Event handlers injected outside a parsed tag: after a quote break out
//! of an attribute value (`" onmouseover=alert(1)`, `"onfocus=x
//! autofocus`), and a `formaction` attribute injected the same way. (Handlers
//! inside a tag are read by [`super::attributes`].) Adds
//! `xss-event-handler`.

use super::is_letter;

/// `'formaction=`: a form-submission URL injected after a quote break.
pub(super) fn injected_formaction(text: &[u8]) -> bool {
    crate::normalize::find(text, b"formaction").is_some_and(|at| {
        preceded_by_quote(text, at) && text[at + 10..].trim_ascii_start().first() == Some(&b'=')
    })
}

/// Event handlers outside a tag: `" onmouseover=alert(1)`. A separate SIMD
/// search, so the other scans do not stop at every `o` of prose.
pub(super) fn handler_outside_tag(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"on")
        .any(|at| (at == 0 || !text[at - 1].is_ascii_alphanumeric()) && loose_handler(text, at))
}

/// If `on<letters>` at `i` is followed by `=`, returns the index of `=`.
fn event_attr(text: &[u8], i: usize) -> Option<usize> {
    let mut at = i + 2;
    while at < text.len() && is_letter(text[at]) {
        at += 1;
    }
    let len = at - i - 2;
    if !(3..=48).contains(&len) {
        return None;
    }
    while at < text.len() && text[at] <= b' ' {
        at += 1;
    }
    (text.get(at) == Some(&b'=') && text.get(at + 1) != Some(&b'=')).then_some(at)
}

/// An `on…=` handler at `i` outside any tag: with a JS-looking value, or
/// after a quote break with any value.
fn loose_handler(text: &[u8], i: usize) -> bool {
    let Some(e) = event_attr(text, i) else {
        return false;
    };
    let js_value = text[e..].iter().take(48).any(|&c| matches!(c, b'(' | b'`'));
    // After a quote break any value is a handler: `" onerror=x`.
    let value = text[e + 1..].iter().find(|&&c| c > b' ');
    // `"onzoom=` at the end is the same injection, value pending.
    let broke = (preceded_by_break(text, i) || after_attribute_run(text, i))
        && (value.is_some() || preceded_by_quote(text, i))
        && value.is_none_or(|&c| c.is_ascii_alphanumeric() || c == b'\'' || c == b'"');
    (js_value && (i == 0 || text[i - 1] <= b' ' || preceded_by_break(text, i))) || broke
}

/// `" type=image src=null onerror=x`: after a quote break, other attributes
/// and then this one.
fn after_attribute_run(text: &[u8], i: usize) -> bool {
    let mut at = i;
    let mut eqs = 0;
    while at > 0 && i - at < 96 {
        let b = text[at - 1];
        match b {
            b'"' | b'\'' | b'`' => return eqs > 0,
            b'=' => eqs += 1,
            b'a'..=b'z' | b'0'..=b'9' | b' ' | b'\t' | b'_' | b'-' | b'/' | b':' | b'.' => {}
            _ => return false,
        }
        at -= 1;
    }
    false
}

/// An attribute right after a quote (`"onzoom=`).
fn preceded_by_quote(text: &[u8], i: usize) -> bool {
    let mut at = i;
    while at > 0 && text[at - 1] <= b' ' {
        at -= 1;
    }
    at > 0 && matches!(text[at - 1], b'"' | b'\'' | b'`')
}

/// An attribute injected after breaking out of a quoted value or with `/`.
fn preceded_by_break(text: &[u8], i: usize) -> bool {
    let mut at = i;
    while at > 0 && text[at - 1] <= b' ' {
        at -= 1;
    }
    at > 0 && matches!(text[at - 1], b'"' | b'\'' | b'`' | b'/' | b';')
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_handler_after_a_quote_break() {
        assert_fires("\" onmouseover=alert(1) x=\"", "xss-event-handler");
        assert_fires("'formaction=//evil.example", "xss-event-handler");
    }

    #[test]
    fn words_starting_with_on() {
        for value in ["onion = 3 per pack", "turn it on = off", "online=yes"] {
            assert_quiet(value, "xss-event-handler");
        }
    }
}
