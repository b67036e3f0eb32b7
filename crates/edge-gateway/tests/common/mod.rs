//! The gateway test harness shared by the bad-input matrix files: a
//! gateway over in-memory ports with handles on its KV and analytics, HS256
//! tokens, and helpers that send a request and check an error's shape.
#![allow(dead_code, clippy::arc_with_non_send_sync)]

use std::collections::HashMap;
use std::sync::Arc;

use edge_gateway::{CollectTasks, Gateway, GatewayConfig, GatewayPorts, RequestContext};
use edge_ports::testing::block_on;
use edge_ports::{KvStore, ListOptions};
use edge_ports::{ManualClock, MemoryAnalytics, MemoryKv, MemoryLocalCache};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use zt_security::ratelimit::MemoryStore;

pub const T0: u64 = 1_700_000_000_000;
pub const SECRET: &str = "a-test-hs256-secret-of-at-least-32-bytes!";
pub const CONSENT: &str = "consent-hmac-key-for-tests-at-least-32-bytes";

pub struct Harness {
    pub gw: Gateway,
    pub kv: Arc<MemoryKv>,
    pub analytics: MemoryAnalytics,
    pub security: MemoryAnalytics,
    /// The clock every port of the gateway reads.
    pub clock: ManualClock,
    /// The gateway's local cache tier (the Cache API's stand-in).
    pub local: Arc<MemoryLocalCache<ManualClock>>,
}

pub fn harness(extra_toml: &str) -> Harness {
    harness_text(&format!("{}\n{extra_toml}", edge_gateway::EXAMPLE_CONFIG))
}

pub fn harness_text(text: &str) -> Harness {
    harness_with(text, |_| {})
}

/// A harness over `text` whose ports `adjust` may replace.
pub fn harness_with(text: &str, adjust: impl FnOnce(&mut GatewayPorts)) -> Harness {
    let clock = ManualClock::new(T0);
    let mut p = GatewayPorts::in_memory(T0);
    p.clock = Arc::new(clock.clone());
    p.rate_limits = Arc::new(MemoryStore::new(p.clock.clone()));
    let kv = Arc::new(MemoryKv::new(clock.clone()));
    let local = Arc::new(MemoryLocalCache::new(clock.clone(), 8 << 20));
    p.local_cache = Some(local.clone());
    let analytics = MemoryAnalytics::new();
    let security = MemoryAnalytics::new();
    p.kv = kv.clone();
    p.analytics = Arc::new(analytics.clone());
    p.security_analytics = Arc::new(security.clone());
    p.secrets = Arc::new(HashMap::from([
        ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
        ("CONSENT_KEY".to_string(), CONSENT.to_string()),
    ]));
    adjust(&mut p);
    let cfg = GatewayConfig::from_toml(text).unwrap();
    Harness {
        gw: Gateway::new(cfg, p, "1").unwrap(),
        kv,
        analytics,
        security,
        clock,
        local,
    }
}

pub fn token_with(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn token(sub: &str) -> String {
    token_with(
        json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "exp": T0 / 1000 + 3600}),
    )
}

pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

pub fn send(h: &Harness, req: http::Request<Vec<u8>>) -> Resp {
    send_ctx(h, req, RequestContext::default())
}

pub fn send_ctx(h: &Harness, req: http::Request<Vec<u8>>, ctx: RequestContext) -> Resp {
    block_on(async {
        let bg = CollectTasks::new();
        let resp = h.gw.handle(req, ctx, &bg).await;
        let (parts, body) = resp.into_parts();
        let body = body.collect(1 << 24).await.unwrap();
        bg.run_all().await;
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    })
}

/// Asserts a JSON error with `status` and `code`, in OpenAI's shape.
pub fn expect_error(r: &Resp, status: u16, code: &str, case: &str) {
    assert_eq!(
        r.status,
        status,
        "{case}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let v: Value =
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{case}: not JSON ({e})"));
    assert_eq!(v["error"]["code"], code, "{case}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}"
    );
    assert!(v["error"]["type"].is_string(), "{case}");
    assert_eq!(r.headers["content-type"], "application/json", "{case}");
}

pub fn chat(tok: &str, body: Vec<u8>) -> http::Request<Vec<u8>> {
    http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {tok}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

/// Every value stored under `prefix` in the harness KV, as one text.
pub fn kv_text(h: &Harness, prefix: &str) -> String {
    block_on(async {
        let page = h.kv.list(ListOptions::prefix(prefix)).await.unwrap();
        let mut all = String::new();
        for k in page.keys {
            all.push_str(&String::from_utf8_lossy(
                &h.kv.get(&k.name).await.unwrap().unwrap(),
            ));
        }
        all
    })
}
