//! The walking-skeleton routes over MemoryKv.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use edge_gateway::Gateway;
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryKv};
use serde_json::Value;

fn gateway() -> Gateway<MemoryKv> {
    Gateway::new(MemoryKv::new(ManualClock::new(1_700_000_000_000)), "9.9.9")
}

fn call(
    g: &Gateway<MemoryKv>,
    method: &str,
    uri: &str,
    body: &[u8],
) -> (u16, Vec<u8>, http::HeaderMap) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(body.to_vec())
        .unwrap();
    let resp = block_on(g.handle(req));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.into_body(), headers)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn health_reports_version() {
    let (status, body, headers) = call(&gateway(), "GET", "/health", b"");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "ok", "version": "9.9.9"})
    );
}

#[test]
fn kv_echo_round_trip_with_escaped_key() {
    let g = gateway();
    let (status, body, _) = call(&g, "PUT", "/v1/kv-echo/a%2Fb%20c", b"\x00payload\xff");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["key"], "a/b c");
    assert_eq!(json(&body)["bytes"], 9);
    let (status, body, _) = call(&g, "GET", "/v1/kv-echo/a%2Fb%20c", b"");
    assert_eq!(status, 200);
    assert_eq!(body, b"\x00payload\xff");
}

#[test]
fn errors_are_typed_json() {
    let g = gateway();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("GET", "/v1/kv-echo/missing".into(), 404, "not_found"),
        (
            "PUT",
            format!("/v1/kv-echo/{}", "k".repeat(513)),
            400,
            "key_too_long",
        ),
        (
            "GET",
            format!("/v1/kv-echo/{}", "k".repeat(513)),
            400,
            "key_too_long",
        ),
        ("PUT", "/v1/kv-echo/".into(), 400, "empty_key"),
        ("PUT", "/v1/kv-echo/..".into(), 400, "reserved_key"),
        ("PUT", "/v1/kv-echo/%zz".into(), 400, "invalid_path"),
        ("DELETE", "/v1/kv-echo/x".into(), 405, "method_not_allowed"),
        ("POST", "/health".into(), 405, "method_not_allowed"),
        ("GET", "/nope".into(), 404, "not_found"),
    ];
    for (method, uri, want_status, want_code) in cases {
        let (status, body, headers) = call(&g, method, &uri, b"v");
        assert_eq!(status, want_status, "{method} {uri}");
        assert_eq!(headers["content-type"], "application/json");
        let v = json(&body);
        assert_eq!(v["error"]["code"], want_code, "{method} {uri}: {v}");
        assert!(v["error"]["type"].is_string());
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        if want_status == 405 {
            assert!(headers.contains_key("allow"));
        }
    }
}

#[test]
fn oversized_value_is_413() {
    let g = gateway();
    let big = vec![0u8; edge_ports::kv::limits::MAX_VALUE_BYTES + 1];
    let (status, body, _) = call(&g, "PUT", "/v1/kv-echo/big", &big);
    assert_eq!(status, 413);
    assert_eq!(json(&body)["error"]["code"], "value_too_large");
}

#[test]
fn records_one_data_point_per_request_with_low_cardinality_route() {
    let clock = ManualClock::new(0);
    let sink = edge_ports::MemoryAnalytics::new();
    let g = Gateway::new(MemoryKv::new(clock.clone()), "1").with_analytics(sink.clone(), clock);
    call(&g, "GET", "/health", b"");
    call(&g, "GET", "/v1/kv-echo/user-123", b"");
    let points = sink.points();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].indexes, vec!["health"]);
    assert_eq!(points[0].doubles[0], 200.0);
    assert_eq!(points[1].blobs, vec!["kv-echo", "GET"]);
    assert_eq!(points[1].doubles[0], 404.0);
}
