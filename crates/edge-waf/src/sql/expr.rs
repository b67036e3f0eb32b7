//! A forgiving SQL expression reader over tokens, used to judge whether a
//! token run (after a quote break, or a whole value in numeric context) is
//! a *well-formed SQL expression* rather than prose. Adds no rule itself;
//! the quote-break and bare-expression families decide from what it reads.
//!
//! Prose breaks the grammar quickly (two bare words in a row, a word right
//! after a closing quote), while injected SQL reads as operand, operator,
//! operand… up to the end, a comment, a `;` or a trailing clause.

use super::token::{Keyword, Token, TokenKind, after_group, is_call, keyword_at, kind_at};

/// What an expression read found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Expression {
    /// Index after the expression.
    pub end: usize,
    /// Binary operators.
    pub operators: u32,
    /// Word operators (`or`, `like`, `is`...).
    pub word_operators: u32,
    /// Literal operands (numbers, strings, variables, keyword values, calls).
    pub literals: u32,
    /// SQL-only signals: word operators next to a literal, SQL functions,
    /// `NULL`/`TRUE`, casts, `||`, subqueries.
    pub sql_signals: u32,
    /// SQL function calls (known names).
    pub calls: u32,
    /// The operand just read was a literal.
    pub last_was_literal: bool,
    /// The operand just read was a plain number.
    pub last_was_number: bool,
    /// The quote the application wrapped the value in (quoted readings).
    pub quote_context: Option<u8>,
}

/// SQL signals inside a token range (for parenthesised groups and calls).
fn inner_signals(tokens: &[Token], from: usize, to: usize) -> u32 {
    let mut signals = 0;
    for i in from..to.min(tokens.len()) {
        match tokens[i].kind {
            TokenKind::Word(
                Keyword::Function
                | Keyword::DelayFunction
                | Keyword::SystemObject
                | Keyword::StatementStart,
            ) if is_call(tokens, i) => signals += 1,
            TokenKind::Word(
                Keyword::Select | Keyword::Null | Keyword::NiladicValue | Keyword::SystemObject,
            ) => signals += 1,
            TokenKind::Variable { .. } | TokenKind::HexLiteral => signals += 1,
            _ => {}
        }
    }
    signals
}

/// Index after a binary operator at `i`, and whether it is a word operator.
fn binary_operator(tokens: &[Token], i: usize) -> Option<(usize, bool)> {
    match kind_at(tokens, i)? {
        TokenKind::Arithmetic | TokenKind::Comparison => Some((i + 1, false)),
        TokenKind::LogicOp => Some((i + 1, true)),
        TokenKind::Word(
            Keyword::Or
            | Keyword::And
            | Keyword::Xor
            | Keyword::Like
            | Keyword::ArithmeticWord
            | Keyword::In,
        ) => {
            let mut end = i + 1;
            if keyword_at(tokens, end) == Some(Keyword::Like) {
                end += 1; // `sounds like`
            }
            Some((end, true))
        }
        TokenKind::Word(Keyword::Between) => Some((i + 1, true)),
        TokenKind::Word(Keyword::Not)
            if matches!(
                keyword_at(tokens, i + 1),
                Some(Keyword::Like | Keyword::In | Keyword::Between)
            ) =>
        {
            Some((i + 2, true))
        }
        TokenKind::Word(Keyword::Is) => {
            let negated = keyword_at(tokens, i + 1) == Some(Keyword::Not);
            Some((i + 1 + usize::from(negated), true))
        }
        _ => None,
    }
}

/// Skips prefix operators (`-`, `!`, `~`, `not`, `binary`, `all`).
fn skip_prefixes(tokens: &[Token], mut i: usize) -> usize {
    while matches!(
        kind_at(tokens, i),
        Some(TokenKind::Arithmetic | TokenKind::LogicOp | TokenKind::Bang)
    ) || matches!(
        keyword_at(tokens, i),
        Some(Keyword::Not | Keyword::Binary | Keyword::Quantifier | Keyword::Distinct)
    ) {
        i += 1;
    }
    i
}

/// Reads one operand at `i` (after prefixes).
fn operand(tokens: &[Token], i: usize, expr: &mut Expression) -> Option<usize> {
    let literals_before = expr.literals;
    let end = operand_body(tokens, i, expr)?;
    expr.last_was_literal = expr.literals > literals_before;
    expr.last_was_number = kind_at(tokens, i) == Some(TokenKind::Number) && end == i + 1;
    Some(end)
}

/// The operand at `i` and any `a.b.c` member chain after it.
fn operand_body(tokens: &[Token], i: usize, expr: &mut Expression) -> Option<usize> {
    let end = match kind_at(tokens, i)? {
        TokenKind::StringLiteral { .. } => string_operand(tokens, i, expr),
        TokenKind::Number => {
            expr.literals += 1;
            i + 1
        }
        TokenKind::HexLiteral | TokenKind::Variable { system: true } => {
            expr.literals += 1;
            expr.sql_signals += 1;
            i + 1
        }
        // `@name` is as often a social handle as a SQL variable.
        TokenKind::Variable { system: false } => i + 1,
        TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null | Keyword::NiladicValue) => {
            expr.literals += 1;
            expr.sql_signals += 1;
            i + 1
        }
        TokenKind::Word(keyword) if is_call(tokens, i) => call_operand(tokens, i, keyword, expr),
        TokenKind::Word(Keyword::Case)
            if tokens[i..]
                .iter()
                .take(8)
                .any(|token| token.kind == TokenKind::Word(Keyword::When)) =>
        {
            case_operand(tokens, i, expr)
        }
        TokenKind::Word(Keyword::Select) => subquery_operand(tokens, i, expr),
        TokenKind::Word(
            Keyword::Identifier | Keyword::Function | Keyword::SchemaObject | Keyword::Delay,
        ) => i + 1,
        TokenKind::LParen => group_operand(tokens, i, expr),
        _ => return None,
    };
    // `a.b.c` member chains.
    let mut chain_end = end;
    while kind_at(tokens, chain_end) == Some(TokenKind::Dot)
        && matches!(
            kind_at(tokens, chain_end + 1),
            Some(TokenKind::Word(_) | TokenKind::Number)
        )
    {
        chain_end += 2;
    }
    Some(chain_end)
}

fn string_operand(tokens: &[Token], i: usize, expr: &mut Expression) -> usize {
    match tokens[i].kind {
        // A short unclosed string in the context's quote balances the
        // application's closing quote (`' or '1'='1`).
        TokenKind::StringLiteral {
            closed: false,
            has_space: false,
            quote,
            short: true,
            ..
        } if expr.quote_context == Some(quote) => {
            expr.literals += 1;
            expr.sql_signals += 1;
        }
        // Prose in quotes, or a string the application cannot close, is no literal.
        TokenKind::StringLiteral {
            has_space: true, ..
        }
        | TokenKind::StringLiteral { closed: false, .. } => {}
        _ => expr.literals += 1,
    }
    i + 1
}

/// `name(…)`: a literal operand; a known SQL function is a SQL signal.
fn call_operand(tokens: &[Token], i: usize, keyword: Keyword, expr: &mut Expression) -> usize {
    let end = after_group(tokens, i + 1);
    expr.literals += 1;
    if matches!(
        keyword,
        Keyword::Function
            | Keyword::DelayFunction
            | Keyword::SystemObject
            | Keyword::StatementStart
            | Keyword::SchemaObject
    ) {
        expr.sql_signals += 1;
        expr.calls += 1;
    }
    expr.sql_signals += inner_signals(tokens, i + 2, end);
    end
}

/// `case when … end`.
fn case_operand(tokens: &[Token], i: usize, expr: &mut Expression) -> usize {
    expr.literals += 1;
    expr.sql_signals += 1;
    let mut end = i + 1;
    while end < tokens.len() && keyword_at(tokens, end) != Some(Keyword::End) {
        end += 1;
    }
    if end < tokens.len() {
        // A complete `case … when … end` is SQL-only syntax.
        expr.sql_signals += 1;
        expr.calls += 1;
    }
    (end + 1).min(tokens.len())
}

/// A bare subquery operand: `or select 1`.
fn subquery_operand(tokens: &[Token], i: usize, expr: &mut Expression) -> usize {
    expr.sql_signals += 1;
    expr.literals += 1;
    let mut end = i + 1;
    while end < tokens.len()
        && !matches!(
            tokens[end].kind,
            TokenKind::RParen | TokenKind::Semicolon | TokenKind::Comment
        )
    {
        end += 1;
    }
    end
}

/// `( … )`: a literal when it holds a literal or a SQL signal.
fn group_operand(tokens: &[Token], i: usize, expr: &mut Expression) -> usize {
    let end = after_group(tokens, i);
    let inner = inner_signals(tokens, i + 1, end);
    expr.sql_signals += inner;
    if inner > 0
        || tokens[i + 1..end].iter().any(|token| {
            matches!(
                token.kind,
                TokenKind::Number | TokenKind::StringLiteral { .. }
            )
        })
    {
        expr.literals += 1;
    }
    end
}

/// Reads `operand (op operand)*` from `i`; `None` when no operand starts there.
pub(crate) fn read_expression(tokens: &[Token], i: usize) -> Option<Expression> {
    let mut expr = Expression::default();
    let start = skip_prefixes(tokens, i);
    let after = operand(tokens, start, &mut expr)?;
    Some(read_operator_chain(tokens, after, expr))
}

/// Reads `(op operand)*` from `at`, after a left operand already counted in
/// `expr`.
pub(crate) fn read_operator_chain(
    tokens: &[Token],
    mut at: usize,
    mut expr: Expression,
) -> Expression {
    for _ in 0..256 {
        let Some((after_operator, word)) = binary_operator(tokens, at) else {
            break;
        };
        let left_literal = expr.last_was_literal;
        let left_number = expr.last_was_number;
        let before = expr;
        let right = skip_prefixes(tokens, after_operator);
        let Some(next) = operand(tokens, right, &mut expr) else {
            expr = before;
            break;
        };
        expr.operators += 1;
        if word {
            expr.word_operators += 1;
        }
        let right_literal = expr.last_was_literal;
        // `7 or 8`, `5 and 10` are prose; `1 or 1=1` is not.
        let numbers_only = left_number
            && expr.last_was_number
            && kind_at(tokens, next) != Some(TokenKind::Comparison);
        // `is` only says something about `null`/`true`/`false`.
        let is_keyword_value = keyword_at(tokens, at) != Some(Keyword::Is)
            || matches!(
                keyword_at(tokens, right),
                Some(Keyword::Null | Keyword::True | Keyword::False)
            );
        if (word || kind_at(tokens, at) == Some(TokenKind::LogicOp))
            && left_literal
            && right_literal
            && is_keyword_value
            && !numbers_only
        {
            expr.sql_signals += 1;
        }
        at = next;
    }
    expr.end = at;
    expr
}

/// Does the token run end cleanly at `i`: end of input, a comment, a `;`,
/// closing parentheses, or a trailing clause?
pub(crate) fn ends_clean(
    tokens: &[Token],
    mut i: usize,
    clause: impl Fn(&[Token], usize) -> bool,
) -> bool {
    while kind_at(tokens, i) == Some(TokenKind::RParen) {
        i += 1;
    }
    match kind_at(tokens, i) {
        None | Some(TokenKind::Comment | TokenKind::Semicolon) => true,
        Some(TokenKind::Word(Keyword::As)) => matches!(
            kind_at(tokens, i + 1),
            Some(TokenKind::Word(_) | TokenKind::StringLiteral { .. })
        ),
        Some(TokenKind::Word(_)) => clause(tokens, i),
        _ => false,
    }
}
