//! PostgreSQL syntax in injections: casts to SQL types that error-based
//! payloads use (`password::int`, `'1'::jsonb`) and JSON operators between
//! string literals (`'{"b":2}'::jsonb <@ '{"a":1}'`, `'[1,2]' ? '1'`).
//! Adds `sqli-pg-cast` and (for JSON operator conditions) `sqli-boolean`.

use crate::sql::token::{Keyword, Token, TokenKind, is_word_byte, keyword_at, kind_at};

/// PostgreSQL type names that casts in error-based payloads use.
const PG_TYPES: &[&[u8]] = &[
    b"int",
    b"int4",
    b"int8",
    b"integer",
    b"bigint",
    b"smallint",
    b"text",
    b"varchar",
    b"numeric",
    b"json",
    b"jsonb",
    b"bool",
    b"boolean",
    b"bytea",
    b"regclass",
    b"oid",
    b"float",
    b"real",
    b"double",
];

/// `password::int`, `f(x)::text`, `'1'::jsonb`: a value cast with `::` to a
/// SQL type (`std::string` and `serde_json::json!` are paths, not casts).
pub(super) fn pg_cast(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(found) = crate::normalize::find(&text[from..], b"::") {
        let at = from + found;
        from = at + 2;
        let Some(&prev) = at.checked_sub(1).and_then(|i| text.get(i)) else {
            continue;
        };
        if !(prev == b')' || prev == b'\'' || is_word_byte(prev)) {
            continue;
        }
        if is_word_byte(prev) && path_or_tag_before(text, at) {
            continue;
        }
        if cast_to_sql_type(text, at, prev) {
            return true;
        }
    }
    false
}

/// `works-with::text` (a Debian tag): a hyphenated word, no column;
/// `Math::Vector::Real`: a module path. The word before `::` at `at`.
fn path_or_tag_before(text: &[u8], at: usize) -> bool {
    let start = text[..at]
        .iter()
        .rposition(|&b| !is_word_byte(b))
        .map_or(0, |p| p + 1);
    let before = &text[..start];
    (before.len() >= 2
        && before[before.len() - 1] == b'-'
        && before[before.len() - 2].is_ascii_alphabetic())
        || before.ends_with(b"::")
}

/// After `::` at `at` (following `prev`): a SQL type name, then the end of
/// the value or an operator.
fn cast_to_sql_type(text: &[u8], at: usize, prev: u8) -> bool {
    let len = text[at + 2..]
        .iter()
        .take_while(|&&b| is_word_byte(b))
        .count();
    let type_name = &text[at + 2..at + 2 + len];
    let after = text.get(at + 2 + len).copied();
    // After a word (`mime::TEXT,`, `serde_json::json;` are Rust paths)
    // only the end of the value or an operator may follow.
    let ends = if prev == b')' || prev == b'\'' {
        matches!(
            after,
            None | Some(
                b' ' | b'\t' | b'\n' | b')' | b'=' | b'<' | b'>' | b'-' | b'+' | b'|' | b',' | b';'
            )
        )
    } else {
        matches!(after, None | Some(b'=' | b'<' | b'>' | b'-' | b'+' | b'|'))
    };
    // `interface::text-mode`: a hyphen joining words is no minus.
    let hyphenated = after == Some(b'-')
        && text
            .get(at + 3 + len)
            .is_some_and(|b| b.is_ascii_alphabetic());
    PG_TYPES.contains(&type_name) && ends && !hyphenated
}

/// PostgreSQL JSON operators between string literals, the first at `left`:
/// `or '{"b":2}'::jsonb <@ '{"a":1}'`, `'[1,2]' ? '1'`, `'{}'::json #>> '{a}'`.
pub(super) fn json_operator_expr(tokens: &[Token], left: usize) -> bool {
    let pg_string = |k: usize| {
        matches!(
            kind_at(tokens, k),
            Some(TokenKind::StringLiteral {
                closed: true,
                quote: b'\'',
                ..
            })
        )
    };
    if !pg_string(left) {
        return false;
    }
    let mut at = left + 1;
    let mut cast = false;
    // `::jsonb`
    while kind_at(tokens, at) == Some(TokenKind::Arithmetic)
        && matches!(kind_at(tokens, at + 1), Some(TokenKind::Word(_)))
        && !tokens[at + 1].spaced
    {
        cast = true;
        at += 2;
    }
    let operators_start = at;
    let mut json_operator = false;
    while (matches!(
        kind_at(tokens, at),
        Some(
            TokenKind::Arithmetic | TokenKind::Comparison | TokenKind::JsonOp | TokenKind::Comment
        )
    ) || (cast && kind_at(tokens, at) == Some(TokenKind::Other)))
        && at - operators_start < 3
    {
        json_operator |= kind_at(tokens, at) == Some(TokenKind::JsonOp);
        at += 1;
    }
    let operators = at - operators_start;
    // `'{"a":2}' < '$.c[2].f' = 7`: a JSON document compared through a path.
    let json_doc = matches!(tokens[left].fingerprint, 0x7b | 0x5b); // `{`, `[`
    if json_doc && operators == 1 && pg_string(at) && tokens[at].fingerprint == u32::from(b'$') {
        return true;
    }
    // `?| array['a','name']`
    let next_str = pg_string(at)
        || (keyword_at(tokens, at) == Some(Keyword::Identifier)
            && kind_at(tokens, at + 1) == Some(TokenKind::Other))
        || (cast && kind_at(tokens, at) == Some(TokenKind::Number));
    operators >= 1 && next_str && (cast || json_operator || (left > 0 && operators >= 2))
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    use super::pg_cast;

    #[test]
    fn a_cast_to_a_sql_type() {
        assert!(pg_cast(b"password::int"));
        assert_fires("1 and password::int=1", "sqli-pg-cast");
    }

    #[test]
    fn rust_paths_and_tags_are_no_casts() {
        assert!(!pg_cast(b"std::string::String"));
        for value in [
            "std::string",
            "works-with::text",
            "serde_json::json;",
            "Math::Vector::Real",
        ] {
            assert_quiet(value, "sqli-pg-cast");
        }
    }
}
