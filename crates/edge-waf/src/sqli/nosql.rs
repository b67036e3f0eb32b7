//! NoSQL (MongoDB) injection: query operators in key position
//! (`user[$ne]=1`, `{"$gt": ""}`), `$where` JavaScript after a quote break
//! (`' && this.password.match(/.*/)//`) and shell calls on a collection
//! (`db.users.insert({…})`). Adds `nosql-operator`.

use crate::sql::token::is_word_byte;

/// MongoDB query operators (lowercased) that an attacker injects as keys to
/// widen a match or run code. (`$type`, `$text`, `$size` are left out:
/// Json.NET type hints and schema documents use such keys.)
const MONGO_OPS: &[&[u8]] = &[
    b"ne",
    b"eq",
    b"gt",
    b"gte",
    b"lt",
    b"lte",
    b"in",
    b"nin",
    b"regex",
    b"where",
    b"exists",
    b"not",
    b"nor",
    b"or",
    b"and",
    b"elemmatch",
    b"expr",
    b"function",
    b"accumulator",
];

/// `user[$ne]=1`, `{"$gt": ""}`, `', $where: '1 == 1'`, `$or: [`: a MongoDB
/// operator in key position (the bracket form is how PHP and Express parse
/// `a[$ne]=1` into an object).
pub(super) fn mongo_operator_key(text: &[u8]) -> bool {
    for at in memchr::memchr_iter(b'$', text) {
        let name_len = text[at + 1..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphabetic())
            .count();
        if !MONGO_OPS.contains(&&text[at + 1..at + 1 + name_len]) {
            continue;
        }
        let mut key_start = at;
        let quoted = key_start > 0 && matches!(text[key_start - 1], b'"' | b'\'');
        if quoted {
            key_start -= 1;
        }
        let before = text[..key_start]
            .iter()
            .rev()
            .find(|&&b| b != b' ')
            .copied();
        let mut after = at + 1 + name_len;
        let bracket = before == Some(b'[') && text.get(after) == Some(&b']');
        if quoted && text.get(after) == Some(&text[key_start]) {
            after += 1;
        }
        while text.get(after) == Some(&b' ') {
            after += 1;
        }
        let key = matches!(before, None | Some(b'{' | b',')) && text.get(after) == Some(&b':');
        if bracket || key {
            return true;
        }
    }
    false
}

/// MongoDB `$where` JavaScript after a quote break (`' && this.password
/// .match(/.*/)//`, `'; return true; var x='`), or a shell call on a
/// collection (`db.users.insert({…})`).
pub(super) fn mongo_javascript(text: &[u8]) -> bool {
    memchr::memchr_iter(b'.', text).any(|dot| {
        let head = &text[..dot];
        if let Some(head) = head.strip_suffix(b"this") {
            this_after_break(head.trim_ascii_end())
        } else if let Some(head) = head.strip_suffix(b"db") {
            !head.last().is_some_and(|&b| is_word_byte(b) || b == b'.')
                && shell_call(&text[dot + 1..])
        } else {
            false
        }
    })
}

/// `' && this.`, `'||this.`, `=='this.`: `this.` right after a quote break.
fn this_after_break(head: &[u8]) -> bool {
    if let Some(before) = head
        .strip_suffix(b"&&")
        .or_else(|| head.strip_suffix(b"||"))
    {
        return before.trim_ascii_end().ends_with(b"'");
    }
    head.strip_suffix(b"'")
        .is_some_and(|before| before.trim_ascii_end().ends_with(b"=="))
}

/// `users.insert(`: a collection method after `db.`.
fn shell_call(rest: &[u8]) -> bool {
    const METHODS: &[&[u8]] = &[
        b"find",
        b"findone",
        b"insert",
        b"insertone",
        b"remove",
        b"drop",
        b"update",
        b"mapreduce",
        b"aggregate",
        b"deletemany",
        b"updatemany",
    ];
    let collection = rest.iter().take_while(|&&b| is_word_byte(b)).count();
    if collection == 0 || rest.get(collection) != Some(&b'.') {
        return false;
    }
    let method = &rest[collection + 1..];
    let len = method
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    METHODS.contains(&&method[..len]) && method.get(len) == Some(&b'(')
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    use super::{mongo_javascript, mongo_operator_key};

    #[test]
    fn operators_in_key_position_and_where_javascript() {
        assert!(mongo_operator_key(b"user[$ne]=1"));
        assert_fires("{\"$gt\": \"\"}", "nosql-operator");
        assert!(mongo_javascript(b"' && this.password.match(/.*/)//"));
    }

    #[test]
    fn dollars_and_dots_in_prose() {
        assert_quiet("it costs $ne or $5, see this.page", "nosql-operator");
        assert!(!mongo_javascript(b"read this. then db. notes"));
    }
}
