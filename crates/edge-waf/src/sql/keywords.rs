//! SQL keyword classes: which words matter for injection structure. Adds no
//! rule itself; the lexer tags every word with one of these classes.

/// Keyword classes that matter for injection structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    /// Any other word: a column, table or alias name, or prose.
    Identifier,
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
    /// `table`, `database`, `schema`, `user`, `view`, `function`: what DDL names.
    SchemaObject,
    Set,
    Values,
    /// `like`, `rlike`, `regexp`, `glob`, `sounds` (binary word operators).
    Like,
    /// `div`, `mod` (arithmetic word operators).
    ArithmeticWord,
    Is,
    In,
    Between,
    True,
    False,
    Null,
    /// Niladic values such as `current_date` or `localtime`.
    NiladicValue,
    /// MySQL `binary` (a unary operator).
    Binary,
    Case,
    When,
    End,
    Exists,
    As,
    /// `all`, `any`, `some`.
    Quantifier,
    Distinct,
    /// Statement starters seen in stacked payloads (`if`, `begin`, `load`...).
    StatementStart,
    /// A known SQL function name (only a function when followed by `(`).
    Function,
    /// A time-delay function (`sleep`, `benchmark`, `pg_sleep`, ...).
    DelayFunction,
    /// T-SQL `top` (`select top 1 …`).
    Top,
    /// Objects that only show up in attacks (`information_schema`, ...).
    SystemObject,
}

/// Classifies a lowercase word.
pub(crate) fn classify_word(w: &[u8]) -> Keyword {
    match w {
        b"or" => Keyword::Or,
        b"and" => Keyword::And,
        b"xor" => Keyword::Xor,
        b"not" => Keyword::Not,
        b"union" => Keyword::Union,
        b"select" => Keyword::Select,
        b"from" => Keyword::From,
        b"where" => Keyword::Where,
        b"order" => Keyword::Order,
        b"group" => Keyword::Group,
        b"by" => Keyword::By,
        b"having" => Keyword::Having,
        b"limit" => Keyword::Limit,
        b"into" => Keyword::Into,
        b"procedure" => Keyword::Procedure,
        b"insert" => Keyword::Insert,
        b"update" => Keyword::Update,
        b"delete" => Keyword::Delete,
        b"drop" => Keyword::Drop,
        b"create" => Keyword::Create,
        b"alter" => Keyword::Alter,
        b"truncate" => Keyword::Truncate,
        b"exec" | b"execute" => Keyword::Exec,
        b"declare" => Keyword::Declare,
        b"shutdown" => Keyword::Shutdown,
        b"waitfor" => Keyword::Waitfor,
        b"delay" | b"time" => Keyword::Delay,
        b"table" | b"database" | b"schema" | b"user" | b"view" | b"function" => {
            Keyword::SchemaObject
        }
        b"set" => Keyword::Set,
        b"values" => Keyword::Values,
        b"like" | b"rlike" | b"regexp" | b"sounds" | b"glob" | b"ilike" | b"similar" => {
            Keyword::Like
        }
        b"div" | b"mod" => Keyword::ArithmeticWord,
        b"is" => Keyword::Is,
        b"in" => Keyword::In,
        b"between" => Keyword::Between,
        b"true" => Keyword::True,
        b"false" => Keyword::False,
        b"null" => Keyword::Null,
        b"current_date" | b"current_time" | b"current_timestamp" | b"localtime"
        | b"localtimestamp" | b"utc_date" | b"utc_time" | b"utc_timestamp" => Keyword::NiladicValue,
        b"binary" => Keyword::Binary,
        b"case" => Keyword::Case,
        b"when" => Keyword::When,
        b"end" => Keyword::End,
        b"exists" => Keyword::Exists,
        b"as" => Keyword::As,
        b"top" => Keyword::Top,
        b"all" | b"any" | b"some" => Keyword::Quantifier,
        b"distinct" | b"distinctrow" => Keyword::Distinct,
        b"if" | b"while" | b"use" | b"call" | b"begin" | b"goto" | b"load" | b"grant"
        | b"revoke" | b"rename" | b"handler" | b"print" | b"raiserror" | b"merge" | b"replace" => {
            Keyword::StatementStart
        }
        b"sleep" | b"benchmark" | b"pg_sleep" | b"randomblob" | b"receive_message"
        | b"sys_eval" | b"get_lock" | b"dbms_lock" => Keyword::DelayFunction,
        b"information_schema"
        | b"xp_cmdshell"
        | b"sysobjects"
        | b"syscolumns"
        | b"load_file"
        | b"outfile"
        | b"infile"
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
        | b"all_tab_tables"
        | b"sys_context"
        | b"msysobjects"
        | b"xmltype"
        | b"sp_password"
        | b"lo_import"
        | b"sp_add_job"
        | b"openrowset" => Keyword::SystemObject,
        _ if is_function_name(w) => Keyword::Function,
        // MSSQL extended and system procedures: `xp_regread`, `sp_addlogin`.
        _ if w.len() >= 9 && (w.starts_with(b"xp_") || w.starts_with(b"sp_")) => {
            Keyword::SystemObject
        }
        _ => Keyword::Identifier,
    }
}

fn is_function_name(w: &[u8]) -> bool {
    matches!(
        w,
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
            | b"pi"
            | b"sin"
            | b"cos"
            | b"tan"
            | b"lpad"
            | b"rpad"
            | b"conv"
            | b"bin"
            | b"oct"
            | b"compress"
            | b"uncompress"
            | b"connection_id"
            | b"coercibility"
            | b"generate_series"
            | b"trim"
            | b"lo_get"
            | b"unistr"
            | b"starts_with"
            | b"json_build_object"
            | b"charset"
            | b"collation"
            | b"find_in_set"
            | b"soundex"
            | b"strcmp"
            | b"getdate"
            | b"charindex"
            | b"datalength"
            | b"quotename"
            | b"utl_raw"
            | b"jsonb_pretty"
            | b"ltrim"
            | b"rtrim"
            | b"space"
            | b"repeat"
            | b"export_set"
            | b"crc32"
            | b"sha2"
            | b"to_number"
            | b"decode"
            | b"analyse"
            | b"waitfor"
    )
}
