//! UNION- and SELECT-based injection: `union select` with a real column
//! list, a `select … from` statement, and a value or subquery that opens
//! with a SQL-only `select` (`(select char(0x66)`, `select @@version`).
//! Adds `sqli-union` and `sqli-select`.

use super::clauses::clause_at;
use super::grammar::{is_literal, literal_like, operand_end};
use crate::sql::token::{Keyword, Token, TokenKind, is_call, keyword_at, kind_at};

/// `union [all|distinct] [(] select <columns>` at `union`.
pub(super) fn union_select_at(tokens: &[Token], union: usize) -> bool {
    let mut select = union + 1;
    while matches!(kind_at(tokens, select), Some(TokenKind::LParen))
        || matches!(
            keyword_at(tokens, select),
            Some(Keyword::Quantifier | Keyword::Distinct)
        )
    {
        select += 1;
    }
    keyword_at(tokens, select) == Some(Keyword::Select) && select_has_args(tokens, select)
}

/// A value opening with `union select` or `union all select`.
pub(super) fn starts_union_select(tokens: &[Token]) -> bool {
    let quantified = matches!(
        keyword_at(tokens, 1),
        Some(Keyword::Quantifier | Keyword::Distinct)
    );
    keyword_at(tokens, 1 + usize::from(quantified)) == Some(Keyword::Select)
}

/// `select` at `select`: a column list and `from`, or, opening the value or
/// a subquery, a SQL-only head.
pub(super) fn select_statement_at(tokens: &[Token], select: usize) -> bool {
    select_from(tokens, select + 1)
        || ((select == 0 || kind_at(tokens, select - 1) == Some(TokenKind::LParen))
            && select_sql_head(tokens, select + 1))
}

/// After `select` at `select`: does a column list follow rather than prose?
pub(super) fn select_has_args(tokens: &[Token], select: usize) -> bool {
    let mut first = select + 1;
    while matches!(
        keyword_at(tokens, first),
        Some(Keyword::Quantifier | Keyword::Distinct)
    ) {
        first += 1;
    }
    match kind_at(tokens, first) {
        None => false,
        Some(TokenKind::Word(Keyword::Identifier)) => tokens[first..].iter().take(8).any(|token| {
            matches!(
                token.kind,
                TokenKind::Comma
                    | TokenKind::Word(Keyword::From)
                    | TokenKind::Dot
                    | TokenKind::LParen
            )
        }),
        Some(
            TokenKind::Word(_)
            | TokenKind::Number
            | TokenKind::HexLiteral
            | TokenKind::StringLiteral { .. }
            | TokenKind::Variable { .. }
            | TokenKind::Arithmetic
            | TokenKind::LParen,
        ) => true,
        _ => false,
    }
}

/// `select <column list> from`: a real column list, not prose.
pub(super) fn select_from(tokens: &[Token], mut column: usize) -> bool {
    while matches!(
        keyword_at(tokens, column),
        Some(Keyword::Quantifier | Keyword::Distinct)
    ) {
        column += 1;
    }
    if keyword_at(tokens, column) == Some(Keyword::Top)
        && kind_at(tokens, column + 1) == Some(TokenKind::Number)
    {
        column += 2;
    }
    for _ in 0..64 {
        let plain =
            keyword_at(tokens, column) == Some(Keyword::Identifier) && !is_call(tokens, column);
        let star = kind_at(tokens, column) == Some(TokenKind::Arithmetic)
            && matches!(
                kind_at(tokens, column + 1),
                Some(TokenKind::Comma | TokenKind::Word(Keyword::From))
            );
        let mut end = if star {
            column + 1 // `select *`
        } else {
            match operand_end(tokens, column) {
                // An unbalanced group (`sin(((1)),2 from t`) ends at the
                // next `,` or `from` when only expression tokens come first.
                Some(end) if end == tokens.len() => match unbalanced_end(tokens, column) {
                    Some(end) => end,
                    None => return false,
                },
                Some(end) => end,
                None => return false,
            }
        };
        while matches!(
            kind_at(tokens, end),
            Some(
                TokenKind::Arithmetic | TokenKind::Comparison | TokenKind::Dot | TokenKind::LogicOp
            )
        ) {
            match operand_end(tokens, end + 1) {
                Some(next) => end = next,
                None if kind_at(tokens, end) == Some(TokenKind::Arithmetic) => end += 1,
                None => return false,
            }
        }
        if keyword_at(tokens, end) == Some(Keyword::As) {
            end += 2;
        } else if !plain && keyword_at(tokens, end) == Some(Keyword::Identifier) {
            end += 1;
        }
        match kind_at(tokens, end) {
            Some(TokenKind::Comma) => column = end + 1,
            Some(TokenKind::Word(Keyword::From)) => return true,
            _ => return false,
        }
    }
    false
}

/// The `,` or `from` ending an operand whose parentheses never close,
/// if only expression tokens (no two words in a row, at least one literal)
/// come before it.
pub(super) fn unbalanced_end(tokens: &[Token], i: usize) -> Option<usize> {
    let mut prev_word = false;
    let mut literal = false;
    for (k, token) in tokens.iter().enumerate().skip(i).take(32) {
        match token.kind {
            TokenKind::Comma | TokenKind::Word(Keyword::From) if k > i => {
                return literal.then_some(k);
            }
            TokenKind::Word(_) if prev_word => return None,
            TokenKind::Word(_) => prev_word = true,
            TokenKind::Number
            | TokenKind::StringLiteral { .. }
            | TokenKind::Variable { .. }
            | TokenKind::HexLiteral => {
                prev_word = false;
                literal = true;
            }
            TokenKind::Arithmetic | TokenKind::Dot => prev_word = false,
            TokenKind::LParen | TokenKind::RParen => prev_word = false,
            _ => return None,
        }
    }
    None
}

/// After a `select` that opens the value or a subquery: SQL-only heads
/// (`select char(0x66)`, `(select (case when`, `(select 1,2`, `select @@x`).
pub(super) fn select_sql_head(tokens: &[Token], i: usize) -> bool {
    match kind_at(tokens, i) {
        Some(TokenKind::Word(Keyword::Function)) => is_call(tokens, i),
        // `select if(x`, `select pg_sleep`
        Some(TokenKind::Word(Keyword::StatementStart)) => is_call(tokens, i),
        Some(TokenKind::Word(Keyword::DelayFunction | Keyword::SystemObject)) => true,
        Some(TokenKind::Word(Keyword::Case)) => keyword_at(tokens, i + 1) == Some(Keyword::When),
        Some(TokenKind::Word(Keyword::Top)) => kind_at(tokens, i + 1) == Some(TokenKind::Number),
        Some(TokenKind::LParen) => {
            // `(select ((ord(left(`
            let k = i
                + 1
                + tokens[i + 1..]
                    .iter()
                    .take(8)
                    .take_while(|token| token.kind == TokenKind::LParen)
                    .count();
            keyword_at(tokens, k) == Some(Keyword::Case)
                || matches!(
                    kind_at(tokens, k),
                    Some(TokenKind::Word(Keyword::Function | Keyword::DelayFunction))
                ) && is_call(tokens, k)
        }
        // `select @version foo` (an alias ends it)
        Some(TokenKind::Variable { .. }) => {
            matches!(
                kind_at(tokens, i + 1),
                None | Some(
                    TokenKind::StringLiteral { .. } | TokenKind::Comma | TokenKind::Comment
                )
            ) || (keyword_at(tokens, i + 1) == Some(Keyword::Identifier) && i + 2 == tokens.len())
        }
        Some(
            TokenKind::Number
            | TokenKind::StringLiteral {
                has_space: false, ..
            },
        ) if matches!(
            kind_at(tokens, i + 1),
            Some(TokenKind::Comma | TokenKind::Comparison)
        ) && kind_at(tokens, i + 2).is_some() =>
        {
            true
        }
        // `(select 'x' where 1=1`, `(select x where 5=5 order by 1--`
        Some(
            TokenKind::Number
            | TokenKind::StringLiteral {
                has_space: false, ..
            }
            | TokenKind::Word(Keyword::Identifier),
        ) => {
            keyword_at(tokens, i + 1) == Some(Keyword::Where)
                && operand_end(tokens, i + 2).is_some_and(|e| {
                    (kind_at(tokens, e) == Some(TokenKind::Comparison)
                        && is_literal(kind_at(tokens, i + 2))
                        && is_literal(kind_at(tokens, e + 1)))
                        || literal_like(tokens, i + 2, e)
                })
        }
        _ => false,
    }
}

/// A value opening with `select` whose column list holds a SQL function call
/// or only literals in parentheses before `from`: `select -sin(((id)),2 from
/// bar`, `select (((((1,2,3,4)))) from bar`.
pub(super) fn select_lead_from(tokens: &[Token]) -> bool {
    // `select x group by something having count(id) >= 9`
    if (2..24.min(tokens.len())).any(|k| {
        matches!(
            keyword_at(tokens, k),
            Some(Keyword::Group | Keyword::Having)
        ) && clause_at(tokens, k)
    }) && (1..24.min(tokens.len()))
        .any(|k| keyword_at(tokens, k) == Some(Keyword::Function) && is_call(tokens, k))
    {
        return true;
    }
    let Some(from) = tokens
        .iter()
        .take(24)
        .position(|token| token.kind == TokenKind::Word(Keyword::From))
    else {
        return false;
    };
    let cols = &tokens[1..from];
    let call = (1..from).any(|k| {
        matches!(
            keyword_at(tokens, k),
            Some(Keyword::Function | Keyword::DelayFunction)
        ) && is_call(tokens, k)
    });
    let literal_only = cols.iter().any(|token| token.kind == TokenKind::Number)
        && cols.iter().all(|token| {
            matches!(
                token.kind,
                TokenKind::LParen
                    | TokenKind::RParen
                    | TokenKind::Number
                    | TokenKind::Comma
                    | TokenKind::Arithmetic
                    | TokenKind::StringLiteral {
                        has_space: false,
                        ..
                    }
            )
        });
    call || literal_only
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn union_select_with_a_column_list() {
        assert_fires("1 union select username, password from users", "sqli-union");
        assert_fires("select name, pass from users", "sqli-select");
    }

    #[test]
    fn select_and_union_in_prose() {
        for value in [
            "select the best plan from the list",
            "the union of two sets",
        ] {
            assert_quiet(value, "sqli-union");
            assert_quiet(value, "sqli-select");
        }
    }
}
