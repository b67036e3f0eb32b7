//! A small SQL tokenizer over normalised (lowercase) bytes. Adds no rule
//! itself: every SQLi family reads its tokens.
//!
//! It knows string literals and their quote context, numbers, words
//! (identifiers, keywords, function names), variables, operators and
//! comments. `--` and `#` only start comments in a SQL-token context, so
//! `a--b`, `C#` and `#anchor` stay plain text.

use super::keywords::{Keyword, classify_word};
use super::token::{Token, TokenKind, is_word_byte, word_hash};

/// ECMAScript well-known symbols (lowercased), written `@@name` in specs.
const JS_SYMBOLS: &[&[u8]] = &[
    b"iterator",
    b"asynciterator",
    b"tostringtag",
    b"toprimitive",
    b"hasinstance",
    b"species",
    b"unscopables",
    b"isconcatspreadable",
    b"match",
    b"matchall",
    b"replace",
    b"search",
    b"split",
];

/// Tokenises `text`. With `quoted_by = Some(q)` the input starts inside a
/// string quoted by `q` (the value was placed between quotes by the
/// application); returns `None` if that string never closes (no quote break
/// possible). Stops after `max_tokens` tokens.
pub(crate) fn lex(text: &[u8], quoted_by: Option<u8>, max_tokens: usize) -> Option<Vec<Token>> {
    let mut lexer = Lexer {
        text,
        pos: 0,
        spaced: false,
        tokens: Vec::with_capacity(16),
        line_cache: None,
    };
    if let Some(quote) = quoted_by {
        lexer.application_string(quote)?;
    }
    while lexer.pos < text.len() && lexer.tokens.len() < max_tokens {
        let start = lexer.pos;
        if let Some(kind) = lexer.next_kind() {
            lexer.push(start, kind);
        }
    }
    Some(lexer.tokens)
}

/// The tokenizer's state while it walks one value.
struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    /// Whitespace or a comment since the last token.
    spaced: bool,
    tokens: Vec<Token>,
    /// For the last `#` looked at: its index, its line's end and whether SQL
    /// text follows that line, so a value full of `#` stays linear.
    line_cache: Option<(usize, usize, bool)>,
}

impl Lexer<'_> {
    #[inline]
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    /// The string the application opened before the value: its tail up to
    /// the quote that closes it is the first token.
    fn application_string(&mut self, quote: u8) -> Option<()> {
        let text = self.text;
        let (end, closed) = scan_string(text, 0, quote);
        if !closed {
            return None;
        }
        self.tokens.push(Token {
            kind: TokenKind::StringLiteral {
                closed: true,
                has_space: has_whitespace(&text[..end]),
                quote,
                short: (2..=6).contains(&end),
                blank: text[..end - 1].iter().all(|&b| b <= b' '),
            },
            spaced: false,
            fingerprint: 0,
        });
        self.pos = end;
        Some(())
    }

    #[inline]
    fn push(&mut self, start: usize, kind: TokenKind) {
        let fingerprint = match kind {
            TokenKind::Word(_) => word_hash(&self.text[start..self.pos]),
            // A string's first body byte (`'$.a'` is a JSON path).
            TokenKind::StringLiteral { .. } => {
                self.text.get(start + 1).map_or(0, |&b| u32::from(b))
            }
            _ => 0,
        };
        self.tokens.push(Token {
            kind,
            spaced: self.spaced,
            fingerprint,
        });
        self.spaced = false;
    }

    /// Whitespace or a comment read as whitespace: no token.
    #[inline]
    fn skip(&mut self, bytes: usize) -> Option<TokenKind> {
        self.spaced = true;
        self.pos += bytes;
        None
    }

    /// Reads the token at `pos`; `None` when what was read is whitespace.
    #[inline]
    fn next_kind(&mut self) -> Option<TokenKind> {
        let text = self.text;
        let byte = text[self.pos];
        let next = self.peek(1);
        match byte {
            0..=b' ' | 0x7f => self.skip(1),
            // A Latin-1 (or UTF-8 `c2 a0`) no-break space: MySQL and
            // browsers read it as whitespace (`1%a0union%a0select`).
            0xa0 if self.pos == 0 || text[self.pos - 1] < 0x80 || text[self.pos - 1] == 0xa0 => {
                self.skip(1)
            }
            0xc2 if next == Some(0xa0) => self.skip(2),
            b'\'' | b'"' => Some(self.string_literal(byte)),
            b'`' => {
                let (end, _) = scan_string(text, self.pos + 1, b'`');
                self.pos = end;
                Some(TokenKind::Word(Keyword::Identifier))
            }
            b'0'..=b'9' => Some(self.number(byte, next)),
            b'@' => Some(self.variable()),
            b'-' if next == Some(b'-') => self.double_dash(),
            b'#' => self.hash_sign(next),
            b'/' if next == Some(b'*') => self.block_comment(),
            b'*' if next == Some(b'/') => self.skip(2),
            _ => Some(self.operator_or_word(byte, next)),
        }
    }

    #[inline]
    fn string_literal(&mut self, quote: u8) -> TokenKind {
        let text = self.text;
        let start = self.pos;
        let (end, closed) = scan_string(text, start + 1, quote);
        self.pos = end;
        let body = end - start - 1 - usize::from(closed);
        TokenKind::StringLiteral {
            closed,
            has_space: has_whitespace(&text[start..end]),
            quote,
            short: (1..=5).contains(&body),
            blank: text[start + 1..start + 1 + body].iter().all(|&b| b <= b' '),
        }
    }

    fn number(&mut self, first: u8, next: Option<u8>) -> TokenKind {
        let text = self.text;
        let len = text.len();
        if first == b'0'
            && matches!(next, Some(b'x' | b'b'))
            && self.peek(2).is_some_and(|b| b.is_ascii_hexdigit())
        {
            self.pos += 2;
            while self.pos < len && text[self.pos].is_ascii_hexdigit() {
                self.pos += 1;
            }
            return TokenKind::HexLiteral;
        }
        while self.pos < len && (text[self.pos].is_ascii_digit() || text[self.pos] == b'.') {
            self.pos += 1;
        }
        if self.peek(0) == Some(b'e') && self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            while self.pos < len && text[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
        }
        if self.peek(0).is_some_and(is_word_byte) {
            self.word_glued_to_number()
        } else {
            TokenKind::Number
        }
    }

    /// `1abc` is an identifier-ish word, not a number, but `1union` /
    /// `1from` is a number glued to a keyword.
    fn word_glued_to_number(&mut self) -> TokenKind {
        let text = self.text;
        let word_start = self.pos;
        let mut word_end = word_start;
        while word_end < text.len() && is_word_byte(text[word_end]) {
            word_end += 1;
        }
        let suffixed = word_end - word_start > 4
            && matches!(text[word_start], b'd' | b'f' | b'x')
            && matches!(
                classify_word(&text[word_start + 1..word_end]),
                Keyword::Union | Keyword::Select | Keyword::From
            );
        if classify_word(&text[word_start..word_end]) != Keyword::Identifier {
            TokenKind::Number
        } else if suffixed {
            // `1dunion`, `1funion`, `0xunion`: a float/double suffix (or a
            // bare `0x`) glued to a keyword.
            self.pos = word_start + 1;
            TokenKind::Number
        } else {
            self.pos = word_end;
            TokenKind::Word(Keyword::Identifier)
        }
    }

    /// `@x`, `@@version`, `@"1"`, or a lone `@` (a JSON operator part).
    fn variable(&mut self) -> TokenKind {
        let text = self.text;
        let start = self.pos;
        while self.peek(0) == Some(b'@') {
            self.pos += 1;
        }
        let system = self.pos - start == 2;
        let name_start = self.pos;
        while self.peek(0).is_some_and(is_word_byte) {
            self.pos += 1;
        }
        if self.pos > name_start {
            // `@@toStringTag`, `@@iterator`: how JavaScript docs write
            // well-known symbols, no server variable.
            let js_symbol = system && JS_SYMBOLS.contains(&&text[name_start..self.pos]);
            return TokenKind::Variable {
                system: system && !js_symbol,
            };
        }
        match self.peek(0) {
            // `@"1"`: a MySQL user variable with a quoted name.
            Some(quote @ (b'"' | b'\'' | b'`')) => {
                let (end, _) = scan_string(text, self.pos + 1, quote);
                self.pos = end;
                TokenKind::Variable { system }
            }
            _ => TokenKind::JsonOp,
        }
    }

    /// `--`: a line comment, or a minus sign glued between words (`a--b`).
    fn double_dash(&mut self) -> Option<TokenKind> {
        let text = self.text;
        let at = self.pos;
        let prev_word = at > 0 && is_word_byte(text[at - 1]);
        let after_text = self.peek(2).is_some_and(|b| b.is_ascii_alphanumeric());
        // `a--b` is text, but `1--junk⏎and 1=1` is a comment
        // hiding one word before the next line.
        let glued_comment = prev_word && after_text && word_then_newline(text, at + 2);
        if prev_word && after_text && !glued_comment {
            self.pos += 2;
            return Some(TokenKind::Arithmetic);
        }
        self.line_comment()
    }

    /// Skips to the end of the line: whitespace when SQL text follows on a
    /// later line, a comment token when the value ends there.
    fn line_comment(&mut self) -> Option<TokenKind> {
        self.pos = line_end(self.text, self.pos);
        if more_after_newline(self.text, self.pos) {
            self.spaced = true;
            return None;
        }
        Some(TokenKind::Comment)
    }

    /// `#`: a MySQL comment where SQL tokens precede it, else plain text
    /// (`C#`, `#anchor`, `#1`).
    fn hash_sign(&mut self, next: Option<u8>) -> Option<TokenKind> {
        let text = self.text;
        let at = self.pos;
        // `-1#union⏎…`: a `#` whose line ends before more SQL.
        let multiline = self.line_continues();
        // `#⏎(select…`, `(#⏎1`: an empty comment is a space.
        let lead_blank = multiline && matches!(next, Some(b'\n' | b'\r'));
        let after_sql = lead_blank || self.comment_context(next, multiline);
        // `#1` is a number sign, but `or true#1` ends a boolean.
        let digit_next = next.is_some_and(|c| c.is_ascii_digit())
            && !self.tokens.last().is_some_and(|prev| {
                matches!(
                    prev.kind,
                    TokenKind::Word(Keyword::True | Keyword::False | Keyword::Null)
                )
            });
        let glued = at > 0 && is_word_byte(text[at - 1]) && next.is_some_and(is_word_byte);
        if after_sql && !digit_next && (!glued || multiline) {
            self.line_comment()
        } else {
            self.pos += 1;
            Some(TokenKind::Other)
        }
    }

    /// Whether SQL text follows the line of the `#` at `pos` (cached).
    fn line_continues(&mut self) -> bool {
        let at = self.pos;
        match self.line_cache {
            Some((from, end, more)) if from <= at && at <= end => more,
            _ => {
                let end = line_end(self.text, at);
                let more = more_after_newline(self.text, end);
                self.line_cache = Some((at, end, more));
                more
            }
        }
    }

    /// Does the token before a `#` make it a comment?
    fn comment_context(&self, next: Option<u8>, multiline: bool) -> bool {
        let at = self.pos;
        let spaced = self.spaced;
        self.tokens.last().is_some_and(|prev| match prev.kind {
            TokenKind::StringLiteral { .. }
            | TokenKind::Number
            | TokenKind::RParen
            | TokenKind::Variable { .. }
            | TokenKind::Comparison
            | TokenKind::Semicolon => true,
            // `union#` ends a keyword; `or#` may end a word like `color#`.
            // `ijoh#⏎where`: an empty comment used as a space.
            // `or x=y#`: a `#` ending the value ends it as a comment.
            TokenKind::Word(Keyword::Identifier) => {
                (multiline && matches!(next, Some(b'\n' | b'\r'))) || next.is_none()
            }
            TokenKind::Word(keyword) => {
                keyword != Keyword::Identifier
                    && (spaced
                        || at == 0
                        || !next.is_some_and(is_word_byte)
                        || multiline
                        || matches!(keyword, Keyword::True | Keyword::False | Keyword::Null))
            }
            _ => false,
        })
    }

    /// `/*…*/` is whitespace; `/*!` opens a MySQL executable comment whose
    /// body is code; an unterminated `/*` comments out the rest.
    fn block_comment(&mut self) -> Option<TokenKind> {
        let text = self.text;
        if self.peek(2) == Some(b'!') {
            self.pos += 3;
            while self.peek(0).is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            self.spaced = true;
            return None;
        }
        match crate::normalize::find(&text[self.pos + 2..], b"*/") {
            Some(p) => self.skip(2 + p + 2),
            None => {
                self.pos = text.len();
                Some(TokenKind::Comment)
            }
        }
    }

    /// Operators, punctuation and words.
    #[inline]
    fn operator_or_word(&mut self, byte: u8, next: Option<u8>) -> TokenKind {
        let (kind, len) = match byte {
            b'=' => (TokenKind::Comparison, 1),
            // PostgreSQL cast `x::int`.
            b':' if next == Some(b':') => (TokenKind::Arithmetic, 2),
            b':' if next == Some(b'=') => (TokenKind::Comparison, 2),
            // MySQL `\N` is NULL.
            b'\\' if next == Some(b'n') && !self.peek(2).is_some_and(is_word_byte) => {
                (TokenKind::Word(Keyword::Null), 2)
            }
            b'[' => return self.bracketed_identifier(),
            b'<' | b'>' | b'!' => return self.comparison(byte),
            b'|' | b'&' if next == Some(byte) => (TokenKind::LogicOp, 2),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => {
                (TokenKind::Arithmetic, 1)
            }
            b'(' => (TokenKind::LParen, 1),
            b'?' => (TokenKind::JsonOp, 1),
            b')' => (TokenKind::RParen, 1),
            b',' => (TokenKind::Comma, 1),
            b';' => (TokenKind::Semicolon, 1),
            b'.' => (TokenKind::Dot, 1),
            _ if is_word_byte(byte) => return self.word(),
            _ => (TokenKind::Other, 1),
        };
        self.pos += len;
        kind
    }

    /// `[name]` is a T-SQL quoted identifier; any other `[` is text.
    fn bracketed_identifier(&mut self) -> TokenKind {
        let text = self.text;
        let inner = &text[self.pos + 1..];
        let close = inner
            .iter()
            .take(64)
            .position(|&c| c == b']')
            .filter(|&p| p > 0 && inner[..p].iter().all(|&c| is_word_byte(c)));
        match close {
            Some(p) => {
                self.pos += p + 2;
                TokenKind::Word(Keyword::Identifier)
            }
            None => {
                self.pos += 1;
                TokenKind::Other
            }
        }
    }

    /// `<`, `>`, `!` and up to two more of `=<>`; a lone `!` negates.
    fn comparison(&mut self, byte: u8) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek(0)
            .is_some_and(|b| matches!(b, b'=' | b'>' | b'<'))
            && self.pos - start < 3
        {
            self.pos += 1;
        }
        if byte == b'!' && self.pos == start + 1 {
            TokenKind::Bang
        } else {
            TokenKind::Comparison
        }
    }

    #[inline]
    fn word(&mut self) -> TokenKind {
        let text = self.text;
        let start = self.pos;
        let mut end = start;
        while end < text.len() && continues_word(text, end) {
            end += 1;
        }
        self.pos = end;
        TokenKind::Word(classify_word(&text[start..end]))
    }
}

/// `text[i]` continues the word before it: a word byte, or 0xa0 as the
/// second byte of a UTF-8 character (`à` is `c3 a0`).
fn continues_word(text: &[u8], i: usize) -> bool {
    is_word_byte(text[i]) || (text[i] == 0xa0 && i > 0 && text[i - 1] >= 0xc0)
}

/// Scans a string body from `i` to its closing `quote`; returns (index
/// after, closed).
fn scan_string(text: &[u8], mut i: usize, quote: u8) -> (usize, bool) {
    while i < text.len() {
        let b = text[i];
        if b == b'\\' && !matches!(quote, b'`' | b']') {
            i += 2;
            continue;
        }
        if b == quote {
            if text.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (text.len(), false)
}

fn line_end(text: &[u8], i: usize) -> usize {
    text[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |p| i + p)
}

/// A line comment ending at `i` is just whitespace when SQL text follows
/// on a later line (`1#⏎union#⏎select`): MySQL reads on after the newline.
/// At the end of the value it stays a comment token (a truncation).
fn more_after_newline(text: &[u8], i: usize) -> bool {
    i < text.len() && text[i..].iter().any(|&b| b > b' ')
}

/// `text[i..]` is one word and then a newline (`--PTTmJ⏎`).
fn word_then_newline(text: &[u8], i: usize) -> bool {
    let len = text[i..].iter().take_while(|&&b| is_word_byte(b)).count();
    len > 0 && matches!(text.get(i + len), Some(b'\r' | b'\n'))
}

fn has_whitespace(body: &[u8]) -> bool {
    body.iter().any(|&b| b <= b' ')
}
