//! Input normalisation before detection: percent-decoding (to a fixed
//! point, at most eight rounds), `+` as a
//! space in queries, HTML entities, null-byte removal and ASCII case folding.
//!
//! Works on bytes so no input can split a UTF-8 character and panic; the
//! detectors only ever compare ASCII.

use std::borrow::Cow;

/// Decodes `value` into a lowercase byte buffer ready for tokenising.
///
/// `plus_is_space` is true for query-string values. Whitespace is kept (the
/// tokenisers collapse it); SQL comments are handled by the SQL tokeniser,
/// which knows when `--` and `#` are comments.
pub(crate) fn normalize(value: &[u8], plus_is_space: bool) -> Cow<'_, [u8]> {
    // Most values need no decoding at all: borrow them.
    let needs_work = value.iter().any(|&b| {
        matches!(b, b'%' | b'&' | 0 | 0xe2 | 0xef | b'A'..=b'Z') || (plus_is_space && b == b'+')
    });
    if !needs_work {
        return Cow::Borrowed(value);
    }
    let mut cur = Vec::new();
    // Further rounds only while the last one decoded something and a `%`
    // remains (`%2527`, `%%34%31`; a lone `%` as in `12% off` decodes the
    // same way every time), to a fixed point or MAX_PERCENT_LAYERS.
    let mut decoded = percent_decode(value, plus_is_space, &mut cur);
    let mut layers = 1;
    while decoded && layers < MAX_PERCENT_LAYERS && cur.contains(&b'%') {
        let mut again = Vec::with_capacity(cur.len());
        decoded = percent_decode(&cur, false, &mut again);
        if decoded {
            cur = again;
        }
        layers += 1;
    }
    if cur.contains(&b'&') {
        let mut dec = Vec::with_capacity(cur.len());
        if decode_entities(&cur, &mut dec) {
            cur = dec;
            if cur.contains(&b'&') {
                // `&amp;lt;` style double encoding.
                let mut again = Vec::with_capacity(cur.len());
                if decode_entities(&cur, &mut again) {
                    cur = again;
                }
            }
        }
    }
    if memchr::memchr2(0xef, 0xe2, &cur).is_some() {
        cur = fold_unicode(&cur);
    }
    if cur.contains(&0) {
        cur.retain(|&b| b != 0);
    }
    cur.make_ascii_lowercase();
    if find(&cur, b"+ad").is_some() {
        cur = decode_utf7_markup(&cur);
    }
    Cow::Owned(cur)
}

/// Percent-decoding rounds at most (`%25252527` is `'` four layers down).
pub(crate) const MAX_PERCENT_LAYERS: usize = 8;

/// The intermediate percent-decoding layers of `value` (from the second
/// round to the one before the last), lower-cased, when it is encoded three
/// or more times: a payload can sit in any layer, and decoding it once more
/// can garble it (`%` signs of a `LIKE` pattern). Empty for ordinary values.
pub(crate) fn percent_layers(value: &[u8], plus_is_space: bool) -> Vec<Vec<u8>> {
    if find(value, b"%25").is_none() {
        return Vec::new();
    }
    let mut layers = Vec::new();
    let mut cur = Vec::new();
    if !percent_decode(value, plus_is_space, &mut cur) {
        return layers;
    }
    while layers.len() + 1 < MAX_PERCENT_LAYERS && cur.contains(&b'%') {
        let mut next = Vec::with_capacity(cur.len());
        if !percent_decode(&cur, false, &mut next) {
            break;
        }
        layers.push(std::mem::replace(&mut cur, next));
    }
    // `layers` holds rounds 1..n-1; the first is still encoded, and the
    // last round is what `normalize` returns.
    layers
        .into_iter()
        .skip(1)
        .map(|mut l| {
            l.make_ascii_lowercase();
            l
        })
        .collect()
}

/// `value` with raw and percent-encoded null bytes turned into spaces.
pub(crate) fn spaced_nulls(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == 0 {
            out.push(b' ');
            i += 1;
        } else if value[i..].starts_with(b"%00") {
            out.extend_from_slice(b"%20");
            i += 3;
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    out
}

/// A second reading of normalised `s` for the SQL tokeniser, when it differs:
/// comments inside a word removed (`uni/**/on sel/**/ect`, which filters that
/// strip comments turn into `union select`), C/JS escapes of ASCII decoded
/// (`\x27union select`, `\u0027 or 1=1`), doubled double quotes
/// collapsed (`"hi"") or (""a""=""a"`, a payload escaped for CSV) and a
/// stray `%` inside a word dropped (`%S%E%L%E%C%T`, which IIS reads as
/// `SELECT`), and so is a lone multibyte lead byte before a quote (`%bf%27`).
///
/// With `join_comments` false, comments stay (the tokeniser reads them as
/// spaces: `union/**/s%e%l%e%c%t`); with it true they join the word around
/// them.
pub(crate) fn sql_variant(s: &[u8], join_comments: bool) -> Option<Vec<u8>> {
    let stray_high = || {
        !s.is_ascii()
            && memchr::memchr2_iter(b'\'', b'"', s)
                .any(|q| q > 0 && s[q - 1] >= 0x80 && !utf8_ends_at(s, q))
    };
    let word = |i: Option<usize>| {
        i.and_then(|i| s.get(i))
            .is_some_and(|&c| crate::sql::token::is_word_byte(c))
    };
    // Cheap searches first, so ordinary text (`12% off`, `C:\\dir`) costs
    // no copy.
    let comment = find(s, b"/*").is_some();
    if join_comments && !comment {
        return None;
    }
    let escape = || {
        memchr::memchr_iter(b'\\', s)
            .any(|i| matches!(s.get(i + 1), Some(b'x' | b'u' | b'\'' | b'"')))
    };
    let stray_percent =
        || memchr::memchr_iter(b'%', s).any(|i| word(i.checked_sub(1)) && word(Some(i + 1)));
    if !join_comments
        && !escape()
        && !stray_percent()
        && find(s, b"\"\"").is_none()
        && !stray_high()
    {
        return None;
    }
    let glued_comment = |i: usize| {
        s[i..].starts_with(b"/*")
            && i > 0
            && crate::sql::token::is_word_byte(s[i - 1])
            && s.get(i + 2) != Some(&b'!')
    };
    let mut out: Vec<u8> = Vec::new();
    let mut changed = false;
    let mut joined = false;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if join_comments && b == b'/' && glued_comment(i) {
            if let Some(p) = find(&s[i + 2..], b"*/") {
                let end = i + 2 + p + 2;
                if s.get(end)
                    .is_some_and(|&c| crate::sql::token::is_word_byte(c))
                {
                    changed = true;
                    joined = true;
                    i = end;
                    continue;
                }
            }
        } else if b == b'\\' {
            let esc = match s.get(i + 1) {
                Some(b'x') => s.get(i + 2..i + 4).map(|h| (h, 4)),
                Some(b'u') if s[i + 2..].starts_with(b"00") => s.get(i + 4..i + 6).map(|h| (h, 6)),
                _ => None,
            };
            if let Some((h, len)) = esc
                && let (Some(a), Some(c)) = (hex(h[0]), hex(h[1]))
                && (0x20..0x7f).contains(&(a * 16 + c))
            {
                out.push((a * 16 + c).to_ascii_lowercase());
                changed = true;
                i += len;
                continue;
            }
            // `\'; desc users; --`: a quote escaped for one layer (JSON,
            // a JS string) reaches SQL bare.
            if matches!(s.get(i + 1), Some(b'\'' | b'"')) {
                changed = true;
                i += 1;
                continue;
            }
        } else if b >= 0x80 && matches!(s.get(i + 1), Some(b'\'' | b'"')) && !utf8_ends_at(s, i + 1)
        {
            // `%bf%27`: a lone multibyte lead before a quote, which an
            // `addslashes` backslash completes into a GBK character.
            changed = true;
            i += 1;
            continue;
        } else if b == b'%' && word(i.checked_sub(1)) && word(Some(i + 1)) {
            // `%S%E%L%E%C%T`: IIS/ASP drop a `%` that starts no escape.
            changed = true;
            i += 1;
            continue;
        } else if b == b'"'
            && s.get(i + 1) == Some(&b'"')
            && (word(i.checked_sub(1)) || word(Some(i + 2)))
        {
            out.push(b'"');
            changed = true;
            i += 2;
            continue;
        }
        out.push(b);
        i += 1;
    }
    (changed && (joined || !join_comments)).then_some(out)
}

/// Does a complete UTF-8 character end right before `end`?
fn utf8_ends_at(s: &[u8], end: usize) -> bool {
    (1..=4).any(|len| {
        end >= len && {
            let c = &s[end - len..end];
            std::str::from_utf8(c).is_ok_and(|t| t.chars().count() == 1) && c[0] >= 0x80
        }
    })
}

/// The full normalised text (for logging and tests), with whitespace runs
/// collapsed to one space and `/**/` comments replaced by a space.
pub fn normalize_text(value: &str, plus_is_space: bool) -> String {
    let bytes = normalize(value.as_bytes(), plus_is_space);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') && bytes.get(i + 2) != Some(&b'!') {
            let end = find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            push_space(&mut out);
            i = end;
            continue;
        }
        if b.is_ascii_whitespace() || b == 0x0b {
            push_space(&mut out);
        } else {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

/// Maps fullwidth ASCII (U+FF01–U+FF5E, e.g. `＜script＞`) to ASCII, and
/// typographic quotes and primes (`’ or ’1’=’1`, `'1′='1`: word processors
/// and Windows "best fit" code pages turn them into ASCII quotes) to `'`
/// and `"`.
fn fold_unicode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match (input[i], input.get(i + 1), input.get(i + 2)) {
            // U+2018 ‘, U+2019 ’, U+2032 ′
            (0xe2, Some(&0x80), Some(&(0x98 | 0x99 | 0xb2))) => {
                out.push(b'\'');
                i += 3;
            }
            // U+201C “, U+201D ”, U+2033 ″
            (0xe2, Some(&0x80), Some(&(0x9c | 0x9d | 0xb3))) => {
                out.push(b'"');
                i += 3;
            }
            (0xef, Some(&0xbc), Some(&c @ 0x81..=0xbf)) => {
                out.push(c - 0x81 + 0x21);
                i += 3;
            }
            (0xef, Some(&0xbd), Some(&c @ 0x80..=0x9e)) => {
                out.push(c - 0x80 + 0x60);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// UTF-7 spellings of markup characters (`+ADw-script+AD4-`, lowercased),
/// for pages whose charset an attacker can pick.
fn decode_utf7_markup(input: &[u8]) -> Vec<u8> {
    const UTF7: &[(&[u8], u8)] = &[
        (b"+adw-", b'<'),
        (b"+ad4-", b'>'),
        (b"+aci-", b'"'),
        (b"+acc-", b'\''),
        (b"+ad0-", b'='),
    ];
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    'outer: while i < input.len() {
        if input[i] == b'+' {
            for (enc, c) in UTF7 {
                if input[i..].starts_with(enc) {
                    out.push(*c);
                    i += enc.len();
                    continue 'outer;
                }
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn push_space(out: &mut Vec<u8>) {
    if out.last() != Some(&b' ') {
        out.push(b' ');
    }
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_char(out: &mut Vec<u8>, cp: u32) {
    match char::from_u32(cp) {
        Some(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.push(b'?'),
    }
}

/// Percent-decodes `input` into `out` (cleared first); true when at least
/// one escape was decoded. Plain runs are copied in one go.
fn percent_decode(input: &[u8], plus_is_space: bool, out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut decoded = false;
    let mut i = 0;
    while i < input.len() {
        let run = input[i..]
            .iter()
            .position(|&b| b == b'%' || (plus_is_space && b == b'+'))
            .unwrap_or(input.len() - i);
        out.extend_from_slice(&input[i..i + run]);
        i += run;
        let Some(&b) = input.get(i) else { break };
        if b == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        let h1 = input.get(i + 1).copied().and_then(hex);
        let h2 = input.get(i + 2).copied().and_then(hex);
        if let (Some(a), Some(c)) = (h1, h2) {
            out.push(a << 4 | c);
            decoded = true;
            i += 3;
            continue;
        }
        // IIS-style %uXXXX.
        if matches!(input.get(i + 1), Some(b'u' | b'U'))
            && let Some(d) = input.get(i + 2..i + 6)
            && d.iter().all(u8::is_ascii_hexdigit)
        {
            let cp = d
                .iter()
                .fold(0u32, |acc, &x| acc << 4 | u32::from(hex(x).unwrap_or(0)));
            push_char(out, cp);
            decoded = true;
            i += 6;
            continue;
        }
        out.push(b);
        i += 1;
    }
    decoded
}

const NAMED: &[(&[u8], &[u8])] = &[
    (b"lt", b"<"),
    (b"gt", b">"),
    (b"amp", b"&"),
    (b"quot", b"\""),
    (b"apos", b"'"),
    (b"nbsp", b" "),
    (b"colon", b":"),
    (b"semi", b";"),
    (b"lpar", b"("),
    (b"rpar", b")"),
    (b"sol", b"/"),
    (b"bsol", b"\\"),
    (b"period", b"."),
    (b"comma", b","),
    (b"equals", b"="),
    (b"excl", b"!"),
    (b"num", b"#"),
    (b"tab", b"\t"),
    (b"newline", b"\n"),
    (b"grave", b"`"),
    (b"lsqb", b"["),
    (b"rsqb", b"]"),
    (b"lbrace", b"{"),
    (b"rbrace", b"}"),
    (b"plus", b"+"),
    (b"ast", b"*"),
    (b"dollar", b"$"),
    (b"percnt", b"%"),
];

/// Decodes HTML entities of `input` into `out` (cleared first); true when
/// at least one entity was decoded.
fn decode_entities(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut decoded = false;
    let mut i = 0;
    while i < input.len() {
        let run = input[i..]
            .iter()
            .position(|&b| b == b'&')
            .unwrap_or(input.len() - i);
        out.extend_from_slice(&input[i..i + run]);
        i += run;
        if i >= input.len() {
            break;
        }
        if let Some(consumed) = decode_one(&input[i + 1..], out) {
            decoded = true;
            i += 1 + consumed;
        } else {
            out.push(b'&');
            i += 1;
        }
    }
    decoded
}

/// Decodes one entity body after `&`; returns bytes consumed (not counting `&`).
fn decode_one(rest: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if rest.first() == Some(&b'#') {
        let (radix, start) = match rest.get(1) {
            Some(b'x' | b'X') => (16u32, 2),
            _ => (10u32, 1),
        };
        let mut j = start;
        let mut cp: u32 = 0;
        while let Some(&d) = rest.get(j) {
            let v = match radix {
                16 => hex(d).map(u32::from),
                _ => d.is_ascii_digit().then(|| u32::from(d - b'0')),
            };
            let Some(v) = v else { break };
            cp = cp.saturating_mul(radix).saturating_add(v);
            j += 1;
        }
        if j == start {
            return None;
        }
        if rest.get(j) == Some(&b';') {
            j += 1;
        }
        push_char(out, cp);
        return Some(j);
    }
    for (name, val) in NAMED {
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name) {
            let mut j = name.len();
            if rest.get(j) == Some(&b';') {
                j += 1;
            } else if name.len() > 4 {
                // Long names need their `;` (avoid decoding prose like "&colonel").
                return None;
            }
            out.extend_from_slice(val);
            return Some(j);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_layers() {
        assert_eq!(normalize_text("%2527%2520OR", true), "' or");
        assert_eq!(normalize_text("&#x27;&#39;&lt;a&gt;", false), "''<a>");
        assert_eq!(normalize_text("UNION/**/SELECT", false), "union select");
        assert_eq!(normalize_text("a+b", true), "a b");
        assert_eq!(normalize_text("a+b", false), "a+b");
        assert_eq!(normalize_text("%u0027x%", false), "'x%");
        assert_eq!(normalize_text("&#1114112;é", false), "?é");
    }
}
