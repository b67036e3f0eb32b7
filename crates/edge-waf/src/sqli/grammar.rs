//! The small SQL grammar the families share: boolean operators, literals,
//! one operand. Adds no rule itself.

use crate::sql::token::{Keyword, Token, TokenKind, after_group, is_call, keyword_at, kind_at};

/// Is token `i` a boolean operator (`or`, `and`, `xor`, `||`, `&&`)?
pub(super) fn is_logic(tokens: &[Token], i: usize) -> bool {
    matches!(
        keyword_at(tokens, i),
        Some(Keyword::Or | Keyword::And | Keyword::Xor)
    ) || kind_at(tokens, i) == Some(TokenKind::LogicOp)
}

/// A literal value: number, hex, string or variable.
pub(super) fn is_literal(kind: Option<TokenKind>) -> bool {
    matches!(
        kind,
        Some(
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::StringLiteral { .. }
                | TokenKind::Variable { .. }
        )
    )
}

/// Skips one simple operand (literal, word, call, parenthesised group).
pub(super) fn operand_end(tokens: &[Token], mut i: usize) -> Option<usize> {
    while matches!(
        kind_at(tokens, i),
        Some(TokenKind::Arithmetic | TokenKind::LogicOp | TokenKind::Bang)
    ) || keyword_at(tokens, i) == Some(Keyword::Not)
    {
        i += 1;
    }
    match kind_at(tokens, i)? {
        TokenKind::LParen => Some(after_group(tokens, i)),
        TokenKind::Word(_) if is_call(tokens, i) => Some(after_group(tokens, i + 1)),
        TokenKind::Number
        | TokenKind::HexLiteral
        | TokenKind::StringLiteral { .. }
        | TokenKind::Variable { .. } => Some(i + 1),
        TokenKind::Word(Keyword::Identifier | Keyword::Function | Keyword::SchemaObject) => {
            // `prod.id`, `mysql.user`
            let mut end = i + 1;
            while kind_at(tokens, end) == Some(TokenKind::Dot)
                && matches!(
                    kind_at(tokens, end + 1),
                    Some(TokenKind::Word(
                        Keyword::Identifier | Keyword::SchemaObject | Keyword::Function
                    ))
                )
            {
                end += 2;
            }
            Some(end)
        }
        TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null | Keyword::NiladicValue) => {
            Some(i + 1)
        }
        _ => None,
    }
}

/// `7145 like 7145`: literals compared with LIKE (sqlmap's `equaltolike`).
/// The operand at `left` ends at `end`.
pub(super) fn literal_like(tokens: &[Token], left: usize, end: usize) -> bool {
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
    end == left + 1
        && literal(left)
        && keyword_at(tokens, end) == Some(Keyword::Like)
        && literal(end + 1)
}
