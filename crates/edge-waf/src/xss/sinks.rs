//! JavaScript sinks: a call of a function that runs or shows a string
//! (`alert(1)`, `eval(…)`, `setTimeout(…)`, `new Function(…)`), a sink
//! property (`document.cookie`, `.innerHTML`), a sink passed around as a
//! value (`[1].find(alert)`) or assigned to a name that is then called
//! (`a=prompt,a(1)`), and script modules loaded with `import`. A sink call
//! after a string break (`';alert(1)//`) is the injection itself. Adds
//! `xss-js-call` and `xss-js-break`.

use super::obfuscation::JS_GLOBALS;
use super::{add, is_letter};
use crate::rules::{self, Rule};

/// Sink calls (`alert(`, `` alert`1` ``), and whether a string break
/// (a quote then JS punctuation, or the template substitution at
/// `template`) comes before them; then sink properties.
pub(super) fn scan_sink_calls(text: &[u8], template: Option<usize>, out: &mut Vec<&'static Rule>) {
    let first_break = match (first_quote_break(text), template) {
        (Some(quote), Some(template)) => Some(quote.min(template)),
        (quote, template) => quote.or(template),
    };
    for i in memchr::memchr2_iter(b'(', b'`', text) {
        if i == 0 {
            continue;
        }
        // A backtick invokes a sink as a tagged template (`` alert`1` ``),
        // unless it closes Markdown inline code (`` `window.alert` ``).
        if text[i] == b'`' && text.get(i + 1).is_none_or(|&c| c <= b' ') {
            continue;
        }
        if let Some(sink_start) = sink_before(text, i) {
            add(out, &rules::XSS_JS_CALL);
            if first_break.is_some_and(|at| at < sink_start) {
                add(out, &rules::XSS_JS_BREAK);
            }
        }
    }
    if sink_prop(text) {
        add(out, &rules::XSS_JS_CALL);
    }
}

/// The first string break: a quote followed by JS punctuation.
fn first_quote_break(text: &[u8]) -> Option<usize> {
    memchr::memchr3_iter(b'\'', b'"', b'`', text).find(|&i| {
        let next = i + 1 + text[i + 1..].iter().take_while(|&&b| b <= b' ').count();
        text.get(next).is_some_and(|&b| {
            matches!(
                b,
                b';' | b'+' | b'-' | b'*' | b'|' | b'&' | b')' | b'}' | b']' | b',' | b'/' | b'>'
            )
        })
    })
}

pub(super) const SINKS: &[&[u8]] = &[
    b"alert",
    b"prompt",
    b"confirm",
    b"eval",
    b"settimeout",
    b"setinterval",
    b"fromcharcode",
    b"execscript",
    b"constructor",
    b"writeln",
    b"atob",
    b"btoa",
];

/// Sinks that run or show a string when called with it: what an injected
/// alias or callback points at.
pub(super) const PLAIN_SINKS: &[&[u8]] = &[b"alert", b"prompt", b"confirm", b"eval"];

pub(super) const SINK_PROPS: &[&[u8]] = &[
    b"document.cookie",
    b"document.domain",
    b"document.location",
    b"window.location",
    b"location.href",
    b".innerhtml",
    b".outerhtml",
    b"location.hash",
    b"window.name",
    b"document.write",
    b".parentnode",
    b".appendchild",
    b"document.createelement",
    b"document.queryselector",
];

/// A JS sink name ending right before `(` or a backtick at `i` (spaces allowed).
pub(super) fn sink_before(text: &[u8], i: usize) -> Option<usize> {
    let mut start = i;
    while start > 0 && is_letter(text[start - 1]) {
        start -= 1;
    }
    let word = &text[start..i];
    if word == b"function" || word == b"activexobject" {
        // `new Function(…)` compiles a string.
        let head = text[..start].trim_ascii_end();
        return (head.ends_with(b"new") && start > head.len()).then_some(start);
    }
    // `eval.call(this, …)`, `alert.apply(…)`: the sink invoked through
    // Function.prototype.
    if matches!(word, b"call" | b"apply") && start > 0 && text[start - 1] == b'.' {
        let mut object_start = start - 1;
        while object_start > 0 && is_letter(text[object_start - 1]) {
            object_start -= 1;
        }
        let sink = &text[object_start..start - 1];
        let clean = object_start == 0
            || !(text[object_start - 1].is_ascii_alphanumeric()
                || text[object_start - 1] == b'_'
                || text[object_start - 1] == b'.');
        return (clean
            && (PLAIN_SINKS.contains(&sink) || sink == b"settimeout" || sink == b"setinterval"))
            .then_some(object_start);
    }
    if !SINKS.contains(&word) {
        return None;
    }
    match start.checked_sub(1).map(|p| text[p]) {
        // `1alert(` or `my_eval(` is another identifier.
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => None,
        // `obj.eval(` is a method; `window.eval(` / `top.alert(` is the global.
        Some(b'.') => {
            let mut object_start = start - 1;
            while object_start > 0 && is_letter(text[object_start - 1]) {
                object_start -= 1;
            }
            // `[].constructor.constructor(…)`: the Function constructor.
            let function_ctor =
                word == b"constructor" && &text[object_start..start - 1] == b"constructor";
            (JS_GLOBALS.contains(&&text[object_start..start - 1]) || function_ctor)
                .then_some(object_start)
        }
        _ => Some(start),
    }
}

/// One pass over the dots of `s`, checking each sink property around it.
fn sink_prop(text: &[u8]) -> bool {
    text.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'.')
        .any(|(i, _)| sink_prop_at(text, i))
}

/// A sink property whose dot is at `i`.
pub(super) fn sink_prop_at(text: &[u8], i: usize) -> bool {
    SINK_PROPS.iter().any(|p| {
        let d = p.iter().position(|&b| b == b'.').unwrap_or(0);
        i.checked_sub(d)
            .and_then(|st| text.get(st..st + p.len()))
            .is_some_and(|w| w == *p)
    })
}

/// `(alert)(1)`, `[1].find(alert)`, `setTimeout(alert)`: a sink function
/// passed around as a value and called indirectly.
pub(super) fn sink_as_value(text: &[u8]) -> bool {
    const CALLERS: &[&[u8]] = &[
        b".find",
        b".findindex",
        b".findlast",
        b".flatmap",
        b".map",
        b".foreach",
        b".filter",
        b".some",
        b".every",
        b".call",
        b".apply",
        b"settimeout",
        b"setinterval",
        b".then",
        b".sort",
        b".reduce",
    ];
    memchr::memchr_iter(b'(', text).any(|p| {
        let rest = &text[p + 1..];
        let Some(sink) = PLAIN_SINKS.iter().find(|w| rest.starts_with(w)) else {
            return false;
        };
        if rest.get(sink.len()) != Some(&b')') {
            return false;
        }
        // `(alert)(1)`, `(((confirm)))```
        let close = rest[sink.len()..]
            .iter()
            .take_while(|&&b| b == b')')
            .count();
        let called = matches!(rest.get(sink.len() + close), Some(b'(' | b'`'));
        let head = &text[..p];
        called || CALLERS.iter().any(|c| head.ends_with(c))
    })
}

/// `a=prompt,a(1)`, `$=alert</script>`: a sink function assigned to a name
/// that is then called, or handed to a script that ends right there.
pub(super) fn sink_alias(text: &[u8]) -> bool {
    for eq in memchr::memchr_iter(b'=', text) {
        let value = eq + 1 + text[eq + 1..].iter().take_while(|&&b| b <= b' ').count();
        let Some(sink) = PLAIN_SINKS
            .iter()
            .find(|sink| text[value..].starts_with(sink))
        else {
            continue;
        };
        let sink_end = value + sink.len();
        if text
            .get(sink_end)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            continue;
        }
        let before_eq = &text[..eq];
        if before_eq.ends_with(b"=") || before_eq.ends_with(b"!") {
            continue; // `==alert`, `!=alert` compare
        }
        let before_eq = before_eq.trim_ascii_end();
        let name_len = before_eq
            .iter()
            .rev()
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
            .count();
        if name_len == 0 {
            continue;
        }
        let name = &before_eq[before_eq.len() - name_len..];
        let tail = &text[sink_end..];
        if tail.trim_ascii_start().starts_with(b"</script") {
            return true;
        }
        let called = memchr::memmem::find_iter(tail, name).any(|at| {
            let boundary = at == 0 || !tail[at - 1].is_ascii_alphanumeric();
            boundary && matches!(tail.get(at + name.len()), Some(b'(' | b'`'))
        });
        if called {
            return true;
        }
    }
    false
}

/// `import { a } from "./x.js"`, `import x from '//evil/x.js'`,
/// `import('//evil/x.js')`: loading a script module.
pub(super) fn js_import(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"import").any(|p| {
        if p > 0
            && (text[p - 1].is_ascii_alphanumeric() || text[p - 1] == b'_' || text[p - 1] == b'.')
        {
            return false;
        }
        let rest = text[p + 6..].trim_ascii_start();
        match rest.first() {
            Some(b'(') => matches!(
                rest[1..].trim_ascii_start().first(),
                Some(b'\'' | b'"' | b'`')
            ),
            Some(b'{' | b'*') | Some(b'a'..=b'z') if rest.len() < 256 => {
                // `… from "x"` with the module path right after.
                crate::normalize::find(rest, b" from ").is_some_and(|f| {
                    let head = &rest[..f];
                    let clause = head.first() != Some(&b'{') || head.contains(&b'}');
                    let words = head.split(|&b| b == b' ').filter(|w| !w.is_empty()).count();
                    let path = rest[f + 6..].trim_ascii_start();
                    let module = path.len() > 1
                        && matches!(path[0], b'\'' | b'"')
                        && (matches!(path[1], b'.' | b'/')
                            || path[1..].starts_with(b"http")
                            || crate::normalize::find(&path[..path.len().min(128)], b".js")
                                .is_some());
                    clause && words <= 8 && module
                })
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::xss::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_sink_call_after_a_string_break() {
        assert_fires("';alert(1)//", "xss-js-call");
        assert_fires("';alert(1)//", "xss-js-break");
        assert_fires("a=prompt,a(1)", "xss-js-call");
    }

    #[test]
    fn sink_words_in_prose_and_other_identifiers() {
        for value in [
            "please alert the team",
            "my_eval(x) returns",
            "obj.eval(code)",
        ] {
            assert_quiet(value, "xss-js-call");
            assert_quiet(value, "xss-js-break");
        }
    }
}
