//! SQL keyword classes: which words matter for injection structure.

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
    /// `like`, `rlike`, `regexp`, `glob`, `sounds` (binary word operators).
    Like,
    /// `div`, `mod` (arithmetic word operators).
    WordArith,
    Is,
    In,
    Between,
    True,
    False,
    Null,
    /// Niladic values such as `current_date` or `localtime`.
    Const,
    /// MySQL `binary` (a unary operator).
    Unary,
    Case,
    When,
    End,
    Exists,
    As,
    All,
    Distinct,
    /// Statement starters seen in stacked payloads (`if`, `begin`, `load`...).
    Stmt,
    /// A known SQL function name (only a function when followed by `(`).
    Func,
    /// A time-delay function (`sleep`, `benchmark`, `pg_sleep`, ...).
    TimeFunc,
    /// T-SQL `top` (`select top 1 …`).
    Top,
    /// Objects that only show up in attacks (`information_schema`, ...).
    Danger,
}

/// Classifies a lowercase word.
pub(crate) fn classify(w: &[u8]) -> Kw {
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
        b"table" | b"database" | b"schema" | b"user" | b"view" | b"function" => Kw::Table,
        b"set" => Kw::Set,
        b"values" => Kw::Values,
        b"like" | b"rlike" | b"regexp" | b"sounds" | b"glob" | b"ilike" | b"similar" => Kw::Like,
        b"div" | b"mod" => Kw::WordArith,
        b"is" => Kw::Is,
        b"in" => Kw::In,
        b"between" => Kw::Between,
        b"true" => Kw::True,
        b"false" => Kw::False,
        b"null" => Kw::Null,
        b"current_date" | b"current_time" | b"current_timestamp" | b"localtime"
        | b"localtimestamp" | b"utc_date" | b"utc_time" | b"utc_timestamp" => Kw::Const,
        b"binary" => Kw::Unary,
        b"case" => Kw::Case,
        b"when" => Kw::When,
        b"end" => Kw::End,
        b"exists" => Kw::Exists,
        b"as" => Kw::As,
        b"top" => Kw::Top,
        b"all" | b"any" | b"some" => Kw::All,
        b"distinct" | b"distinctrow" => Kw::Distinct,
        b"if" | b"while" | b"use" | b"call" | b"begin" | b"goto" | b"load" | b"grant"
        | b"revoke" | b"rename" | b"handler" | b"print" | b"raiserror" | b"merge" | b"replace" => {
            Kw::Stmt
        }
        b"sleep" | b"benchmark" | b"pg_sleep" | b"randomblob" | b"receive_message"
        | b"sys_eval" | b"get_lock" | b"dbms_lock" => Kw::TimeFunc,
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
        | b"openrowset" => Kw::Danger,
        _ if is_func(w) => Kw::Func,
        // MSSQL extended and system procedures: `xp_regread`, `sp_addlogin`.
        _ if w.len() >= 9 && (w.starts_with(b"xp_") || w.starts_with(b"sp_")) => Kw::Danger,
        _ => Kw::Ident,
    }
}

fn is_func(w: &[u8]) -> bool {
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
