//! edge-waf: request content security for an LLM gateway. SQL injection
//! and XSS detection on request inputs, scored like the OWASP Core Rule
//! Set, within a per-request budget ([`scan_request`]).
//!
//! Each value is normalised (percent-decoding twice, `+` as space in
//! queries, HTML entities, null bytes, fullwidth and typographic quotes,
//! case), then tokenised: a small SQL tokenizer looks for injection
//! *structure* (a quote break followed by a
//! boolean, comment, `union select` or stacked statement; `1 or true`;
//! `1*1--`; time-delay calls; a value that starts where a query continues,
//! such as ` order by 3` or `or x=x--`; nested SQL functions; PostgreSQL
//! casts and JSON operators), reading line comments that end before more
//! SQL as whitespace (`1#⏎union⏎select`); a second SQL reading undoes filter
//! evasions (`uni/**/on`, `%S%E%L%E%C%T`, `\x27`, `\'`, `%bf%27`); hex
//! literals that decode to SQL are read too. MongoDB operators in key
//! position (`user[$ne]=1`) and `$where` JavaScript after a quote break
//! count too. An HTML/JS scanner
//! looks for script tags, event handlers, script URIs, CSS that escapes its
//! declaration, DTD/XXE declarations, raw-text and dangling-markup breaks,
//! sink calls and sinks hidden behind brackets, comments, escapes, aliases,
//! template substitutions or string literals glued together, link hosts
//! disguised as dword/octal/hex IPs or userinfo, and markup sent as base64. Rule severities add up to an anomaly score
//! (critical 5, error 4, warning 3, notice 2); the request is blocked at the
//! threshold (5 by default).
//!
//! Rates on the committed corpora (`tests/corpus`, from libinjection and the
//! OWASP CRS regression tests): 99.2% of SQLi and 99.3% of XSS payloads, 0.38%
//! of benign values flagged; libinjection scores 95.0% / 93.2% / 3.6% on the
//! same files (`scripts/threat-compare.sh`). `scripts/threat-tamper.py`
//! rewrites the detected payloads with sqlmap tamper scripts and XSS
//! encodings and reports how many are still caught.
//!
//! Input kinds differ in one way: a JSON string (typically LLM prompt text)
//! is treated as prose, so statement-shaped findings alone (`select … from`,
//! a stacked statement, a SQL function call, a bare SQL expression) do not
//! count there; they count as soon as a value also shows injection structure
//! (a quote break into SQL, a tautology, a comment cutting an expression, a
//! time delay, a system object or variable). Query, path, header and body
//! values count everything.
//!
//! On an LLM route the gateway names the body fields that hold prompt
//! content (`messages`, `tools`): their strings are scanned last, as
//! [`InputKind::Prompt`], and by default only reported
//! ([`Verdict::prompt_findings`], [`PromptMode`]); everything else in the
//! request keeps blocking. The threat that does apply to prompts, prompt
//! injection, is the [`prompt`] guardrail's.
//!
//! ```
//! use edge_waf::{Input, ThreatScanner};
//!
//! let scanner = ThreatScanner::default();
//! let v = scanner.scan(&[Input::query("id", "1%27%20or%20%271%27%3D%271")]);
//! assert!(v.blocked);
//! assert_eq!(v.findings[0].location, "query:id");
//! assert!(!scanner.scan(&[Input::query("name", "O'Brien")]).blocked);
//! ```

pub mod json;
mod normalize;
pub mod prompt;
mod request;
mod rules;
mod sql;
mod sqli;
mod verdict;
mod xss;

pub use normalize::normalize_text;
pub use request::{PromptMode, RequestInputs, scan_request};
pub use rules::{Rule, Severity};
use serde::Serialize;
pub use verdict::{InputFinding, MAX_LOCATION_BYTES, RuleHit, Truncation, VALUE_OVERHEAD, Verdict};

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// A query-string parameter (`+` decodes to a space).
    Query,
    /// A query-string parameter's name (`id[$ne]`, `<script>`), decoded
    /// like a value.
    QueryName,
    /// The URL path.
    Path,
    /// A request header.
    Header,
    /// A string value inside a JSON body.
    Json,
    /// Prompt content on an LLM route (a message's text, a tool's
    /// description): read like a JSON string, but never blocks unless the
    /// route's `prompt_content` mode says so.
    Prompt,
    /// Any other text (form fields, raw body).
    Body,
}

/// One value to scan.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// Where it came from.
    pub kind: InputKind,
    /// Parameter/header name or JSON path (empty for the path).
    pub name: &'a str,
    /// The raw value (still encoded).
    pub value: &'a str,
}

impl<'a> Input<'a> {
    /// A query parameter.
    pub fn query(name: &'a str, value: &'a str) -> Self {
        Self {
            kind: InputKind::Query,
            name,
            value,
        }
    }
    /// The URL path.
    pub fn path(value: &'a str) -> Self {
        Self {
            kind: InputKind::Path,
            name: "",
            value,
        }
    }
    /// A header value.
    pub fn header(name: &'a str, value: &'a str) -> Self {
        Self {
            kind: InputKind::Header,
            name,
            value,
        }
    }
    /// A JSON string value at `path` (e.g. `$.messages[0].content`).
    pub fn json(path: &'a str, value: &'a str) -> Self {
        Self {
            kind: InputKind::Json,
            name: path,
            value,
        }
    }
    /// Any other text field.
    pub fn body(name: &'a str, value: &'a str) -> Self {
        Self {
            kind: InputKind::Body,
            name,
            value,
        }
    }

    /// The location label: `query:q`, `path`, `header:user-agent`, `json:$.a`.
    pub fn location(&self) -> String {
        match self.kind {
            InputKind::Path => "path".to_string(),
            InputKind::Query => format!("query:{}", self.name),
            InputKind::QueryName => format!("query-name:{}", self.name),
            InputKind::Header => format!("header:{}", self.name.to_ascii_lowercase()),
            InputKind::Json => format!("json:{}", self.name),
            InputKind::Prompt => format!("prompt:{}", self.name),
            InputKind::Body => format!("body:{}", self.name),
        }
    }
}

/// Scanner settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatConfig {
    /// CRS paranoia level 1–4: rules above it do not count.
    pub paranoia: u8,
    /// Block when the total anomaly score reaches this (CRS default 5).
    pub threshold: u32,
    /// Only the first this-many bytes of each value are scanned.
    pub max_value_len: usize,
    /// Header names (lowercase) that [`scan_request`] inspects.
    pub headers: Vec<String>,
    /// Bytes scanned per request, each value charged its length plus
    /// [`VALUE_OVERHEAD`]; past it the rest is skipped and the verdict says
    /// [`Truncation::Bytes`]. Bounds the scan's time on any body.
    pub max_request_bytes: usize,
    /// Values scanned per request.
    pub max_values: usize,
    /// JSON levels walked; deeper values are skipped ([`Truncation::Depth`]).
    pub max_json_depth: usize,
    /// Findings listed in a verdict (the score counts all of them).
    pub max_findings: usize,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        Self {
            paranoia: 1,
            threshold: 5,
            max_value_len: 64 * 1024,
            headers: ["user-agent", "referer", "x-forwarded-host", "cookie"]
                .iter()
                .map(|h| (*h).to_string())
                .collect(),
            max_request_bytes: 256 * 1024,
            max_values: 4096,
            max_json_depth: 32,
            max_findings: 8,
        }
    }
}

/// The SQLi/XSS scanner.
#[derive(Debug, Clone, Default)]
pub struct ThreatScanner {
    config: ThreatConfig,
}

impl ThreatScanner {
    /// A scanner with `config`.
    pub fn new(config: ThreatConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ThreatConfig {
        &self.config
    }

    /// Rules that fire on one value (already filtered by paranoia level).
    pub fn rules_for(&self, kind: InputKind, value: &str) -> Vec<&'static Rule> {
        let raw = value.as_bytes();
        let raw = &raw[..raw.len().min(self.config.max_value_len)];
        let mut out = Vec::new();
        if raw.is_empty() {
            return out;
        }
        let query = matches!(kind, InputKind::Query | InputKind::QueryName);
        let norm = normalize::normalize(raw, query);
        sqli::detect(&norm, &mut out);
        // Encoded three times or more: every intermediate layer too.
        for layer in normalize::percent_layers(raw, query) {
            sqli::detect(&layer, &mut out);
            xss::detect(&layer, &mut out);
        }
        for join_comments in [false, true] {
            if let Some(v) = normalize::sql_variant(&norm, join_comments) {
                sqli::detect(&v, &mut out);
            }
        }
        // Null bytes are dropped for HTML (`<scr\0ipt>`), but a SQL lexer
        // reads them as spaces (`1%00union%00select`): look once more.
        if raw.contains(&0) || normalize::find(raw, b"%00").is_some() {
            let spaced: Vec<u8> = normalize::spaced_nulls(raw);
            let norm2 = normalize::normalize(&spaced, query);
            sqli::detect(&norm2, &mut out);
        }
        // Fast path: no tag, URI, call, attribute or template byte, no XSS.
        if norm.iter().any(|&b| XSS_TRIGGER[usize::from(b)]) {
            xss::detect(&norm, &mut out);
        }
        // `+ADw-script+AD4-` sent raw in a query: the `+` is UTF-7, not a
        // space, for a page whose charset the attacker picks.
        let utf7 = || {
            memchr::memchr_iter(b'+', raw).any(|p| {
                raw.get(p + 1..p + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"ad"))
            })
        };
        if query && utf7() {
            xss::detect(&normalize::normalize(raw, false), &mut out);
        }
        // `PHNjcmlwdD4…`: markup sent base64-encoded, for a page that
        // decodes it (`atob`, a `data:` URL built from the value).
        if let Some(decoded) = decoded_base64_markup(raw) {
            let mut inner = Vec::new();
            xss::detect(&normalize::normalize(&decoded, false), &mut inner);
            if inner.iter().any(|r| r.severity == Severity::Critical) {
                out.push(&rules::XSS_BASE64_MARKUP);
            }
        }
        if matches!(kind, InputKind::Json | InputKind::Prompt)
            && !out.iter().any(|r| INJECTION_SHAPED.contains(&r.id))
        {
            // JSON strings are mostly prose (LLM prompts), where people quote
            // whole SQL statements; only injection structure counts there.
            out.retain(|r| !STATEMENT_SHAPED.contains(&r.id));
        }
        out.retain(|r| r.paranoia <= self.config.paranoia);
        out
    }

    /// Scans one value; `None` when nothing fired. Only the per-value limit
    /// applies (the per-request budget belongs to [`ThreatScanner::scan`]).
    pub fn scan_input(&self, input: &Input<'_>) -> Option<InputFinding> {
        let rules = self.rules_for(input.kind, input.value);
        if rules.is_empty() {
            return None;
        }
        Some(InputFinding {
            location: json::prefix(&input.location(), MAX_LOCATION_BYTES).to_owned(),
            score: rules.iter().map(|r| r.severity.score()).sum(),
            rules: rules.into_iter().map(RuleHit::from).collect(),
            excerpt: verdict::value_excerpt(input.value),
        })
    }

    /// Scans several values within the per-request budget and totals the
    /// anomaly score.
    pub fn scan(&self, inputs: &[Input<'_>]) -> Verdict {
        let mut state = verdict::ScanState::new(self);
        for input in inputs {
            if !state.scan(input.kind, input.value, || input.location()) {
                break;
            }
        }
        state.finish()
    }

    /// True when this single value alone reaches the threshold.
    pub fn is_attack(&self, kind: InputKind, value: &str) -> bool {
        let score: u32 = self
            .rules_for(kind, value)
            .iter()
            .map(|r| r.severity.score())
            .sum();
        score >= self.config.threshold
    }
}

/// Bytes without which no XSS rule can fire.
static XSS_TRIGGER: [bool; 256] = {
    let mut t = [false; 256];
    let bytes = b"<:(`=.$[";
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
};

/// Rules that describe a whole SQL statement or call, which prose about SQL
/// contains too (`how do I write SELECT * FROM users; DELETE FROM t?`).
const STATEMENT_SHAPED: &[&str] = &[
    rules::SQLI_SELECT.id,
    rules::SQLI_UNION.id,
    rules::SQLI_STACKED.id,
    rules::SQLI_FUNC.id,
    rules::SQLI_FUNC_NESTED.id,
    rules::SQLI_PG_CAST.id,
    rules::SQLI_EXPR.id,
    rules::SQLI_HEX.id,
    rules::SQLI_FILE_STATEMENT.id,
    rules::NOSQL_OPERATOR.id,
    // Prompts quote code: `what does eval() do?`, `why is document.cookie empty?`.
    rules::XSS_JS_CALL.id,
];

/// Rules that describe breaking out of a value: these count everywhere.
const INJECTION_SHAPED: &[&str] = &[
    rules::SQLI_BREAK_COMMENT.id,
    rules::SQLI_BREAK_EXPR.id,
    rules::SQLI_BOOLEAN.id,
    rules::SQLI_CLAUSE.id,
    rules::SQLI_COMMENT_TRUNCATION.id,
    rules::SQLI_TAUTOLOGY.id,
    rules::SQLI_TIME.id,
    rules::SQLI_SYSVAR.id,
    rules::SQLI_DANGER_OBJECT.id,
    rules::SQLI_MYSQL_EXEC_COMMENT.id,
];

/// The first bytes of `raw` base64-decoded, when the whole value is
/// base64 whose first decoded byte is `<` (`PA`–`PP`).
fn decoded_base64_markup(raw: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body = raw
        .strip_suffix(b"==")
        .or_else(|| raw.strip_suffix(b"="))
        .unwrap_or(raw);
    if raw.len() < 16
        || raw[0] != b'P'
        || !(b'A'..=b'P').contains(&raw[1])
        || !body
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return None;
    }
    // A prefix of whole quanta is enough to read the markup.
    let take = body.len().min(4096) / 4 * 4;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&body[..take])
        .ok()
}
