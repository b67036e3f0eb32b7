//! A bare SQL expression: the whole value (numeric context) reads as one
//! SQL expression with SQL-only parts (`1 or true`, `pi() and
//! cos(pi())=-1`), a complete `case when … end`, or a CASE branch on a
//! literal comparison (`case when 1=1 then`). Adds `sqli-expr`.

use super::add;
use super::clauses::clause_at;
use crate::rules::{self, Rule};
use crate::sql::expr::{self, ends_clean};
use crate::sql::token::{Keyword, Token, TokenKind, keyword_at, kind_at, token_is_word};

/// Numeric context: the whole value reads as one SQL expression with
/// SQL-only parts (`1 or true`, `pi() and cos(pi())=-1`, `(1) or 1--`).
///
/// Short keyword expressions (`x is null`, `true or false`, `'a' or 'b'`)
/// are what people type in search boxes and prose, so one SQL signal needs
/// a SQL tail (comment, `;`, clause) or a longer operator chain, and two
/// need a second operator or a known SQL function call.
pub(super) fn bare_expression(tokens: &[Token], out: &mut Vec<&'static Rule>) {
    let mut start = 0;
    while kind_at(tokens, start) == Some(TokenKind::LParen) {
        start += 1;
    }
    let Some(read) = expr::read_expression(tokens, start) else {
        return;
    };
    if !ends_clean(tokens, read.end, clause_at) {
        return;
    }
    let mut after = read.end;
    while kind_at(tokens, after) == Some(TokenKind::RParen) {
        after += 1;
    }
    let tail_sql = matches!(
        kind_at(tokens, after),
        Some(TokenKind::Comment | TokenKind::Semicolon | TokenKind::Word(_))
    );
    if (read.sql_signals >= 1 && (tail_sql || (read.word_operators >= 1 && read.operators >= 3)))
        || (read.sql_signals >= 2 && (read.operators >= 2 || read.calls >= 1))
    {
        add(out, &rules::SQLI_EXPR);
    }
}

/// `case when binary true then true end …`: a complete CASE expression with
/// a literal branch (prose says `in case when … then …` without `end`).
pub(super) fn case_expression(tokens: &[Token]) -> bool {
    if keyword_at(tokens, 1) != Some(Keyword::When) {
        return false;
    }
    let Some(end) = tokens
        .iter()
        .take(32)
        .position(|token| token.kind == TokenKind::Word(Keyword::End))
    else {
        return false;
    };
    let then = tokens[..end]
        .iter()
        .position(|token| token.kind == TokenKind::Word(Keyword::Identifier));
    let literal = tokens[2..end].iter().any(|token| {
        matches!(
            token.kind,
            TokenKind::Number
                | TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null)
                | TokenKind::StringLiteral {
                    has_space: false,
                    ..
                }
        )
    });
    then.is_some() && literal
}

/// After `case`: `when 1=1 then` or `5118 when 5118 then`, a branch on a
/// comparison of literals (boolean-blind probes).
pub(super) fn case_literal_test(tokens: &[Token], i: usize) -> bool {
    let literal = |k: usize| {
        matches!(
            kind_at(tokens, k),
            Some(
                TokenKind::Number
                    | TokenKind::StringLiteral {
                        has_space: false,
                        ..
                    }
            )
        )
    };
    if keyword_at(tokens, i) == Some(Keyword::When) {
        literal(i + 1)
            && kind_at(tokens, i + 2) == Some(TokenKind::Comparison)
            && literal(i + 3)
            && token_is_word(tokens, i + 4, b"then")
    } else {
        literal(i)
            && keyword_at(tokens, i + 1) == Some(Keyword::When)
            && literal(i + 2)
            && token_is_word(tokens, i + 3, b"then")
    }
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_bare_sql_expression() {
        assert_fires("pi() and cos(pi())=-1", "sqli-expr");
        assert_fires("case when 1=1 then 1 end", "sqli-expr");
    }

    #[test]
    fn short_keyword_expressions_people_type() {
        for value in [
            "true or false",
            "x is null",
            "in case when it rains then stay",
        ] {
            assert_quiet(value, "sqli-expr");
        }
    }
}
