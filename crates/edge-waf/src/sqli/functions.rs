//! SQL function calls: known SQL functions called like code (`char(`,
//! `concat(`, `user()`), calls nested inside each other
//! (`ascii(substring(`), time-delay functions (`sleep(5)`,
//! `benchmark(`), and a value that is only a function opening its
//! arguments (`md5(`). Adds `sqli-func`, `sqli-func-nested` and
//! `sqli-time`.

use super::add;
use super::grammar::literal_like;
use crate::rules::{self, Rule};
use crate::sql::token::{Keyword, Token, TokenKind, is_call, keyword_at, kind_at};

/// `name(` with no space before the parenthesis.
fn tight_call(tokens: &[Token], i: usize) -> bool {
    is_call(tokens, i) && tokens.get(i + 1).is_some_and(|paren| !paren.spaced)
}

/// A known SQL function (or `user()`, `database()`) called at `i`:
/// `sqli-func`, and `sqli-func-nested` when its first argument is another
/// SQL call or a literal comparison. `obj.concat(` is a method, not SQL.
pub(super) fn scan_call_at(tokens: &[Token], i: usize, out: &mut Vec<&'static Rule>) {
    if !tight_call(tokens, i) {
        return;
    }
    add(out, &rules::SQLI_FUNC);
    let method = i > 0 && kind_at(tokens, i - 1) == Some(TokenKind::Dot);
    if keyword_at(tokens, i) == Some(Keyword::Function) && !method && nested_arg(tokens, i + 2) {
        add(out, &rules::SQLI_FUNC_NESTED);
    }
}

/// `sleep(5)`, `benchmark(1000000,md5(1))`, `pg_sleep(`: a time-delay
/// function called at `i` with an argument.
pub(super) fn delay_call_at(tokens: &[Token], i: usize) -> bool {
    if !is_call(tokens, i) {
        return false;
    }
    // `Benchmark (documentation)`: a word in parentheses after a space is
    // prose.
    let prose = tokens[i + 1].spaced
        && keyword_at(tokens, i + 2) == Some(Keyword::Identifier)
        && kind_at(tokens, i + 3) == Some(TokenKind::RParen);
    !prose
        && matches!(
            kind_at(tokens, i + 2),
            Some(
                TokenKind::Number
                    | TokenKind::LParen
                    | TokenKind::Word(_)
                    | TokenKind::Arithmetic
                    | TokenKind::Variable { .. }
                    | TokenKind::StringLiteral { .. }
            )
        )
}

/// The whole value is a SQL function opening its arguments: `md5(`,
/// `group_concat(`, `if(1234=` (probing for a function filter), or one call
/// on literals (`lo_get(16400)`, `div(23,-2)`).
pub(super) fn call_fragment(tokens: &[Token]) -> bool {
    match kind_at(tokens, 0) {
        Some(TokenKind::Word(
            Keyword::Function
            | Keyword::DelayFunction
            | Keyword::SystemObject
            | Keyword::ArithmeticWord
            | Keyword::Insert,
        )) => {
            kind_at(tokens, 1) == Some(TokenKind::LParen)
                && (tokens.len() == 2 || call_on_numbers(tokens))
        }
        // `if(7423=7423) select …`, `if(1234=`
        Some(TokenKind::Word(Keyword::StatementStart)) => {
            kind_at(tokens, 1) == Some(TokenKind::LParen)
                && kind_at(tokens, 2) == Some(TokenKind::Number)
                && kind_at(tokens, 3) == Some(TokenKind::Comparison)
        }
        _ => false,
    }
}

/// `f(16400)`, `f(23,-2)`: only numbers and arithmetic inside the
/// parentheses, which close the value.
fn call_on_numbers(tokens: &[Token]) -> bool {
    matches!(
        kind_at(tokens, 2),
        Some(TokenKind::Number | TokenKind::HexLiteral | TokenKind::Arithmetic)
    ) && tokens[2..].iter().all(|token| {
        matches!(
            token.kind,
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::Arithmetic
                | TokenKind::Comma
                | TokenKind::RParen
        )
    }) && tokens
        .last()
        .is_some_and(|token| token.kind == TokenKind::RParen)
}

/// `, find_in_set('22', category)`: an extra column for the query.
pub(super) fn extra_column_call(tokens: &[Token]) -> bool {
    kind_at(tokens, 0) == Some(TokenKind::Comma)
        && matches!(
            keyword_at(tokens, 1),
            Some(Keyword::Function | Keyword::DelayFunction)
        )
        && is_call(tokens, 1)
}

/// The first argument of a SQL function call at `arg`: another known SQL
/// function (`ascii(substring(`, `charset(current_user())`) or a literal
/// comparison (`iif(2510=9436,`).
fn nested_arg(tokens: &[Token], arg: usize) -> bool {
    let niladic = |k: usize| {
        kind_at(tokens, k + 1) == Some(TokenKind::LParen)
            && kind_at(tokens, k + 2) == Some(TokenKind::RParen)
    };
    match kind_at(tokens, arg) {
        Some(TokenKind::Word(Keyword::Function | Keyword::DelayFunction)) => is_call(tokens, arg),
        Some(TokenKind::Word(Keyword::SchemaObject)) => niladic(arg),
        Some(TokenKind::Number) => {
            (kind_at(tokens, arg + 1) == Some(TokenKind::Comparison)
                && kind_at(tokens, arg + 2) == Some(TokenKind::Number))
                || literal_like(tokens, arg, arg + 1)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn time_delay_and_nested_sql_functions() {
        assert_fires("1 and sleep(5)", "sqli-time");
        assert_fires("ascii(substring(user(),1,1))", "sqli-func-nested");
        assert_fires("char(0x41)", "sqli-func");
    }

    #[test]
    fn function_names_in_prose_and_code() {
        assert_quiet("Benchmark (documentation)", "sqli-time");
        assert_quiet("a char is one byte", "sqli-func");
        assert_quiet("str.concat(other)", "sqli-func-nested");
    }
}
