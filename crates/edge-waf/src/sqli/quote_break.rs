//! Quote-break injection: the value closes the string the application put
//! it in (`'`, `"`) and goes on in SQL: a comment (`admin'--`), a boolean
//! condition (`' or '1'='1`, `' or 1=1--`), a clause (`' order by 1--`),
//! a stacked statement (`x'; drop table t--`, T-SQL `x'declare @s`), an
//! expression joined to the string (`' || pkg.f('x') || '`). Prose with
//! apostrophes (`O'Brien`, `don't`) breaks into plain words and never
//! matches. Adds `sqli-boolean`, `sqli-break-comment`, `sqli-break-expr`,
//! `sqli-clause` and `sqli-stacked`.

use super::add;
use super::clauses::clause_at;
use super::grammar::{is_logic, operand_end};
use super::statements::{grant, insert_values, statement_starts};
use super::tautology::logic_tail;
use crate::rules::{self, Rule};
use crate::sql::expr::{self, Expression, ends_clean};
use crate::sql::token::{
    Keyword, Token, TokenKind, after_group, is_call, is_word_byte, keyword_at, kind_at,
    token_is_word,
};

/// Quoted context: what follows the quote that closed the application's
/// string. `before_quote` is the last non-blank byte before that quote.
pub(super) fn scan_break(
    tokens: &[Token],
    quote: u8,
    tail_spaced: bool,
    before_quote: Option<u8>,
    out: &mut Vec<&'static Rule>,
) {
    let mut at = 1;
    while matches!(kind_at(tokens, at), Some(TokenKind::RParen)) {
        at += 1;
    }
    let Some(first) = kind_at(tokens, at) else {
        return;
    };
    let tail_digit = before_quote.is_some_and(|b| b.is_ascii_digit() || !is_word_byte(b));
    if operator_between_quotes(tokens, at, tail_digit)
        || (!tail_digit && lone_operator_quoted(tokens, at, quote))
        || condition_after_break(tokens, at, quote)
    {
        add(out, &rules::SQLI_BOOLEAN);
        return;
    }
    if first == TokenKind::Semicolon && !tail_spaced && kind_at(tokens, at + 1).is_none() {
        add(out, &rules::SQLI_BREAK_COMMENT);
    }
    // Double quotes are code more often than SQL (`.exec("INSERT INTO …`).
    if quote == b'\''
        && (insert_values(tokens, at) || (grant(tokens, at) && ends_terminated(tokens)))
    {
        add(out, &rules::SQLI_STACKED);
    }
    if concat_call_between_quotes(tokens, at) {
        add(out, &rules::SQLI_BREAK_EXPR);
    }
    // The quote ends a word the application held (`username'declare`),
    // not one that opens a string (`"DROP TABLE" is…`, `exec("DELETE…`).
    let tail_word = before_quote.is_some_and(is_word_byte) && !tail_spaced;
    if let Some(rule) = what_follows_break(tokens, at, first, tail_spaced, tail_word) {
        add(out, rule);
    }
}

/// The value ends in a comment or `;`.
fn ends_terminated(tokens: &[Token]) -> bool {
    matches!(
        tokens.last().map(|token| token.kind),
        Some(TokenKind::Comment | TokenKind::Semicolon)
    )
}

/// After the quote break at `at`: a well-formed condition with SQL signals
/// (`' or 1=1--`, `' and sleep(5)='`), the application's string its left
/// operand.
fn condition_after_break(tokens: &[Token], at: usize, quote: u8) -> bool {
    break_expr(tokens, at, quote).is_some_and(|expr| {
        expr.sql_signals >= 1 || (kind_at(tokens, expr.end).is_some() && expr.literals >= 2)
    })
}

/// The rule the first token after the break (`first`, at `at`) calls for:
/// a comment (`'--`), a boolean (`' or x like '%`), a clause (`' order by
/// 1`), a statement (`x'declare @s`), a comparison (`'=1 or 1`) or an
/// expression joined on (`'+ascii(`).
fn what_follows_break(
    tokens: &[Token],
    at: usize,
    first: TokenKind,
    tail_spaced: bool,
    tail_word: bool,
) -> Option<&'static Rule> {
    match first {
        TokenKind::Comment if !tail_spaced => Some(&rules::SQLI_BREAK_COMMENT),
        TokenKind::Semicolon
            if !tail_spaced && kind_at(tokens, at + 1) == Some(TokenKind::Comment) =>
        {
            Some(&rules::SQLI_BREAK_COMMENT)
        }
        TokenKind::Word(Keyword::Or | Keyword::And | Keyword::Xor) | TokenKind::LogicOp
            if logic_tail(tokens, at + 1, true) =>
        {
            Some(&rules::SQLI_BOOLEAN)
        }
        TokenKind::Word(_) if clause_at(tokens, at) => Some(&rules::SQLI_CLAUSE),
        // `x'declare @s …`, `x' update t set …`: T-SQL needs no `;`.
        TokenKind::Word(
            Keyword::Declare
            | Keyword::Update
            | Keyword::Insert
            | Keyword::Delete
            | Keyword::Exec
            | Keyword::Drop
            | Keyword::Create,
        ) if (tail_word || ends_terminated(tokens)) && statement_starts(tokens, at) => {
            Some(&rules::SQLI_STACKED)
        }
        TokenKind::Comparison => operand_end(tokens, at + 1)
            .filter(|&end| {
                end == tokens.len()
                    || matches!(
                        kind_at(tokens, end),
                        Some(TokenKind::Comment | TokenKind::Semicolon)
                    )
                    || is_logic(tokens, end)
            })
            .map(|_| &rules::SQLI_BOOLEAN),
        TokenKind::Arithmetic | TokenKind::LogicOp | TokenKind::Comma => {
            let next = at + 1;
            let call = matches!(kind_at(tokens, next), Some(TokenKind::Word(word)) if word != Keyword::Identifier)
                && is_call(tokens, next);
            let subquery = kind_at(tokens, next) == Some(TokenKind::LParen)
                && keyword_at(tokens, next + 1) == Some(Keyword::Select);
            (call || subquery).then_some(&rules::SQLI_BREAK_EXPR)
        }
        _ => None,
    }
}

/// `' or '`, `'/1/1='`, `' is 99999 = '`: after the quote break only
/// operators and literals, then a quote that the application's closing quote
/// balances. Prose never puts an operator right after its apostrophe.
fn operator_between_quotes(tokens: &[Token], i: usize, after_digit: bool) -> bool {
    let Some(last) = tokens.len().checked_sub(1) else {
        return false;
    };
    let (closing, blank) = match kind_at(tokens, last) {
        Some(TokenKind::StringLiteral {
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
    for token in &tokens[i..last] {
        match token.kind {
            // `asd'|column!='`: one column name among the operators.
            TokenKind::Word(Keyword::Identifier) if idents == 0 => idents += 1,
            TokenKind::Arithmetic
            | TokenKind::Comparison
            | TokenKind::LogicOp
            | TokenKind::Bang => ops += 1,
            TokenKind::Word(
                Keyword::Or
                | Keyword::And
                | Keyword::Xor
                | Keyword::ArithmeticWord
                | Keyword::Like
                | Keyword::Is
                | Keyword::Not,
            ) => {
                ops += 1;
            }
            TokenKind::Number
            | TokenKind::HexLiteral
            | TokenKind::Word(Keyword::Null | Keyword::True | Keyword::False) => literals += 1,
            TokenKind::LParen | TokenKind::RParen => {}
            _ => return false,
        }
    }
    // `'*'` alone is also how people quote a symbol in a search box; a
    // non-blank tail (`'aa `) or a column name needs a longer chain.
    if (literals == 0 || !blank || idents > 0) && ops < 2 {
        return false;
    }
    let first_is_op = !matches!(
        kind_at(tokens, i),
        Some(
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::LParen
                | TokenKind::RParen
                | TokenKind::Word(Keyword::Null | Keyword::True | Keyword::False)
        )
    );
    // After a digit a `"` measures inches (`16" or 18"`); a `'` after a
    // digit needs a longer chain (`5' - 6'` is a height range).
    let digit_ok = !after_digit
        || (tokens.first().is_some_and(|token| {
            matches!(token.kind, TokenKind::StringLiteral { quote: b'\'', .. })
        }) && ops >= 3);
    ops >= 1 && first_is_op && digit_ok
}

/// `A '&&' B`, `'|'`, `' OR '`: one operator between single quotes, which
/// joins the application's string to the one its closing quote opens.
/// Symbols count anywhere; word operators (`'like'` is also prose) only
/// when nothing surrounds the quotes. Double quotes are how people quote
/// words in a search box (`"NOT" STUFFER`), so they do not count.
fn lone_operator_quoted(tokens: &[Token], i: usize, quote: u8) -> bool {
    if quote != b'\'' {
        return false;
    }
    let Some(last) = tokens.len().checked_sub(1) else {
        return false;
    };
    let Some(TokenKind::StringLiteral {
        closed: false,
        blank,
        short,
        quote: b'\'',
        ..
    }) = kind_at(tokens, last)
    else {
        return false;
    };
    let head = match tokens[0].kind {
        TokenKind::StringLiteral { blank, short, .. } => (blank, short),
        _ => (false, false),
    };
    let head_blank = head.0;
    // `A 'AND' B`: short strings around a boolean or arithmetic word.
    let framed = (head.0 || head.1) && (blank || short);
    let words = |k: usize| {
        matches!(
            keyword_at(tokens, k),
            Some(
                Keyword::Or | Keyword::And | Keyword::Xor | Keyword::ArithmeticWord | Keyword::Like
            )
        )
    };
    match last.checked_sub(i) {
        Some(1)
            if matches!(
                kind_at(tokens, i),
                Some(TokenKind::Arithmetic | TokenKind::LogicOp)
            ) =>
        {
            blank || short
        }
        // `A 'REGEXP' B`; `'like'` in quotes is also prose.
        Some(1) => {
            let prose = keyword_at(tokens, i) == Some(Keyword::Like)
                && ![b"regexp".as_slice(), b"rlike", b"ilike"]
                    .iter()
                    .any(|w| token_is_word(tokens, i, w));
            words(i) && ((blank && head_blank) || (framed && !prose))
        }
        // `'NOT LIKE'`, `'SOUNDS LIKE'`
        Some(2) => {
            matches!(keyword_at(tokens, i), Some(Keyword::Not | Keyword::Like))
                && keyword_at(tokens, i + 1) == Some(Keyword::Like)
                && ((blank && head_blank) || framed)
        }
        _ => false,
    }
}

/// `' || pkg.adduser('admin', 'x') || '`: a (package-qualified) call
/// concatenated between the application's string and its closing quote.
fn concat_call_between_quotes(tokens: &[Token], i: usize) -> bool {
    let joins = |k: usize| {
        matches!(
            kind_at(tokens, k),
            Some(TokenKind::LogicOp | TokenKind::Arithmetic)
        )
    };
    if !joins(i) || keyword_at(tokens, i + 1) == Some(Keyword::Not) {
        return false;
    }
    let mut name = i + 1;
    if !matches!(kind_at(tokens, name), Some(TokenKind::Word(_))) {
        return false;
    }
    while kind_at(tokens, name + 1) == Some(TokenKind::Dot)
        && matches!(kind_at(tokens, name + 2), Some(TokenKind::Word(_)))
    {
        name += 2;
    }
    if !is_call(tokens, name) {
        return false;
    }
    let end = after_group(tokens, name + 1);
    joins(end)
        && end + 2 == tokens.len()
        && matches!(
            kind_at(tokens, end + 1),
            Some(TokenKind::StringLiteral {
                closed: false,
                blank: true,
                ..
            })
        )
}

/// After a quote break at `i`: an operator and a well-formed SQL expression
/// that ends cleanly (end, comment, `;`, clause). The application's string
/// is the left operand.
fn break_expr(tokens: &[Token], i: usize, quote: u8) -> Option<Expression> {
    let left = Expression {
        literals: 1,
        last_was_literal: true,
        quote_context: Some(quote),
        ..Expression::default()
    };
    let read = expr::read_operator_chain(tokens, i, left);
    (read.operators >= 1 && ends_clean(tokens, read.end, clause_at)).then_some(read)
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_comment_right_after_the_quote_breaks_out() {
        assert_fires("admin'--", "sqli-break-comment");
    }

    #[test]
    fn a_condition_balanced_by_the_closing_quote_breaks_out() {
        assert_fires("1' or '1'='1", "sqli-boolean");
        assert_fires("x' order by 3--", "sqli-clause");
    }

    #[test]
    fn apostrophes_in_names_and_prose_do_not_break_out() {
        for value in [
            "O'Brien",
            "don't stop me now",
            "rock 'n' roll",
            "5' - 6' tall",
        ] {
            assert_quiet(value, "sqli-boolean");
            assert_quiet(value, "sqli-break-comment");
            assert_quiet(value, "sqli-clause");
        }
    }
}
