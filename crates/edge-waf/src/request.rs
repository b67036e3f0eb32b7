//! Scanning an HTTP request: path, query parameter names and values,
//! selected headers and the string values of a JSON body, all within one
//! per-request budget (see [`ThreatConfig`](super::ThreatConfig)).

use super::json::{self, Flow, JsonPath, JsonSink, WalkEnd};
use super::verdict::{ScanState, Truncation};
use super::{InputKind, ThreatScanner, Verdict};

/// The parts of a request the scanner reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestInputs<'a> {
    /// The request URI (path and query).
    pub uri: &'a http::Uri,
    /// The request headers (only the configured ones are scanned).
    pub headers: &'a http::HeaderMap,
    /// A JSON body, raw: it is walked as a stream, never built into a tree.
    pub json_body: Option<&'a [u8]>,
    /// Top-level body fields that hold prompt content on an LLM route
    /// (`messages`, `tools`, `input`, `system`): their strings are scanned
    /// as [`InputKind::Prompt`], after everything else, as
    /// `prompt_content` says. Empty on other routes.
    pub prompt_fields: &'a [&'a str],
    /// What to do with prompt content.
    pub prompt_content: PromptMode,
}

impl<'a> RequestInputs<'a> {
    /// A request on a route without prompt content.
    pub fn new(
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        json_body: Option<&'a [u8]>,
    ) -> Self {
        Self {
            uri,
            headers,
            json_body,
            prompt_fields: &[],
            prompt_content: PromptMode::Log,
        }
    }
}

/// What a check on prompt content does with what it finds: SQLi/XSS
/// findings in messages (a chat message is text for a model, not a query
/// for a database: people quote code and attack strings in questions), or
/// the prompt-injection guardrail's verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptMode {
    /// Not scanned.
    Off,
    /// Checked and reported (for SQLi/XSS in [`Verdict::prompt_findings`]);
    /// never blocks.
    #[default]
    Log,
    /// Checked, and blocks like any other finding.
    Block,
}

/// Scans a request's path, query parameters (names and values), the
/// configured headers and every string value and `$operator` key of the
/// JSON body, each reported by its location. Bounded by the config's
/// per-request budget: past it, the verdict says what was not scanned.
///
/// ```
/// use edge_waf::{RequestInputs, ThreatScanner, scan_request};
///
/// let uri: http::Uri = "/v1/items?id=1".parse().unwrap();
/// let body = br#"{"filter": {"name": "x' OR '1'='1"}}"#;
/// let v = scan_request(&ThreatScanner::default(), &RequestInputs::new(
///     &uri,
///     &http::HeaderMap::new(),
///     Some(body),
/// ));
/// assert!(v.blocked);
/// assert_eq!(v.findings[0].location, "json:$.filter.name");
/// ```
///
/// On an LLM route, prompt content is read last (everything that can block
/// gets the budget first) and only reported:
///
/// ```
/// use edge_waf::{PromptMode, RequestInputs, ThreatScanner, scan_request};
///
/// let uri: http::Uri = "/v1/chat/completions".parse().unwrap();
/// let body = br#"{"model": "m", "messages": [{"role": "user", "content": "Explain: SELECT * FROM t WHERE id = 1 OR 1=1; --"}]}"#;
/// let v = scan_request(&ThreatScanner::default(), &RequestInputs {
///     prompt_fields: &["messages"],
///     prompt_content: PromptMode::Log,
///     ..RequestInputs::new(&uri, &http::HeaderMap::new(), Some(body))
/// });
/// assert!(!v.blocked);
/// assert_eq!(v.prompt_findings[0].location, "prompt:$.messages[0].content");
/// ```
pub fn scan_request(scanner: &ThreatScanner, req: &RequestInputs<'_>) -> Verdict {
    let mut state = ScanState::new(scanner).block_prompts(req.prompt_content == PromptMode::Block);
    let prompts = !req.prompt_fields.is_empty() && req.prompt_content != PromptMode::Off;
    // Each step stops the scan once the budget refuses a value.
    let _ = scan_uri(&mut state, req.uri)
        && scan_headers(&mut state, scanner, req.headers)
        && req.json_body.is_none_or(|body| {
            scan_json(&mut state, scanner, body, Pass::Fields(req.prompt_fields))
                && (!prompts
                    || scan_json(&mut state, scanner, body, Pass::Prompts(req.prompt_fields)))
        });
    state.finish()
}

/// Which strings of the body one walk scans.
#[derive(Clone, Copy)]
enum Pass<'a> {
    /// Everything outside the prompt fields.
    Fields(&'a [&'a str]),
    /// Only the prompt fields.
    Prompts(&'a [&'a str]),
}

impl Pass<'_> {
    /// The kind to scan a value at `path` as, or `None` to skip it.
    fn kind(self, path: &JsonPath) -> Option<InputKind> {
        let in_prompt = |fields: &[&str]| path.root_key().is_some_and(|k| fields.contains(&k));
        match self {
            Pass::Fields(fields) if in_prompt(fields) => None,
            Pass::Fields(_) => Some(InputKind::Json),
            Pass::Prompts(fields) if in_prompt(fields) => Some(InputKind::Prompt),
            Pass::Prompts(_) => None,
        }
    }
}

fn scan_uri(state: &mut ScanState<'_>, uri: &http::Uri) -> bool {
    if !state.scan(InputKind::Path, uri.path(), || "path".to_owned()) {
        return false;
    }
    let Some(query) = uri.query() else {
        return true;
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Names carry payloads too (`user[$ne]=1`, `?<svg/onload=…>`).
        let scanned = state.scan(InputKind::Query, value, || format!("query:{name}"))
            && state.scan(InputKind::QueryName, name, || format!("query-name:{name}"));
        if !scanned {
            return false;
        }
    }
    true
}

fn scan_headers(
    state: &mut ScanState<'_>,
    scanner: &ThreatScanner,
    headers: &http::HeaderMap,
) -> bool {
    for name in &scanner.config().headers {
        for value in headers.get_all(name.as_str()) {
            let Ok(text) = value.to_str() else {
                continue;
            };
            if !state.scan(InputKind::Header, text, || format!("header:{name}")) {
                return false;
            }
        }
    }
    true
}

fn scan_json(
    state: &mut ScanState<'_>,
    scanner: &ThreatScanner,
    body: &[u8],
    pass: Pass<'_>,
) -> bool {
    let mut sink = ScanSink { state, pass };
    match json::walk(body, scanner.config().max_json_depth, &mut sink) {
        WalkEnd::Stopped => false,
        WalkEnd::SkippedDeep => {
            sink.state.truncate(Truncation::Depth);
            true
        }
        // Invalid JSON: what came before the error was scanned; the route
        // that reads the body refuses it.
        WalkEnd::Complete | WalkEnd::Invalid => true,
    }
}

struct ScanSink<'s, 'c, 'p> {
    state: &'s mut ScanState<'c>,
    pass: Pass<'p>,
}

impl JsonSink for ScanSink<'_, '_, '_> {
    fn string(&mut self, path: &JsonPath, value: &str) -> Flow {
        let Some(kind) = self.pass.kind(path) else {
            return Flow::Continue;
        };
        let label = if kind == InputKind::Prompt {
            "prompt"
        } else {
            "json"
        };
        flow(
            self.state
                .scan(kind, value, || format!("{label}:{}", path.render())),
        )
    }

    // `{"password": {"$ne": null}}`: a MongoDB operator where the API
    // expects a value, scanned as the key it is (not as prompt prose).
    fn operator_key(&mut self, path: &JsonPath, key: &str) -> Flow {
        if self.pass.kind(path) != Some(InputKind::Json) {
            return Flow::Continue;
        }
        let shaped = format!("{{\"{key}\":");
        flow(self.state.scan(InputKind::Body, &shaped, || {
            format!("body:{}", path.render())
        }))
    }
}

fn flow(scanned: bool) -> Flow {
    if scanned { Flow::Continue } else { Flow::Stop }
}
