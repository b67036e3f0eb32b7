//! SQL tokens and the small questions every SQLi family asks about them
//! (what kind is token `i`, is it a call, where does its group end). Adds no
//! rule itself.

pub(crate) use super::keywords::Keyword;

/// The kind of a SQL token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A string literal; `closed` is false when it runs to end of input.
    StringLiteral {
        closed: bool,
        /// The body contains whitespace (prose-like).
        has_space: bool,
        /// The quote character.
        quote: u8,
        /// The body is 1–5 bytes (`'1`, `'a`: the tail that balances the
        /// application's closing quote).
        short: bool,
        /// The body is empty or only whitespace.
        blank: bool,
    },
    Number,
    /// A hex/binary literal such as `0x414243`.
    HexLiteral,
    Word(Keyword),
    /// `@x` or `@@version` (`system` is true for `@@`).
    Variable {
        system: bool,
    },
    /// Comparison: `=`, `<`, `>`, `<=`, `>=`, `<>`, `!=`, `<=>`.
    Comparison,
    /// Arithmetic / bitwise / concatenation.
    Arithmetic,
    /// `||`, `&&`.
    LogicOp,
    /// A lone `!` (prefix negation).
    Bang,
    LParen,
    RParen,
    Comma,
    Semicolon,
    Dot,
    /// A line comment (`--`, `#`) or an unterminated `/*`.
    Comment,
    /// `?` and a lone `@`: PostgreSQL JSON operator parts (`?|`, `<@`).
    JsonOp,
    Other,
}

/// One token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Whitespace or a comment preceded this token.
    pub spaced: bool,
    /// For words, [`word_hash`] of their bytes (`a=a` compares a column with
    /// itself); for strings, their first body byte; 0 for other tokens.
    pub fingerprint: u32,
}

/// Word bytes: ASCII letters, digits, `_`, `$` and non-ASCII (UTF-8) bytes,
/// except a Latin-1 no-break space (0xa0), which separates.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || (b >= 0x80 && b != 0xa0)
}

/// The hash kept in [`Token::fingerprint`] for a word: its length and its
/// first and last four bytes (exact up to eight bytes; longer words that
/// differ only in the middle collide, which costs nothing here).
pub(crate) const fn word_hash(word: &[u8]) -> u32 {
    let len = word.len();
    let mut head = 0u32;
    let mut tail = 0u32;
    let mut i = 0;
    while i < 4 && i < len {
        head |= (word[i] as u32) << (8 * i);
        tail |= (word[len - 1 - i] as u32) << (8 * i);
        i += 1;
    }
    (head.wrapping_mul(0x9e37_79b1) ^ tail.rotate_left(16) ^ len as u32).wrapping_mul(0x85eb_ca77)
}

/// Is token `i` the word `word`?
pub(crate) fn token_is_word(tokens: &[Token], i: usize, word: &[u8]) -> bool {
    tokens.get(i).is_some_and(|token| {
        matches!(token.kind, TokenKind::Word(_)) && token.fingerprint == word_hash(word)
    })
}

/// The kind of token `i`, `None` past the end.
pub(crate) fn kind_at(tokens: &[Token], i: usize) -> Option<TokenKind> {
    tokens.get(i).map(|token| token.kind)
}

/// The keyword class of token `i` when it is a word.
pub(crate) fn keyword_at(tokens: &[Token], i: usize) -> Option<Keyword> {
    match kind_at(tokens, i) {
        Some(TokenKind::Word(keyword)) => Some(keyword),
        _ => None,
    }
}

/// A call `name(` (whitespace before the parenthesis allowed).
pub(crate) fn is_call(tokens: &[Token], i: usize) -> bool {
    matches!(kind_at(tokens, i), Some(TokenKind::Word(_)))
        && kind_at(tokens, i + 1) == Some(TokenKind::LParen)
}

/// Index after the parenthesis group opened at `open` (end of input if it
/// does not close within 256 tokens: callers ask at every `(`, so an
/// unbounded search would make `select (select (…` quadratic).
pub(crate) fn after_group(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(open).take(256) {
        match token.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}
