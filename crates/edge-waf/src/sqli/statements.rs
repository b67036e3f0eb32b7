//! Stacked and standalone statements: a second statement after `;` (or
//! where T-SQL needs none), `insert … values`, `grant`/`revoke`, MySQL
//! `show`/`desc`, `exec`/`declare`, DDL (`drop table`, `alter table …
//! change`), and statements that read or write server files (`copy … from
//! '/etc/passwd'`, `backup database … to disk`). Adds `sqli-stacked` and
//! `sqli-file-statement`.

use super::grammar::operand_end;
use super::tautology::tautology;
use super::union_select::select_has_args;
use crate::sql::token::{
    Keyword, Token, TokenKind, after_group, is_call, keyword_at, kind_at, token_is_word, word_hash,
};

/// Does a stacked statement start at `i` (right after `;`)?
pub(super) fn statement_starts(tokens: &[Token], i: usize) -> bool {
    if grant(tokens, i) || show_statement(tokens, i) {
        return true;
    }
    // MySQL `do (1=1)`, `do sleep(5)`: evaluate and discard.
    if token_is_word(tokens, i, b"do") {
        let operand = i + 1 + usize::from(kind_at(tokens, i + 1) == Some(TokenKind::LParen));
        return (operand > i + 1 && tautology(tokens, operand))
            || (matches!(
                keyword_at(tokens, operand),
                Some(Keyword::Function | Keyword::DelayFunction)
            ) && is_call(tokens, operand));
    }
    let variable_next = matches!(kind_at(tokens, i + 1), Some(TokenKind::Variable { .. }));
    match keyword_at(tokens, i) {
        Some(Keyword::Select) => select_has_args(tokens, i),
        Some(Keyword::Insert) => keyword_at(tokens, i + 1) == Some(Keyword::Into),
        Some(Keyword::Delete) => tokens[i..]
            .iter()
            .take(4)
            .any(|token| token.kind == TokenKind::Word(Keyword::From)),
        Some(Keyword::StatementStart) => procedural_statement(tokens, i),
        Some(Keyword::Update) => keyword_at(tokens, i + 2) == Some(Keyword::Set),
        // `create user x identified by 'p'`
        Some(Keyword::Create | Keyword::Alter)
            if keyword_at(tokens, i + 1) == Some(Keyword::SchemaObject)
                && keyword_at(tokens, i + 2) == Some(Keyword::Identifier)
                && token_is_word(tokens, i + 3, b"identified") =>
        {
            true
        }
        Some(Keyword::Drop | Keyword::Create | Keyword::Alter | Keyword::Truncate) => {
            matches!(
                keyword_at(tokens, i + 1),
                Some(Keyword::SchemaObject | Keyword::Procedure)
            ) || (keyword_at(tokens, i + 1) == Some(Keyword::Identifier)
                // `;drop members --`
                && matches!(
                    kind_at(tokens, i + 2),
                    Some(TokenKind::Comment | TokenKind::Semicolon)
                ))
        }
        Some(Keyword::Exec) => exec_statement(tokens, i),
        Some(Keyword::Declare | Keyword::Set) => variable_next,
        Some(Keyword::Shutdown) => true,
        Some(Keyword::Waitfor) => keyword_at(tokens, i + 1) == Some(Keyword::Delay),
        _ => false,
    }
}

/// `if 1=1 drop …`, `if(`, `begin … end`, `load data`, `goto x`, `;call
/// p(@a)`: a procedural statement at `i` (`; if you do` is prose).
fn procedural_statement(tokens: &[Token], i: usize) -> bool {
    match kind_at(tokens, i + 1) {
        Some(
            TokenKind::LParen | TokenKind::Number | TokenKind::Word(Keyword::Not | Keyword::Exists),
        ) => true,
        // `;goto x --`, `;begin x;`
        Some(TokenKind::Word(Keyword::Identifier)) => {
            let paren = kind_at(tokens, i + 2) == Some(TokenKind::LParen);
            // `;call p(@version, @a)`, `;replace t (id, name) values (…)`
            (paren
                && (matches!(kind_at(tokens, i + 3), Some(TokenKind::Variable { .. }))
                    || tokens[i..]
                        .iter()
                        .take(16)
                        .any(|token| token.kind == TokenKind::Word(Keyword::Values))))
                || (matches!(
                    kind_at(tokens, i + 2),
                    None | Some(TokenKind::Semicolon | TokenKind::Comment)
                ) && tokens.len() - i <= 8)
                // `;use master exec xp_…`
                || matches!(
                    keyword_at(tokens, i + 2),
                    Some(Keyword::Exec | Keyword::Declare | Keyword::Select)
                )
        }
        Some(TokenKind::Word(
            Keyword::Shutdown | Keyword::Declare | Keyword::Select | Keyword::Exec,
        )) => true,
        _ => false,
    }
}

/// `exec(@sql)`, `exec xp_cmdshell`, `exec sp_x 'a'`, Oracle `execute
/// immediate 'drop table t'` at `i`.
fn exec_statement(tokens: &[Token], i: usize) -> bool {
    if token_is_word(tokens, i + 1, b"immediate")
        && matches!(
            kind_at(tokens, i + 2),
            Some(TokenKind::StringLiteral { .. } | TokenKind::Variable { .. })
        )
    {
        return true;
    }
    match kind_at(tokens, i + 1) {
        Some(
            TokenKind::Variable { .. } | TokenKind::LParen | TokenKind::Word(Keyword::SystemObject),
        ) => true,
        Some(TokenKind::Word(_)) => matches!(
            kind_at(tokens, i + 2),
            None | Some(
                TokenKind::Dot
                    | TokenKind::Variable { .. }
                    | TokenKind::StringLiteral { .. }
                    | TokenKind::Semicolon
            )
        ),
        _ => false,
    }
}

/// `insert into t (a, b) values (` or `insert into t select`: unmistakably
/// a statement, wherever it appears.
pub(super) fn insert_values(tokens: &[Token], i: usize) -> bool {
    if keyword_at(tokens, i) != Some(Keyword::Insert)
        || keyword_at(tokens, i + 1) != Some(Keyword::Into)
    {
        return false;
    }
    let Some(mut k) = operand_end(tokens, i + 2) else {
        return false;
    };
    if kind_at(tokens, k) == Some(TokenKind::LParen) {
        k = after_group(tokens, k);
    }
    (keyword_at(tokens, k) == Some(Keyword::Values)
        && kind_at(tokens, k + 1) == Some(TokenKind::LParen))
        || (keyword_at(tokens, k) == Some(Keyword::Select) && select_has_args(tokens, k))
}

/// `grant connect to x`, `revoke all on t from x`: a privilege statement.
pub(super) fn grant(tokens: &[Token], i: usize) -> bool {
    const PRIVILEGES: &[&[u8]] = &[
        b"all",
        b"connect",
        b"resource",
        b"dba",
        b"select",
        b"insert",
        b"update",
        b"delete",
        b"execute",
        b"exec",
        b"create",
        b"alter",
        b"drop",
        b"usage",
        b"file",
        b"super",
    ];
    (token_is_word(tokens, i, b"grant") || token_is_word(tokens, i, b"revoke"))
        && PRIVILEGES.iter().any(|p| token_is_word(tokens, i + 1, p))
        && (i + 2..i + 8).any(|k| {
            token_is_word(tokens, k, b"to")
                || token_is_word(tokens, k, b"on")
                || token_is_word(tokens, k, b"from")
        })
}

const COPY: u32 = word_hash(b"copy");

const BACKUP: u32 = word_hash(b"backup");

/// PostgreSQL `copy t from '/etc/passwd'`, `copy (select …) to program`,
/// MSSQL `backup database master to disk=…`: a statement that reads or
/// writes server files.
fn file_statement(tokens: &[Token], i: usize) -> bool {
    let path = |k: usize| {
        matches!(kind_at(tokens, k), Some(TokenKind::StringLiteral { .. }))
            && tokens
                .get(k)
                .is_some_and(|token| matches!(token.fingerprint as u8, b'/' | b'\\'))
    };
    if token_is_word(tokens, i, b"copy") {
        let k = if kind_at(tokens, i + 1) == Some(TokenKind::LParen) {
            if keyword_at(tokens, i + 2) != Some(Keyword::Select) {
                return false;
            }
            after_group(tokens, i + 1)
        } else if keyword_at(tokens, i + 1) == Some(Keyword::Identifier) {
            i + 2
        } else {
            return false;
        };
        let dir = keyword_at(tokens, k) == Some(Keyword::From) || token_is_word(tokens, k, b"to");
        return dir && (path(k + 1) || token_is_word(tokens, k + 1, b"program"));
    }
    token_is_word(tokens, i, b"backup")
        && (token_is_word(tokens, i + 1, b"database") || token_is_word(tokens, i + 1, b"log"))
        && keyword_at(tokens, i + 2) == Some(Keyword::Identifier)
        && token_is_word(tokens, i + 3, b"to")
        && (token_is_word(tokens, i + 4, b"disk") || token_is_word(tokens, i + 4, b"url"))
}

/// `; show tables`, `; desc users;`: a MySQL inspection statement.
fn show_statement(tokens: &[Token], i: usize) -> bool {
    const SHOWN: &[&[u8]] = &[
        b"tables",
        b"databases",
        b"schemas",
        b"columns",
        b"grants",
        b"variables",
        b"processlist",
        b"privileges",
        b"users",
    ];
    let ends = |k: usize| {
        matches!(
            kind_at(tokens, k),
            None | Some(TokenKind::Semicolon | TokenKind::Comment)
        )
    };
    if token_is_word(tokens, i, b"show") {
        return SHOWN.iter().any(|w| token_is_word(tokens, i + 1, w))
            || (keyword_at(tokens, i + 1) == Some(Keyword::Create)
                && keyword_at(tokens, i + 2) == Some(Keyword::SchemaObject));
    }
    (token_is_word(tokens, i, b"desc") || token_is_word(tokens, i, b"describe"))
        && matches!(
            keyword_at(tokens, i + 1),
            Some(Keyword::Identifier | Keyword::SchemaObject)
        )
        && ends(i + 2)
}

/// `copy …` or `backup …` at `i`.
pub(super) fn file_statement_at(tokens: &[Token], i: usize) -> bool {
    (tokens[i].fingerprint == COPY || tokens[i].fingerprint == BACKUP) && file_statement(tokens, i)
}

/// `create table t (x text);`, `drop table t--`, `create user x identified
/// by 'p'`: a whole statement opening the value, terminated.
pub(super) fn terminated_statement(tokens: &[Token]) -> bool {
    (matches!(
        tokens.last().map(|token| token.kind),
        Some(TokenKind::Semicolon | TokenKind::Comment)
    ) || token_is_word(tokens, 3, b"identified"))
        && matches!(
            keyword_at(tokens, 0),
            Some(
                Keyword::Create
                    | Keyword::Drop
                    | Keyword::Insert
                    | Keyword::Delete
                    | Keyword::Update
            )
        )
        && statement_starts(tokens, 0)
}

/// A value opening with `declare @b`, `exec(@sql)`, `exec xp_cmdshell`,
/// `execute immediate "…"` or `alter table t change c c enum(…)`.
pub(super) fn starts_statement(tokens: &[Token]) -> bool {
    match keyword_at(tokens, 0) {
        Some(Keyword::Declare) => matches!(kind_at(tokens, 1), Some(TokenKind::Variable { .. })),
        Some(Keyword::Exec) => {
            matches!(
                kind_at(tokens, 1),
                Some(
                    TokenKind::Variable { .. }
                        | TokenKind::LParen
                        | TokenKind::Word(Keyword::SystemObject)
                )
            ) || statement_starts(tokens, 0)
        }
        Some(Keyword::Alter) => {
            keyword_at(tokens, 1) == Some(Keyword::SchemaObject)
                && keyword_at(tokens, 2) == Some(Keyword::Identifier)
                && [&b"add"[..], b"change", b"modify", b"drop", b"rename"]
                    .iter()
                    .any(|word| token_is_word(tokens, 3, word))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    #[test]
    fn a_stacked_statement_after_a_semicolon() {
        assert_fires("1; drop table users--", "sqli-stacked");
        assert_fires("1; insert into users values (1)", "sqli-stacked");
    }

    #[test]
    fn a_statement_that_reads_server_files() {
        assert_fires("copy t from '/etc/passwd'", "sqli-file-statement");
    }

    #[test]
    fn statements_in_prose() {
        assert_quiet("Should I drop the table? Yes; please do", "sqli-stacked");
        assert_quiet("copy the file from the old folder", "sqli-file-statement");
    }
}
