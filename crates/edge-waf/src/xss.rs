//! XSS detection with a small HTML/JS scanner over normalised bytes.
//!
//! Tags are parsed (`<name attr=value ...`), so `a < b`, `<3` and `<b>` are
//! text; event-handler attributes, script-capable URIs and JS sinks reached
//! through a string break are what count.

use super::rules::{self, Rule};

const DANGEROUS_TAGS: &[&[u8]] = &[
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
const SINKS: &[&[u8]] = &[
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
const PLAIN_SINKS: &[&[u8]] = &[b"alert", b"prompt", b"confirm", b"eval"];
const SINK_PROPS: &[&[u8]] = &[
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

fn add(out: &mut Vec<&'static Rule>, r: &'static Rule) {
    if !out.iter().any(|x| x.id == r.id) {
        out.push(r);
    }
}

fn alpha(b: u8) -> bool {
    b.is_ascii_lowercase()
}

/// Appends the XSS rules matched by normalised `s` to `out`.
pub(crate) fn detect(s: &[u8], out: &mut Vec<&'static Rule>) {
    // Each byte class in its own SIMD pass (memchr), so prose costs little.
    for i in memchr::memchr_iter(b'<', s) {
        scan_tag(s, i + 1, out);
    }
    for i in memchr::memchr_iter(b':', s) {
        scan_colon(s, i, out);
    }
    // The first string break: a quote followed by JS punctuation, or `${`.
    let quote_break = memchr::memchr3_iter(b'\'', b'"', b'`', s).find(|&i| {
        let k = i + 1 + s[i + 1..].iter().take_while(|&&b| b <= b' ').count();
        s.get(k).is_some_and(|&b| {
            matches!(
                b,
                b';' | b'+' | b'-' | b'*' | b'|' | b'&' | b')' | b'}' | b']' | b',' | b'/' | b'>'
            )
        })
    });
    let template = super::normalize::find(s, b"${");
    let first_break = match (quote_break, template) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    for i in memchr::memchr2_iter(b'(', b'`', s) {
        if i == 0 {
            continue;
        }
        // A backtick invokes a sink as a tagged template (`` alert`1` ``),
        // unless it closes Markdown inline code (`` `window.alert` ``).
        if s[i] == b'`' && s.get(i + 1).is_none_or(|&c| c <= b' ') {
            continue;
        }
        if let Some(sink_start) = sink_before(s, i) {
            add(out, &rules::XSS_JS_CALL);
            if first_break.is_some_and(|b| b < sink_start) {
                add(out, &rules::XSS_JS_BREAK);
            }
        }
    }
    if sink_prop(s) {
        add(out, &rules::XSS_JS_CALL);
    }
    // `¼script¾` (0xbc/0xbe): US-ASCII pages drop the high bit, so these
    // are `<script>`; also written as `\xbc` escapes or UTF-8 `c2 bc`.
    if (s.contains(&0xbc) || super::normalize::find(s, b"\\xbc").is_some())
        && memchr::memmem::find_iter(s, b"script").any(|p| {
            let head = &s[..p];
            head.ends_with(&[0xbc]) || head.ends_with(b"\\xbc")
        })
    {
        add(out, &rules::XSS_SCRIPT);
    }
    // `¼test¾…¼/test¾`: any element written that way.
    if (s.contains(&0xbe) || super::normalize::find(s, b"\\xbe").is_some()) && high_bit_tag(s) {
        add(out, &rules::XSS_TAG);
    }
    // `Reflect.apply.call`…``: a function invoked as a tagged template.
    if s.contains(&b'`')
        && (super::normalize::find(s, b".call`").is_some()
            || super::normalize::find(s, b".apply`").is_some())
    {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    if context_break(s) {
        add(out, &rules::XSS_CONTEXT_BREAK);
    }
    if js_import(s) || sink_as_value(s) {
        add(out, &rules::XSS_JS_CALL);
    }
    if s.contains(&b'=') && sink_alias(s) {
        add(out, &rules::XSS_JS_CALL);
    }
    if split_string_sink(s) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    // `=&{alert(1)};`: a Netscape JavaScript entity in an attribute.
    if memchr::memmem::find_iter(s, b"&{").any(|p| {
        p > 0
            && matches!(s[p - 1], b'=' | b'"' | b'\'')
            && s[p + 2..].iter().take(64).any(|&c| c == b'}')
    }) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    // `'formaction=`: a form-submission URL injected after a quote break.
    if let Some(p) = super::normalize::find(s, b"formaction")
        && preceded_by_quote(s, p)
        && s[p + 10..].trim_ascii_start().first() == Some(&b'=')
    {
        add(out, &rules::XSS_EVENT);
    }
    // Event handlers outside a tag: `" onmouseover=alert(1)`. A separate
    // SIMD search, so the main loop does not stop at every `o` of prose.
    for i in memchr::memmem::find_iter(s, b"on") {
        if (i == 0 || !s[i - 1].is_ascii_alphanumeric()) && loose_handler(s, i) {
            add(out, &rules::XSS_EVENT);
            break;
        }
    }
    let bracket = s.contains(&b'[');
    if bracket && (jsfuck(s) || computed_global_call(s)) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    if s.contains(&b'\\') && js_escaped_sink(s) {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
    // Only `${`, `/*` or a quoted bracket access can hide a sink.
    // (`template` above already located any `${`.)
    let hiding = template.is_some()
        || super::normalize::find(s, b"/*").is_some()
        || (bracket
            && memchr::memchr_iter(b'[', s)
                .any(|i| matches!(s.get(i + 1), Some(b'"' | b'\'' | b' ' | b'/'))));
    if hiding {
        js_obfuscated(s, out);
    }
}

/// `<f o r m`, `<s c r i p t`: an active element's name spelled out with
/// spaces, which filters that strip whitespace put back together.
fn spaced_tag(s: &[u8], start: usize) -> bool {
    let mut name = [0u8; 16];
    let mut len = 0;
    let mut k = start;
    while len < name.len() && s.get(k).is_some_and(|&b| alpha(b)) {
        if s.get(k + 1).is_some_and(|&b| alpha(b)) {
            return false; // a word, not spelled-out letters
        }
        name[len] = s[k];
        len += 1;
        k += 1;
        if s.get(k) != Some(&b' ') {
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
fn high_bit_tag(s: &[u8]) -> bool {
    let open = |i: usize| -> Option<usize> {
        if s[i] == 0xbc {
            Some(i + 1)
        } else if s[i..].starts_with(b"\\xbc") {
            Some(i + 4)
        } else {
            None
        }
    };
    (0..s.len()).filter_map(open).any(|a| {
        let a = a + usize::from(s.get(a) == Some(&b'/'));
        let w = s[a..].iter().take_while(|&&c| alpha(c)).count();
        w > 0 && (s.get(a + w) == Some(&0xbe) || s[a + w..].starts_with(b"\\xbe"))
    })
}

/// `(alert)(1)`, `[1].find(alert)`, `setTimeout(alert)`: a sink function
/// passed around as a value and called indirectly.
fn sink_as_value(s: &[u8]) -> bool {
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
    memchr::memchr_iter(b'(', s).any(|p| {
        let rest = &s[p + 1..];
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
        let head = &s[..p];
        called || CALLERS.iter().any(|c| head.ends_with(c))
    })
}

/// `'java'+''+'scr'+'ipt'+':'+'ale'+'rt(1)'`, `0||'ev'+'al'||0`: a sink or
/// script URL spelled across string literals that script glues back
/// together. A run of three or more literals is joined in order; a match
/// must span two of them, and only JS punctuation, digits and assignments
/// may sit between.
fn split_string_sink(s: &[u8]) -> bool {
    const SPLIT: &[&[u8]] = &[
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
    let mut joined = [0u8; 256];
    let mut len = 0;
    // Where each literal starts in `joined`.
    let mut starts = [0usize; 64];
    let mut literals = 0;
    let mut i = 0;
    let mut gap_start = 0;
    while i < s.len() && literals < starts.len() {
        let q = s[i];
        if q != b'\'' && q != b'"' {
            i += 1;
            continue;
        }
        let Some(close) = memchr::memchr(q, &s[i + 1..]).map(|p| i + 1 + p) else {
            break;
        };
        let gap = &s[gap_start..i];
        // Names only as assignments (`;s2=`, `,m= 0 || `), never prose.
        let named = gap.iter().any(u8::is_ascii_alphabetic);
        let js_gap = gap.len() <= 24
            && (!named || gap.contains(&b'='))
            && gap
                .split(|&b| !b.is_ascii_alphabetic())
                .all(|w| w.len() <= 2)
            && gap
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+|?:,;=()[]_$ \t".contains(&b));
        if literals > 0 && !js_gap {
            // A new run of literals starts here.
            literals = 0;
            len = 0;
        }
        let body = &s[i + 1..close];
        if len + body.len() > joined.len() {
            break;
        }
        starts[literals] = len;
        literals += 1;
        joined[len..len + body.len()].copy_from_slice(body);
        len += body.len();
        // Three literals at least: `'Al' + 'Ertugrul'` is a name.
        if literals >= 3 {
            let j = &joined[..len];
            let first_of_last = starts[literals - 1];
            // Only a match ending in the newest literal and starting before it.
            for w in SPLIT {
                if let Some(p) = super::normalize::find(j, w)
                    && p < first_of_last
                    && p + w.len() > first_of_last
                {
                    return true;
                }
            }
        }
        gap_start = close + 1;
        i = close + 1;
    }
    false
}

/// `import { a } from "./x.js"`, `import x from '//evil/x.js'`,
/// `import('//evil/x.js')`: loading a script module.
fn js_import(s: &[u8]) -> bool {
    memchr::memmem::find_iter(s, b"import").any(|p| {
        if p > 0 && (s[p - 1].is_ascii_alphanumeric() || s[p - 1] == b'_' || s[p - 1] == b'.') {
            return false;
        }
        let rest = s[p + 6..].trim_ascii_start();
        match rest.first() {
            Some(b'(') => matches!(
                rest[1..].trim_ascii_start().first(),
                Some(b'\'' | b'"' | b'`')
            ),
            Some(b'{' | b'*') | Some(b'a'..=b'z') if rest.len() < 256 => {
                // `… from "x"` with the module path right after.
                super::normalize::find(rest, b" from ").is_some_and(|f| {
                    let head = &rest[..f];
                    let clause = head.first() != Some(&b'{') || head.contains(&b'}');
                    let words = head.split(|&b| b == b' ').filter(|w| !w.is_empty()).count();
                    let path = rest[f + 6..].trim_ascii_start();
                    let module = path.len() > 1
                        && matches!(path[0], b'\'' | b'"')
                        && (matches!(path[1], b'.' | b'/')
                            || path[1..].starts_with(b"http")
                            || super::normalize::find(&path[..path.len().min(128)], b".js")
                                .is_some());
                    clause && words <= 8 && module
                })
            }
            _ => false,
        }
    })
}

/// Elements whose content is raw text: markup inside them is inert until
/// their closing tag, which is what an injection into them sends first.
const RAW_TEXT: &[&[u8]] = &[
    b"title",
    b"textarea",
    b"script",
    b"style",
    b"noscript",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
];

/// New markup after leaving the raw-text element the value lands in:
/// `</title><img src=x>`, `</style/</title/</textarea/</script/--!>`.
/// (`"><b>` alone is not counted: pasted HTML fragments look the same.)
fn context_break(s: &[u8]) -> bool {
    let tag_at = |p: usize| {
        s.get(p + 1)
            .is_some_and(|&c| alpha(c) || (c == b'/' && s.get(p + 2).is_some_and(|&d| alpha(d))))
    };
    // Closing raw-text tags: two in a row, or one followed by a new tag.
    let mut closed = 0;
    for p in memchr::memchr_iter(b'<', s) {
        if s.get(p + 1) != Some(&b'/') {
            if closed > 0 && tag_at(p) {
                return true;
            }
            continue;
        }
        let name = &s[p + 2..];
        let w = name.iter().take_while(|&&c| alpha(c)).count();
        let end = name.get(w);
        // `</script>`, `';</script>`: ending the script block the value is
        // echoed into, from its first byte (not prose about the tag).
        if &name[..w] == b"script"
            && matches!(end, None | Some(b'>' | b'/' | b' '))
            && s[..p]
                .iter()
                .all(|&c| c <= b' ' || b"'\";)}]*/-".contains(&c))
        {
            return true;
        }
        if RAW_TEXT.contains(&&name[..w]) && matches!(end, Some(b'>' | b'/' | b' ')) {
            closed += 1;
            if closed >= 2 {
                return true;
            }
        }
    }
    false
}

/// `a=prompt,a(1)`, `$=alert</script>`: a sink function assigned to a name
/// that is then called, or handed to a script that ends right there.
fn sink_alias(s: &[u8]) -> bool {
    for eq in memchr::memchr_iter(b'=', s) {
        let p = eq + 1 + s[eq + 1..].iter().take_while(|&&b| b <= b' ').count();
        let Some(sink) = PLAIN_SINKS.iter().find(|w| s[p..].starts_with(w)) else {
            continue;
        };
        let e = p + sink.len();
        if s.get(e)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            continue;
        }
        let before_eq = &s[..eq];
        if before_eq.ends_with(b"=") || before_eq.ends_with(b"!") {
            continue; // `==alert`, `!=alert` compare
        }
        let before_eq = before_eq.trim_ascii_end();
        let v = before_eq
            .iter()
            .rev()
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
            .count();
        if v == 0 {
            continue;
        }
        let name = &before_eq[before_eq.len() - v..];
        let tail = &s[e..];
        if tail.trim_ascii_start().starts_with(b"</script") {
            return true;
        }
        let called = memchr::memmem::find_iter(tail, name).any(|q| {
            let boundary = q == 0 || !tail[q - 1].is_ascii_alphanumeric();
            boundary && matches!(tail.get(q + name.len()), Some(b'(' | b'`'))
        });
        if called {
            return true;
        }
    }
    false
}

/// `top[…](1)`, `self[/al/.source+/ert/.source](1)`: a computed property of
/// a window object called directly.
fn computed_global_call(s: &[u8]) -> bool {
    const WINDOWS: &[&[u8]] = &[
        b"window",
        b"self",
        b"top",
        b"parent",
        b"globalthis",
        b"frames",
        b"opener",
    ];
    memchr::memchr_iter(b'[', s).any(|i| {
        let head = s[..i].trim_ascii_end();
        let st = head.iter().rposition(|&b| !alpha(b)).map_or(0, |p| p + 1);
        let name = &head[st..];
        let this = name == b"this";
        if !(WINDOWS.contains(&name) || this) {
            return false;
        }
        // The matching `]` (JSFuck keys nest brackets), within 512 bytes.
        let mut depth = 0usize;
        let Some(close) = s[i..].iter().take(512).position(|&b| {
            match b {
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ => {}
            }
            depth == 0
        }) else {
            return false;
        };
        let key = &s[i + 1..i + close];
        // `this[key](…)` is everyday code; a literal or JSFuck key is not.
        let literal_key = key
            .iter()
            .any(|&b| matches!(b, b'\'' | b'"' | b'!' | b'/' | b'`'));
        let called = s[i + close + 1..].trim_ascii_start().first() == Some(&b'(');
        // `self["\x24"]`: an escaped name needs no call to be a probe.
        let escaped = !this
            && (super::normalize::find(key, b"\\x").is_some()
                || super::normalize::find(key, b"\\u").is_some());
        ((!this || literal_key) && called) || escaped
    })
}

/// `al\u0065rt(1)`, `\x61lert(1)`: a sink call spelled with JS escapes.
fn js_escaped_sink(s: &[u8]) -> bool {
    let mut d = Vec::with_capacity(s.len().min(4096));
    let mut i = 0;
    let mut changed = false;
    while i < s.len() && d.len() < 4096 {
        if s[i] == b'\\' {
            let hex = |from: usize, n: usize| {
                let h = s.get(from..from + n)?;
                h.iter()
                    .all(u8::is_ascii_hexdigit)
                    .then(|| h.iter().fold(0u32, |a, &c| a << 4 | u32::from(hex_val(c))))
            };
            let (cp, len) = match s.get(i + 1) {
                Some(b'u') if s.get(i + 2) == Some(&b'{') => {
                    let close = s[i + 3..].iter().take(8).position(|&c| c == b'}');
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
        d.push(s[i]);
        i += 1;
    }
    changed
        && d.iter()
            .enumerate()
            .any(|(i, &b)| matches!(b, b'(' | b'`') && i > 0 && sink_before(&d, i).is_some())
}

/// JSFuck: code spelled only with `[]()!+` (`+` may arrive as a space).
fn jsfuck(s: &[u8]) -> bool {
    if super::normalize::find(s, b"![]").is_none() {
        return false;
    }
    let mut sym = 0usize;
    let mut other = 0usize;
    for &b in s {
        match b {
            b'[' | b']' | b'(' | b')' | b'!' | b'+' | b'{' | b'}' => sym += 1,
            0..=b' ' => {}
            _ => other += 1,
        }
    }
    sym >= 4 && other * 10 <= sym
}

/// Globals through which a sink is reached by bracket access.
const JS_GLOBALS: &[&[u8]] = &[
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

/// `document/**/.cookie`, `window["alert"](…)`, `self[/*x*/"alert"]`,
/// `` [].sort.call`${alert}1` ``: the sink hidden from a plain reading.
fn js_obfuscated(s: &[u8], out: &mut Vec<&'static Rule>) {
    // A compact view: no whitespace or block comments, `["x"]` read as `.x`.
    let mut c = Vec::with_capacity(s.len().min(4096));
    let mut i = 0;
    let mut hidden = false;
    while i < s.len() && c.len() < 4096 {
        let b = s[i];
        if b <= b' ' {
            i += 1;
            continue;
        }
        if b == b'/' && s.get(i + 1) == Some(&b'*') {
            hidden = true;
            i = super::normalize::find(&s[i + 2..], b"*/").map_or(s.len(), |p| i + 2 + p + 2);
            continue;
        }
        if b == b'[' {
            // `["name"]` / `['name']` → `.name`
            let mut k = i + 1;
            while k < s.len() && (s[k] <= b' ' || s[k] == b'/') {
                if s[k] == b'/' && s.get(k + 1) == Some(&b'*') {
                    k = super::normalize::find(&s[k + 2..], b"*/")
                        .map_or(s.len(), |p| k + 2 + p + 2);
                } else if s[k] <= b' ' {
                    k += 1;
                } else {
                    break;
                }
            }
            if let Some(&q @ (b'"' | b'\'')) = s.get(k)
                && let Some(len) = s[k + 1..].iter().take(32).position(|&x| x == q)
                && s[k + 1..k + 1 + len]
                    .iter()
                    .all(|&x| x.is_ascii_alphanumeric() || x == b'_')
            {
                let mut e = k + 1 + len + 1;
                while e < s.len() && s[e] <= b' ' {
                    e += 1;
                }
                if s.get(e) == Some(&b']') {
                    c.push(b'.');
                    c.extend_from_slice(&s[k + 1..k + 1 + len]);
                    hidden = true;
                    i = e + 1;
                    continue;
                }
            }
        }
        // `(document)` reads as `document`.
        if b == b')' && s.get(i + 1).is_some_and(|&n| n == b'[' || n == b'.') {
            i += 1;
            continue;
        }
        if b == b'('
            && s.get(i + 1).is_some_and(|&n| alpha(n))
            && c.last().is_none_or(|&l| !alpha(l))
        {
            i += 1;
            continue;
        }
        c.push(b);
        i += 1;
    }
    let word_at = |from: usize| {
        let e = c[from..]
            .iter()
            .position(|&b| !alpha(b))
            .map_or(c.len(), |p| from + p);
        &c[from..e]
    };
    let word_before = |end: usize| {
        let st = c[..end]
            .iter()
            .rposition(|&b| !alpha(b))
            .map_or(0, |p| p + 1);
        &c[st..end]
    };
    // One pass over the compact view: `${alert}` (a sink passed as a
    // template substitution) and `window.alert` / `document.cookie` reached
    // through brackets or comments.
    let found = (0..c.len()).any(|i| match c[i] {
        b'$' if c.get(i + 1) == Some(&b'{') => {
            let w = word_at(i + 2);
            SINKS.contains(&w) && c.get(i + 2 + w.len()) == Some(&b'}')
        }
        b'.' if hidden => {
            let g = word_before(i);
            let w = word_at(i + 1);
            (JS_GLOBALS.contains(&g) && SINKS.contains(&w)) || sink_prop_at(&c, i)
        }
        _ => false,
    });
    if found {
        add(out, &rules::XSS_JS_OBFUSCATED);
    }
}

/// A JS sink name ending right before `(` or a backtick at `i` (spaces allowed).
fn sink_before(s: &[u8], i: usize) -> Option<usize> {
    let e = i;
    let mut st = e;
    while st > 0 && alpha(s[st - 1]) {
        st -= 1;
    }
    let word = &s[st..e];
    if word == b"function" || word == b"activexobject" {
        // `new Function(…)` compiles a string.
        let head = s[..st].trim_ascii_end();
        return (head.ends_with(b"new") && st > head.len()).then_some(st);
    }
    // `eval.call(this, …)`, `alert.apply(…)`: the sink invoked through
    // Function.prototype.
    if matches!(word, b"call" | b"apply") && st > 0 && s[st - 1] == b'.' {
        let mut g = st - 1;
        while g > 0 && alpha(s[g - 1]) {
            g -= 1;
        }
        let sink = &s[g..st - 1];
        let clean =
            g == 0 || !(s[g - 1].is_ascii_alphanumeric() || s[g - 1] == b'_' || s[g - 1] == b'.');
        return (clean
            && (PLAIN_SINKS.contains(&sink) || sink == b"settimeout" || sink == b"setinterval"))
            .then_some(g);
    }
    if !SINKS.contains(&word) {
        return None;
    }
    match st.checked_sub(1).map(|p| s[p]) {
        // `1alert(` or `my_eval(` is another identifier.
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => None,
        // `obj.eval(` is a method; `window.eval(` / `top.alert(` is the global.
        Some(b'.') => {
            let mut g = st - 1;
            while g > 0 && alpha(s[g - 1]) {
                g -= 1;
            }
            // `[].constructor.constructor(…)`: the Function constructor.
            let function_ctor = word == b"constructor" && &s[g..st - 1] == b"constructor";
            (JS_GLOBALS.contains(&&s[g..st - 1]) || function_ctor).then_some(g)
        }
        _ => Some(st),
    }
}

/// If `on<letters>` at `i` is followed by `=`, returns the index of `=`.
fn event_attr(s: &[u8], i: usize) -> Option<usize> {
    let mut k = i + 2;
    while k < s.len() && alpha(s[k]) {
        k += 1;
    }
    let len = k - i - 2;
    if !(3..=48).contains(&len) {
        return None;
    }
    while k < s.len() && s[k] <= b' ' {
        k += 1;
    }
    (s.get(k) == Some(&b'=') && s.get(k + 1) != Some(&b'=')).then_some(k)
}

/// An `on…=` handler at `i` outside any tag: with a JS-looking value, or
/// after a quote break with any value.
fn loose_handler(s: &[u8], i: usize) -> bool {
    let Some(e) = event_attr(s, i) else {
        return false;
    };
    let js_value = s[e..].iter().take(48).any(|&c| matches!(c, b'(' | b'`'));
    // After a quote break any value is a handler: `" onerror=x`.
    let value = s[e + 1..].iter().find(|&&c| c > b' ');
    // `"onzoom=` at the end is the same injection, value pending.
    let broke = (preceded_by_break(s, i) || after_attribute_run(s, i))
        && (value.is_some() || preceded_by_quote(s, i))
        && value.is_none_or(|&c| c.is_ascii_alphanumeric() || c == b'\'' || c == b'"');
    (js_value && (i == 0 || s[i - 1] <= b' ' || preceded_by_break(s, i))) || broke
}

/// `" type=image src=null onerror=x`: after a quote break, other attributes
/// and then this one.
fn after_attribute_run(s: &[u8], i: usize) -> bool {
    let mut k = i;
    let mut eqs = 0;
    while k > 0 && i - k < 96 {
        let b = s[k - 1];
        match b {
            b'"' | b'\'' | b'`' => return eqs > 0,
            b'=' => eqs += 1,
            b'a'..=b'z' | b'0'..=b'9' | b' ' | b'\t' | b'_' | b'-' | b'/' | b':' | b'.' => {}
            _ => return false,
        }
        k -= 1;
    }
    false
}

/// An attribute right after a quote (`"onzoom=`).
fn preceded_by_quote(s: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && s[k - 1] <= b' ' {
        k -= 1;
    }
    k > 0 && matches!(s[k - 1], b'"' | b'\'' | b'`')
}

/// An attribute injected after breaking out of a quoted value or with `/`.
fn preceded_by_break(s: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && s[k - 1] <= b' ' {
        k -= 1;
    }
    k > 0 && matches!(s[k - 1], b'"' | b'\'' | b'`' | b'/' | b';')
}

fn scan_tag(s: &[u8], start: usize, out: &mut Vec<&'static Rule>) {
    let n = s.len();
    // `</b style=…>`: browsers drop a closing tag's attributes, old IE ran
    // their CSS; read them, but the name is no new element.
    let closing = s.get(start) == Some(&b'/') && s.get(start + 1).is_some_and(|&b| alpha(b));
    let start = start + usize::from(closing);
    // `<:vmlframe`: an empty namespace prefix.
    let start = start
        + usize::from(s.get(start) == Some(&b':') && s.get(start + 1).is_some_and(|&b| alpha(b)));
    if !closing && spaced_tag(s, start) {
        add(out, &rules::XSS_TAG);
    }
    let mut k = start;
    while k < n && (s[k].is_ascii_alphanumeric() || matches!(s[k], b':' | b'-' | b'_')) {
        k += 1;
    }
    // `<scr\0ipt`: a null byte spelled as an escape inside the name.
    if s[k..].starts_with(b"\\0") && s.get(k + 2).is_some_and(|&b| alpha(b)) && k > start {
        let mut joined = s[start..k].to_vec();
        let mut e = k + 2;
        while e < n && alpha(s[e]) && joined.len() < 16 {
            joined.push(s[e]);
            e += 1;
        }
        if joined == b"script" {
            add(out, &rules::XSS_SCRIPT);
        } else if DANGEROUS_TAGS.contains(&joined.as_slice()) {
            add(out, &rules::XSS_TAG);
        }
    }
    if s.get(start) == Some(&b'?') {
        // `<?xml-stylesheet href=…?>`, `<?import implementation=…>`.
        let pi = &s[start + 1..];
        if pi.starts_with(b"xml-stylesheet")
            || pi.starts_with(b"import")
            || pi.starts_with(b"xml:namespace")
        {
            add(out, &rules::XSS_TAG);
        }
        return;
    }
    if s.get(start) == Some(&b'!') {
        // DTD injection: `<!ENTITY x SYSTEM …>`, `<!ATTLIST img onerror …>`,
        // `<!DOCTYPE x [` with an internal subset.
        let decl = &s[start + 1..];
        let internal_subset = decl.starts_with(b"doctype")
            && decl
                .iter()
                .take(128)
                .take_while(|&&c| c != b'>')
                .any(|&c| c == b'[');
        // `<!--#exec cmd=…-->`: server-side include injection.
        let ssi = decl.starts_with(b"--#exec") || decl.starts_with(b"--#include");
        if decl.starts_with(b"entity") || decl.starts_with(b"attlist") || internal_subset || ssi {
            add(out, &rules::XSS_TAG);
        }
        return;
    }
    if k == start || !alpha(s[start]) {
        return;
    }
    let full = &s[start..k];
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
    // Attributes until `>`, `<` or 4 KiB: every `<` starts a scan, so an
    // unbounded one would make `<a style="x<a style="x…` quadratic.
    let n = n.min(start.saturating_add(4096));
    while k < n && s[k] != b'>' && s[k] != b'<' {
        let b = s[k];
        if b <= b' ' || b == b'/' || b == b'"' || b == b'\'' {
            k += 1;
            continue;
        }
        let a = k;
        while k < n && !matches!(s[k], 0..=b' ' | b'/' | b'>' | b'=' | b'<') {
            k += 1;
        }
        let attr = &s[a..k];
        if attr.len() > 2 && attr.starts_with(b"on") && attr[2..].iter().all(|&c| alpha(c)) {
            let mut e = k;
            // `onerror/=alert(0)`
            while e < n && (s[e] <= b' ' || s[e] == b'/') {
                e += 1;
            }
            if s.get(e) == Some(&b'=') {
                add(out, &rules::XSS_EVENT);
            }
        }
        let value_start = k + 1;
        if s.get(k) == Some(&b'=') {
            k += 1;
            while k < n && s[k] <= b' ' {
                k += 1;
            }
            match s.get(k) {
                Some(&q @ (b'"' | b'\'' | b'`')) => {
                    k += 1;
                    let body = k;
                    while k < n && s[k] != q {
                        k += 1;
                    }
                    // `<img src="//evil?…`: a URL attribute left open to the
                    // end of the value swallows the page up to the next quote
                    // and sends it away (dangling markup).
                    if k == s.len() && URL_ATTRS.contains(&attr) {
                        let v = &s[body..];
                        if v.starts_with(b"//") || v.starts_with(b"http") {
                            add(out, &rules::XSS_CONTEXT_BREAK);
                        }
                    }
                    k += 1;
                }
                _ => {
                    while k < n && !matches!(s[k], 0..=b' ' | b'>') {
                        k += 1;
                    }
                }
            }
            let value = s.get(value_start..k.min(n)).unwrap_or_default();
            attr_value(attr, value, out);
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
            .any(|p| super::normalize::find(value, p).is_some());
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

/// `http://1113982867/`, `http://0x42.0x0000066.0x7.0x93/`,
/// `http://0102.0146.0007.00000223/`, `htt p://6 6.0.0.1/`,
/// `http://google:ha.ckers.org`, `http://ha.ckers.org@google`: a URL whose
/// host is disguised from whoever reads the link (the filter-evasion forms
/// of the XSS cheat sheets). A dotted-quad IP or a trailing dot is no
/// disguise.
fn obfuscated_url(value: &[u8]) -> bool {
    let v = match value.first() {
        Some(b'"' | b'\'' | b'`') => &value[1..],
        _ => value,
    };
    let v = v.trim_ascii_start();
    let authority_start = if let Some(rest) = v.strip_prefix(b"//") {
        rest
    } else {
        let Some(c) = v.iter().take(16).position(|&b| b == b':') else {
            return false;
        };
        let scheme = &v[..c];
        if !v[c + 1..].starts_with(b"//")
            || !scheme.iter().all(|&b| alpha(b) || b <= b' ')
            || !scheme.first().is_some_and(|&b| alpha(b))
        {
            return false;
        }
        // `htt p://`, `h⏎tt⏎p://`: whitespace a URL parser drops.
        if scheme.iter().any(|&b| b <= b' ') {
            return true;
        }
        &v[c + 3..]
    };
    let end = authority_start
        .iter()
        .take(256)
        .position(|&b| {
            matches!(
                b,
                b'/' | b'?' | b'#' | b'\\' | b'"' | b'\'' | b'`' | b'>' | b'<'
            )
        })
        .unwrap_or(authority_start.len().min(256));
    let authority = &authority_start[..end];
    // Userinfo: `http://trusted.example@evil/` shows one host, visits another.
    if authority.contains(&b'@') {
        return true;
    }
    let (host, port) = match authority.first() {
        // `[::1]:8080`
        Some(b'[') => match authority.iter().position(|&b| b == b']') {
            Some(p) => (&authority[..=p], authority[p + 1..].strip_prefix(b":")),
            None => return false,
        },
        _ => match authority.iter().position(|&b| b == b':') {
            Some(p) => (&authority[..p], Some(&authority[p + 1..])),
            None => (authority, None),
        },
    };
    // `http://google:ha.ckers.org`, `http://www.gohttp://…`: no port.
    if port.is_some_and(|p| p.is_empty() || !p.iter().all(u8::is_ascii_digit)) {
        return true;
    }
    numeric_host_disguised(host)
}

/// A host written as numbers other than a plain dotted quad: one or a few
/// decimal words (`1113982867`, `127.1`), octal (`0102.`) or hex (`0x42.`)
/// parts, or numbers split by whitespace (`6 6.0.0.1`).
fn numeric_host_disguised(host: &[u8]) -> bool {
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return false;
    }
    let mut labels = 0;
    let mut odd = false;
    for label in host.split(|&b| b == b'.') {
        let l = label.trim_ascii();
        if l.is_empty() {
            return false;
        }
        let hex = l.strip_prefix(b"0x");
        let ok = match hex {
            Some(h) => h.iter().all(u8::is_ascii_hexdigit),
            None => l.iter().all(|&b| b.is_ascii_digit() || b <= b' '),
        };
        if !ok {
            return false;
        }
        odd |= hex.is_some()
            || (l.len() > 1 && l[0] == b'0')
            || l.iter().any(|&b| b <= b' ')
            || l.len() > 3;
        labels += 1;
    }
    odd || labels < 4
}

/// A `style` value that loads something or escapes its declaration:
/// `url(`, IE `expression`/`behavior`, `-moz-binding`, CSS escapes,
/// comments, braces or brackets (`font-family:foo}color=red`).
fn css_breaks_out(value: &[u8]) -> bool {
    let find = |p: &[u8]| super::normalize::find(value, p).is_some();
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

/// Matches `word` ending right before `end`, skipping control/space bytes.
fn ends_with_compact(s: &[u8], end: usize, word: &[u8]) -> bool {
    let mut k = end;
    for &w in word.iter().rev() {
        while k > 0 && s[k - 1] <= b' ' {
            k -= 1;
        }
        if k == 0 || s[k - 1] != w {
            return false;
        }
        k -= 1;
    }
    true
}

fn scan_colon(s: &[u8], i: usize, out: &mut Vec<&'static Rule>) {
    let after = s.get(i + 1).copied();
    let next_solid = after.is_some_and(|b| b > b' ');
    if i >= 5
        && (ends_with_compact(s, i, b"javascript")
            || ends_with_compact(s, i, b"vbscript")
            || ends_with_compact(s, i, b"livescript")
            || ends_with_compact(s, i, b"mocha")
            || ends_with_compact(s, i, b"mhtml"))
    {
        // URL parsers drop tabs and newlines anywhere (`j⏎a⏎v⏎a…:⏎a⏎l…`):
        // when the scheme itself was split, so may the rest be.
        // (`ja&tab;vascript:` is no prose, whatever follows.)
        let split = s[i.saturating_sub(14)..i]
            .iter()
            .any(|&b| matches!(b, b'\t' | b'\n' | b'\r'));
        // `javascript: \\u0061lert`: an escape is no prose either.
        let escape = s[i + 1..].trim_ascii_start().first() == Some(&b'\\');
        if next_solid || split || escape {
            add(out, &rules::XSS_JS_URI);
        }
        return;
    }
    if i >= 4 && ends_with_compact(s, i, b"data") {
        let rest = &s[i + 1..];
        let rest = &rest[rest.iter().position(|&b| b > b' ').unwrap_or(rest.len())..];
        if [
            &b"text/html"[..],
            b"image/svg",
            b"application/xhtml",
            b"text/xml",
            b"application/x-shockwave",
        ]
        .iter()
        .any(|p| rest.starts_with(p))
            || base64_markup(rest)
            || markup_body(rest)
        {
            add(out, &rules::XSS_DATA_URI);
        }
        return;
    }
    // CSS: `prop: expression(` / `url(javascript:` / `-moz-binding:` /
    // `behavior: url(`, read through CSS comments and escapes
    // (`expr/**/ession(`, `expression\28`, `\0075\0072\006c\0028`).
    // Cheap gate: such a value starts with `e`, `u`, an escape or a comment.
    let first = s[i + 1..].iter().find(|&&b| b > b' ');
    if !matches!(first, Some(b'e' | b'u' | b'\\' | b'/')) {
        return;
    }
    let mut buf = [0u8; CSS_VIEW];
    let (view, ended) = css_view(s, i + 1, &mut buf);
    if view.starts_with(b"expression(") {
        add(out, &rules::XSS_CSS);
    }
    if let Some(u) = view.strip_prefix(b"url(") {
        let u = u
            .strip_prefix(b"'")
            .or_else(|| u.strip_prefix(b"\""))
            .unwrap_or(u);
        for scheme in [&b"javascript"[..], b"vbscript"] {
            if let Some(after) = u.strip_prefix(scheme)
                && (after.first() == Some(&b':') || (after.is_empty() && ended))
            {
                add(out, &rules::XSS_CSS);
            }
        }
    }
    if (ends_with_compact(s, i, b"-moz-binding") || ends_with_compact(s, i, b"behavior"))
        && view.starts_with(b"url")
    {
        add(out, &rules::XSS_CSS);
    }
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
    let c = &compact[..len];
    super::normalize::find(c, b";base64,").is_some_and(|p| c.get(p + 8) == Some(&b'p'))
}

/// Bytes of a CSS value [`css_view`] keeps.
const CSS_VIEW: usize = 32;

/// The start of a CSS value from `from` with whitespace and `/*…*/`
/// comments dropped and `\hex` / `\c` escapes decoded (non-ASCII as `?`);
/// true when the input ended before the view filled up.
fn css_view<'b>(s: &[u8], from: usize, buf: &'b mut [u8; CSS_VIEW]) -> (&'b [u8], bool) {
    let n = s.len().min(from.saturating_add(512));
    let mut k = from;
    let mut len = 0;
    while k < n && len < CSS_VIEW {
        let b = s[k];
        if b <= b' ' {
            k += 1;
            continue;
        }
        if b == b'/' && s.get(k + 1) == Some(&b'*') {
            k = super::normalize::find(&s[k + 2..n], b"*/").map_or(n, |p| k + 2 + p + 2);
            continue;
        }
        let c = if b == b'\\' {
            let mut e = k + 1;
            let mut cp: u32 = 0;
            while e < n && e < k + 7 && s[e].is_ascii_hexdigit() {
                cp = cp << 4 | u32::from(hex_val(s[e]));
                e += 1;
            }
            if e > k + 1 {
                if e < n && s[e] <= b' ' {
                    e += 1;
                }
                k = e;
                u8::try_from(cp).ok().filter(u8::is_ascii).unwrap_or(b'?')
            } else {
                k += 2;
                match s.get(k - 1) {
                    Some(&c) => c,
                    None => break,
                }
            }
        } else {
            k += 1;
            b
        };
        buf[len] = c.to_ascii_lowercase();
        len += 1;
    }
    (&buf[..len], k >= s.len())
}

fn hex_val(b: u8) -> u8 {
    super::normalize::hex(b).unwrap_or(0)
}

/// One pass over the dots of `s`, checking each sink property around it.
fn sink_prop(s: &[u8]) -> bool {
    s.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'.')
        .any(|(i, _)| sink_prop_at(s, i))
}

/// A sink property whose dot is at `i`.
fn sink_prop_at(s: &[u8], i: usize) -> bool {
    SINK_PROPS.iter().any(|p| {
        let d = p.iter().position(|&b| b == b'.').unwrap_or(0);
        i.checked_sub(d)
            .and_then(|st| s.get(st..st + p.len()))
            .is_some_and(|w| w == *p)
    })
}
