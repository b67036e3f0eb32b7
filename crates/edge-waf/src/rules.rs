//! The rule table: ids, CRS-style severities, paranoia levels, descriptions.

use serde::Serialize;

/// CRS anomaly severities and their scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Score 2.
    Notice,
    /// Score 3.
    Warning,
    /// Score 4.
    Error,
    /// Score 5.
    Critical,
}

impl Severity {
    /// The anomaly score this severity adds (OWASP CRS: 5/4/3/2).
    pub fn score(self) -> u32 {
        match self {
            Severity::Critical => 5,
            Severity::Error => 4,
            Severity::Warning => 3,
            Severity::Notice => 2,
        }
    }
}

/// A detection rule.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id such as `sqli-union`.
    pub id: &'static str,
    /// Severity (sets the anomaly score).
    pub severity: Severity,
    /// Lowest paranoia level (1–4) at which the rule counts.
    pub paranoia: u8,
    /// Short description for logs.
    pub description: &'static str,
}

macro_rules! rule {
    ($name:ident, $id:literal, $sev:ident, $pl:literal, $desc:literal) => {
        #[doc = $desc]
        pub(crate) static $name: Rule = Rule {
            id: $id,
            severity: Severity::$sev,
            paranoia: $pl,
            description: $desc,
        };
    };
}

rule!(
    SQLI_UNION,
    "sqli-union",
    Critical,
    1,
    "UNION SELECT with a column list"
);
rule!(
    SQLI_SELECT,
    "sqli-select",
    Critical,
    1,
    "SELECT statement with a column list and FROM"
);
rule!(
    SQLI_STACKED,
    "sqli-stacked",
    Critical,
    1,
    "stacked query after ';'"
);
rule!(
    SQLI_TIME,
    "sqli-time",
    Critical,
    1,
    "time-delay function (sleep/benchmark/waitfor)"
);
rule!(
    SQLI_DANGER_OBJECT,
    "sqli-object",
    Critical,
    1,
    "SQL system object or file function"
);
rule!(
    SQLI_SYSVAR,
    "sqli-sysvar",
    Critical,
    1,
    "SQL system variable (@@...)"
);
rule!(
    SQLI_TAUTOLOGY,
    "sqli-tautology",
    Critical,
    1,
    "boolean operator with a literal comparison"
);
rule!(
    SQLI_BOOLEAN,
    "sqli-boolean",
    Critical,
    1,
    "boolean/comparison injection after a value or quote"
);
rule!(
    SQLI_CLAUSE,
    "sqli-clause",
    Critical,
    1,
    "SQL clause appended to a value"
);
rule!(
    SQLI_BREAK_COMMENT,
    "sqli-break-comment",
    Critical,
    1,
    "quote break followed by a comment"
);
rule!(
    SQLI_BREAK_EXPR,
    "sqli-break-expr",
    Critical,
    1,
    "quote break concatenated with a SQL call"
);
rule!(
    SQLI_COMMENT_TRUNCATION,
    "sqli-comment-truncation",
    Critical,
    1,
    "SQL expression cut off by a comment"
);
rule!(
    SQLI_MYSQL_EXEC_COMMENT,
    "sqli-mysql-comment",
    Critical,
    1,
    "MySQL executable comment /*!"
);
rule!(
    SQLI_EXPR,
    "sqli-expr",
    Critical,
    1,
    "value reads as a SQL expression with SQL-only operators or functions"
);
rule!(SQLI_FUNC, "sqli-func", Warning, 1, "SQL function call");
rule!(
    SQLI_PG_CAST,
    "sqli-pg-cast",
    Critical,
    1,
    "PostgreSQL cast of a column or call (password::int, f(x)::text)"
);
rule!(
    SQLI_FUNC_NESTED,
    "sqli-func-nested",
    Critical,
    1,
    "SQL function applied to another SQL function or a literal comparison"
);
rule!(
    SQLI_FILE_STATEMENT,
    "sqli-file-statement",
    Critical,
    1,
    "statement that reads or writes server files (COPY t FROM '/etc/passwd', BACKUP DATABASE … TO DISK)"
);
rule!(SQLI_HEX, "sqli-hex", Notice, 2, "hex literal");
rule!(
    SQLI_HEX_ENCODED,
    "sqli-hex-encoded",
    Critical,
    1,
    "hex literal that decodes to SQL text (0x77616974666f72… is waitfor…)"
);
rule!(
    NOSQL_OPERATOR,
    "nosql-operator",
    Critical,
    1,
    "MongoDB query operator injected as a key ([$ne], {\"$gt\":, $where:) or $where JavaScript after a quote break (' && this.password.match(…))"
);
rule!(XSS_SCRIPT, "xss-script", Critical, 1, "<script> tag");
rule!(
    XSS_EVENT,
    "xss-event-handler",
    Critical,
    1,
    "HTML event handler attribute (on...=)"
);
rule!(
    XSS_JS_URI,
    "xss-js-uri",
    Critical,
    1,
    "javascript:/vbscript: URI"
);
rule!(
    XSS_DATA_URI,
    "xss-data-uri",
    Critical,
    1,
    "data: URI carrying HTML or SVG"
);
rule!(
    XSS_TAG,
    "xss-dangerous-tag",
    Critical,
    1,
    "embedding tag (iframe/object/embed/base/meta...)"
);
rule!(XSS_CSS, "xss-css", Critical, 1, "CSS expression()/binding");
rule!(
    XSS_SUSPECT_TAG,
    "xss-suspect-tag",
    Warning,
    1,
    "active-content tag (svg/style/form/math/link)"
);
rule!(
    XSS_JS_CALL,
    "xss-js-call",
    Critical,
    1,
    "JavaScript sink call (alert(, eval(, setTimeout() or DOM sink property (document.cookie)"
);
rule!(
    XSS_JS_OBFUSCATED,
    "xss-js-obfuscated",
    Critical,
    1,
    "JavaScript sink reached through bracket access, comments or a template substitution"
);
rule!(
    XSS_CONTEXT_BREAK,
    "xss-context-break",
    Critical,
    1,
    "markup after closing a raw-text element (</title><img, </textarea></script>) or a URL attribute left open to swallow the page (<img src=\"//evil?)"
);
rule!(
    XSS_URL_OBFUSCATED,
    "xss-obfuscated-url",
    Critical,
    1,
    "link or source URL with a disguised host: dword/octal/hex IP, userinfo, a non-numeric port or a split scheme (href=\"http://1113982867/\")"
);
rule!(
    XSS_BASE64_MARKUP,
    "xss-base64-markup",
    Critical,
    1,
    "base64 value that decodes to active markup (PHNjcmlwdD4… is <script>)"
);
rule!(
    XSS_JS_BREAK,
    "xss-js-break",
    Critical,
    1,
    "string break into a JavaScript sink call"
);
