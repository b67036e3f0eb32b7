//! Comment-based truncation: a comment cuts the application's query short
//! after a lone value (`1--`, `@version /*`) or after an expression-only
//! prefix (`1*1--`, `1)) or 2 #`), and MySQL executable comments
//! (`/*!50000union*/`) hide SQL from filters. Adds
//! `sqli-comment-truncation` and `sqli-mysql-comment`.

use crate::sql::token::{Keyword, Token, TokenKind, kind_at};

/// `/*!…*/`: MySQL runs the body of an executable comment.
pub(super) fn mysql_executable_comment(text: &[u8]) -> bool {
    crate::normalize::find(text, b"/*!").is_some()
}

/// `1--`, `@version /*`: a lone value (ending at `end`) whose query tail is
/// commented out.
pub(super) fn lone_value_commented(tokens: &[Token], end: usize) -> bool {
    end + 1 == tokens.len() && kind_at(tokens, end) == Some(TokenKind::Comment)
}

/// An expression-only prefix cut off by a comment: `1*1--`, `1)) or 2 #`.
pub(super) fn expression_cut_by_comment(tokens: &[Token]) -> bool {
    let Some(comment) = tokens
        .iter()
        .position(|token| token.kind == TokenKind::Comment)
    else {
        return false;
    };
    let prefix = &tokens[..comment];
    let expression_only = prefix.iter().all(|token| {
        matches!(
            token.kind,
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::Arithmetic
                | TokenKind::Comparison
                | TokenKind::LogicOp
                | TokenKind::Bang
                | TokenKind::LParen
                | TokenKind::RParen
                | TokenKind::Variable { .. }
                | TokenKind::StringLiteral { .. }
                | TokenKind::Comma
        ) || matches!(token.kind, TokenKind::Word(keyword) if keyword != Keyword::Identifier)
    });
    let has_value = prefix.iter().any(|token| {
        matches!(
            token.kind,
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::Variable { .. }
                | TokenKind::StringLiteral {
                    has_space: false,
                    ..
                }
        )
    });
    let has_operator = prefix.iter().any(|token| {
        !matches!(
            token.kind,
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::Variable { .. }
                | TokenKind::StringLiteral { .. }
                | TokenKind::Comma
        )
    });
    prefix.len() >= 2 && expression_only && has_value && has_operator
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_comment_cuts_the_query_short() {
        assert_fires("1--", "sqli-comment-truncation");
        assert_fires("1*1--", "sqli-comment-truncation");
        assert_fires("1 /*!50000union*/ select 1", "sqli-mysql-comment");
    }

    #[test]
    fn dashes_and_hashes_in_prose() {
        for value in ["C# and a--b", "see #anchor", "pages 10 -- 12 are missing"] {
            assert_quiet(value, "sqli-comment-truncation");
            assert_quiet(value, "sqli-mysql-comment");
        }
    }
}
