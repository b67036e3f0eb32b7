//! SQL hidden in other spellings: hex literals (`0x61646d696e`), hex that
//! decodes to SQL text (`0x77616974666f722064656c6179…` is `waitfor
//! delay…`) and MySQL numbers glued to the next token (`1.e(ascii`). Adds
//! `sqli-hex-encoded` and `sqli-expr` here; `sqli-hex` (a hex literal after
//! another token) is added by the token scan in the parent module.

use crate::sql::token::is_word_byte;

/// Words whose hex spelling is an attack rather than data.
const HEX_SQL_WORDS: &[&[u8]] = &[
    b"select",
    b"union",
    b"waitfor",
    b"delay",
    b"exec",
    b"declare",
    b"insert",
    b"update",
    b"delete",
    b"drop",
    b"sleep",
    b"xp_cmdshell",
    b"from",
    b"where",
];

/// `0x77616974666f722064656c6179…` (`waitfor delay…`), or the same in
/// UTF-16 (`0x730065006c00…`): a hex literal that decodes to SQL text,
/// for `declare @s … set @s=0x…; exec(@s)` or a filter that decodes hex.
pub(super) fn hex_encoded_sql(text: &[u8]) -> bool {
    memchr::memchr_iter(b'x', text).any(|x| {
        if x == 0 || text[x - 1] != b'0' {
            return false;
        }
        let zero = x - 1;
        if zero > 0 && is_word_byte(text[zero - 1]) {
            return false;
        }
        let digits = text[zero + 2..]
            .iter()
            .take(512)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        digits >= 16 && decodes_to_sql(&text[zero + 2..zero + 2 + digits])
    })
}

/// The hex digits decode to printable text (NULs of UTF-16 dropped) that
/// holds one of [`HEX_SQL_WORDS`].
fn decodes_to_sql(hex_digits: &[u8]) -> bool {
    let mut decoded = [0u8; 256];
    let mut len = 0;
    for pair in hex_digits.chunks_exact(2) {
        let digit = |b| crate::normalize::hex(b).unwrap_or(0);
        let byte = (digit(pair[0]) << 4) | digit(pair[1]);
        match byte {
            0 => {}
            b'\t' | b'\n' | b'\r' | 0x20..=0x7e => {
                decoded[len] = byte.to_ascii_lowercase();
                len += 1;
            }
            _ => return false,
        }
    }
    decoded[..len]
        .split(|&b| !is_word_byte(b))
        .any(|word| HEX_SQL_WORDS.contains(&word))
}

/// `1.e(ascii`, `1.e.tables`, `1.e)`: MySQL reads `1.e` as a number, so it
/// glues to the next token and hides the space a filter looks for.
pub(super) fn scientific_glue(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b".e").any(|dot| {
        let digit_before = dot > 0 && text[dot - 1].is_ascii_digit();
        let word_before = dot > 1 && is_word_byte(text[dot - 2]) && !text[dot - 2].is_ascii_digit();
        digit_before
            && !word_before
            && match text.get(dot + 2) {
                Some(b'(' | b')' | b',') => true,
                // `1.e.tables` (but `2.e.g.` is prose)
                Some(b'.') => {
                    let len = text[dot + 3..]
                        .iter()
                        .take_while(|&&c| is_word_byte(c))
                        .count();
                    len >= 2
                        && text
                            .get(dot + 3)
                            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
                }
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use crate::sqli::tests::{assert_fires, assert_quiet};

    use super::{hex_encoded_sql, scientific_glue};

    #[test]
    fn hex_that_decodes_to_sql_and_glued_numbers() {
        // `waitfor delay`
        assert!(hex_encoded_sql(b"0x77616974666f722064656c6179"));
        assert_fires("0x77616974666f722064656c6179", "sqli-hex-encoded");
        assert!(scientific_glue(b"1.e(ascii"));
    }

    #[test]
    fn hex_data_and_abbreviations() {
        // `hello world, hi!` in hex is data, not SQL.
        assert!(!hex_encoded_sql(b"0x68656c6c6f20776f726c642c20686921"));
        assert_quiet("colour 0x1f2e3d4c5b6a7980", "sqli-hex-encoded");
        assert!(!scientific_glue(b"see 2.e.g. the notes"));
    }
}
