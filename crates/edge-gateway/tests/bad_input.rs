//! The bad-input matrix and the security checklist: every hostile or
//! malformed input gets its documented 4xx JSON error (never a panic, never
//! a 5xx), and secrets or PII never leave through errors, analytics or the
//! security log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arc_with_non_send_sync
)]

use std::collections::HashMap;
use std::sync::Arc;

use edge_gateway::{Gateway, GatewayConfig, GatewayPorts, RequestContext};
use edge_ports::{MemoryAnalytics, MemoryKv};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

mod common;
use common::*;

#[test]
fn malformed_bodies_and_numbers() {
    let h = harness("");
    let t = token("u1");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", b"{\"model\": ".to_vec(), 400, "invalid_json"),
        ("invalid UTF-8", b"{\"model\":\"\xff\xfe\"}".to_vec(), 400, "invalid_json"),
        ("not an object", b"[1,2,3]".to_vec(), 400, "invalid_json"),
        ("empty body", Vec::new(), 400, "invalid_json"),
        ("missing messages", br#"{"model":"mock-1"}"#.to_vec(), 400, "invalid_json"),
        ("empty messages", br#"{"model":"mock-1","messages":[]}"#.to_vec(), 400, "missing_messages"),
        ("empty model", br#"{"model":" ","messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "missing_model"),
        ("negative temperature", br#"{"model":"mock-1","temperature":-1,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_temperature"),
        ("huge temperature", br#"{"model":"mock-1","temperature":1e308,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_temperature"),
        ("out-of-range number", br#"{"model":"mock-1","temperature":1e999,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
        ("NaN literal", br#"{"model":"mock-1","temperature":NaN,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
        ("negative max_tokens", br#"{"model":"mock-1","max_tokens":-5,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
        ("huge max_tokens", br#"{"model":"mock-1","max_tokens":99999999999,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
        ("duplicate field", br#"{"model":"mock-1","model":"mock-1","messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
        ("wrong type", br#"{"model":7,"messages":[{"role":"user","content":"x"}]}"#.to_vec(), 400, "invalid_json"),
    ];
    for (case, body, status, code) in cases {
        expect_error(&send(&h, chat(&t, body)), status, code, case);
    }
    // Unknown fields are passed through to OpenAI-compatible providers, as
    // OpenAI SDKs send new fields before gateways know them.
    let r = send(
        &h,
        chat(
            &t,
            br#"{"model":"mock-1","logprobs":false,"messages":[{"role":"user","content":"x"}]}"#
                .to_vec(),
        ),
    );
    assert_eq!(r.status, 200);
    // Wrong content type, oversized body.
    let mut req = chat(&t, br#"{"model":"mock-1","messages":[]}"#.to_vec());
    req.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    expect_error(
        &send(&h, req),
        415,
        "unsupported_media_type",
        "wrong content type",
    );
    expect_error(
        &send(&h, chat(&t, vec![b'{'; (1 << 20) + 1])),
        413,
        "body_too_large",
        "oversized body",
    );
}

#[test]
fn hostile_paths_routes_and_methods() {
    let h = harness("");
    let get = |uri: &str| send(&h, http::Request::get(uri).body(Vec::new()).unwrap());
    for uri in [
        "/admin/../health",
        "/admin/%2e%2e/features",
        "/admin//features",
        "/admin/features/../../x",
    ] {
        let r = get(uri);
        assert!(
            matches!(r.status, 400 | 401 | 403 | 404),
            "{uri}: {}",
            r.status
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v["error"]["code"].is_string(), "{uri}");
    }
    expect_error(&get("/nope"), 404, "not_found", "unknown route");
    expect_error(
        &get("/v1/chat/completions"),
        405,
        "method_not_allowed",
        "GET on a POST route",
    );
    let r = send(
        &h,
        http::Request::builder()
            .method("BREW")
            .uri("/v1/models")
            .body(Vec::new())
            .unwrap(),
    );
    expect_error(&r, 405, "method_not_allowed", "unknown method");
    // Huge header values are scanned up to a cap and never crash.
    let big = "a".repeat(256 * 1024);
    let r = send(
        &h,
        http::Request::get("/v1/models")
            .header("user-agent", big.as_str())
            .body(Vec::new())
            .unwrap(),
    );
    assert!(r.status == 200 || r.status == 403, "{}", r.status);
}

#[test]
fn expired_forged_and_alg_none_tokens() {
    let h = harness("");
    let body = br#"{"model":"mock-1","messages":[{"role":"user","content":"x"}]}"#.to_vec();
    let expired = token_with(
        json!({"sub": "u", "iss": "edgeforge-dev", "aud": "edgeforge", "exp": T0 / 1000 - 3600}),
    );
    expect_error(
        &send(&h, chat(&expired, body.clone())),
        401,
        "invalid_token",
        "expired",
    );
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "u", "iss": "edgeforge-dev", "aud": "edgeforge", "exp": T0 / 1000 + 60}),
        &EncodingKey::from_secret(b"not-the-gateway-secret-but-32-bytes-long").unwrap(),
    )
    .unwrap();
    expect_error(
        &send(&h, chat(&forged, body.clone())),
        401,
        "invalid_token",
        "forged",
    );
    // alg none: header {"alg":"none"} with the same claims, no signature.
    let none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        forged.split('.').nth(1).unwrap()
    );
    expect_error(
        &send(&h, chat(&none, body.clone())),
        401,
        "invalid_token",
        "alg none",
    );
    let huge = "a".repeat(10_000);
    expect_error(
        &send(&h, chat(&huge, body)),
        401,
        "invalid_token",
        "oversized token",
    );
}

#[test]
fn consent_tokens_cannot_be_replayed_by_another_user_or_forged() {
    let h = harness(
        r#"
[security]
consent_secret = "CONSENT_KEY"
[[security.geo.rules]]
pattern = "/v1/*"
consent_required = true
"#,
    );
    let key = zt_security::geo::ConsentKey::new(CONSENT.as_bytes()).unwrap();
    let body = br#"{"model":"mock-1","messages":[{"role":"user","content":"x"}]}"#.to_vec();
    let ctx = || RequestContext {
        country: Some("DE".into()),
        ..RequestContext::default()
    };
    let with_consent = |user: &str, consent: &str| {
        let mut r = chat(&token(user), body.clone());
        r.headers_mut()
            .insert("x-edge-consent", consent.parse().unwrap());
        r
    };
    let now = T0 / 1000;
    let alice = key.issue("alice", "gdpr", now - 10);
    assert_eq!(
        send_ctx(&h, with_consent("alice", &alice), ctx()).status,
        200
    );
    // Bob replays Alice's consent: refused.
    expect_error(
        &send_ctx(&h, with_consent("bob", &alice), ctx()),
        451,
        "consent_required",
        "replayed consent",
    );
    // A forged consent (same format, wrong key): refused.
    let forged = zt_security::geo::ConsentKey::new(b"another-key-of-at-least-32-bytes-long!!")
        .unwrap()
        .issue("bob", "gdpr", now);
    expect_error(
        &send_ctx(&h, with_consent("bob", &forged), ctx()),
        451,
        "consent_required",
        "forged consent",
    );
    expect_error(
        &send_ctx(&h, chat(&token("bob"), body), ctx()),
        451,
        "consent_required",
        "missing consent",
    );
}

#[test]
fn secrets_and_pii_never_reach_errors_analytics_or_the_security_log() {
    let h = harness("");
    let api_key = "sk-proj-PLANTEDsecretVALUE0123456789abcdef";
    let email = "planted.person@example.com";
    // A forged token carrying the planted values, a threat in the query
    // carrying them, and a prompt carrying them.
    let forged = format!("{api_key}.{email}.x");
    let r1 = send(
        &h,
        chat(
            &forged,
            br#"{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
        ),
    );
    let q = format!("/v1/models?q=1%27%20OR%201=1--%20{email}%20{api_key}");
    let r2 = send(&h, http::Request::get(q.as_str()).body(Vec::new()).unwrap());
    let prompt = json!({"model": "nope-model", "messages": [{"role": "user", "content": format!("my key is {api_key}, mail {email}")}]});
    let r3 = send(&h, chat(&token("u1"), serde_json::to_vec(&prompt).unwrap()));
    assert_eq!((r1.status, r2.status, r3.status), (401, 403, 404));
    let mut haystack = String::new();
    for r in [&r1, &r2, &r3] {
        haystack.push_str(&String::from_utf8_lossy(&r.body));
        haystack.push_str(&format!("{:?}", r.headers));
    }
    haystack.push_str(&format!(
        "{:?}{:?}",
        h.analytics.points(),
        h.security.points()
    ));
    let events = kv_text(&h, "sec:");
    assert!(
        events.contains("auth_failure") && events.contains("threat_blocked"),
        "{events}"
    );
    haystack.push_str(&events);
    for planted in [api_key, email, "PLANTEDsecret"] {
        assert!(!haystack.contains(planted), "{planted} leaked:\n{haystack}");
    }
}

#[test]
fn admin_is_denied_by_default_and_unlisted_routes_are_refused() {
    // A config whose policy table lists nothing: every route is refused.
    let bare = edge_gateway::EXAMPLE_CONFIG
        .split("[[security.policy.routes]]")
        .next()
        .unwrap()
        .to_owned()
        + &edge_gateway::EXAMPLE_CONFIG[edge_gateway::EXAMPLE_CONFIG
            .find("[security.rate_limits]")
            .unwrap()..];
    let mut p = GatewayPorts::in_memory(T0);
    p.secrets = Arc::new(HashMap::from([(
        "JWT_HS256_SECRET".to_string(),
        SECRET.to_string(),
    )]));
    let gw = Gateway::new(GatewayConfig::from_toml(&bare).unwrap(), p, "1").unwrap();
    let h = Harness {
        gw,
        kv: Arc::new(MemoryKv::new(edge_ports::ManualClock::new(T0))),
        analytics: MemoryAnalytics::new(),
        security: MemoryAnalytics::new(),
        clock: edge_ports::ManualClock::new(T0),
        local: Arc::new(edge_ports::MemoryLocalCache::new(
            edge_ports::ManualClock::new(T0),
            1 << 20,
        )),
    };
    for (method, uri) in [
        ("GET", "/admin/features"),
        ("POST", "/admin/canary"),
        ("GET", "/v1/models"),
        ("GET", "/status"),
    ] {
        let r = send(
            &h,
            http::Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {}", token("root")))
                .body(Vec::new())
                .unwrap(),
        );
        assert_eq!(
            r.status, 404,
            "{method} {uri} must be refused without a policy entry"
        );
    }
    assert_eq!(
        send(&h, http::Request::get("/health").body(Vec::new()).unwrap()).status,
        200
    );
}

#[test]
fn cors_is_explicit_and_security_headers_are_set() {
    let h = harness("");
    let r = send(
        &h,
        http::Request::get("/v1/models")
            .header("origin", "https://evil.example")
            .body(Vec::new())
            .unwrap(),
    );
    assert!(
        !r.headers.contains_key("access-control-allow-origin"),
        "no CORS unless configured"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(
        !r.headers.contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
    let r = send_ctx(
        &h,
        http::Request::get("/v1/models").body(Vec::new()).unwrap(),
        RequestContext {
            https: true,
            ..RequestContext::default()
        },
    );
    assert_eq!(
        r.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );

    let h = harness_text(&edge_gateway::EXAMPLE_CONFIG.replacen(
        "[gateway]\n",
        "[gateway]\ncors_allowed_origins = [\"https://app.example\"]\n",
        1,
    ));
    let ok = send(
        &h,
        http::Request::get("/v1/models")
            .header("origin", "https://app.example")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(ok.headers["vary"], "Origin");
    let evil = send(
        &h,
        http::Request::get("/v1/models")
            .header("origin", "https://evil.example")
            .body(Vec::new())
            .unwrap(),
    );
    assert!(!evil.headers.contains_key("access-control-allow-origin"));
    let pre = send(
        &h,
        http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/chat/completions")
            .header("origin", "https://evil.example")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(pre.status, 204);
    assert!(!pre.headers.contains_key("access-control-allow-methods"));
}

#[test]
fn hmac_and_token_comparisons_are_constant_time() {
    // Structural check: signature and consent verification go through the
    // MAC's constant-time `verify_slice` (consent) and jsonwebtoken's
    // constant-time HMAC verification; no `==` on secret bytes in the code.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../zt-security/src");
    let consent = std::fs::read_to_string(format!("{root}/geo/consent.rs")).unwrap();
    assert!(
        consent.contains("verify_slice"),
        "consent MAC must be checked with verify_slice"
    );
    for file in [
        "geo/consent.rs",
        "envelope.rs",
        "jwt/verify.rs",
        "jwt/keys.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for needle in [
            "tag == ",
            "mac == ",
            "signature == ",
            "== expected",
            "sig == ",
        ] {
            assert!(
                !text.contains(needle),
                "{file}: `{needle}` compares secret bytes in variable time"
            );
        }
    }
}
