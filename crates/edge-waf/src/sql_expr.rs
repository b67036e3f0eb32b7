//! A forgiving SQL expression reader over tokens, used to judge whether a
//! token run (after a quote break, or a whole value in numeric context) is
//! a *well-formed SQL expression* rather than prose.
//!
//! Prose breaks the grammar quickly (two bare words in a row, a word right
//! after a closing quote), while injected SQL reads as operand, operator,
//! operand… up to the end, a comment, a `;` or a trailing clause.

use super::sql_lex::{Kw, T, Tok};

/// What an expression read found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Expr {
    /// Index after the expression.
    pub end: usize,
    /// Binary operators.
    pub ops: u32,
    /// Word operators (`or`, `like`, `is`...).
    pub word_ops: u32,
    /// Literal operands (numbers, strings, variables, keyword values, calls).
    pub strong: u32,
    /// SQL-only signals: word operators next to a literal, SQL functions,
    /// `NULL`/`TRUE`, casts, `||`, subqueries.
    pub sqlish: u32,
    /// SQL function calls (known names).
    pub calls: u32,
    /// The operand just read was a literal.
    pub last_strong: bool,
    /// The operand just read was a plain number.
    pub last_num: bool,
    /// The quote the application wrapped the value in (quoted readings).
    pub ctx: Option<u8>,
}

pub(crate) fn t(ts: &[Tok], i: usize) -> Option<T> {
    ts.get(i).map(|t| t.t)
}

pub(crate) fn kw(ts: &[Tok], i: usize) -> Option<Kw> {
    match t(ts, i) {
        Some(T::Word(k)) => Some(k),
        _ => None,
    }
}

/// A call `name(` (whitespace before the parenthesis allowed).
pub(crate) fn is_call(ts: &[Tok], i: usize) -> bool {
    matches!(t(ts, i), Some(T::Word(_))) && t(ts, i + 1) == Some(T::LParen)
}

/// Index after the parenthesis group opened at `open` (end of input if it
/// does not close within 256 tokens: callers ask at every `(`, so an
/// unbounded search would make `select (select (…` quadratic).
pub(crate) fn close_paren(ts: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, x) in ts.iter().enumerate().skip(open).take(256) {
        match x.t {
            T::LParen => depth += 1,
            T::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    ts.len()
}

/// SQL signals inside a token range (for parenthesised groups and calls).
fn inner_signals(ts: &[Tok], from: usize, to: usize) -> u32 {
    let mut n = 0;
    for i in from..to.min(ts.len()) {
        match ts[i].t {
            T::Word(Kw::Func | Kw::TimeFunc | Kw::Danger | Kw::Stmt) if is_call(ts, i) => n += 1,
            T::Word(Kw::Select | Kw::Null | Kw::Const | Kw::Danger) => n += 1,
            T::Var { .. } | T::Hex => n += 1,
            _ => {}
        }
    }
    n
}

/// Index after a binary operator at `i`, and whether it is a word operator.
fn binop(ts: &[Tok], i: usize) -> Option<(usize, bool)> {
    match t(ts, i)? {
        T::Arith | T::Cmp => Some((i + 1, false)),
        T::LogicOp => Some((i + 1, true)),
        T::Word(Kw::Or | Kw::And | Kw::Xor | Kw::Like | Kw::WordArith | Kw::In) => {
            let mut e = i + 1;
            if kw(ts, e) == Some(Kw::Like) {
                e += 1; // `sounds like`
            }
            Some((e, true))
        }
        T::Word(Kw::Between) => Some((i + 1, true)),
        T::Word(Kw::Not) if matches!(kw(ts, i + 1), Some(Kw::Like | Kw::In | Kw::Between)) => {
            Some((i + 2, true))
        }
        T::Word(Kw::Is) => {
            let e = if kw(ts, i + 1) == Some(Kw::Not) {
                i + 2
            } else {
                i + 1
            };
            Some((e, true))
        }
        _ => None,
    }
}

/// Skips prefix operators (`-`, `!`, `~`, `not`, `binary`, `all`).
fn prefixes(ts: &[Tok], mut i: usize) -> usize {
    while matches!(t(ts, i), Some(T::Arith | T::LogicOp | T::Bang))
        || matches!(
            kw(ts, i),
            Some(Kw::Not | Kw::Unary | Kw::All | Kw::Distinct)
        )
    {
        i += 1;
    }
    i
}

/// Reads one operand at `i` (after prefixes).
fn primary(ts: &[Tok], i: usize, e: &mut Expr) -> Option<usize> {
    let before = e.strong;
    let end = primary_inner(ts, i, e)?;
    e.last_strong = e.strong > before;
    e.last_num = t(ts, i) == Some(T::Num) && end == i + 1;
    Some(end)
}

fn primary_inner(ts: &[Tok], i: usize, e: &mut Expr) -> Option<usize> {
    let x = t(ts, i)?;
    let end = match x {
        // A short unclosed string in the context's quote balances the
        // application's closing quote (`' or '1'='1`).
        T::Str {
            closed: false,
            ws: false,
            quote,
            short: true,
            ..
        } if e.ctx == Some(quote) => {
            e.strong += 1;
            e.sqlish += 1;
            i + 1
        }
        // Prose in quotes, or a string the application cannot close, is no literal.
        T::Str { ws: true, .. } | T::Str { closed: false, .. } => i + 1,
        T::Num | T::Str { .. } => {
            e.strong += 1;
            i + 1
        }
        T::Hex | T::Var { sys: true } => {
            e.strong += 1;
            e.sqlish += 1;
            i + 1
        }
        // `@name` is as often a social handle as a SQL variable.
        T::Var { sys: false } => i + 1,
        T::Word(Kw::True | Kw::False | Kw::Null | Kw::Const) => {
            e.strong += 1;
            e.sqlish += 1;
            i + 1
        }
        T::Word(k) if is_call(ts, i) => {
            let c = close_paren(ts, i + 1);
            e.strong += 1;
            if matches!(
                k,
                Kw::Func | Kw::TimeFunc | Kw::Danger | Kw::Stmt | Kw::Table
            ) {
                e.sqlish += 1;
                e.calls += 1;
            }
            e.sqlish += inner_signals(ts, i + 2, c);
            c
        }
        T::Word(Kw::Case) if ts[i..].iter().take(8).any(|x| x.t == T::Word(Kw::When)) => {
            e.strong += 1;
            e.sqlish += 1;
            let mut k = i + 1;
            while k < ts.len() && kw(ts, k) != Some(Kw::End) {
                k += 1;
            }
            if k < ts.len() {
                // A complete `case … when … end` is SQL-only syntax.
                e.sqlish += 1;
                e.calls += 1;
            }
            (k + 1).min(ts.len())
        }
        T::Word(Kw::Select) => {
            // A bare subquery operand: `or select 1`.
            e.sqlish += 1;
            e.strong += 1;
            let mut k = i + 1;
            while k < ts.len() && !matches!(ts[k].t, T::RParen | T::Semi | T::Comment) {
                k += 1;
            }
            k
        }
        T::Word(Kw::Ident | Kw::Func | Kw::Table | Kw::Delay) => i + 1,
        T::LParen => {
            let c = close_paren(ts, i);
            let inner = inner_signals(ts, i + 1, c);
            e.sqlish += inner;
            if inner > 0
                || ts[i + 1..c]
                    .iter()
                    .any(|x| matches!(x.t, T::Num | T::Str { .. }))
            {
                e.strong += 1;
            }
            c
        }
        _ => return None,
    };
    // `a.b.c` member chains.
    let mut k = end;
    while t(ts, k) == Some(T::Dot) && matches!(t(ts, k + 1), Some(T::Word(_) | T::Num)) {
        k += 2;
    }
    Some(k)
}

/// Reads `operand (op operand)*` from `i`; `None` when no operand starts there.
pub(crate) fn read(ts: &[Tok], i: usize) -> Option<Expr> {
    let mut e = Expr::default();
    let k = prefixes(ts, i);
    let k = primary(ts, k, &mut e)?;
    Some(read_ops(ts, k, e))
}

/// Reads `(op operand)*` from `i`, after a left operand already counted in `e`.
pub(crate) fn read_ops(ts: &[Tok], mut k: usize, mut e: Expr) -> Expr {
    for _ in 0..256 {
        let Some((after, word)) = binop(ts, k) else {
            break;
        };
        let left_strong = e.last_strong;
        let left_num = e.last_num;
        let before = e;
        let p = prefixes(ts, after);
        let Some(next) = primary(ts, p, &mut e) else {
            e = before;
            break;
        };
        e.ops += 1;
        if word {
            e.word_ops += 1;
        }
        let right_strong = e.last_strong;
        // `7 or 8`, `5 and 10` are prose; `1 or 1=1` is not.
        let numbers_only = left_num && e.last_num && t(ts, next) != Some(T::Cmp);
        // `is` only says something about `null`/`true`/`false`.
        let is_kw_value =
            kw(ts, k) != Some(Kw::Is) || matches!(kw(ts, p), Some(Kw::Null | Kw::True | Kw::False));
        if (word || t(ts, k) == Some(T::LogicOp))
            && left_strong
            && right_strong
            && is_kw_value
            && !numbers_only
        {
            e.sqlish += 1;
        }
        k = next;
    }
    e.end = k;
    e
}

/// Does the token run end cleanly at `i`: end of input, a comment, a `;`,
/// closing parentheses, or a trailing clause?
pub(crate) fn ends_clean(ts: &[Tok], mut i: usize, clause: impl Fn(&[Tok], usize) -> bool) -> bool {
    while t(ts, i) == Some(T::RParen) {
        i += 1;
    }
    match t(ts, i) {
        None | Some(T::Comment | T::Semi) => true,
        Some(T::Word(Kw::As)) => matches!(t(ts, i + 1), Some(T::Word(_) | T::Str { .. })),
        Some(T::Word(_)) => clause(ts, i),
        _ => false,
    }
}
