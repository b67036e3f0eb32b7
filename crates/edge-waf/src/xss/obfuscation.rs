//! Obfuscated JavaScript: a sink spelled across glued string literals
//! (`'ev'+'al'`), reached through brackets, comments or template
//! substitutions (`window["alert"]`, `document/**/.cookie`,
//! `` [].sort.call`${alert}1` ``), through a computed property of a window
//! object (`top[…](1)`), spelled with JS escapes (`al\u0065rt(1)`),
//! written in JSFuck (`[][(![]+[])…`), or run from a Netscape JavaScript
//! entity (`&{alert(1)};`). Adds `xss-js-obfuscated`.

use super::sinks::{SINKS, sink_before, sink_prop_at};
use super::{add, hex_value, is_letter};
use crate::rules::{self, Rule};

/// `Reflect.apply.call`…``: a function invoked as a tagged template.
pub(super) fn tagged_template_call(text: &[u8]) -> bool {
    text.contains(&b'`')
        && (crate::normalize::find(text, b".call`").is_some()
            || crate::normalize::find(text, b".apply`").is_some())
}

/// `=&{alert(1)};`: a Netscape JavaScript entity in an attribute.
pub(super) fn javascript_entity(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"&{").any(|p| {
        p > 0
            && matches!(text[p - 1], b'=' | b'"' | b'\'')
            && text[p + 2..].iter().take(64).any(|&c| c == b'}')
    })
}

/// JSFuck, computed window properties, escaped sink names, and sinks hidden
/// behind brackets, comments or a template substitution (`template`: the
/// value holds `${`).
pub(super) fn scan_hidden_sinks(text: &[u8], template: bool, out: &mut Vec<&'static Rule>) {
    let bracket = text.contains(&b'[');
    // Only `${`, `/*` or a quoted bracket access can hide a sink.
    let hiding = template
        || crate::normalize::find(text, b"/*").is_some()
        || (bracket
            && memchr::memchr_iter(b'[', text)
                .any(|i| matches!(text.get(i + 1), Some(b'"' | b'\'' | b' ' | b'/'))));
    if (bracket && (jsfuck(text) || computed_global_call(text)))
        || (text.contains(&b'\\') && js_escaped_sink(text))
        || (hiding && hidden_sink(text))
    {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
}

/// Globals through which a sink is reached by bracket access.
pub(super) const JS_GLOBALS: &[&[u8]] = &[
    b"window",
    b"self",
    b"top",
    b"parent",
    b"globalthis",
    b"this",
    b"frames",
    b"document",
    b"opener",
    b"parentwindow",
    b"contentwindow",
    b"defaultview",
];

/// `'java'+''+'scr'+'ipt'+':'+'ale'+'rt(1)'`, `0||'ev'+'al'||0`: a sink or
/// script URL spelled across string literals that script glues back
/// together. A run of three or more literals is joined in order; a match
/// must span two of them, and only JS punctuation, digits and assignments
/// may sit between.
pub(super) fn split_string_sink(text: &[u8]) -> bool {
    let mut joined = [0u8; 256];
    let mut len = 0;
    // Where each literal starts in `joined`.
    let mut starts = [0usize; 64];
    let mut literals = 0;
    let mut i = 0;
    let mut gap_start = 0;
    while i < text.len() && literals < starts.len() {
        let quote = text[i];
        if quote != b'\'' && quote != b'"' {
            i += 1;
            continue;
        }
        let Some(close) = memchr::memchr(quote, &text[i + 1..]).map(|p| i + 1 + p) else {
            break;
        };
        if literals > 0 && !js_gap(&text[gap_start..i]) {
            // A new run of literals starts here.
            literals = 0;
            len = 0;
        }
        let body = &text[i + 1..close];
        if len + body.len() > joined.len() {
            break;
        }
        starts[literals] = len;
        literals += 1;
        joined[len..len + body.len()].copy_from_slice(body);
        len += body.len();
        // Three literals at least: `'Al' + 'Ertugrul'` is a name.
        if literals >= 3 && spans_into_last(&joined[..len], starts[literals - 1]) {
            return true;
        }
        gap_start = close + 1;
        i = close + 1;
    }
    false
}

/// Sinks and script words that [`split_string_sink`] looks for.
const SPLIT_WORDS: &[&[u8]] = &[
    b"javascript:",
    b"eval",
    b"alert",
    b"prompt",
    b"confirm",
    b"unescape",
    b"fromcharcode",
    b"location",
    b"cookie",
    b"constructor",
];

/// What may sit between glued literals: JS punctuation, digits and
/// assignments (`;s2=`, `,m= 0 || `), never prose.
fn js_gap(gap: &[u8]) -> bool {
    let named = gap.iter().any(u8::is_ascii_alphabetic);
    gap.len() <= 24
        && (!named || gap.contains(&b'='))
        && gap
            .split(|&b| !b.is_ascii_alphabetic())
            .all(|word| word.len() <= 2)
        && gap
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+|?:,;=()[]_$ \t".contains(&b))
}

/// A split word in `joined` that ends in the newest literal (starting at
/// `last_start`) and starts before it.
fn spans_into_last(joined: &[u8], last_start: usize) -> bool {
    SPLIT_WORDS.iter().any(|word| {
        crate::normalize::find(joined, word)
            .is_some_and(|p| p < last_start && p + word.len() > last_start)
    })
}

/// `top[…](1)`, `self[/al/.source+/ert/.source](1)`: a computed property of
/// a window object called directly.
fn computed_global_call(text: &[u8]) -> bool {
    const WINDOWS: &[&[u8]] = &[
        b"window",
        b"self",
        b"top",
        b"parent",
        b"globalthis",
        b"frames",
        b"opener",
    ];
    memchr::memchr_iter(b'[', text).any(|i| {
        let head = text[..i].trim_ascii_end();
        let st = head
            .iter()
            .rposition(|&b| !is_letter(b))
            .map_or(0, |p| p + 1);
        let name = &head[st..];
        let this = name == b"this";
        if !(WINDOWS.contains(&name) || this) {
            return false;
        }
        // The matching `]` (JSFuck keys nest brackets), within 512 bytes.
        let mut depth = 0usize;
        let Some(close) = text[i..].iter().take(512).position(|&b| {
            match b {
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ => {}
            }
            depth == 0
        }) else {
            return false;
        };
        let key = &text[i + 1..i + close];
        // `this[key](…)` is everyday code; a literal or JSFuck key is not.
        let literal_key = key
            .iter()
            .any(|&b| matches!(b, b'\'' | b'"' | b'!' | b'/' | b'`'));
        let called = text[i + close + 1..].trim_ascii_start().first() == Some(&b'(');
        // `self["\x24"]`: an escaped name needs no call to be a probe.
        let escaped = !this
            && (crate::normalize::find(key, b"\\x").is_some()
                || crate::normalize::find(key, b"\\u").is_some());
        ((!this || literal_key) && called) || escaped
    })
}

/// `al\u0065rt(1)`, `\x61lert(1)`: a sink call spelled with JS escapes.
fn js_escaped_sink(text: &[u8]) -> bool {
    let mut d = Vec::with_capacity(text.len().min(4096));
    let mut i = 0;
    let mut changed = false;
    while i < text.len() && d.len() < 4096 {
        if text[i] == b'\\' {
            let hex = |from: usize, n: usize| {
                let h = text.get(from..from + n)?;
                h.iter().all(u8::is_ascii_hexdigit).then(|| {
                    h.iter()
                        .fold(0u32, |a, &c| a << 4 | u32::from(hex_value(c)))
                })
            };
            let (cp, len) = match text.get(i + 1) {
                Some(b'u') if text.get(i + 2) == Some(&b'{') => {
                    let close = text[i + 3..].iter().take(8).position(|&c| c == b'}');
                    close
                        .and_then(|p| hex(i + 3, p).map(|v| (v, p + 4)))
                        .unwrap_or((u32::MAX, 0))
                }
                Some(b'u') => hex(i + 2, 4).map_or((u32::MAX, 0), |v| (v, 6)),
                Some(b'x') => hex(i + 2, 2).map_or((u32::MAX, 0), |v| (v, 4)),
                _ => (u32::MAX, 0),
            };
            if let Some(c) = u8::try_from(cp).ok().filter(u8::is_ascii_alphabetic) {
                d.push(c.to_ascii_lowercase());
                i += len;
                changed = true;
                continue;
            }
        }
        d.push(text[i]);
        i += 1;
    }
    changed
        && d.iter()
            .enumerate()
            .any(|(i, &b)| matches!(b, b'(' | b'`') && i > 0 && sink_before(&d, i).is_some())
}

/// JSFuck: code spelled only with `[]()!+` (`+` may arrive as a space).
fn jsfuck(text: &[u8]) -> bool {
    if crate::normalize::find(text, b"![]").is_none() {
        return false;
    }
    let mut sym = 0usize;
    let mut other = 0usize;
    for &b in text {
        match b {
            b'[' | b']' | b'(' | b')' | b'!' | b'+' | b'{' | b'}' => sym += 1,
            0..=b' ' => {}
            _ => other += 1,
        }
    }
    sym >= 4 && other * 10 <= sym
}

/// `document/**/.cookie`, `window["alert"](…)`, `self[/*x*/"alert"]`,
/// `` [].sort.call`${alert}1` ``: the sink hidden from a plain reading.
fn hidden_sink(text: &[u8]) -> bool {
    let (compact, hidden) = compact_view(text);
    let word_at = |from: usize| {
        let end = compact[from..]
            .iter()
            .position(|&b| !is_letter(b))
            .map_or(compact.len(), |p| from + p);
        &compact[from..end]
    };
    let word_before = |end: usize| {
        let start = compact[..end]
            .iter()
            .rposition(|&b| !is_letter(b))
            .map_or(0, |p| p + 1);
        &compact[start..end]
    };
    // One pass over the compact view: `${alert}` (a sink passed as a
    // template substitution) and `window.alert` / `document.cookie` reached
    // through brackets or comments.
    (0..compact.len()).any(|i| match compact[i] {
        b'$' if compact.get(i + 1) == Some(&b'{') => {
            let word = word_at(i + 2);
            SINKS.contains(&word) && compact.get(i + 2 + word.len()) == Some(&b'}')
        }
        b'.' if hidden => {
            let object = word_before(i);
            let member = word_at(i + 1);
            (JS_GLOBALS.contains(&object) && SINKS.contains(&member)) || sink_prop_at(&compact, i)
        }
        _ => false,
    })
}

/// A compact view of `text`: no whitespace or block comments, `["x"]` read
/// as `.x`, `(document)` as `document`; and whether a comment or bracket
/// was read away (something was hidden).
fn compact_view(text: &[u8]) -> (Vec<u8>, bool) {
    let mut compact = Vec::with_capacity(text.len().min(4096));
    let mut i = 0;
    let mut hidden = false;
    while i < text.len() && compact.len() < 4096 {
        let b = text[i];
        if b <= b' ' {
            i += 1;
            continue;
        }
        if b == b'/' && text.get(i + 1) == Some(&b'*') {
            hidden = true;
            i = after_block_comment(text, i);
            continue;
        }
        if b == b'['
            && let Some((key, after)) = quoted_bracket_key(text, i)
        {
            compact.push(b'.');
            compact.extend_from_slice(key);
            hidden = true;
            i = after;
            continue;
        }
        // `(document)` reads as `document`.
        if b == b')'
            && text
                .get(i + 1)
                .is_some_and(|&next| next == b'[' || next == b'.')
        {
            i += 1;
            continue;
        }
        if b == b'('
            && text.get(i + 1).is_some_and(|&next| is_letter(next))
            && compact.last().is_none_or(|&last| !is_letter(last))
        {
            i += 1;
            continue;
        }
        compact.push(b);
        i += 1;
    }
    (compact, hidden)
}

/// Index after the `/*…*/` that opens at `open` (the end when unclosed).
fn after_block_comment(text: &[u8], open: usize) -> usize {
    crate::normalize::find(&text[open + 2..], b"*/").map_or(text.len(), |p| open + 2 + p + 2)
}

/// `["name"]` / `['name']` (comments and spaces allowed) at `open`: the
/// name and the index after `]`.
fn quoted_bracket_key(text: &[u8], open: usize) -> Option<(&[u8], usize)> {
    let mut at = open + 1;
    while at < text.len() && (text[at] <= b' ' || text[at] == b'/') {
        if text[at] == b'/' && text.get(at + 1) == Some(&b'*') {
            at = after_block_comment(text, at);
        } else if text[at] <= b' ' {
            at += 1;
        } else {
            break;
        }
    }
    let quote @ (b'"' | b'\'') = *text.get(at)? else {
        return None;
    };
    let len = text[at + 1..].iter().take(32).position(|&b| b == quote)?;
    let key = &text[at + 1..at + 1 + len];
    if !key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let mut close = at + 1 + len + 1;
    while close < text.len() && text[close] <= b' ' {
        close += 1;
    }
    (text.get(close) == Some(&b']')).then_some((key, close + 1))
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn sinks_hidden_behind_brackets_escapes_and_glue() {
        assert_fires("window[\"alert\"](1)", "xss-js-obfuscated");
        assert_fires("al\\u0065rt(1)", "xss-js-obfuscated");
        assert_fires(
            "'java'+''+'scr'+'ipt'+':'+'ale'+'rt(1)'",
            "xss-js-obfuscated",
        );
    }

    #[test]
    fn everyday_brackets_and_glued_strings() {
        for value in [
            "this[key](args)",
            "items['name'] = 'Al' + ' ' + 'Ertugrul'",
            "a[0] + b[1]",
        ] {
            assert_quiet(value, "xss-js-obfuscated");
        }
    }
}
