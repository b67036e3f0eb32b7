//! SQL injection detection by token structure.
//!
//! The value is tokenised three times, as the application might embed it:
//! bare (numeric context), inside `'…'` and inside `"…"`. In a quoted
//! context the first token is the tail of the application's string, and the
//! question is what follows the quote break: a comment, a boolean operator
//! with a comparison, a stacked statement, a clause (`order by`, `union`)…
//! Prose with apostrophes (`O'Brien`, `don't`) breaks into plain words and
//! never matches.

use super::rules::{self, Rule};
use super::sql_expr::{self, Expr, close_paren, ends_clean, is_call, kw, t};
use super::sql_lex::{Kw, T, Tok, is_word, is_word_tok, lex, word_hash};

/// Injection structure follows the quote break closely; later tokens in a
/// quoted reading add cost, not signal (the bare reading sees everything).
const QUOTED_MAX_TOKENS: usize = 96;

/// Appends the SQLi rules matched by normalised `s` to `out`.
pub(crate) fn detect(s: &[u8], out: &mut Vec<&'static Rule>) {
    if let Some(ts) = lex(s, None, usize::MAX) {
        scan_anywhere(&ts, out);
        scan_bare(&ts, out);
        bare_expr(&ts, out);
    }
    for q in [b'\'', b'"'] {
        if s.contains(&q)
            && let Some(ts) = lex(s, Some(q), QUOTED_MAX_TOKENS)
        {
            let tail = s.iter().take_while(|&&b| b != q);
            let tail_spaced = tail.clone().any(|&b| b <= b' ');
            // `16" or 18"` measures inches and `x = "~2"` opens a string:
            // neither breaks out of one.
            let before = tail.filter(|&&b| b > b' ').last();
            let before = before.copied();
            scan_anywhere(&ts, out);
            scan_break(&ts, q, tail_spaced, before, out);
        }
    }
    if super::normalize::find(s, b"/*!").is_some() {
        add(out, &rules::SQLI_MYSQL_EXEC_COMMENT);
    }
    if pg_cast(s) {
        add(out, &rules::SQLI_PG_CAST);
    }
    if sci_glue(s) {
        add(out, &rules::SQLI_EXPR);
    }
    if memchr::memchr(b'$', s).is_some() && nosql_operator(s) {
        add(out, &rules::NOSQL_OPERATOR);
    }
    if nosql_js(s) {
        add(out, &rules::NOSQL_OPERATOR);
    }
    if hex_encoded_sql(s) {
        add(out, &rules::SQLI_HEX_ENCODED);
    }
}

/// `0x77616974666f722064656c6179…` (`waitfor delay…`), or the same in
/// UTF-16 (`0x730065006c00…`): a hex literal that decodes to SQL text,
/// for `declare @s … set @s=0x…; exec(@s)` or a filter that decodes hex.
fn hex_encoded_sql(s: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"select",
        b"union",
        b"waitfor",
        b"delay",
        b"exec",
        b"declare",
        b"insert",
        b"update",
        b"delete",
        b"drop",
        b"sleep",
        b"xp_cmdshell",
        b"from",
        b"where",
    ];
    memchr::memchr_iter(b'x', s).any(|x| {
        if x == 0 || s[x - 1] != b'0' {
            return false;
        }
        let p = x - 1;
        if p > 0 && is_word(s[p - 1]) {
            return false;
        }
        let digits = s[p + 2..]
            .iter()
            .take(512)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits < 16 {
            return false;
        }
        let mut text = [0u8; 256];
        let mut len = 0;
        for pair in s[p + 2..p + 2 + digits].chunks_exact(2) {
            let digit = |b| super::normalize::hex(b).unwrap_or(0);
            let v = (digit(pair[0]) << 4) | digit(pair[1]);
            match v {
                0 => {}
                b'\t' | b'\n' | b'\r' | 0x20..=0x7e => {
                    text[len] = v.to_ascii_lowercase();
                    len += 1;
                }
                _ => return false,
            }
        }
        let text = &text[..len];
        text.split(|&b| !is_word(b)).any(|w| WORDS.contains(&w))
    })
}

/// MongoDB `$where` JavaScript after a quote break (`' && this.password
/// .match(/.*/)//`, `'; return true; var x='`), or a shell call on a
/// collection (`db.users.insert({…})`).
fn nosql_js(s: &[u8]) -> bool {
    memchr::memchr_iter(b'.', s).any(|dot| {
        let head = &s[..dot];
        if let Some(head) = head.strip_suffix(b"this") {
            this_after_break(head.trim_ascii_end())
        } else if let Some(head) = head.strip_suffix(b"db") {
            !head.last().is_some_and(|&b| is_word(b) || b == b'.') && shell_call(&s[dot + 1..])
        } else {
            false
        }
    })
}

/// `' && this.`, `'||this.`, `=='this.`: `this.` right after a quote break.
fn this_after_break(head: &[u8]) -> bool {
    if let Some(h) = head
        .strip_suffix(b"&&")
        .or_else(|| head.strip_suffix(b"||"))
    {
        return h.trim_ascii_end().ends_with(b"'");
    }
    head.strip_suffix(b"'")
        .is_some_and(|h| h.trim_ascii_end().ends_with(b"=="))
}

/// `users.insert(`: a collection method after `db.`.
fn shell_call(rest: &[u8]) -> bool {
    const METHODS: &[&[u8]] = &[
        b"find",
        b"findone",
        b"insert",
        b"insertone",
        b"remove",
        b"drop",
        b"update",
        b"mapreduce",
        b"aggregate",
        b"deletemany",
        b"updatemany",
    ];
    let coll = rest.iter().take_while(|&&b| is_word(b)).count();
    if coll == 0 || rest.get(coll) != Some(&b'.') {
        return false;
    }
    let m = &rest[coll + 1..];
    let w = m.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    METHODS.contains(&&m[..w]) && m.get(w) == Some(&b'(')
}

/// `1.e(ascii`, `1.e.tables`, `1.e)`: MySQL reads `1.e` as a number, so it
/// glues to the next token and hides the space a filter looks for.
fn sci_glue(s: &[u8]) -> bool {
    memchr::memmem::find_iter(s, b".e").any(|p| {
        let digit_before = p > 0 && s[p - 1].is_ascii_digit();
        let word_before = p > 1 && is_word(s[p - 2]) && !s[p - 2].is_ascii_digit();
        digit_before
            && !word_before
            && match s.get(p + 2) {
                Some(b'(' | b')' | b',') => true,
                // `1.e.tables` (but `2.e.g.` is prose)
                Some(b'.') => {
                    let w = s[p + 3..].iter().take_while(|&&c| is_word(c)).count();
                    w >= 2
                        && s.get(p + 3)
                            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
                }
                _ => false,
            }
    })
}

/// MongoDB query operators (lowercased) that an attacker injects as keys to
/// widen a match or run code. (`$type`, `$text`, `$size` are left out:
/// Json.NET type hints and schema documents use such keys.)
const MONGO_OPS: &[&[u8]] = &[
    b"ne",
    b"eq",
    b"gt",
    b"gte",
    b"lt",
    b"lte",
    b"in",
    b"nin",
    b"regex",
    b"where",
    b"exists",
    b"not",
    b"nor",
    b"or",
    b"and",
    b"elemmatch",
    b"expr",
    b"function",
    b"accumulator",
];

/// `user[$ne]=1`, `{"$gt": ""}`, `', $where: '1 == 1'`, `$or: [`: a MongoDB
/// operator in key position (the bracket form is how PHP and Express parse
/// `a[$ne]=1` into an object).
fn nosql_operator(s: &[u8]) -> bool {
    for at in memchr::memchr_iter(b'$', s) {
        let w = s[at + 1..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphabetic())
            .count();
        if !MONGO_OPS.contains(&&s[at + 1..at + 1 + w]) {
            continue;
        }
        let mut k = at;
        let quoted = k > 0 && matches!(s[k - 1], b'"' | b'\'');
        if quoted {
            k -= 1;
        }
        let before = s[..k].iter().rev().find(|&&b| b != b' ').copied();
        let mut e = at + 1 + w;
        let bracket = before == Some(b'[') && s.get(e) == Some(&b']');
        if quoted && s.get(e) == Some(&s[k]) {
            e += 1;
        }
        while s.get(e) == Some(&b' ') {
            e += 1;
        }
        let key = matches!(before, None | Some(b'{' | b',')) && s.get(e) == Some(&b':');
        if bracket || key {
            return true;
        }
    }
    false
}

/// PostgreSQL type names that casts in error-based payloads use.
const PG_TYPES: &[&[u8]] = &[
    b"int",
    b"int4",
    b"int8",
    b"integer",
    b"bigint",
    b"smallint",
    b"text",
    b"varchar",
    b"numeric",
    b"json",
    b"jsonb",
    b"bool",
    b"boolean",
    b"bytea",
    b"regclass",
    b"oid",
    b"float",
    b"real",
    b"double",
];

/// `password::int`, `f(x)::text`, `'1'::jsonb`: a value cast with `::` to a
/// SQL type (`std::string` and `serde_json::json!` are paths, not casts).
fn pg_cast(s: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = super::normalize::find(&s[from..], b"::") {
        let at = from + p;
        from = at + 2;
        let Some(&prev) = at.checked_sub(1).and_then(|i| s.get(i)) else {
            continue;
        };
        if !(prev == b')' || prev == b'\'' || is_word(prev)) {
            continue;
        }
        // `works-with::text` (a Debian tag): a hyphenated word, no column;
        // `Math::Vector::Real`: a module path.
        if is_word(prev) {
            let start = s[..at]
                .iter()
                .rposition(|&b| !is_word(b))
                .map_or(0, |p| p + 1);
            let before = &s[..start];
            if (before.len() >= 2
                && before[before.len() - 1] == b'-'
                && before[before.len() - 2].is_ascii_alphabetic())
                || before.ends_with(b"::")
            {
                continue;
            }
        }
        let w = s[at + 2..].iter().take_while(|&&b| is_word(b)).count();
        let word = &s[at + 2..at + 2 + w];
        let after = s.get(at + 2 + w).copied();
        // After a word (`mime::TEXT,`, `serde_json::json;` are Rust paths)
        // only the end of the value or an operator may follow.
        let ends = if prev == b')' || prev == b'\'' {
            matches!(
                after,
                None | Some(
                    b' ' | b'\t'
                        | b'\n'
                        | b')'
                        | b'='
                        | b'<'
                        | b'>'
                        | b'-'
                        | b'+'
                        | b'|'
                        | b','
                        | b';'
                )
            )
        } else {
            matches!(after, None | Some(b'=' | b'<' | b'>' | b'-' | b'+' | b'|'))
        };
        // `interface::text-mode`: a hyphen joining words is no minus.
        let hyphenated =
            after == Some(b'-') && s.get(at + 3 + w).is_some_and(|b| b.is_ascii_alphabetic());
        if PG_TYPES.contains(&word) && ends && !hyphenated {
            return true;
        }
    }
    false
}

fn add(out: &mut Vec<&'static Rule>, r: &'static Rule) {
    if !out.iter().any(|x| x.id == r.id) {
        out.push(r);
    }
}

fn is_logic(ts: &[Tok], i: usize) -> bool {
    matches!(kw(ts, i), Some(Kw::Or | Kw::And | Kw::Xor)) || t(ts, i) == Some(T::LogicOp)
}

fn is_literal(x: Option<T>) -> bool {
    matches!(x, Some(T::Num | T::Hex | T::Str { .. } | T::Var { .. }))
}

/// After `select`: does it look like a column list rather than prose?
fn select_has_args(ts: &[Tok], j: usize) -> bool {
    let mut k = j + 1;
    while matches!(kw(ts, k), Some(Kw::All | Kw::Distinct)) {
        k += 1;
    }
    match t(ts, k) {
        None => false,
        Some(T::Word(Kw::Ident)) => ts[k..]
            .iter()
            .take(8)
            .any(|x| matches!(x.t, T::Comma | T::Word(Kw::From) | T::Dot | T::LParen)),
        Some(
            T::Word(_) | T::Num | T::Hex | T::Str { .. } | T::Var { .. } | T::Arith | T::LParen,
        ) => true,
        _ => false,
    }
}

/// Skips one simple operand (literal, word, call, parenthesised group).
fn operand_end(ts: &[Tok], mut i: usize) -> Option<usize> {
    while matches!(t(ts, i), Some(T::Arith | T::LogicOp | T::Bang)) || kw(ts, i) == Some(Kw::Not) {
        i += 1;
    }
    match t(ts, i)? {
        T::LParen => Some(close_paren(ts, i)),
        T::Word(_) if is_call(ts, i) => Some(close_paren(ts, i + 1)),
        T::Num | T::Hex | T::Str { .. } | T::Var { .. } => Some(i + 1),
        T::Word(Kw::Ident | Kw::Func | Kw::Table) => {
            // `prod.id`, `mysql.user`
            let mut e = i + 1;
            while t(ts, e) == Some(T::Dot)
                && matches!(
                    t(ts, e + 1),
                    Some(T::Word(Kw::Ident | Kw::Table | Kw::Func))
                )
            {
                e += 2;
            }
            Some(e)
        }
        T::Word(Kw::True | Kw::False | Kw::Null | Kw::Const) => Some(i + 1),
        _ => None,
    }
}

/// What follows a boolean operator in an injected position.
fn logic_tail(ts: &[Tok], i: usize, lone_literal_ok: bool) -> bool {
    let mut k = i;
    while kw(ts, k) == Some(Kw::Not) || matches!(t(ts, k), Some(T::LogicOp | T::Bang)) {
        k += 1;
    }
    if match_against(ts, k).is_some() {
        return true;
    }
    match t(ts, k) {
        Some(T::Word(Kw::True | Kw::False | Kw::Null)) => return true,
        Some(T::Word(Kw::Select | Kw::Exists | Kw::Case)) => return true,
        Some(T::Word(w)) if w != Kw::Ident && is_call(ts, k) => return true,
        Some(T::LParen)
            if matches!(
                kw(ts, k + 1),
                Some(Kw::Select | Kw::Case | Kw::True | Kw::False | Kw::Null)
            ) || is_literal(t(ts, k + 1))
                || matches!(t(ts, k + 1), Some(T::Word(w)) if w != Kw::Ident && is_call(ts, k + 1)) =>
        {
            return true;
        }
        _ => {}
    }
    let Some(mut e) = operand_end(ts, k) else {
        return false;
    };
    // `31337-31337=0`, `1 div 0 = 0`: an arithmetic chain before the comparison.
    while matches!(t(ts, e), Some(T::Arith | T::Word(Kw::WordArith)))
        && let Some(x) = operand_end(ts, e + 1)
    {
        e = x;
    }
    if kw(ts, e) == Some(Kw::Not) && matches!(kw(ts, e + 1), Some(Kw::Like | Kw::In | Kw::Between))
    {
        e += 1;
    }
    match t(ts, e) {
        Some(T::Cmp) => operand_end(ts, e + 1).is_some(),
        // The word operators need a SQL right side: `is null`, `like '%a'`,
        // `in (1,2)`, `between 1 and 2` (`and men in Rome` is prose).
        Some(T::Word(Kw::Is)) => {
            let n = if kw(ts, e + 1) == Some(Kw::Not) {
                e + 2
            } else {
                e + 1
            };
            matches!(
                t(ts, n),
                Some(T::Word(Kw::Null | Kw::True | Kw::False) | T::Num | T::Str { .. })
            )
        }
        Some(T::Word(Kw::Like)) => {
            // `sounds like`
            let r = if kw(ts, e + 1) == Some(Kw::Like) {
                e + 2
            } else {
                e + 1
            };
            matches!(t(ts, r), Some(T::Str { .. } | T::Num | T::Var { .. } | T::LParen))
                || is_call(ts, r)
                // `column like column --`
                || (kw(ts, r) == Some(Kw::Ident)
                    && matches!(t(ts, r + 1), None | Some(T::Comment | T::Semi)))
        }
        Some(T::Word(Kw::In)) => t(ts, e + 1) == Some(T::LParen),
        Some(T::Word(Kw::Between)) => matches!(t(ts, e + 1), Some(T::Num | T::Str { .. })),
        Some(T::Comment | T::Semi) => true,
        // `or 1 group by concat(...)`, `and 1 union select`.
        Some(T::Word(_)) if is_literal(t(ts, k)) && clause_at(ts, e) => true,
        None => {
            lone_literal_ok
                && matches!(
                    t(ts, k),
                    Some(T::Num | T::Hex | T::Var { .. } | T::Str { closed: true, .. })
                )
        }
        _ => false,
    }
}

/// MySQL full-text search `match col[, col] against ('…'`: the index after
/// the argument group.
fn match_against(ts: &[Tok], i: usize) -> Option<usize> {
    if !is_word_tok(ts, i, b"match") {
        return None;
    }
    let mut k = i + 1;
    let paren = t(ts, k) == Some(T::LParen);
    k += usize::from(paren);
    loop {
        if kw(ts, k) != Some(Kw::Ident) {
            return None;
        }
        k += 1;
        while t(ts, k) == Some(T::Dot) && kw(ts, k + 1) == Some(Kw::Ident) {
            k += 2;
        }
        if t(ts, k) == Some(T::Comma) {
            k += 1;
        } else {
            break;
        }
    }
    if paren {
        if t(ts, k) != Some(T::RParen) {
            return None;
        }
        k += 1;
    }
    (is_word_tok(ts, k, b"against")
        && t(ts, k + 1) == Some(T::LParen)
        && matches!(t(ts, k + 2), Some(T::Str { .. } | T::Var { .. })))
    .then(|| close_paren(ts, k + 1))
}

/// `insert into t (a, b) values (` or `insert into t select`: unmistakably
/// a statement, wherever it appears.
fn insert_values(ts: &[Tok], i: usize) -> bool {
    if kw(ts, i) != Some(Kw::Insert) || kw(ts, i + 1) != Some(Kw::Into) {
        return false;
    }
    let Some(mut k) = operand_end(ts, i + 2) else {
        return false;
    };
    if t(ts, k) == Some(T::LParen) {
        k = close_paren(ts, k);
    }
    (kw(ts, k) == Some(Kw::Values) && t(ts, k + 1) == Some(T::LParen))
        || (kw(ts, k) == Some(Kw::Select) && select_has_args(ts, k))
}

/// `grant connect to x`, `revoke all on t from x`: a privilege statement.
fn grant(ts: &[Tok], i: usize) -> bool {
    const PRIVILEGES: &[&[u8]] = &[
        b"all",
        b"connect",
        b"resource",
        b"dba",
        b"select",
        b"insert",
        b"update",
        b"delete",
        b"execute",
        b"exec",
        b"create",
        b"alter",
        b"drop",
        b"usage",
        b"file",
        b"super",
    ];
    (is_word_tok(ts, i, b"grant") || is_word_tok(ts, i, b"revoke"))
        && PRIVILEGES.iter().any(|p| is_word_tok(ts, i + 1, p))
        && (i + 2..i + 8).any(|k| {
            is_word_tok(ts, k, b"to") || is_word_tok(ts, k, b"on") || is_word_tok(ts, k, b"from")
        })
}

const COPY: u32 = word_hash(b"copy");
const BACKUP: u32 = word_hash(b"backup");

/// PostgreSQL `copy t from '/etc/passwd'`, `copy (select …) to program`,
/// MSSQL `backup database master to disk=…`: a statement that reads or
/// writes server files.
fn file_statement(ts: &[Tok], i: usize) -> bool {
    let path = |k: usize| {
        matches!(t(ts, k), Some(T::Str { .. }))
            && ts.get(k).is_some_and(|x| matches!(x.h as u8, b'/' | b'\\'))
    };
    if is_word_tok(ts, i, b"copy") {
        let k = if t(ts, i + 1) == Some(T::LParen) {
            if kw(ts, i + 2) != Some(Kw::Select) {
                return false;
            }
            close_paren(ts, i + 1)
        } else if kw(ts, i + 1) == Some(Kw::Ident) {
            i + 2
        } else {
            return false;
        };
        let dir = kw(ts, k) == Some(Kw::From) || is_word_tok(ts, k, b"to");
        return dir && (path(k + 1) || is_word_tok(ts, k + 1, b"program"));
    }
    is_word_tok(ts, i, b"backup")
        && (is_word_tok(ts, i + 1, b"database") || is_word_tok(ts, i + 1, b"log"))
        && kw(ts, i + 2) == Some(Kw::Ident)
        && is_word_tok(ts, i + 3, b"to")
        && (is_word_tok(ts, i + 4, b"disk") || is_word_tok(ts, i + 4, b"url"))
}

/// `; show tables`, `; desc users;`: a MySQL inspection statement.
fn show_statement(ts: &[Tok], i: usize) -> bool {
    const SHOWN: &[&[u8]] = &[
        b"tables",
        b"databases",
        b"schemas",
        b"columns",
        b"grants",
        b"variables",
        b"processlist",
        b"privileges",
        b"users",
    ];
    let ends = |k: usize| matches!(t(ts, k), None | Some(T::Semi | T::Comment));
    if is_word_tok(ts, i, b"show") {
        return SHOWN.iter().any(|w| is_word_tok(ts, i + 1, w))
            || (kw(ts, i + 1) == Some(Kw::Create) && kw(ts, i + 2) == Some(Kw::Table));
    }
    (is_word_tok(ts, i, b"desc") || is_word_tok(ts, i, b"describe"))
        && matches!(kw(ts, i + 1), Some(Kw::Ident | Kw::Table))
        && ends(i + 2)
}

/// `name(` with no space before the parenthesis.
fn tight_call(ts: &[Tok], i: usize) -> bool {
    is_call(ts, i) && ts.get(i + 1).is_some_and(|x| !x.spaced)
}

fn scan_anywhere(ts: &[Tok], out: &mut Vec<&'static Rule>) {
    for i in 0..ts.len() {
        match ts[i].t {
            T::Word(Kw::Union) => {
                let mut j = i + 1;
                while matches!(t(ts, j), Some(T::LParen))
                    || matches!(kw(ts, j), Some(Kw::All | Kw::Distinct))
                {
                    j += 1;
                }
                if kw(ts, j) == Some(Kw::Select) && select_has_args(ts, j) {
                    add(out, &rules::SQLI_UNION);
                }
            }
            T::Semi if stmt_start(ts, i + 1) => add(out, &rules::SQLI_STACKED),
            T::Word(Kw::TimeFunc) if is_call(ts, i) => {
                // `Benchmark (documentation)`: a word in parentheses after
                // a space is prose.
                let prose = ts[i + 1].spaced
                    && kw(ts, i + 2) == Some(Kw::Ident)
                    && t(ts, i + 3) == Some(T::RParen);
                if !prose
                    && matches!(
                        t(ts, i + 2),
                        Some(
                            T::Num
                                | T::LParen
                                | T::Word(_)
                                | T::Arith
                                | T::Var { .. }
                                | T::Str { .. }
                        )
                    )
                {
                    add(out, &rules::SQLI_TIME);
                }
            }
            T::Word(Kw::Waitfor) if kw(ts, i + 1) == Some(Kw::Delay) => add(out, &rules::SQLI_TIME),
            T::Word(Kw::Danger) => add(out, &rules::SQLI_DANGER_OBJECT),
            T::Word(Kw::Select) if select_from(ts, i + 1) => add(out, &rules::SQLI_SELECT),
            T::Word(Kw::Select)
                if (i == 0 || t(ts, i - 1) == Some(T::LParen)) && select_sql_head(ts, i + 1) =>
            {
                add(out, &rules::SQLI_SELECT);
            }
            T::Var { sys: true } => add(out, &rules::SQLI_SYSVAR),
            T::Word(Kw::Func | Kw::Table) if tight_call(ts, i) => {
                add(out, &rules::SQLI_FUNC);
                let method = i > 0 && t(ts, i - 1) == Some(T::Dot);
                if kw(ts, i) == Some(Kw::Func) && !method && nested_arg(ts, i + 2) {
                    add(out, &rules::SQLI_FUNC_NESTED);
                }
            }
            T::Word(Kw::Or | Kw::And | Kw::Xor) | T::LogicOp if tautology(ts, i + 1) => {
                add(out, &rules::SQLI_TAUTOLOGY);
            }
            T::Hex if i > 0 => add(out, &rules::SQLI_HEX),
            T::Word(Kw::Case) if case_literal_test(ts, i + 1) => add(out, &rules::SQLI_EXPR),
            T::Word(Kw::Ident)
                if (ts[i].h == COPY || ts[i].h == BACKUP) && file_statement(ts, i) =>
            {
                add(out, &rules::SQLI_FILE_STATEMENT);
            }
            _ => {}
        }
    }
}

/// After `case`: `when 1=1 then` or `5118 when 5118 then`, a branch on a
/// comparison of literals (boolean-blind probes).
fn case_literal_test(ts: &[Tok], i: usize) -> bool {
    let lit = |k: usize| matches!(t(ts, k), Some(T::Num | T::Str { ws: false, .. }));
    if kw(ts, i) == Some(Kw::When) {
        lit(i + 1) && t(ts, i + 2) == Some(T::Cmp) && lit(i + 3) && is_word_tok(ts, i + 4, b"then")
    } else {
        lit(i) && kw(ts, i + 1) == Some(Kw::When) && lit(i + 2) && is_word_tok(ts, i + 3, b"then")
    }
}

/// The first argument of a SQL function call at `a`: another known SQL
/// function (`ascii(substring(`, `charset(current_user())`) or a literal
/// comparison (`iif(2510=9436,`).
fn nested_arg(ts: &[Tok], a: usize) -> bool {
    let niladic = |k: usize| t(ts, k + 1) == Some(T::LParen) && t(ts, k + 2) == Some(T::RParen);
    match t(ts, a) {
        Some(T::Word(Kw::Func | Kw::TimeFunc)) => is_call(ts, a),
        Some(T::Word(Kw::Table)) => niladic(a),
        Some(T::Num) => {
            (t(ts, a + 1) == Some(T::Cmp) && t(ts, a + 2) == Some(T::Num))
                || literal_like(ts, a, a + 1)
        }
        _ => false,
    }
}

/// After a `select` that opens the value or a subquery: SQL-only heads
/// (`select char(0x66)`, `(select (case when`, `(select 1,2`, `select @@x`).
fn select_sql_head(ts: &[Tok], i: usize) -> bool {
    match t(ts, i) {
        Some(T::Word(Kw::Func)) => is_call(ts, i),
        // `select if(x`, `select pg_sleep`
        Some(T::Word(Kw::Stmt)) => is_call(ts, i),
        Some(T::Word(Kw::TimeFunc | Kw::Danger)) => true,
        Some(T::Word(Kw::Case)) => kw(ts, i + 1) == Some(Kw::When),
        Some(T::Word(Kw::Top)) => t(ts, i + 1) == Some(T::Num),
        Some(T::LParen) => {
            // `(select ((ord(left(`
            let k = i
                + 1
                + ts[i + 1..]
                    .iter()
                    .take(8)
                    .take_while(|x| x.t == T::LParen)
                    .count();
            kw(ts, k) == Some(Kw::Case)
                || matches!(t(ts, k), Some(T::Word(Kw::Func | Kw::TimeFunc))) && is_call(ts, k)
        }
        // `select @version foo` (an alias ends it)
        Some(T::Var { .. }) => {
            matches!(
                t(ts, i + 1),
                None | Some(T::Str { .. } | T::Comma | T::Comment)
            ) || (kw(ts, i + 1) == Some(Kw::Ident) && i + 2 == ts.len())
        }
        Some(T::Num | T::Str { ws: false, .. })
            if matches!(t(ts, i + 1), Some(T::Comma | T::Cmp)) && t(ts, i + 2).is_some() =>
        {
            true
        }
        // `(select 'x' where 1=1`, `(select x where 5=5 order by 1--`
        Some(T::Num | T::Str { ws: false, .. } | T::Word(Kw::Ident)) => {
            kw(ts, i + 1) == Some(Kw::Where)
                && operand_end(ts, i + 2).is_some_and(|e| {
                    (t(ts, e) == Some(T::Cmp)
                        && is_literal(t(ts, i + 2))
                        && is_literal(t(ts, e + 1)))
                        || literal_like(ts, i + 2, e)
                })
        }
        _ => false,
    }
}

/// `select <column list> from`: a real column list, not prose.
fn select_from(ts: &[Tok], mut i: usize) -> bool {
    while matches!(kw(ts, i), Some(Kw::All | Kw::Distinct)) {
        i += 1;
    }
    if kw(ts, i) == Some(Kw::Top) && t(ts, i + 1) == Some(T::Num) {
        i += 2;
    }
    for _ in 0..64 {
        let plain = kw(ts, i) == Some(Kw::Ident) && !is_call(ts, i);
        let star = t(ts, i) == Some(T::Arith)
            && matches!(t(ts, i + 1), Some(T::Comma | T::Word(Kw::From)));
        let mut e = if star {
            i + 1 // `select *`
        } else {
            match operand_end(ts, i) {
                // An unbalanced group (`sin(((1)),2 from t`) ends at the
                // next `,` or `from` when only expression tokens come first.
                Some(e) if e == ts.len() => match unbalanced_end(ts, i) {
                    Some(e) => e,
                    None => return false,
                },
                Some(e) => e,
                None => return false,
            }
        };
        while matches!(t(ts, e), Some(T::Arith | T::Cmp | T::Dot | T::LogicOp)) {
            match operand_end(ts, e + 1) {
                Some(x) => e = x,
                None if t(ts, e) == Some(T::Arith) => e += 1,
                None => return false,
            }
        }
        if kw(ts, e) == Some(Kw::As) {
            e += 2;
        } else if !plain && kw(ts, e) == Some(Kw::Ident) {
            e += 1;
        }
        match t(ts, e) {
            Some(T::Comma) => i = e + 1,
            Some(T::Word(Kw::From)) => return true,
            _ => return false,
        }
    }
    false
}

/// The `,` or `from` ending an operand whose parentheses never close,
/// if only expression tokens (no two words in a row, at least one literal)
/// come before it.
fn unbalanced_end(ts: &[Tok], i: usize) -> Option<usize> {
    let mut prev_word = false;
    let mut literal = false;
    for (k, x) in ts.iter().enumerate().skip(i).take(32) {
        match x.t {
            T::Comma | T::Word(Kw::From) if k > i => return literal.then_some(k),
            T::Word(_) if prev_word => return None,
            T::Word(_) => prev_word = true,
            T::Num | T::Str { .. } | T::Var { .. } | T::Hex => {
                prev_word = false;
                literal = true;
            }
            T::Arith | T::Dot => prev_word = false,
            T::LParen | T::RParen => prev_word = false,
            _ => return None,
        }
    }
    None
}

/// `or 1=1`, `and 'a'='a'`, `or 2>1`: two literals compared after a boolean.
fn tautology(ts: &[Tok], i: usize) -> bool {
    let mut k = i;
    while matches!(t(ts, k), Some(T::LParen)) || kw(ts, k) == Some(Kw::Not) {
        k += 1;
    }
    let lit = |x: Option<T>| matches!(x, Some(T::Num | T::Hex | T::Str { .. }));
    // `or (a=a`, `or x=x`: a column compared with itself.
    let column = |k: usize| kw(ts, k) == Some(Kw::Ident) && !is_call(ts, k);
    if column(k)
        && t(ts, k + 1) == Some(T::Cmp)
        && column(k + 2)
        && ts[k].h == ts[k + 2].h
        && !matches!(t(ts, k + 3), Some(T::Dot | T::Word(_)))
    {
        return true;
    }
    lit(t(ts, k))
        && matches!(t(ts, k + 1), Some(T::Cmp) | Some(T::Word(Kw::Like)))
        && (lit(t(ts, k + 2))
            || matches!(t(ts, k + 2), Some(T::Var { .. } | T::LParen))
            || is_call(ts, k + 2))
}

/// Does a stacked statement start at `i` (right after `;`)?
fn stmt_start(ts: &[Tok], i: usize) -> bool {
    if grant(ts, i) || show_statement(ts, i) {
        return true;
    }
    // MySQL `do (1=1)`, `do sleep(5)`: evaluate and discard.
    if is_word_tok(ts, i, b"do") {
        let k = i + 1 + usize::from(t(ts, i + 1) == Some(T::LParen));
        return (k > i + 1 && tautology(ts, k))
            || (matches!(kw(ts, k), Some(Kw::Func | Kw::TimeFunc)) && is_call(ts, k));
    }
    match kw(ts, i) {
        Some(Kw::Select) => select_has_args(ts, i),
        Some(Kw::Insert) => kw(ts, i + 1) == Some(Kw::Into),
        Some(Kw::Delete) => ts[i..].iter().take(4).any(|x| x.t == T::Word(Kw::From)),
        Some(Kw::Stmt) => match t(ts, i + 1) {
            // `if 1=1 drop ...`, `if(`, `begin ... end`, `load data`, `goto x`.
            Some(T::LParen | T::Num | T::Word(Kw::Not | Kw::Exists)) => true,
            // `;goto x --`, `;begin x;` (`; if you do` is prose).
            Some(T::Word(Kw::Ident)) => {
                // `;call p(@version, @a)`, `;replace t (id, name) values (…)`
                (t(ts, i + 2) == Some(T::LParen) && matches!(t(ts, i + 3), Some(T::Var { .. })))
                    || (t(ts, i + 2) == Some(T::LParen)
                        && ts[i..].iter().take(16).any(|x| x.t == T::Word(Kw::Values)))
                    || (matches!(t(ts, i + 2), None | Some(T::Semi | T::Comment)) && ts.len() - i <= 8)
                    // `;use master exec xp_…`
                    || matches!(kw(ts, i + 2), Some(Kw::Exec | Kw::Declare | Kw::Select))
            }
            Some(T::Word(Kw::Shutdown | Kw::Declare | Kw::Select | Kw::Exec)) => true,
            _ => false,
        },
        Some(Kw::Update) => kw(ts, i + 2) == Some(Kw::Set),
        // `create user x identified by 'p'`
        Some(Kw::Create | Kw::Alter)
            if kw(ts, i + 1) == Some(Kw::Table)
                && kw(ts, i + 2) == Some(Kw::Ident)
                && is_word_tok(ts, i + 3, b"identified") =>
        {
            true
        }
        Some(Kw::Drop | Kw::Create | Kw::Alter | Kw::Truncate) => {
            matches!(kw(ts, i + 1), Some(Kw::Table | Kw::Procedure))
                // `;drop members --`
                || (kw(ts, i + 1) == Some(Kw::Ident) && matches!(t(ts, i + 2), Some(T::Comment | T::Semi)))
        }
        // Oracle `execute immediate 'drop table t'`
        Some(Kw::Exec)
            if is_word_tok(ts, i + 1, b"immediate")
                && matches!(t(ts, i + 2), Some(T::Str { .. } | T::Var { .. })) =>
        {
            true
        }
        Some(Kw::Exec) => match t(ts, i + 1) {
            Some(T::Var { .. } | T::LParen | T::Word(Kw::Danger)) => true,
            Some(T::Word(_)) => matches!(
                t(ts, i + 2),
                None | Some(T::Dot | T::Var { .. } | T::Str { .. } | T::Semi)
            ),
            _ => false,
        },
        Some(Kw::Declare) => matches!(t(ts, i + 1), Some(T::Var { .. })),
        Some(Kw::Set) => matches!(t(ts, i + 1), Some(T::Var { .. })),
        Some(Kw::Shutdown) => true,
        Some(Kw::Waitfor) => kw(ts, i + 1) == Some(Kw::Delay),
        _ => false,
    }
}

/// A clause that can only follow a query fragment: `order by 1`, `having`, ...
fn clause_at(ts: &[Tok], i: usize) -> bool {
    match kw(ts, i) {
        // `1) from users where …`
        Some(Kw::From) => {
            matches!(kw(ts, i + 1), Some(Kw::Ident | Kw::Table | Kw::Danger))
                && kw(ts, i + 2) == Some(Kw::Where)
        }
        Some(Kw::Order | Kw::Group) => {
            kw(ts, i + 1) == Some(Kw::By)
                && matches!(t(ts, i + 2), Some(T::Num | T::Word(_) | T::LParen))
        }
        Some(Kw::Having) => {
            matches!(t(ts, i + 1), Some(T::Num | T::LParen)) || logic_operand_cmp(ts, i + 1)
        }
        Some(Kw::Limit) => t(ts, i + 1) == Some(T::Num),
        Some(Kw::Procedure) => true,
        Some(Kw::Into) => {
            kw(ts, i + 1) == Some(Kw::Danger) || t(ts, i + 1) == Some(T::Var { sys: false })
        }
        Some(Kw::Union) => {
            matches!(kw(ts, i + 1), Some(Kw::Select | Kw::All | Kw::Distinct))
                || matches!(t(ts, i + 1), None | Some(T::Comment | T::LParen))
        }
        Some(Kw::Where) => logic_operand_cmp(ts, i + 1),
        // `1')) as x where 1=1 order by 1--`: a derived-table alias.
        Some(Kw::As) => {
            (kw(ts, i + 1) == Some(Kw::Ident)
                && kw(ts, i + 2) == Some(Kw::Where)
                && logic_operand_cmp(ts, i + 3))
                // `1234 as "foobar" from t`: a column alias, then the table.
                || (matches!(t(ts, i + 1), Some(T::Str { ws: false, closed: true, .. }))
                    && kw(ts, i + 2) == Some(Kw::From)
                    && matches!(kw(ts, i + 3), Some(Kw::Ident | Kw::Table | Kw::Danger)))
        }
        // `1' in boolean mode) order by 1#`: closing a full-text search.
        Some(Kw::In) => {
            is_word_tok(ts, i + 1, b"boolean")
                && is_word_tok(ts, i + 2, b"mode")
                && t(ts, i + 3) == Some(T::RParen)
        }
        _ => false,
    }
}

fn logic_operand_cmp(ts: &[Tok], i: usize) -> bool {
    operand_end(ts, i).is_some_and(|e| matches!(t(ts, e), Some(T::Cmp)) || literal_like(ts, i, e))
}

/// `7145 like 7145`: literals compared with LIKE (sqlmap's `equaltolike`).
fn literal_like(ts: &[Tok], a: usize, e: usize) -> bool {
    let lit = |k: usize| matches!(t(ts, k), Some(T::Num | T::Str { ws: false, .. }));
    e == a + 1 && lit(a) && kw(ts, e) == Some(Kw::Like) && lit(e + 1)
}

/// Bare (numeric) context: `1 or true`, `1*1--`, `1 order by 2`.
fn scan_bare(ts: &[Tok], out: &mut Vec<&'static Rule>) {
    let mut i = 0;
    while matches!(t(ts, i), Some(T::LParen | T::Arith | T::Dot)) {
        i += 1;
    }
    // `(1589=1589)*1`: a parenthesised literal comparison used as a number.
    if t(ts, 0) == Some(T::LParen)
        && t(ts, 1) == Some(T::Num)
        && t(ts, 2) == Some(T::Cmp)
        && t(ts, 3) == Some(T::Num)
        && t(ts, 4) == Some(T::RParen)
        && t(ts, 5) == Some(T::Arith)
        && t(ts, 6) == Some(T::Num)
    {
        add(out, &rules::SQLI_TAUTOLOGY);
    }
    // `1=1 and …`, `1=1--`: a value that opens with a literal tautology.
    if matches!(t(ts, i), Some(T::Num))
        && t(ts, i + 1) == Some(T::Cmp)
        && t(ts, i + 2) == Some(T::Num)
        && (is_logic(ts, i + 3) || matches!(t(ts, i + 3), Some(T::Comment | T::Semi)))
    {
        add(out, &rules::SQLI_TAUTOLOGY);
    }
    if matches!(
        t(ts, i),
        Some(T::Num | T::Hex | T::Var { .. } | T::Word(Kw::Ident))
    ) {
        let numeric = matches!(t(ts, i), Some(T::Num | T::Hex | T::Var { .. }));
        let mut j = i + 1;
        let mut list = false;
        loop {
            while matches!(t(ts, j), Some(T::RParen)) {
                j += 1;
            }
            // `1/1 union`, `0 div 1 union`: a numeric chain is still a value.
            if numeric
                && matches!(t(ts, j), Some(T::Arith | T::Comma | T::Word(Kw::WordArith)))
                && matches!(t(ts, j + 1), Some(T::Num | T::Hex | T::Var { .. }))
            {
                list |= t(ts, j) == Some(T::Comma);
                j += 2;
            } else {
                break;
            }
        }
        if is_logic(ts, j) && logic_tail(ts, j + 1, false) {
            add(out, &rules::SQLI_BOOLEAN);
        }
        if numeric && clause_at(ts, j) {
            add(out, &rules::SQLI_CLAUSE);
        }
        // `id having (1 or true)`
        if kw(ts, j) == Some(Kw::Having)
            && t(ts, j + 1) == Some(T::LParen)
            && matches!(
                t(ts, j + 2),
                Some(T::Num | T::Word(Kw::True | Kw::False | Kw::Null))
            )
            && is_logic(ts, j + 3)
        {
            add(out, &rules::SQLI_CLAUSE);
        }
        // `21 update t set c=...`: T-SQL needs no `;` between statements.
        if numeric && !matches!(kw(ts, j), Some(Kw::Stmt)) && stmt_start(ts, j) {
            add(out, &rules::SQLI_STACKED);
        }
        // `1--`, `@version /*`: a lone value whose query tail is commented out.
        if numeric && !list && j + 1 == ts.len() && t(ts, j) == Some(T::Comment) {
            add(out, &rules::SQLI_COMMENT_TRUNCATION);
        }
    }
    scan_lead(ts, out);
    // `) or (a=a`, `)) union select`: the value closes the application's
    // parentheses first.
    let closing = ts.iter().take_while(|x| x.t == T::RParen).count();
    if closing > 0 {
        scan_lead(&ts[closing..], out);
    }
    // An expression-only prefix cut off by a comment: `1*1--`, `1)) or 2 #`.
    if let Some(c) = ts.iter().position(|x| x.t == T::Comment) {
        let pre = &ts[..c];
        let exprish = pre.iter().all(|x| {
            matches!(
                x.t,
                T::Num
                    | T::Hex
                    | T::Arith
                    | T::Cmp
                    | T::LogicOp
                    | T::Bang
                    | T::LParen
                    | T::RParen
                    | T::Var { .. }
                    | T::Str { .. }
                    | T::Comma
            ) || matches!(x.t, T::Word(k) if k != Kw::Ident)
        });
        let has_val = pre.iter().any(|x| {
            matches!(
                x.t,
                T::Num | T::Hex | T::Var { .. } | T::Str { ws: false, .. }
            )
        });
        let has_op = pre.iter().any(|x| {
            !matches!(
                x.t,
                T::Num | T::Hex | T::Var { .. } | T::Str { .. } | T::Comma
            )
        });
        if pre.len() >= 2 && exprish && has_val && has_op {
            add(out, &rules::SQLI_COMMENT_TRUNCATION);
        }
    }
}

/// A value that *starts* where a query continues: `or 1=1`, ` order by 3`,
/// `having 1=1`, `and connection_id()=connection_id()`.
fn scan_lead(ts: &[Tok], out: &mut Vec<&'static Rule>) {
    let s0 =
        usize::from(matches!(kw(ts, 0), Some(Kw::Or | Kw::And)) || t(ts, 0) == Some(T::LogicOp));
    if json_operator_expr(ts, s0) {
        add(out, &rules::SQLI_BOOLEAN);
    }
    // The whole value is a SQL function opening its arguments: `md5(`,
    // `group_concat(`, `if(1234=` (probing for a function filter).
    let fragment = match t(ts, 0) {
        Some(T::Word(Kw::Func | Kw::TimeFunc | Kw::Danger | Kw::WordArith | Kw::Insert)) => {
            t(ts, 1) == Some(T::LParen)
                && (ts.len() == 2
                    // `lo_get(16400)`, `div(23,-2)`: one call on literals.
                    || (matches!(t(ts, 2), Some(T::Num | T::Hex | T::Arith))
                        && ts[2..].iter().all(|x| {
                            matches!(x.t, T::Num | T::Hex | T::Arith | T::Comma | T::RParen)
                        })
                        && ts.last().is_some_and(|x| x.t == T::RParen)))
        }
        // `if(7423=7423) select …`, `if(1234=`
        Some(T::Word(Kw::Stmt)) => {
            t(ts, 1) == Some(T::LParen) && t(ts, 2) == Some(T::Num) && t(ts, 3) == Some(T::Cmp)
        }
        _ => false,
    };
    // `create table t (x text);`: a whole statement, terminated.
    if (matches!(ts.last().map(|x| x.t), Some(T::Semi | T::Comment))
        || is_word_tok(ts, 3, b"identified"))
        && matches!(
            kw(ts, 0),
            Some(Kw::Create | Kw::Drop | Kw::Insert | Kw::Delete | Kw::Update)
        )
        && stmt_start(ts, 0)
    {
        add(out, &rules::SQLI_STACKED);
    }
    if fragment {
        add(out, &rules::SQLI_FUNC_NESTED);
    }
    // `insert into mysql.user (user, host) values ('x', …)`
    if insert_values(ts, 0) {
        add(out, &rules::SQLI_STACKED);
    }
    // `, find_in_set('22', category)`: an extra column for the query.
    if t(ts, 0) == Some(T::Comma)
        && matches!(kw(ts, 1), Some(Kw::Func | Kw::TimeFunc))
        && is_call(ts, 1)
    {
        add(out, &rules::SQLI_FUNC_NESTED);
    }
    if kw(ts, 0) == Some(Kw::Select) && select_lead_from(ts) {
        add(out, &rules::SQLI_SELECT);
    }
    if kw(ts, 0) == Some(Kw::Case) && case_expression(ts) {
        add(out, &rules::SQLI_EXPR);
    }
    match t(ts, 0) {
        // `union select`, `union all select`
        Some(T::Word(Kw::Union)) => {
            let k = if matches!(kw(ts, 1), Some(Kw::All | Kw::Distinct)) {
                2
            } else {
                1
            };
            if kw(ts, k) == Some(Kw::Select) {
                add(out, &rules::SQLI_UNION);
            }
        }
        Some(T::Word(Kw::Or | Kw::And | Kw::Xor) | T::LogicOp) => {
            let k = 1 + ts[1..]
                .iter()
                .take_while(|x| x.t == T::Word(Kw::Not) || x.t == T::Bang)
                .count();
            let ends = |e: usize| matches!(t(ts, e), None | Some(T::Comment | T::Semi));
            let ok = match t(ts, k) {
                // `or true` must end there (`and true love` is prose).
                Some(T::Word(Kw::True | Kw::False | Kw::Null)) => ends(k + 1),
                // `or x=x--`: a bare word compared, then nothing else.
                Some(T::Word(Kw::Ident)) if !is_call(ts, k) => {
                    (t(ts, k + 1) == Some(T::Cmp) && operand_end(ts, k + 2).is_some_and(ends))
                        // `or username like char(37);`
                        || (kw(ts, k + 1) == Some(Kw::Like)
                            && operand_end(ts, k + 2).is_some_and(|e| {
                                ends(e) && (e < ts.len() || kw(ts, k + 2) == Some(Kw::Func))
                            }))
                }
                Some(T::Word(Kw::Ident | Kw::Table)) => false,
                _ => true,
            };
            if ok && logic_tail(ts, 1, false) {
                add(out, &rules::SQLI_BOOLEAN);
            }
        }
        Some(T::Word(Kw::Order | Kw::Group))
            if kw(ts, 1) == Some(Kw::By)
                && t(ts, 2) == Some(T::Num)
                && matches!(t(ts, 3), None | Some(T::Comment | T::Semi | T::Comma)) =>
        {
            add(out, &rules::SQLI_CLAUSE);
        }
        // `group by userid having 1=1--`
        Some(T::Word(Kw::Group))
            if kw(ts, 1) == Some(Kw::By)
                && kw(ts, 2) == Some(Kw::Ident)
                && kw(ts, 3) == Some(Kw::Having)
                && clause_at(ts, 3) =>
        {
            add(out, &rules::SQLI_CLAUSE);
        }
        Some(T::Word(Kw::Having)) if logic_operand_cmp(ts, 1) => add(out, &rules::SQLI_CLAUSE),
        // `declare @b`
        Some(T::Word(Kw::Declare)) if matches!(t(ts, 1), Some(T::Var { .. })) => {
            add(out, &rules::SQLI_STACKED);
        }
        // `'x'!='y`: a comparison of quoted literals that the
        // application's closing quote completes.
        Some(T::Str {
            closed: true,
            ws: false,
            quote: b'\'',
            ..
        }) if t(ts, 1) == Some(T::Cmp)
            && matches!(
                t(ts, 2),
                Some(T::Str {
                    closed: false,
                    ws: false,
                    quote: b'\'',
                    ..
                })
            ) =>
        {
            add(out, &rules::SQLI_TAUTOLOGY);
        }
        // `exec(@sql)`, `exec xp_cmdshell`, `exec @p`, `execute immediate "`.
        Some(T::Word(Kw::Exec))
            if matches!(
                t(ts, 1),
                Some(T::Var { .. } | T::LParen | T::Word(Kw::Danger))
            ) || stmt_start(ts, 0) =>
        {
            add(out, &rules::SQLI_STACKED);
        }
        // `procedure analyse (`: MySQL's result-set probe.
        Some(T::Word(Kw::Procedure)) if is_word_tok(ts, 1, b"analyse") => {
            add(out, &rules::SQLI_CLAUSE);
        }
        // `alter table t change c c enum(…)`
        Some(T::Word(Kw::Alter))
            if kw(ts, 1) == Some(Kw::Table)
                && kw(ts, 2) == Some(Kw::Ident)
                && [&b"add"[..], b"change", b"modify", b"drop", b"rename"]
                    .iter()
                    .any(|w| is_word_tok(ts, 3, w)) =>
        {
            add(out, &rules::SQLI_STACKED);
        }
        _ => {}
    }
}

/// A value opening with `select` whose column list holds a SQL function call
/// or only literals in parentheses before `from`: `select -sin(((id)),2 from
/// bar`, `select (((((1,2,3,4)))) from bar`.
fn select_lead_from(ts: &[Tok]) -> bool {
    // `select x group by something having count(id) >= 9`
    if (2..24.min(ts.len()))
        .any(|k| matches!(kw(ts, k), Some(Kw::Group | Kw::Having)) && clause_at(ts, k))
        && (1..24.min(ts.len())).any(|k| kw(ts, k) == Some(Kw::Func) && is_call(ts, k))
    {
        return true;
    }
    let Some(from) = ts.iter().take(24).position(|x| x.t == T::Word(Kw::From)) else {
        return false;
    };
    let cols = &ts[1..from];
    let call =
        (1..from).any(|k| matches!(kw(ts, k), Some(Kw::Func | Kw::TimeFunc)) && is_call(ts, k));
    let literal_only = cols.iter().any(|x| x.t == T::Num)
        && cols.iter().all(|x| {
            matches!(
                x.t,
                T::LParen | T::RParen | T::Num | T::Comma | T::Arith | T::Str { ws: false, .. }
            )
        });
    call || literal_only
}

/// `case when binary true then true end …`: a complete CASE expression with
/// a literal branch (prose says `in case when … then …` without `end`).
fn case_expression(ts: &[Tok]) -> bool {
    if kw(ts, 1) != Some(Kw::When) {
        return false;
    }
    let Some(end) = ts.iter().take(32).position(|x| x.t == T::Word(Kw::End)) else {
        return false;
    };
    let then = ts[..end].iter().position(|x| x.t == T::Word(Kw::Ident));
    let literal = ts[2..end].iter().any(|x| {
        matches!(
            x.t,
            T::Num | T::Word(Kw::True | Kw::False | Kw::Null) | T::Str { ws: false, .. }
        )
    });
    then.is_some() && literal
}

/// PostgreSQL JSON operators between string literals:
/// `or '{"b":2}'::jsonb <@ '{"a":1}'`, `'[1,2]' ? '1'`, `'{}'::json #>> '{a}'`.
fn json_operator_expr(ts: &[Tok], i: usize) -> bool {
    let pg_str = |k: usize| {
        matches!(
            t(ts, k),
            Some(T::Str {
                closed: true,
                quote: b'\'',
                ..
            })
        )
    };
    if !pg_str(i) {
        return false;
    }
    let mut k = i + 1;
    let mut cast = false;
    // `::jsonb`
    while t(ts, k) == Some(T::Arith)
        && matches!(t(ts, k + 1), Some(T::Word(_)))
        && !ts[k + 1].spaced
    {
        cast = true;
        k += 2;
    }
    let op_start = k;
    let mut json_op = false;
    while (matches!(t(ts, k), Some(T::Arith | T::Cmp | T::JsonOp | T::Comment))
        || (cast && t(ts, k) == Some(T::Other)))
        && k - op_start < 3
    {
        json_op |= t(ts, k) == Some(T::JsonOp);
        k += 1;
    }
    let ops = k - op_start;
    // `'{"a":2}' < '$.c[2].f' = 7`: a JSON document compared through a path.
    let json_doc = matches!(ts[i].h, 0x7b | 0x5b); // `{`, `[`
    if json_doc && ops == 1 && pg_str(k) && ts[k].h == u32::from(b'$') {
        return true;
    }
    // `?| array['a','name']`
    let next_str = pg_str(k)
        || (kw(ts, k) == Some(Kw::Ident) && t(ts, k + 1) == Some(T::Other))
        || (cast && t(ts, k) == Some(T::Num));
    ops >= 1 && next_str && (cast || json_op || (i > 0 && ops >= 2))
}

/// `' or '`, `'/1/1='`, `' is 99999 = '`: after the quote break only
/// operators and literals, then a quote that the application's closing quote
/// balances. Prose never puts an operator right after its apostrophe.
fn operator_between_quotes(ts: &[Tok], i: usize, after_digit: bool) -> bool {
    let Some(last) = ts.len().checked_sub(1) else {
        return false;
    };
    let (closing, blank) = match t(ts, last) {
        Some(T::Str {
            closed: false,
            blank,
            short,
            ..
        }) => (blank || short, blank),
        _ => (false, false),
    };
    if last <= i || !closing || last - i > 12 {
        return false;
    }
    let mut ops = 0;
    let mut literals = 0;
    let mut idents = 0;
    for x in &ts[i..last] {
        match x.t {
            // `asd'|column!='`: one column name among the operators.
            T::Word(Kw::Ident) if idents == 0 => idents += 1,
            T::Arith | T::Cmp | T::LogicOp | T::Bang => ops += 1,
            T::Word(Kw::Or | Kw::And | Kw::Xor | Kw::WordArith | Kw::Like | Kw::Is | Kw::Not) => {
                ops += 1;
            }
            T::Num | T::Hex | T::Word(Kw::Null | Kw::True | Kw::False) => literals += 1,
            T::LParen | T::RParen => {}
            _ => return false,
        }
    }
    // `'*'` alone is also how people quote a symbol in a search box; a
    // non-blank tail (`'aa `) or a column name needs a longer chain.
    if (literals == 0 || !blank || idents > 0) && ops < 2 {
        return false;
    }
    let first_is_op = !matches!(
        t(ts, i),
        Some(T::Num | T::Hex | T::LParen | T::RParen | T::Word(Kw::Null | Kw::True | Kw::False))
    );
    // After a digit a `"` measures inches (`16" or 18"`); a `'` after a
    // digit needs a longer chain (`5' - 6'` is a height range).
    let digit_ok = !after_digit
        || (ts
            .first()
            .is_some_and(|x| matches!(x.t, T::Str { quote: b'\'', .. }))
            && ops >= 3);
    ops >= 1 && first_is_op && digit_ok
}

/// `A '&&' B`, `'|'`, `' OR '`: one operator between single quotes, which
/// joins the application's string to the one its closing quote opens.
/// Symbols count anywhere; word operators (`'like'` is also prose) only
/// when nothing surrounds the quotes. Double quotes are how people quote
/// words in a search box (`"NOT" STUFFER`), so they do not count.
fn lone_operator_quoted(ts: &[Tok], i: usize, quote: u8) -> bool {
    if quote != b'\'' {
        return false;
    }
    let Some(last) = ts.len().checked_sub(1) else {
        return false;
    };
    let Some(T::Str {
        closed: false,
        blank,
        short,
        quote: b'\'',
        ..
    }) = t(ts, last)
    else {
        return false;
    };
    let head = match ts[0].t {
        T::Str { blank, short, .. } => (blank, short),
        _ => (false, false),
    };
    let head_blank = head.0;
    // `A 'AND' B`: short strings around a boolean or arithmetic word.
    let framed = (head.0 || head.1) && (blank || short);
    let words = |k: usize| {
        matches!(
            kw(ts, k),
            Some(Kw::Or | Kw::And | Kw::Xor | Kw::WordArith | Kw::Like)
        )
    };
    match last.checked_sub(i) {
        Some(1) if matches!(t(ts, i), Some(T::Arith | T::LogicOp)) => blank || short,
        // `A 'REGEXP' B`; `'like'` in quotes is also prose.
        Some(1) => {
            let prose = kw(ts, i) == Some(Kw::Like)
                && ![b"regexp".as_slice(), b"rlike", b"ilike"]
                    .iter()
                    .any(|w| is_word_tok(ts, i, w));
            words(i) && ((blank && head_blank) || (framed && !prose))
        }
        // `'NOT LIKE'`, `'SOUNDS LIKE'`
        Some(2) => {
            matches!(kw(ts, i), Some(Kw::Not | Kw::Like))
                && kw(ts, i + 1) == Some(Kw::Like)
                && ((blank && head_blank) || framed)
        }
        _ => false,
    }
}

/// Quoted context: what follows the quote that closed the application's string.
fn scan_break(
    ts: &[Tok],
    quote: u8,
    tail_spaced: bool,
    before: Option<u8>,
    out: &mut Vec<&'static Rule>,
) {
    let mut i = 1;
    while matches!(t(ts, i), Some(T::RParen)) {
        i += 1;
    }
    let Some(first) = t(ts, i) else { return };
    let tail_digit = before.is_some_and(|b| b.is_ascii_digit() || !is_word(b));
    // The quote ends a word the application held (`username'declare`),
    // not one that opens a string (`"DROP TABLE" is…`, `exec("DELETE…`).
    let tail_word = before.is_some_and(is_word) && !tail_spaced;
    if operator_between_quotes(ts, i, tail_digit)
        || (!tail_digit && lone_operator_quoted(ts, i, quote))
    {
        add(out, &rules::SQLI_BOOLEAN);
        return;
    }
    if let Some(e) = break_expr(ts, i, quote)
        && (e.sqlish >= 1 || (t(ts, e.end).is_some() && e.strong >= 2))
    {
        add(out, &rules::SQLI_BOOLEAN);
        return;
    }
    if first == T::Semi && !tail_spaced && t(ts, i + 1).is_none() {
        add(out, &rules::SQLI_BREAK_COMMENT);
    }
    // Double quotes are code more often than SQL (`.exec("INSERT INTO …`).
    if quote == b'\''
        && (insert_values(ts, i)
            || (grant(ts, i) && matches!(ts.last().map(|x| x.t), Some(T::Comment | T::Semi))))
    {
        add(out, &rules::SQLI_STACKED);
    }
    if concat_call_between_quotes(ts, i) {
        add(out, &rules::SQLI_BREAK_EXPR);
    }
    let hit = match first {
        T::Comment if !tail_spaced => Some(&rules::SQLI_BREAK_COMMENT),
        T::Semi if !tail_spaced && t(ts, i + 1) == Some(T::Comment) => {
            Some(&rules::SQLI_BREAK_COMMENT)
        }
        T::Word(Kw::Or | Kw::And | Kw::Xor) | T::LogicOp if logic_tail(ts, i + 1, true) => {
            Some(&rules::SQLI_BOOLEAN)
        }
        T::Word(_) if clause_at(ts, i) => Some(&rules::SQLI_CLAUSE),
        // `x'declare @s …`, `x' update t set …`: T-SQL needs no `;`.
        T::Word(
            Kw::Declare | Kw::Update | Kw::Insert | Kw::Delete | Kw::Exec | Kw::Drop | Kw::Create,
        ) if (tail_word || matches!(ts.last().map(|x| x.t), Some(T::Comment | T::Semi)))
            && stmt_start(ts, i) =>
        {
            Some(&rules::SQLI_STACKED)
        }
        T::Cmp => operand_end(ts, i + 1)
            .filter(|&e| {
                e == ts.len() || matches!(t(ts, e), Some(T::Comment | T::Semi)) || is_logic(ts, e)
            })
            .map(|_| &rules::SQLI_BOOLEAN),
        T::Arith | T::LogicOp | T::Comma => {
            let k = i + 1;
            let call = matches!(t(ts, k), Some(T::Word(w)) if w != Kw::Ident) && is_call(ts, k);
            let sub = t(ts, k) == Some(T::LParen) && kw(ts, k + 1) == Some(Kw::Select);
            (call || sub).then_some(&rules::SQLI_BREAK_EXPR)
        }
        _ => None,
    };
    if let Some(r) = hit {
        add(out, r);
    }
}

/// `' || pkg.adduser('admin', 'x') || '`: a (package-qualified) call
/// concatenated between the application's string and its closing quote.
fn concat_call_between_quotes(ts: &[Tok], i: usize) -> bool {
    let op = |k: usize| matches!(t(ts, k), Some(T::LogicOp | T::Arith));
    if !op(i) || kw(ts, i + 1) == Some(Kw::Not) {
        return false;
    }
    let mut k = i + 1;
    if !matches!(t(ts, k), Some(T::Word(_))) {
        return false;
    }
    while t(ts, k + 1) == Some(T::Dot) && matches!(t(ts, k + 2), Some(T::Word(_))) {
        k += 2;
    }
    if !is_call(ts, k) {
        return false;
    }
    let e = close_paren(ts, k + 1);
    op(e)
        && e + 2 == ts.len()
        && matches!(
            t(ts, e + 1),
            Some(T::Str {
                closed: false,
                blank: true,
                ..
            })
        )
}

/// After a quote break at `i`: an operator and a well-formed SQL expression
/// that ends cleanly (end, comment, `;`, clause). The application's string
/// is the left operand.
fn break_expr(ts: &[Tok], i: usize, quote: u8) -> Option<Expr> {
    let left = Expr {
        strong: 1,
        last_strong: true,
        ctx: Some(quote),
        ..Expr::default()
    };
    let e = sql_expr::read_ops(ts, i, left);
    (e.ops >= 1 && ends_clean(ts, e.end, clause_at)).then_some(e)
}

/// Numeric context: the whole value reads as one SQL expression with
/// SQL-only parts (`1 or true`, `pi() and cos(pi())=-1`, `(1) or 1--`).
///
/// Short keyword expressions (`x is null`, `true or false`, `'a' or 'b'`)
/// are what people type in search boxes and prose, so one SQL signal needs
/// a SQL tail (comment, `;`, clause) or a longer operator chain, and two
/// need a second operator or a known SQL function call.
fn bare_expr(ts: &[Tok], out: &mut Vec<&'static Rule>) {
    let mut i = 0;
    while t(ts, i) == Some(T::LParen) {
        i += 1;
    }
    let Some(e) = sql_expr::read(ts, i) else {
        return;
    };
    if !ends_clean(ts, e.end, clause_at) {
        return;
    }
    let mut after = e.end;
    while t(ts, after) == Some(T::RParen) {
        after += 1;
    }
    let tail_sql = matches!(t(ts, after), Some(T::Comment | T::Semi | T::Word(_)));
    if (e.sqlish >= 1 && (tail_sql || (e.word_ops >= 1 && e.ops >= 3)))
        || (e.sqlish >= 2 && (e.ops >= 2 || e.calls >= 1))
    {
        add(out, &rules::SQLI_EXPR);
    }
}
