//! Boolean-based injection: tautologies (`or 1=1`, `and 'a'='a'`,
//! `or x=x`), and a boolean operator followed by a SQL condition
//! (`or true--`, `and 1 in (1)`, `or username like char(37)`). Adds
//! `sqli-tautology` and `sqli-boolean`.

use super::clauses::clause_at;
use super::grammar::{is_literal, is_logic, operand_end};
use crate::sql::token::{
    Keyword, Token, TokenKind, after_group, is_call, keyword_at, kind_at, token_is_word,
};

/// `or 1=1`, `and 'a'='a'`, `or 2>1`: two literals compared after a boolean.
pub(super) fn tautology(tokens: &[Token], i: usize) -> bool {
    let mut k = i;
    while matches!(kind_at(tokens, k), Some(TokenKind::LParen))
        || keyword_at(tokens, k) == Some(Keyword::Not)
    {
        k += 1;
    }
    let lit = |kind: Option<TokenKind>| {
        matches!(
            kind,
            Some(TokenKind::Number | TokenKind::HexLiteral | TokenKind::StringLiteral { .. })
        )
    };
    // `or (a=a`, `or x=x`: a column compared with itself.
    let column =
        |k: usize| keyword_at(tokens, k) == Some(Keyword::Identifier) && !is_call(tokens, k);
    if column(k)
        && kind_at(tokens, k + 1) == Some(TokenKind::Comparison)
        && column(k + 2)
        && tokens[k].fingerprint == tokens[k + 2].fingerprint
        && !matches!(
            kind_at(tokens, k + 3),
            Some(TokenKind::Dot | TokenKind::Word(_))
        )
    {
        return true;
    }
    lit(kind_at(tokens, k))
        && matches!(
            kind_at(tokens, k + 1),
            Some(TokenKind::Comparison) | Some(TokenKind::Word(Keyword::Like))
        )
        && (lit(kind_at(tokens, k + 2))
            || matches!(
                kind_at(tokens, k + 2),
                Some(TokenKind::Variable { .. } | TokenKind::LParen)
            )
            || is_call(tokens, k + 2))
}

/// What follows a boolean operator in an injected position.
pub(super) fn logic_tail(tokens: &[Token], i: usize, lone_literal_ok: bool) -> bool {
    let mut left = i;
    while keyword_at(tokens, left) == Some(Keyword::Not)
        || matches!(
            kind_at(tokens, left),
            Some(TokenKind::LogicOp | TokenKind::Bang)
        )
    {
        left += 1;
    }
    if match_against(tokens, left).is_some() || sql_only_operand(tokens, left) {
        return true;
    }
    let Some(mut end) = operand_end(tokens, left) else {
        return false;
    };
    // `31337-31337=0`, `1 div 0 = 0`: an arithmetic chain before the comparison.
    while matches!(
        kind_at(tokens, end),
        Some(TokenKind::Arithmetic | TokenKind::Word(Keyword::ArithmeticWord))
    ) && let Some(next) = operand_end(tokens, end + 1)
    {
        end = next;
    }
    if keyword_at(tokens, end) == Some(Keyword::Not)
        && matches!(
            keyword_at(tokens, end + 1),
            Some(Keyword::Like | Keyword::In | Keyword::Between)
        )
    {
        end += 1;
    }
    match kind_at(tokens, end) {
        Some(TokenKind::Comparison) => operand_end(tokens, end + 1).is_some(),
        Some(TokenKind::Word(Keyword::Is | Keyword::Like | Keyword::In | Keyword::Between)) => {
            word_operator_right_side(tokens, end)
        }
        Some(TokenKind::Comment | TokenKind::Semicolon) => true,
        // `or 1 group by concat(...)`, `and 1 union select`.
        Some(TokenKind::Word(_)) if is_literal(kind_at(tokens, left)) && clause_at(tokens, end) => {
            true
        }
        None => {
            lone_literal_ok
                && matches!(
                    kind_at(tokens, left),
                    Some(
                        TokenKind::Number
                            | TokenKind::HexLiteral
                            | TokenKind::Variable { .. }
                            | TokenKind::StringLiteral { closed: true, .. }
                    )
                )
        }
        _ => false,
    }
}

/// An operand only SQL writes: `true`/`null`, `select`, `exists`, `case`, a
/// SQL call, or a group opening with one of them or a literal.
fn sql_only_operand(tokens: &[Token], at: usize) -> bool {
    let sql_call = |k: usize| {
        matches!(kind_at(tokens, k), Some(TokenKind::Word(word)) if word != Keyword::Identifier)
            && is_call(tokens, k)
    };
    match kind_at(tokens, at) {
        Some(TokenKind::Word(
            Keyword::True
            | Keyword::False
            | Keyword::Null
            | Keyword::Select
            | Keyword::Exists
            | Keyword::Case,
        )) => true,
        Some(TokenKind::Word(_)) => sql_call(at),
        Some(TokenKind::LParen) => {
            matches!(
                keyword_at(tokens, at + 1),
                Some(
                    Keyword::Select
                        | Keyword::Case
                        | Keyword::True
                        | Keyword::False
                        | Keyword::Null
                )
            ) || is_literal(kind_at(tokens, at + 1))
                || sql_call(at + 1)
        }
        _ => false,
    }
}

/// The word operators need a SQL right side: `is null`, `like '%a'`,
/// `in (1,2)`, `between 1 and 2` (`and men in Rome` is prose).
fn word_operator_right_side(tokens: &[Token], operator: usize) -> bool {
    match keyword_at(tokens, operator) {
        Some(Keyword::Is) => {
            let negated = keyword_at(tokens, operator + 1) == Some(Keyword::Not);
            matches!(
                kind_at(tokens, operator + 1 + usize::from(negated)),
                Some(
                    TokenKind::Word(Keyword::Null | Keyword::True | Keyword::False)
                        | TokenKind::Number
                        | TokenKind::StringLiteral { .. }
                )
            )
        }
        Some(Keyword::Like) => {
            // `sounds like`
            let sounds = keyword_at(tokens, operator + 1) == Some(Keyword::Like);
            let right = operator + 1 + usize::from(sounds);
            matches!(
                kind_at(tokens, right),
                Some(
                    TokenKind::StringLiteral { .. }
                        | TokenKind::Number
                        | TokenKind::Variable { .. }
                        | TokenKind::LParen
                )
            ) || is_call(tokens, right)
                // `column like column --`
                || (keyword_at(tokens, right) == Some(Keyword::Identifier)
                    && matches!(
                        kind_at(tokens, right + 1),
                        None | Some(TokenKind::Comment | TokenKind::Semicolon)
                    ))
        }
        Some(Keyword::In) => kind_at(tokens, operator + 1) == Some(TokenKind::LParen),
        Some(Keyword::Between) => matches!(
            kind_at(tokens, operator + 1),
            Some(TokenKind::Number | TokenKind::StringLiteral { .. })
        ),
        _ => false,
    }
}

/// MySQL full-text search `match col[, col] against ('…'`: the index after
/// the argument group.
pub(super) fn match_against(tokens: &[Token], i: usize) -> Option<usize> {
    if !token_is_word(tokens, i, b"match") {
        return None;
    }
    let mut k = i + 1;
    let paren = kind_at(tokens, k) == Some(TokenKind::LParen);
    k += usize::from(paren);
    loop {
        if keyword_at(tokens, k) != Some(Keyword::Identifier) {
            return None;
        }
        k += 1;
        while kind_at(tokens, k) == Some(TokenKind::Dot)
            && keyword_at(tokens, k + 1) == Some(Keyword::Identifier)
        {
            k += 2;
        }
        if kind_at(tokens, k) == Some(TokenKind::Comma) {
            k += 1;
        } else {
            break;
        }
    }
    if paren {
        if kind_at(tokens, k) != Some(TokenKind::RParen) {
            return None;
        }
        k += 1;
    }
    (token_is_word(tokens, k, b"against")
        && kind_at(tokens, k + 1) == Some(TokenKind::LParen)
        && matches!(
            kind_at(tokens, k + 2),
            Some(TokenKind::StringLiteral { .. } | TokenKind::Variable { .. })
        ))
    .then(|| after_group(tokens, k + 1))
}

/// `(1589=1589)*1`: a parenthesised literal comparison used as a number.
pub(super) fn comparison_used_as_number(tokens: &[Token]) -> bool {
    kind_at(tokens, 0) == Some(TokenKind::LParen)
        && kind_at(tokens, 1) == Some(TokenKind::Number)
        && kind_at(tokens, 2) == Some(TokenKind::Comparison)
        && kind_at(tokens, 3) == Some(TokenKind::Number)
        && kind_at(tokens, 4) == Some(TokenKind::RParen)
        && kind_at(tokens, 5) == Some(TokenKind::Arithmetic)
        && kind_at(tokens, 6) == Some(TokenKind::Number)
}

/// `1=1 and …`, `1=1--`: a value that opens (at `start`) with a literal
/// tautology.
pub(super) fn leading_literal_tautology(tokens: &[Token], start: usize) -> bool {
    matches!(kind_at(tokens, start), Some(TokenKind::Number))
        && kind_at(tokens, start + 1) == Some(TokenKind::Comparison)
        && kind_at(tokens, start + 2) == Some(TokenKind::Number)
        && (is_logic(tokens, start + 3)
            || matches!(
                kind_at(tokens, start + 3),
                Some(TokenKind::Comment | TokenKind::Semicolon)
            ))
}

/// A value opening with a boolean operator: `or 1=1`, `or true--`,
/// `or x=x--`, `and connection_id()=connection_id()`.
pub(super) fn starts_boolean(tokens: &[Token]) -> bool {
    let operand = 1 + tokens[1..]
        .iter()
        .take_while(|token| {
            token.kind == TokenKind::Word(Keyword::Not) || token.kind == TokenKind::Bang
        })
        .count();
    let ends = |end: usize| {
        matches!(
            kind_at(tokens, end),
            None | Some(TokenKind::Comment | TokenKind::Semicolon)
        )
    };
    let plausible = match kind_at(tokens, operand) {
        // `or true` must end there (`and true love` is prose).
        Some(TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null)) => ends(operand + 1),
        // `or x=x--`: a bare word compared, then nothing else.
        Some(TokenKind::Word(Keyword::Identifier)) if !is_call(tokens, operand) => {
            (kind_at(tokens, operand + 1) == Some(TokenKind::Comparison)
                && operand_end(tokens, operand + 2).is_some_and(ends))
                // `or username like char(37);`
                || (keyword_at(tokens, operand + 1) == Some(Keyword::Like)
                    && operand_end(tokens, operand + 2).is_some_and(|end| {
                        ends(end)
                            && (end < tokens.len()
                                || keyword_at(tokens, operand + 2) == Some(Keyword::Function))
                    }))
        }
        Some(TokenKind::Word(Keyword::Identifier | Keyword::SchemaObject)) => false,
        _ => true,
    };
    plausible && logic_tail(tokens, 1, false)
}

/// `'x'!='y`: a comparison of quoted literals that the application's
/// closing quote completes.
pub(super) fn completed_literal_comparison(tokens: &[Token]) -> bool {
    matches!(
        kind_at(tokens, 0),
        Some(TokenKind::StringLiteral {
            closed: true,
            has_space: false,
            quote: b'\'',
            ..
        })
    ) && kind_at(tokens, 1) == Some(TokenKind::Comparison)
        && matches!(
            kind_at(tokens, 2),
            Some(TokenKind::StringLiteral {
                closed: false,
                has_space: false,
                quote: b'\'',
                ..
            })
        )
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_literal_tautology_after_a_boolean() {
        assert_fires("1 or 1=1", "sqli-tautology");
        assert_fires("' or 'a'='a", "sqli-tautology");
    }

    #[test]
    fn a_boolean_opening_the_value() {
        assert_fires("or true--", "sqli-boolean");
    }

    #[test]
    fn numbers_and_choices_in_prose_are_no_tautology() {
        for value in [
            "7 or 8 apples",
            "select the best plan from the list",
            "and true love",
        ] {
            assert_quiet(value, "sqli-tautology");
            assert_quiet(value, "sqli-boolean");
        }
    }
}
