//! What flags and experiments add to a chat request: the whole pipeline
//! (HS256 auth, threat scan, limits, routing, the in-process mock provider)
//! without experiments, with a bound feature but nothing stored, and with a
//! running experiment (payload cached in the isolate, one exposure per user
//! and isolate, per-arm counters), in the same run.
//!
//! `cargo bench -p edge-gateway --bench experiments`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arc_with_non_send_sync
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_gateway::{CollectTasks, Gateway, GatewayConfig, GatewayPorts, RequestContext};
use edge_ports::testing::block_on;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const SECRET: &str = "a-bench-hs256-secret-of-at-least-32-bytes!";
const T0: u64 = 1_700_000_000_000;

const EXTRA: &str = r#"
[[router.providers]]
name = "mock-b"
kind = "mock"
base_url = "http://mock-b.invalid/v1"
regions = ["local"]
models = [{ name = "model-b" }]

[[security.policy.routes]]
pattern = "/admin/experiments"
methods = ["POST"]
tiers = ["admin"]
"#;

fn token(sub: &str, tier: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "exp": T0 / 1000 + 86_400, "tier": tier}),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn gateway(bound: bool) -> Gateway {
    let mut text = edge_gateway::EXAMPLE_CONFIG.replace(
        "[security.rate_limits.quotas.authenticated]\nchat = { limit = 60, window_secs = 60 }",
        "[security.rate_limits.quotas.authenticated]\nchat = { limit = 1000000000, window_secs = 60 }",
    );
    if !bound {
        text = text.replace("[experiments]\n", "[experiments]\nenabled = false\n");
    }
    let cfg = GatewayConfig::from_toml(&format!("{text}\n{EXTRA}")).unwrap();
    let mut ports = GatewayPorts::in_memory(T0);
    ports.secrets = Arc::new(HashMap::from([(
        "JWT_HS256_SECRET".to_string(),
        SECRET.to_string(),
    )]));
    Gateway::new(cfg, ports, "bench").unwrap()
}

fn request(tok: &str, path: &str, body: Vec<u8>) -> http::Request<Vec<u8>> {
    http::Request::post(path)
        .header("authorization", format!("Bearer {tok}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

fn send(gw: &Gateway, req: http::Request<Vec<u8>>) -> u16 {
    block_on(async {
        let bg = CollectTasks::new();
        let resp = gw.handle(req, RequestContext::default(), &bg).await;
        let status = resp.status().as_u16();
        let _ = resp.into_body().collect(1 << 20).await;
        bg.run_all().await;
        status
    })
}

fn bench(c: &mut Criterion) {
    let users: Vec<String> = (0..1000)
        .map(|i| token(&format!("user-{i}"), "authenticated"))
        .collect();
    let body = json!({"model": "mock-1", "messages": [{"role": "user", "content": "hello there"}]})
        .to_string()
        .into_bytes();
    let mut g = c.benchmark_group("chat");
    for (name, bound, experiment) in [
        ("no_experiments", false, false),
        ("bound_feature_no_payload", true, false),
        ("running_experiment", true, true),
    ] {
        let gw = gateway(bound);
        if experiment {
            let spec = json!({
                "experiment": {"key": "model-ab", "variants": [
                    {"name": "control", "traffic_percent": 50}, {"name": "b", "traffic_percent": 50}],
                    "primary_metric": "success"},
                "feature": "chat-model", "values": {"control": "mock-1", "b": "model-b"}
            });
            let status = send(
                &gw,
                request(
                    &token("ops", "admin"),
                    "/admin/experiments",
                    spec.to_string().into_bytes(),
                ),
            );
            assert_eq!(status, 201);
        }
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % users.len();
                let status = send(
                    &gw,
                    request(&users[i], "/v1/chat/completions", body.clone()),
                );
                assert_eq!(black_box(status), 200);
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
