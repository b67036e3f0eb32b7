//! A small SQL tokenizer over normalised (lowercase) bytes.
//!
//! It knows string literals and their quote context, numbers, words
//! (identifiers, keywords, function names), variables, operators and
//! comments. `--` and `#` only start comments in a SQL-token context, so
//! `a--b`, `C#` and `#anchor` stay plain text.

pub(crate) use super::sql_kw::Kw;
use super::sql_kw::classify;

/// The kind of a SQL token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    /// A string literal; `closed` is false when it runs to end of input.
    Str {
        closed: bool,
        /// The body contains whitespace (prose-like).
        ws: bool,
        /// The quote character.
        quote: u8,
        /// The body is 1–5 bytes (`'1`, `'a`: the tail that balances the
        /// application's closing quote).
        short: bool,
        /// The body is empty or only whitespace.
        blank: bool,
    },
    Num,
    /// A hex/binary literal such as `0x414243`.
    Hex,
    Word(Kw),
    /// `@x` or `@@version` (`sys` is true for `@@`).
    Var {
        sys: bool,
    },
    /// Comparison: `=`, `<`, `>`, `<=`, `>=`, `<>`, `!=`, `<=>`.
    Cmp,
    /// Arithmetic / bitwise / concatenation.
    Arith,
    /// `||`, `&&`.
    LogicOp,
    /// A lone `!` (prefix negation).
    Bang,
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    /// A line comment (`--`, `#`) or an unterminated `/*`.
    Comment,
    /// `?` and a lone `@`: PostgreSQL JSON operator parts (`?|`, `<@`).
    JsonOp,
    Other,
}

/// One token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub t: T,
    /// Whitespace or a comment preceded this token.
    pub spaced: bool,
    /// For words, a hash of their bytes (`a=a` compares a column with
    /// itself); for strings, their first body byte; 0 for other tokens.
    pub h: u32,
}

/// Word bytes: ASCII letters, digits, `_`, `$` and non-ASCII (UTF-8) bytes,
/// except a Latin-1 no-break space (0xa0), which separates.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || (b >= 0x80 && b != 0xa0)
}

/// `s[i]` continues the word before it: a word byte, or 0xa0 as the second
/// byte of a UTF-8 character (`à` is `c3 a0`).
fn word_at(s: &[u8], i: usize) -> bool {
    is_word(s[i]) || (s[i] == 0xa0 && i > 0 && s[i - 1] >= 0xc0)
}

/// ECMAScript well-known symbols (lowercased), written `@@name` in specs.
const JS_SYMBOLS: &[&[u8]] = &[
    b"iterator",
    b"asynciterator",
    b"tostringtag",
    b"toprimitive",
    b"hasinstance",
    b"species",
    b"unscopables",
    b"isconcatspreadable",
    b"match",
    b"matchall",
    b"replace",
    b"search",
    b"split",
];

/// Tokenises `s`. With `ctx = Some(q)` the input starts inside a string
/// quoted by `q` (the value was placed between quotes by the application);
/// returns `None` if that string never closes (no quote break possible).
/// Stops after `max_tokens` tokens.
pub(crate) fn lex(s: &[u8], ctx: Option<u8>, max_tokens: usize) -> Option<Vec<Tok>> {
    let mut toks: Vec<Tok> = Vec::with_capacity(16);
    let mut i = 0;
    let mut spaced = false;
    if let Some(q) = ctx {
        let (end, closed) = scan_string(s, 0, q);
        if !closed {
            return None;
        }
        toks.push(Tok {
            t: T::Str {
                closed: true,
                ws: has_ws(&s[..end]),
                quote: q,
                short: (2..=6).contains(&end),
                blank: s[..end - 1].iter().all(|&b| b <= b' '),
            },
            spaced: false,
            h: 0,
        });
        i = end;
    }
    let n = s.len();
    // The next newline at or after some index and whether SQL text follows
    // it, cached so a value full of `#` stays linear.
    let mut next_line: Option<(usize, usize, bool)> = None;
    while i < n && toks.len() < max_tokens {
        let b = s[i];
        let next = s.get(i + 1).copied();
        let start = i;
        let t = match b {
            0..=b' ' | 0x7f => {
                spaced = true;
                i += 1;
                continue;
            }
            // A Latin-1 (or UTF-8 `c2 a0`) no-break space: MySQL and
            // browsers read it as whitespace (`1%a0union%a0select`).
            0xa0 if i == 0 || s[i - 1] < 0x80 || s[i - 1] == 0xa0 => {
                spaced = true;
                i += 1;
                continue;
            }
            0xc2 if next == Some(0xa0) => {
                spaced = true;
                i += 2;
                continue;
            }
            b'\'' | b'"' => {
                let (end, closed) = scan_string(s, i + 1, b);
                i = end;
                let body = end - start - 1 - usize::from(closed);
                T::Str {
                    closed,
                    ws: has_ws(&s[start..end]),
                    quote: b,
                    short: (1..=5).contains(&body),
                    blank: s[start + 1..start + 1 + body].iter().all(|&b| b <= b' '),
                }
            }
            b'`' => {
                let (end, _) = scan_string(s, i + 1, b'`');
                i = end;
                T::Word(Kw::Ident)
            }
            b'0'..=b'9' => {
                if b == b'0'
                    && matches!(next, Some(b'x' | b'b'))
                    && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                {
                    i += 2;
                    while i < n && s[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    T::Hex
                } else {
                    while i < n && (s[i].is_ascii_digit() || s[i] == b'.') {
                        i += 1;
                    }
                    if i < n && s[i] == b'e' && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                        while i < n && s[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    // `1abc` is an identifier-ish word, not a number, but
                    // `1union` / `1from` is a number glued to a keyword.
                    if i < n && is_word(s[i]) {
                        let w = i;
                        let mut e = i;
                        while e < n && is_word(s[e]) {
                            e += 1;
                        }
                        let suffixed = e - w > 4
                            && matches!(s[w], b'd' | b'f' | b'x')
                            && matches!(classify(&s[w + 1..e]), Kw::Union | Kw::Select | Kw::From);
                        if classify(&s[w..e]) != Kw::Ident {
                            T::Num
                        } else if suffixed {
                            // `1dunion`, `1funion`, `0xunion`: a float/double
                            // suffix (or a bare `0x`) glued to a keyword.
                            i = w + 1;
                            T::Num
                        } else {
                            i = e;
                            T::Word(Kw::Ident)
                        }
                    } else {
                        T::Num
                    }
                }
            }
            b'@' => {
                while i < n && s[i] == b'@' {
                    i += 1;
                }
                let ats = i - start;
                let name_start = i;
                while i < n && is_word(s[i]) {
                    i += 1;
                }
                if i == name_start && matches!(s.get(i), Some(b'"' | b'\'' | b'`')) {
                    // `@"1"`: a MySQL user variable with a quoted name.
                    let (end, _) = scan_string(s, i + 1, s[i]);
                    i = end;
                    T::Var { sys: ats == 2 }
                } else if i == name_start {
                    T::JsonOp
                } else {
                    // `@@toStringTag`, `@@iterator`: how JavaScript docs write
                    // well-known symbols, no server variable.
                    let js_symbol = ats == 2 && JS_SYMBOLS.contains(&&s[name_start..i]);
                    T::Var {
                        sys: ats == 2 && !js_symbol,
                    }
                }
            }
            b'-' if next == Some(b'-') => {
                let after = s.get(i + 2).copied();
                let prev_word = i > 0 && is_word(s[i - 1]);
                let after_text = after.is_some_and(|a| a.is_ascii_alphanumeric());
                // `a--b` is text, but `1--junk⏎and 1=1` is a comment
                // hiding one word before the next line.
                let glued_comment = prev_word && after_text && word_then_newline(s, i + 2);
                if prev_word && after_text && !glued_comment {
                    i += 2;
                    T::Arith
                } else {
                    i = line_end(s, i);
                    if more_after_newline(s, i) {
                        spaced = true;
                        continue;
                    }
                    T::Comment
                }
            }
            b'#' => {
                // `-1#union⏎…`: a `#` whose line ends before more SQL.
                let multiline = match next_line {
                    Some((from, end, more)) if from <= i && i <= end => more,
                    _ => {
                        let end = line_end(s, i);
                        let more = more_after_newline(s, end);
                        next_line = Some((i, end, more));
                        more
                    }
                };
                // `#⏎(select…`, `(#⏎1`: an empty comment is a space.
                let lead_blank = multiline && matches!(next, Some(b'\n' | b'\r'));
                let ctx_ok = lead_blank
                    || toks.last().is_some_and(|p| match p.t {
                        T::Str { .. } | T::Num | T::RParen | T::Var { .. } | T::Cmp | T::Semi => {
                            true
                        }
                        // `union#` ends a keyword; `or#` may end a word like `color#`.
                        // `ijoh#⏎where`: an empty comment used as a space.
                        // `or x=y#`: a `#` ending the value ends it as a comment.
                        T::Word(Kw::Ident) => {
                            (multiline && matches!(next, Some(b'\n' | b'\r'))) || next.is_none()
                        }
                        T::Word(k) => {
                            k != Kw::Ident
                                && (spaced
                                    || i == 0
                                    || !next.is_some_and(is_word)
                                    || multiline
                                    || matches!(k, Kw::True | Kw::False | Kw::Null))
                        }
                        _ => false,
                    });
                // `#1` is a number sign, but `or true#1` ends a boolean.
                let digit_next = next.is_some_and(|c| c.is_ascii_digit())
                    && !toks
                        .last()
                        .is_some_and(|p| matches!(p.t, T::Word(Kw::True | Kw::False | Kw::Null)));
                let glued = i > 0 && is_word(s[i - 1]) && next.is_some_and(is_word);
                if ctx_ok && !digit_next && (!glued || multiline) {
                    i = line_end(s, i);
                    if more_after_newline(s, i) {
                        spaced = true;
                        continue;
                    }
                    T::Comment
                } else {
                    i += 1;
                    T::Other
                }
            }
            b'/' if next == Some(b'*') => {
                if s.get(i + 2) == Some(&b'!') {
                    // MySQL executable comment: its body is code.
                    i += 3;
                    while i < n && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    spaced = true;
                    continue;
                }
                match super::normalize::find(&s[i + 2..], b"*/") {
                    Some(p) => {
                        i += 2 + p + 2;
                        spaced = true;
                        continue;
                    }
                    None => {
                        i = n;
                        T::Comment
                    }
                }
            }
            b'*' if next == Some(b'/') => {
                i += 2;
                spaced = true;
                continue;
            }
            b'=' => {
                i += 1;
                T::Cmp
            }
            b':' if next == Some(b':') => {
                // PostgreSQL cast `x::int`.
                i += 2;
                T::Arith
            }
            b':' if next == Some(b'=') => {
                i += 2;
                T::Cmp
            }
            b'\\' if next == Some(b'n') && !s.get(i + 2).is_some_and(|&c| is_word(c)) => {
                // MySQL `\N` is NULL.
                i += 2;
                T::Word(Kw::Null)
            }
            b'[' => {
                // `[name]` is a T-SQL quoted identifier.
                let e = s[i + 1..]
                    .iter()
                    .take(64)
                    .position(|&c| c == b']')
                    .filter(|&p| p > 0 && s[i + 1..i + 1 + p].iter().all(|&c| is_word(c)));
                match e {
                    Some(p) => {
                        i += p + 2;
                        T::Word(Kw::Ident)
                    }
                    None => {
                        i += 1;
                        T::Other
                    }
                }
            }
            b'<' | b'>' | b'!' => {
                i += 1;
                while i < n && matches!(s[i], b'=' | b'>' | b'<') && i - start < 3 {
                    i += 1;
                }
                if b == b'!' && i == start + 1 {
                    T::Bang
                } else {
                    T::Cmp
                }
            }
            b'|' | b'&' if next == Some(b) => {
                i += 2;
                T::LogicOp
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => {
                i += 1;
                T::Arith
            }
            b'(' => {
                i += 1;
                T::LParen
            }
            b'?' => {
                i += 1;
                T::JsonOp
            }
            b')' => {
                i += 1;
                T::RParen
            }
            b',' => {
                i += 1;
                T::Comma
            }
            b';' => {
                i += 1;
                T::Semi
            }
            b'.' => {
                i += 1;
                T::Dot
            }
            _ if is_word(b) => {
                while i < n && word_at(s, i) {
                    i += 1;
                }
                T::Word(classify(&s[start..i]))
            }
            _ => {
                i += 1;
                T::Other
            }
        };
        let h = match t {
            T::Word(_) => word_hash(&s[start..i]),
            // A string's first body byte (`'$.a'` is a JSON path).
            T::Str { .. } => s.get(start + 1).map_or(0, |&b| u32::from(b)),
            _ => 0,
        };
        toks.push(Tok { t, spaced, h });
        spaced = false;
    }
    Some(toks)
}

/// The hash kept in [`Tok::h`] for a word: its length and its first and
/// last four bytes (exact up to eight bytes; longer words that differ only
/// in the middle collide, which costs nothing here).
pub(crate) const fn word_hash(w: &[u8]) -> u32 {
    let n = w.len();
    let mut head = 0u32;
    let mut tail = 0u32;
    let mut i = 0;
    while i < 4 && i < n {
        head |= (w[i] as u32) << (8 * i);
        tail |= (w[n - 1 - i] as u32) << (8 * i);
        i += 1;
    }
    (head.wrapping_mul(0x9e37_79b1) ^ tail.rotate_left(16) ^ n as u32).wrapping_mul(0x85eb_ca77)
}

/// Is token `i` the word `w`?
pub(crate) fn is_word_tok(ts: &[Tok], i: usize, w: &[u8]) -> bool {
    ts.get(i)
        .is_some_and(|x| matches!(x.t, T::Word(_)) && x.h == word_hash(w))
}

/// Scans a string body from `i` to its closing `q`; returns (index after, closed).
fn scan_string(s: &[u8], mut i: usize, q: u8) -> (usize, bool) {
    while i < s.len() {
        let b = s[i];
        if b == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if b == q {
            if s.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (s.len(), false)
}

fn line_end(s: &[u8], i: usize) -> usize {
    s[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(s.len(), |p| i + p)
}

/// A line comment ending at `i` is just whitespace when SQL text follows
/// on a later line (`1#⏎union#⏎select`): MySQL reads on after the newline.
/// At the end of the value it stays a comment token (a truncation).
fn more_after_newline(s: &[u8], i: usize) -> bool {
    i < s.len() && s[i..].iter().any(|&b| b > b' ')
}

/// `s[i..]` is one word and then a newline (`--PTTmJ⏎`).
fn word_then_newline(s: &[u8], i: usize) -> bool {
    let w = s[i..].iter().take_while(|&&b| is_word(b)).count();
    w > 0 && matches!(s.get(i + w), Some(b'\r' | b'\n'))
}

fn has_ws(body: &[u8]) -> bool {
    body.iter().any(|&b| b <= b' ')
}
