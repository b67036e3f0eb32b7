//! Query clauses that only follow a query fragment (`order by 1`,
//! `group by … having`, `limit 1`, `procedure analyse`, `into outfile`,
//! `from t where`): the value ends the application's expression and goes
//! on with the query. Adds `sqli-clause` through the readings in the parent
//! module; [`clause_at`] is also how other families tell that SQL goes on.

use super::grammar::{is_logic, literal_like, operand_end};
use crate::sql::token::{Keyword, Token, TokenKind, keyword_at, kind_at, token_is_word};

/// A clause that can only follow a query fragment: `order by 1`, `having`, ...
pub(super) fn clause_at(tokens: &[Token], i: usize) -> bool {
    match keyword_at(tokens, i) {
        // `1) from users where …`
        Some(Keyword::From) => {
            matches!(
                keyword_at(tokens, i + 1),
                Some(Keyword::Identifier | Keyword::SchemaObject | Keyword::SystemObject)
            ) && keyword_at(tokens, i + 2) == Some(Keyword::Where)
        }
        Some(Keyword::Order | Keyword::Group) => {
            keyword_at(tokens, i + 1) == Some(Keyword::By)
                && matches!(
                    kind_at(tokens, i + 2),
                    Some(TokenKind::Number | TokenKind::Word(_) | TokenKind::LParen)
                )
        }
        Some(Keyword::Having) => {
            matches!(
                kind_at(tokens, i + 1),
                Some(TokenKind::Number | TokenKind::LParen)
            ) || logic_operand_cmp(tokens, i + 1)
        }
        Some(Keyword::Limit) => kind_at(tokens, i + 1) == Some(TokenKind::Number),
        Some(Keyword::Procedure) => true,
        Some(Keyword::Into) => {
            keyword_at(tokens, i + 1) == Some(Keyword::SystemObject)
                || kind_at(tokens, i + 1) == Some(TokenKind::Variable { system: false })
        }
        Some(Keyword::Union) => {
            matches!(
                keyword_at(tokens, i + 1),
                Some(Keyword::Select | Keyword::Quantifier | Keyword::Distinct)
            ) || matches!(
                kind_at(tokens, i + 1),
                None | Some(TokenKind::Comment | TokenKind::LParen)
            )
        }
        Some(Keyword::Where) => logic_operand_cmp(tokens, i + 1),
        // `1')) as x where 1=1 order by 1--`: a derived-table alias.
        Some(Keyword::As) => {
            (keyword_at(tokens, i + 1) == Some(Keyword::Identifier)
                && keyword_at(tokens, i + 2) == Some(Keyword::Where)
                && logic_operand_cmp(tokens, i + 3))
                // `1234 as "foobar" from t`: a column alias, then the table.
                || (matches!(kind_at(tokens, i + 1), Some(TokenKind::StringLiteral { has_space: false, closed: true, .. }))
                    && keyword_at(tokens, i + 2) == Some(Keyword::From)
                    && matches!(keyword_at(tokens, i + 3), Some(Keyword::Identifier | Keyword::SchemaObject | Keyword::SystemObject)))
        }
        // `1' in boolean mode) order by 1#`: closing a full-text search.
        Some(Keyword::In) => {
            token_is_word(tokens, i + 1, b"boolean")
                && token_is_word(tokens, i + 2, b"mode")
                && kind_at(tokens, i + 3) == Some(TokenKind::RParen)
        }
        _ => false,
    }
}

/// An operand compared at `i`: `1=1`, `x>0`, `7145 like 7145`.
pub(super) fn logic_operand_cmp(tokens: &[Token], i: usize) -> bool {
    operand_end(tokens, i).is_some_and(|end| {
        matches!(kind_at(tokens, end), Some(TokenKind::Comparison)) || literal_like(tokens, i, end)
    })
}

/// `id having (1 or true)`: a boolean group right after `having` at `at`.
pub(super) fn having_boolean_group(tokens: &[Token], at: usize) -> bool {
    keyword_at(tokens, at) == Some(Keyword::Having)
        && kind_at(tokens, at + 1) == Some(TokenKind::LParen)
        && matches!(
            kind_at(tokens, at + 2),
            Some(
                TokenKind::Number | TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null)
            )
        )
        && is_logic(tokens, at + 3)
}

/// A value that opens with a clause (`order by 3--`, `group by userid
/// having 1=1--`, `having 1=1`, `procedure analyse(`).
pub(super) fn starts_with_clause(tokens: &[Token]) -> bool {
    match keyword_at(tokens, 0) {
        Some(Keyword::Order | Keyword::Group)
            if keyword_at(tokens, 1) == Some(Keyword::By)
                && kind_at(tokens, 2) == Some(TokenKind::Number)
                && matches!(
                    kind_at(tokens, 3),
                    None | Some(TokenKind::Comment | TokenKind::Semicolon | TokenKind::Comma)
                ) =>
        {
            true
        }
        // `group by userid having 1=1--`
        Some(Keyword::Group) => {
            keyword_at(tokens, 1) == Some(Keyword::By)
                && keyword_at(tokens, 2) == Some(Keyword::Identifier)
                && keyword_at(tokens, 3) == Some(Keyword::Having)
                && clause_at(tokens, 3)
        }
        Some(Keyword::Having) => logic_operand_cmp(tokens, 1),
        // `procedure analyse (`: MySQL's result-set probe.
        Some(Keyword::Procedure) => token_is_word(tokens, 1, b"analyse"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_clause_continues_the_query() {
        assert_fires("1 order by 3--", "sqli-clause");
        assert_fires("having 1=1", "sqli-clause");
    }

    #[test]
    fn clause_words_in_prose() {
        for value in [
            "sort in order by date",
            "a group by the river",
            "no limit here",
        ] {
            assert_quiet(value, "sqli-clause");
        }
    }
}
