//! A small SQL tokenizer over normalised (lowercase) bytes.
//!
//! It knows string literals and their quote context, numbers, words
//! (identifiers, keywords, function names), variables, operators and
//! comments. `--` and `#` only start comments in a SQL-token context, so
//! `a--b`, `C#` and `#anchor` stay plain text.

/// The kind of a SQL token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    /// A string literal; `closed` is false when it runs to end of input.
    Str {
        closed: bool,
    },
    Num,
    /// A hex/binary literal such as `0x414243`.
    Hex,
    Word(Kw),
    /// `@x` or `@@version` (`sys` is true for `@@`).
    Var {
        sys: bool,
    },
    /// Comparison: `=`, `<`, `>`, `<=`, `>=`, `<>`, `!=`, `<=>`.
    Cmp,
    /// Arithmetic / bitwise / concatenation.
    Arith,
    /// `||`, `&&`, `!` used as logic.
    LogicOp,
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    /// A line comment (`--`, `#`) or an unterminated `/*`.
    Comment,
    Other,
}

/// Keyword classes that matter for injection structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Ident,
    Or,
    And,
    Xor,
    Not,
    Union,
    Select,
    From,
    Where,
    Order,
    Group,
    By,
    Having,
    Limit,
    Into,
    Procedure,
    Insert,
    Update,
    Delete,
    Drop,
    Create,
    Alter,
    Truncate,
    Exec,
    Declare,
    Shutdown,
    Waitfor,
    Delay,
    Table,
    Set,
    Values,
    Like,
    Is,
    In,
    Between,
    True,
    False,
    Null,
    Case,
    When,
    Exists,
    As,
    All,
    Distinct,
    /// A known SQL function name (only a function when followed by `(`).
    Func,
    /// A time-delay function (`sleep`, `benchmark`, `pg_sleep`, ...).
    TimeFunc,
    /// Objects that only show up in attacks (`information_schema`, ...).
    Danger,
}

/// One token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub t: T,
    /// Whitespace or a comment preceded this token.
    pub spaced: bool,
}

fn classify(w: &[u8]) -> Kw {
    match w {
        b"or" => Kw::Or,
        b"and" => Kw::And,
        b"xor" => Kw::Xor,
        b"not" => Kw::Not,
        b"union" => Kw::Union,
        b"select" => Kw::Select,
        b"from" => Kw::From,
        b"where" => Kw::Where,
        b"order" => Kw::Order,
        b"group" => Kw::Group,
        b"by" => Kw::By,
        b"having" => Kw::Having,
        b"limit" => Kw::Limit,
        b"into" => Kw::Into,
        b"procedure" => Kw::Procedure,
        b"insert" => Kw::Insert,
        b"update" => Kw::Update,
        b"delete" => Kw::Delete,
        b"drop" => Kw::Drop,
        b"create" => Kw::Create,
        b"alter" => Kw::Alter,
        b"truncate" => Kw::Truncate,
        b"exec" | b"execute" => Kw::Exec,
        b"declare" => Kw::Declare,
        b"shutdown" => Kw::Shutdown,
        b"waitfor" => Kw::Waitfor,
        b"delay" | b"time" => Kw::Delay,
        b"table" | b"database" | b"schema" | b"user" | b"view" | b"procedure_" => Kw::Table,
        b"set" => Kw::Set,
        b"values" => Kw::Values,
        b"like" | b"rlike" | b"regexp" | b"sounds" | b"glob" => Kw::Like,
        b"is" => Kw::Is,
        b"in" => Kw::In,
        b"between" => Kw::Between,
        b"true" => Kw::True,
        b"false" => Kw::False,
        b"null" => Kw::Null,
        b"case" => Kw::Case,
        b"when" => Kw::When,
        b"exists" => Kw::Exists,
        b"as" => Kw::As,
        b"all" => Kw::All,
        b"distinct" | b"distinctrow" => Kw::Distinct,
        b"sleep" | b"benchmark" | b"pg_sleep" | b"randomblob" | b"receive_message"
        | b"sys_eval" | b"get_lock" => Kw::TimeFunc,
        b"information_schema"
        | b"xp_cmdshell"
        | b"sysobjects"
        | b"syscolumns"
        | b"load_file"
        | b"outfile"
        | b"dumpfile"
        | b"pg_shadow"
        | b"sysdatabases"
        | b"extractvalue"
        | b"updatexml"
        | b"name_const"
        | b"utl_inaddr"
        | b"utl_http"
        | b"dbms_pipe"
        | b"sp_executesql"
        | b"xp_dirtree"
        | b"sqlite_master"
        | b"pg_catalog"
        | b"all_tables"
        | b"sys_context"
        | b"msysobjects"
        | b"xmltype"
        | b"sp_password"
        | b"openrowset" => Kw::Danger,
        b"concat"
        | b"concat_ws"
        | b"group_concat"
        | b"char"
        | b"chr"
        | b"ascii"
        | b"substring"
        | b"substr"
        | b"mid"
        | b"version"
        | b"current_user"
        | b"if"
        | b"ifnull"
        | b"isnull"
        | b"count"
        | b"floor"
        | b"rand"
        | b"cast"
        | b"convert"
        | b"hex"
        | b"unhex"
        | b"md5"
        | b"length"
        | b"ord"
        | b"elt"
        | b"make_set"
        | b"row"
        | b"sysdate"
        | b"now"
        | b"nullif"
        | b"coalesce"
        | b"char_length"
        | b"system_user"
        | b"session_user"
        | b"left"
        | b"right"
        | b"reverse"
        | b"exp"
        | b"instr"
        | b"locate"
        | b"position"
        | b"lower"
        | b"upper"
        | b"db_name"
        | b"user_name"
        | b"current_database"
        | b"to_char"
        | b"iif"
        | b"len"
        | b"unicode"
        | b"nchar"
        | b"sha1"
        | b"json_keys"
        | b"json_extract"
        | b"polygon"
        | b"multipoint"
        | b"geometrycollection"
        | b"linestring"
        | b"sqlite_version"
        | b"last_insert_rowid"
        | b"pi" => Kw::Func,
        _ => Kw::Ident,
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Tokenises `s`. With `ctx = Some(q)` the input starts inside a string
/// quoted by `q` (the value was placed between quotes by the application);
/// returns `None` if that string never closes (no quote break possible).
/// Stops after `max_tokens` tokens.
pub(crate) fn lex(s: &[u8], ctx: Option<u8>, max_tokens: usize) -> Option<Vec<Tok>> {
    let mut toks: Vec<Tok> = Vec::with_capacity(16);
    let mut i = 0;
    let mut spaced = false;
    if let Some(q) = ctx {
        let (end, closed) = scan_string(s, 0, q);
        if !closed {
            return None;
        }
        toks.push(Tok {
            t: T::Str { closed: true },
            spaced: false,
        });
        i = end;
    }
    let n = s.len();
    while i < n && toks.len() < max_tokens {
        let b = s[i];
        let next = s.get(i + 1).copied();
        let start = i;
        let t = match b {
            0..=b' ' | 0x7f => {
                spaced = true;
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let (end, closed) = scan_string(s, i + 1, b);
                i = end;
                T::Str { closed }
            }
            b'`' => {
                let (end, _) = scan_string(s, i + 1, b'`');
                i = end;
                T::Word(Kw::Ident)
            }
            b'0'..=b'9' => {
                if b == b'0'
                    && matches!(next, Some(b'x' | b'b'))
                    && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                {
                    i += 2;
                    while i < n && s[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    T::Hex
                } else {
                    while i < n && (s[i].is_ascii_digit() || s[i] == b'.') {
                        i += 1;
                    }
                    if i < n && s[i] == b'e' && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                        while i < n && s[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    // `1abc` is an identifier-ish word, not a number.
                    if i < n && is_word(s[i]) {
                        while i < n && is_word(s[i]) {
                            i += 1;
                        }
                        T::Word(Kw::Ident)
                    } else {
                        T::Num
                    }
                }
            }
            b'@' => {
                while i < n && s[i] == b'@' {
                    i += 1;
                }
                let ats = i - start;
                let name_start = i;
                while i < n && is_word(s[i]) {
                    i += 1;
                }
                if i == name_start {
                    T::Other
                } else {
                    T::Var { sys: ats == 2 }
                }
            }
            b'-' if next == Some(b'-') => {
                let after = s.get(i + 2).copied();
                let prev_word = i > 0 && is_word(s[i - 1]);
                let after_text = after.is_some_and(|a| a.is_ascii_alphanumeric());
                if prev_word && after_text {
                    i += 2;
                    T::Arith
                } else {
                    i = line_end(s, i);
                    T::Comment
                }
            }
            b'#' => {
                let ctx_ok = toks.last().is_some_and(|p| match p.t {
                    T::Str { .. } | T::Num | T::RParen | T::Var { .. } | T::Cmp | T::Semi => true,
                    T::Word(k) => k != Kw::Ident && (spaced || i == 0),
                    _ => false,
                });
                let digit_next = next.is_some_and(|c| c.is_ascii_digit());
                if ctx_ok
                    && !digit_next
                    && !(i > 0 && is_word(s[i - 1]) && next.is_some_and(is_word))
                {
                    i = line_end(s, i);
                    T::Comment
                } else {
                    i += 1;
                    T::Other
                }
            }
            b'/' if next == Some(b'*') => {
                if s.get(i + 2) == Some(&b'!') {
                    // MySQL executable comment: its body is code.
                    i += 3;
                    while i < n && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    spaced = true;
                    continue;
                }
                match super::normalize::find(&s[i + 2..], b"*/") {
                    Some(p) => {
                        i += 2 + p + 2;
                        spaced = true;
                        continue;
                    }
                    None => {
                        i = n;
                        T::Comment
                    }
                }
            }
            b'*' if next == Some(b'/') => {
                i += 2;
                spaced = true;
                continue;
            }
            b'=' => {
                i += 1;
                T::Cmp
            }
            b'<' | b'>' | b'!' => {
                i += 1;
                while i < n && matches!(s[i], b'=' | b'>' | b'<') && i - start < 3 {
                    i += 1;
                }
                if b == b'!' && i == start + 1 {
                    T::LogicOp
                } else {
                    T::Cmp
                }
            }
            b'|' | b'&' if next == Some(b) => {
                i += 2;
                T::LogicOp
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => {
                i += 1;
                T::Arith
            }
            b'(' => {
                i += 1;
                T::LParen
            }
            b')' => {
                i += 1;
                T::RParen
            }
            b',' => {
                i += 1;
                T::Comma
            }
            b';' => {
                i += 1;
                T::Semi
            }
            b'.' => {
                i += 1;
                T::Dot
            }
            _ if is_word(b) => {
                while i < n && is_word(s[i]) {
                    i += 1;
                }
                T::Word(classify(&s[start..i]))
            }
            _ => {
                i += 1;
                T::Other
            }
        };
        toks.push(Tok { t, spaced });
        spaced = false;
    }
    Some(toks)
}

/// Scans a string body from `i` to its closing `q`; returns (index after, closed).
fn scan_string(s: &[u8], mut i: usize, q: u8) -> (usize, bool) {
    while i < s.len() {
        let b = s[i];
        if b == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if b == q {
            if s.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (s.len(), false)
}

fn line_end(s: &[u8], i: usize) -> usize {
    s[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(s.len(), |p| i + p)
}
