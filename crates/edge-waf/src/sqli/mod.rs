//! SQL injection detection by token structure: the entry point, and the
//! three readings of a value that call the attack families.
//!
//! The value is tokenised up to five times, as the application might embed
//! it: bare (numeric context), inside `'…'` and `"…"` strings, and inside
//! `` `…` `` and `[…]` identifiers. In a quoted
//! context the first token is the tail of the application's string, and the
//! question is what follows the quote break: a comment, a boolean operator
//! with a comparison, a stacked statement, a clause (`order by`, `union`)…
//! Prose with apostrophes (`O'Brien`, `don't`) breaks into plain words and
//! never matches.
//!
//! Every token reading is scanned [anywhere](scan_anywhere); the bare one is
//! also read as [a value that continues a query](scan_bare) and as [one SQL
//! expression](expressions::bare_expression); a quoted one is read for what
//! follows the [quote break](quote_break). Byte-level checks (MySQL
//! executable comments, PostgreSQL casts, number and hex spellings, NoSQL
//! operators) follow. Each family adds its rules at most once, in this
//! order, so a finding lists rules the way it always did.
//!
//! This module adds `sqli-union`, `sqli-select`, `sqli-stacked`,
//! `sqli-time`, `sqli-object`, `sqli-sysvar`, `sqli-func`,
//! `sqli-func-nested`, `sqli-tautology`, `sqli-boolean`, `sqli-clause`,
//! `sqli-hex`, `sqli-expr`, `sqli-file-statement`,
//! `sqli-comment-truncation`, `sqli-mysql-comment` and `sqli-pg-cast` as
//! the families it calls find them.

mod clauses;
mod comments;
mod encodings;
mod expressions;
mod functions;
mod grammar;
mod nosql;
mod postgres;
mod quote_break;
mod statements;
mod tautology;
mod union_select;

use crate::rules::{self, Rule};
use crate::sql::lexer::lex;
use crate::sql::token::{Keyword, Token, TokenKind, keyword_at, kind_at};

/// Injection structure follows the quote break closely; later tokens in a
/// quoted reading add cost, not signal (the bare reading sees everything).
const QUOTED_MAX_TOKENS: usize = 96;

/// Appends the SQLi rules matched by normalised `text` to `out`.
pub(crate) fn detect(text: &[u8], out: &mut Vec<&'static Rule>) {
    if let Some(tokens) = lex(text, None, usize::MAX) {
        scan_anywhere(&tokens, out);
        scan_bare(&tokens, out);
        expressions::bare_expression(&tokens, out);
    }
    // String quotes, then identifier quotes (MySQL backticks, T-SQL
    // brackets): a value placed in `ORDER BY `…`` breaks out just the same.
    for quote in [b'\'', b'"', b'`', b']'] {
        // An identifier the application quotes is one word: a value that
        // breaks out of it starts with that word (`id`) or])…`), so
        // Markdown code (`` `#[derive]` ``, `` `=` ``), code lines (`]);`)
        // and `page[size]=25` (which opens its own bracket) are no break.
        let identifier = matches!(quote, b'`' | b']');
        if identifier && !identifier_break(text, quote) {
            continue;
        }
        if text.contains(&quote)
            && let Some(tokens) = lex(text, Some(quote), QUOTED_MAX_TOKENS)
        {
            let tail = text.iter().take_while(|&&b| b != quote);
            let tail_spaced = tail.clone().any(|&b| b <= b' ');
            // `16" or 18"` measures inches and `x = "~2"` opens a string:
            // neither breaks out of one.
            let before_quote = tail.filter(|&&b| b > b' ').last().copied();
            scan_anywhere(&tokens, out);
            quote_break::scan_break(&tokens, quote, tail_spaced, before_quote, out);
        }
    }
    if comments::mysql_executable_comment(text) {
        add(out, &rules::SQLI_MYSQL_EXEC_COMMENT);
    }
    if postgres::pg_cast(text) {
        add(out, &rules::SQLI_PG_CAST);
    }
    if encodings::scientific_glue(text) {
        add(out, &rules::SQLI_EXPR);
    }
    if memchr::memchr(b'$', text).is_some() && nosql::mongo_operator_key(text) {
        add(out, &rules::NOSQL_OPERATOR);
    }
    if nosql::mongo_javascript(text) {
        add(out, &rules::NOSQL_OPERATOR);
    }
    if encodings::hex_encoded_sql(text) {
        add(out, &rules::SQLI_HEX_ENCODED);
    }
}

/// True when `text` starts with one word that `quote` then closes: how a
/// value breaks out of an identifier the application quoted.
fn identifier_break(text: &[u8], quote: u8) -> bool {
    let Some(close) = memchr::memchr(quote, text) else {
        return false;
    };
    close > 0
        && text[..close]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-'))
}

/// Appends `rule` unless it is already there.
fn add(out: &mut Vec<&'static Rule>, rule: &'static Rule) {
    if !out.iter().any(|found| found.id == rule.id) {
        out.push(rule);
    }
}

/// Token by token, what counts wherever it stands: `union select`, a
/// stacked statement after `;`, time delays, system objects and variables,
/// SQL function calls, tautologies after a boolean, hex literals.
fn scan_anywhere(tokens: &[Token], out: &mut Vec<&'static Rule>) {
    for i in 0..tokens.len() {
        let rule = match tokens[i].kind {
            TokenKind::Word(Keyword::Union) => {
                union_select::union_select_at(tokens, i).then_some(&rules::SQLI_UNION)
            }
            TokenKind::Semicolon => {
                statements::statement_starts(tokens, i + 1).then_some(&rules::SQLI_STACKED)
            }
            TokenKind::Word(Keyword::DelayFunction) => {
                functions::delay_call_at(tokens, i).then_some(&rules::SQLI_TIME)
            }
            TokenKind::Word(Keyword::Waitfor) => {
                (keyword_at(tokens, i + 1) == Some(Keyword::Delay)).then_some(&rules::SQLI_TIME)
            }
            TokenKind::Word(Keyword::SystemObject) => Some(&rules::SQLI_DANGER_OBJECT),
            TokenKind::Word(Keyword::Select) => {
                union_select::select_statement_at(tokens, i).then_some(&rules::SQLI_SELECT)
            }
            TokenKind::Variable { system: true } => Some(&rules::SQLI_SYSVAR),
            TokenKind::Word(Keyword::Function | Keyword::SchemaObject) => {
                functions::scan_call_at(tokens, i, out);
                None
            }
            TokenKind::Word(Keyword::Or | Keyword::And | Keyword::Xor) | TokenKind::LogicOp => {
                tautology::tautology(tokens, i + 1).then_some(&rules::SQLI_TAUTOLOGY)
            }
            TokenKind::HexLiteral => (i > 0).then_some(&rules::SQLI_HEX),
            TokenKind::Word(Keyword::Case) => {
                expressions::case_literal_test(tokens, i + 1).then_some(&rules::SQLI_EXPR)
            }
            TokenKind::Word(Keyword::Identifier) => {
                statements::file_statement_at(tokens, i).then_some(&rules::SQLI_FILE_STATEMENT)
            }
            _ => None,
        };
        if let Some(rule) = rule {
            add(out, rule);
        }
    }
}

/// Bare (numeric) context: `1 or true`, `1*1--`, `1 order by 2`.
fn scan_bare(tokens: &[Token], out: &mut Vec<&'static Rule>) {
    let mut start = 0;
    while matches!(
        kind_at(tokens, start),
        Some(TokenKind::LParen | TokenKind::Arithmetic | TokenKind::Dot)
    ) {
        start += 1;
    }
    if tautology::comparison_used_as_number(tokens)
        || tautology::leading_literal_tautology(tokens, start)
    {
        add(out, &rules::SQLI_TAUTOLOGY);
    }
    if matches!(
        kind_at(tokens, start),
        Some(
            TokenKind::Number
                | TokenKind::HexLiteral
                | TokenKind::Variable { .. }
                | TokenKind::Word(Keyword::Identifier)
        )
    ) {
        scan_after_leading_value(tokens, start, out);
    }
    scan_lead(tokens, out);
    // `) or (a=a`, `)) union select`: the value closes the application's
    // parentheses first.
    let closing = tokens
        .iter()
        .take_while(|token| token.kind == TokenKind::RParen)
        .count();
    if closing > 0 {
        scan_lead(&tokens[closing..], out);
    }
    if comments::expression_cut_by_comment(tokens) {
        add(out, &rules::SQLI_COMMENT_TRUNCATION);
    }
}

/// After the value at `start` (`1`, `0x1`, `@a`, `id`, `1/1`): what
/// continues the query there.
fn scan_after_leading_value(tokens: &[Token], start: usize, out: &mut Vec<&'static Rule>) {
    let numeric = matches!(
        kind_at(tokens, start),
        Some(TokenKind::Number | TokenKind::HexLiteral | TokenKind::Variable { .. })
    );
    let (next, list) = skip_numeric_chain(tokens, start + 1, numeric);
    if grammar::is_logic(tokens, next) && tautology::logic_tail(tokens, next + 1, false) {
        add(out, &rules::SQLI_BOOLEAN);
    }
    if numeric && clauses::clause_at(tokens, next) {
        add(out, &rules::SQLI_CLAUSE);
    }
    if clauses::having_boolean_group(tokens, next) {
        add(out, &rules::SQLI_CLAUSE);
    }
    // `21 update t set c=...`: T-SQL needs no `;` between statements.
    if numeric
        && keyword_at(tokens, next) != Some(Keyword::StatementStart)
        && statements::statement_starts(tokens, next)
    {
        add(out, &rules::SQLI_STACKED);
    }
    if numeric && !list && comments::lone_value_commented(tokens, next) {
        add(out, &rules::SQLI_COMMENT_TRUNCATION);
    }
}

/// Skips closing parentheses and, after a number, an arithmetic or list
/// chain of numbers (`1/1 union`, `0 div 1 union`, `1,2 --`): a numeric
/// chain is still a value. Returns where the query continues and whether a
/// `,` list was skipped.
fn skip_numeric_chain(tokens: &[Token], mut at: usize, numeric: bool) -> (usize, bool) {
    let mut list = false;
    loop {
        while kind_at(tokens, at) == Some(TokenKind::RParen) {
            at += 1;
        }
        if numeric
            && matches!(
                kind_at(tokens, at),
                Some(
                    TokenKind::Arithmetic
                        | TokenKind::Comma
                        | TokenKind::Word(Keyword::ArithmeticWord)
                )
            )
            && matches!(
                kind_at(tokens, at + 1),
                Some(TokenKind::Number | TokenKind::HexLiteral | TokenKind::Variable { .. })
            )
        {
            list |= kind_at(tokens, at) == Some(TokenKind::Comma);
            at += 2;
        } else {
            return (at, list);
        }
    }
}

/// A value that *starts* where a query continues: `or 1=1`, ` order by 3`,
/// `having 1=1`, `and connection_id()=connection_id()`.
fn scan_lead(tokens: &[Token], out: &mut Vec<&'static Rule>) {
    let after_logic = usize::from(
        matches!(keyword_at(tokens, 0), Some(Keyword::Or | Keyword::And))
            || kind_at(tokens, 0) == Some(TokenKind::LogicOp),
    );
    if postgres::json_operator_expr(tokens, after_logic) {
        add(out, &rules::SQLI_BOOLEAN);
    }
    if statements::terminated_statement(tokens) {
        add(out, &rules::SQLI_STACKED);
    }
    if functions::call_fragment(tokens) {
        add(out, &rules::SQLI_FUNC_NESTED);
    }
    // `insert into mysql.user (user, host) values ('x', …)`
    if statements::insert_values(tokens, 0) {
        add(out, &rules::SQLI_STACKED);
    }
    if functions::extra_column_call(tokens) {
        add(out, &rules::SQLI_FUNC_NESTED);
    }
    if keyword_at(tokens, 0) == Some(Keyword::Select) && union_select::select_lead_from(tokens) {
        add(out, &rules::SQLI_SELECT);
    }
    if keyword_at(tokens, 0) == Some(Keyword::Case) && expressions::case_expression(tokens) {
        add(out, &rules::SQLI_EXPR);
    }
    let rule = match kind_at(tokens, 0) {
        Some(TokenKind::Word(Keyword::Union)) => {
            union_select::starts_union_select(tokens).then_some(&rules::SQLI_UNION)
        }
        Some(TokenKind::Word(Keyword::Or | Keyword::And | Keyword::Xor) | TokenKind::LogicOp) => {
            tautology::starts_boolean(tokens).then_some(&rules::SQLI_BOOLEAN)
        }
        Some(TokenKind::Word(
            Keyword::Order | Keyword::Group | Keyword::Having | Keyword::Procedure,
        )) => clauses::starts_with_clause(tokens).then_some(&rules::SQLI_CLAUSE),
        Some(TokenKind::Word(Keyword::Declare | Keyword::Exec | Keyword::Alter)) => {
            statements::starts_statement(tokens).then_some(&rules::SQLI_STACKED)
        }
        Some(TokenKind::StringLiteral { .. }) => {
            tautology::completed_literal_comparison(tokens).then_some(&rules::SQLI_TAUTOLOGY)
        }
        _ => None,
    };
    if let Some(rule) = rule {
        add(out, rule);
    }
}

#[cfg(test)]
mod tests;
