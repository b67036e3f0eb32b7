#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Issue 18 (H1): the scan of one request is bounded in values, bytes,
//! JSON depth and findings, whatever the body. Each hostile shape below
//! made the old scanner clone its whole JSON path per string (gigabytes for
//! a 1 MiB body) or report every finding (a 4 MB 403).

use edge_waf::{
    MAX_LOCATION_BYTES, RequestInputs, ThreatConfig, ThreatScanner, Truncation, Verdict,
    scan_request,
};

fn scan_body(scanner: &ThreatScanner, body: &[u8]) -> Verdict {
    let uri: http::Uri = "/v1/chat/completions".parse().unwrap();
    scan_request(
        scanner,
        &RequestInputs::new(&uri, &http::HeaderMap::new(), Some(body)),
    )
}

/// `{"<long key>": ["", "", …]}` up to ~1 MiB.
fn long_key_many_strings(key_len: usize, total: usize) -> Vec<u8> {
    let mut body = format!("{{\"{}\":[", "k".repeat(key_len)).into_bytes();
    while body.len() + 4 < total {
        body.extend_from_slice(b"\"\",");
    }
    body.extend_from_slice(b"\"\"]}");
    body
}

#[test]
fn many_strings_under_a_long_key_stop_at_the_value_budget() {
    let s = ThreatScanner::default();
    let v = scan_body(&s, &long_key_many_strings(512 * 1024, 1 << 20));
    assert!(!v.blocked);
    assert_eq!(v.truncated, Some(Truncation::Values));
    assert!(v.findings.is_empty());
}

#[test]
fn many_attacks_list_a_few_findings_with_short_locations() {
    let s = ThreatScanner::default();
    let key = "p".repeat(100_000);
    let attack = r#""' or 1=1-- ""#;
    let mut body = format!("{{\"{key}\":[").into_bytes();
    for i in 0..20_000 {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(attack.as_bytes());
    }
    body.extend_from_slice(b"]}");
    let v = scan_body(&s, &body);
    assert!(v.blocked);
    assert_eq!(v.findings.len(), ThreatConfig::default().max_findings);
    assert!(v.omitted_findings > 1000, "{}", v.omitted_findings);
    assert!(v.truncated.is_some());
    for f in &v.findings {
        assert!(
            f.location.len() <= MAX_LOCATION_BYTES,
            "{}",
            f.location.len()
        );
        assert!(f.location.starts_with("json:$.ppp"), "{}", f.location);
    }
    // What a 403 and its security event carry stays small.
    assert!(serde_json::to_vec(&v).unwrap().len() < 8 * 1024);
}

#[test]
fn the_byte_budget_stops_long_values() {
    let s = ThreatScanner::new(ThreatConfig {
        max_request_bytes: 64 * 1024,
        ..ThreatConfig::default()
    });
    let filler = "a".repeat(40 * 1024);
    let body = format!(r#"{{"a": "{filler}", "b": "{filler}", "c": "' or 1=1--"}}"#);
    let v = scan_body(&s, body.as_bytes());
    assert_eq!(v.truncated, Some(Truncation::Bytes));
    // The attack past the budget is not scanned: flagged, not blocked.
    assert!(!v.blocked);
    // Within the budget it is found.
    let body = format!(r#"{{"c": "' or 1=1--", "a": "{filler}", "b": "{filler}"}}"#);
    let v = scan_body(&s, body.as_bytes());
    assert!(v.blocked);
    assert_eq!(v.truncated, Some(Truncation::Bytes));
}

#[test]
fn deep_json_is_skipped_past_the_depth_limit_and_the_rest_is_scanned() {
    let s = ThreatScanner::default();
    let deep = format!("{}\"x\"{}", "[".repeat(100), "]".repeat(100));
    let body = format!(r#"{{"deep": {deep}, "q": "1' union select password from users--"}}"#);
    let v = scan_body(&s, body.as_bytes());
    assert_eq!(v.truncated, Some(Truncation::Depth));
    assert!(v.blocked);
    assert_eq!(v.findings[0].location, "json:$.q");
    // Nesting past serde_json's limit: what came before is still scanned.
    let body = format!(
        r#"{{"q": "<script>alert(1)</script>", "d": {}}}"#,
        "[".repeat(5000)
    );
    assert!(scan_body(&s, body.as_bytes()).blocked);
}

#[test]
fn many_query_parameters_share_the_same_budget() {
    let s = ThreatScanner::default();
    let query = "a=1&".repeat(10_000);
    let uri: http::Uri = format!("/v1/models?{query}").parse().unwrap();
    let v = scan_request(&s, &RequestInputs::new(&uri, &http::HeaderMap::new(), None));
    assert_eq!(v.truncated, Some(Truncation::Values));
    assert!(!v.blocked);
}
