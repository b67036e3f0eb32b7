//! Collecting the inputs of an HTTP request: path, query parameter names
//! and values, selected headers and the string values of a JSON body.

use super::{Input, InputKind, ThreatScanner, Verdict};
use serde_json::Value;

/// Scans a request's path, query parameters, the configured headers and
/// every string value in `json` (each reported by its JSON path).
pub fn scan_request(
    scanner: &ThreatScanner,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    json: Option<&Value>,
) -> Verdict {
    let mut inputs: Vec<Input<'_>> = vec![Input::path(uri.path())];
    if let Some(q) = uri.query() {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            inputs.push(Input::query(name, value));
            // Names carry payloads too (`user[$ne]=1`, `?<svg/onload=…>`).
            inputs.push(Input {
                kind: InputKind::QueryName,
                name,
                value: name,
            });
        }
    }
    for name in &scanner.config().headers {
        for v in headers.get_all(name.as_str()) {
            if let Ok(s) = v.to_str() {
                inputs.push(Input {
                    kind: InputKind::Header,
                    name: name.as_str(),
                    value: s,
                });
            }
        }
    }
    let mut strings: Vec<(String, &str)> = Vec::new();
    let mut operator_keys: Vec<(String, String)> = Vec::new();
    if let Some(v) = json {
        collect_strings(v, &mut "$".to_string(), &mut strings, &mut operator_keys, 0);
    }
    inputs.extend(strings.iter().map(|(p, s)| Input::json(p, s)));
    // `{"password": {"$ne": null}}`: a MongoDB operator where the API
    // expects a value, scanned as the key it is (not as prompt prose).
    inputs.extend(operator_keys.iter().map(|(p, k)| Input::body(p, k)));
    scanner.scan(&inputs)
}

/// Appends `(json path, value)` for each string under `v` to `out`, and
/// `(json path, "{\"$key\":")` for each object key starting with `$` to
/// `keys` (depth-limited).
pub(crate) fn collect_strings<'v>(
    v: &'v Value,
    path: &mut String,
    out: &mut Vec<(String, &'v str)>,
    keys: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match v {
        Value::String(s) => out.push((path.clone(), s.as_str())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_strings(item, path, out, keys, depth + 1);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                push_key(path, k);
                if k.starts_with('$') && k.len() <= 32 {
                    keys.push((path.clone(), format!("{{\"{k}\":")));
                }
                collect_strings(item, path, out, keys, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `.key` for identifier-like keys, `["key"]` otherwise.
pub(crate) fn push_key(path: &mut String, k: &str) {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        path.push('.');
        path.push_str(k);
    } else {
        path.push_str("[\"");
        path.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
        path.push_str("\"]");
    }
}
