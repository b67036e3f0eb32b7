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
/// let v = scan_request(&ThreatScanner::default(), &RequestInputs {
///     uri: &uri,
///     headers: &http::HeaderMap::new(),
///     json_body: Some(body),
/// });
/// assert!(v.blocked);
/// assert_eq!(v.findings[0].location, "json:$.filter.name");
/// ```
pub fn scan_request(scanner: &ThreatScanner, req: &RequestInputs<'_>) -> Verdict {
    let mut state = ScanState::new(scanner);
    // Each step stops the scan once the budget refuses a value.
    let _ = scan_uri(&mut state, req.uri)
        && scan_headers(&mut state, scanner, req.headers)
        && req
            .json_body
            .is_none_or(|body| scan_json(&mut state, scanner, body));
    state.finish()
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

fn scan_json(state: &mut ScanState<'_>, scanner: &ThreatScanner, body: &[u8]) -> bool {
    let mut sink = ScanSink { state };
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

struct ScanSink<'s, 'c> {
    state: &'s mut ScanState<'c>,
}

impl JsonSink for ScanSink<'_, '_> {
    fn string(&mut self, path: &JsonPath, value: &str) -> Flow {
        flow(
            self.state
                .scan(InputKind::Json, value, || format!("json:{}", path.render())),
        )
    }

    // `{"password": {"$ne": null}}`: a MongoDB operator where the API
    // expects a value, scanned as the key it is (not as prompt prose).
    fn operator_key(&mut self, path: &JsonPath, key: &str) -> Flow {
        let shaped = format!("{{\"{key}\":");
        flow(self.state.scan(InputKind::Body, &shaped, || {
            format!("body:{}", path.render())
        }))
    }
}

fn flow(scanned: bool) -> Flow {
    if scanned { Flow::Continue } else { Flow::Stop }
}
