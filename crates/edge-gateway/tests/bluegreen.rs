//! Blue-green on the request path: `POST /admin/bluegreen` checks green
//! first (nothing moves when a check fails), then the controller's loop
//! switches traffic, judges green on its own metrics and rolls back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arc_with_non_send_sync
)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use edge_ports::HttpError;
use edge_ports::http::{Body, HttpClient, SendOptions};
use edge_ports::testing::block_on;
use serde_json::{Value, json};

const EXTRA: &str = r#"
[traffic]
rollout = "main"
metrics_flush_ms = 0

[[router.providers]]
name = "upstream"
kind = "openai"
base_url = "http://upstream.invalid/v1"
api_key_secrets = ["UPSTREAM_KEY"]
regions = ["local"]
models = [{ name = "gpt-test" }]

[[security.policy.routes]]
pattern = "/admin/bluegreen"
methods = ["POST"]
tiers = ["admin"]

[[security.policy.routes]]
pattern = "/admin/canary/*"
methods = ["GET"]
tiers = ["admin"]
"#;

/// Green's health and smoke URLs, and the provider (failing on demand).
#[derive(Clone, Default)]
struct World {
    green_healthy: Rc<Cell<bool>>,
    provider_failing: Rc<Cell<bool>>,
}

#[async_trait(?Send)]
impl HttpClient for World {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let status = if req.uri().host() == Some("green.test") {
            if self.green_healthy.get() { 200 } else { 503 }
        } else if self.provider_failing.get() {
            500
        } else {
            return llm_router::MockProvider.send(req, opts).await;
        };
        let mut r = http::Response::new(Body::from(b"{}".to_vec()));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok(r)
    }
}

fn setup() -> (Harness, World) {
    let world = World::default();
    world.green_healthy.set(true);
    let http = world.clone();
    let text = format!("{}\n{EXTRA}", edge_gateway::EXAMPLE_CONFIG);
    let h = harness_with(&text, move |p| {
        p.http = Arc::new(http);
        p.secrets = Arc::new(std::collections::HashMap::from([
            ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
            ("UPSTREAM_KEY".to_string(), "sk-test".to_string()),
        ]));
    });
    (h, world)
}

fn admin(h: &Harness, method: &str, path: &str, body: Option<Value>) -> Resp {
    let tok = token_with(
        json!({"sub": "ops", "iss": "edgeforge-dev", "aud": "edgeforge",
        "exp": T0 / 1000 + 86_400, "tier": "admin"}),
    );
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {tok}"))
        .header("content-type", "application/json")
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .unwrap();
    send(h, req)
}

fn deployment_of(h: &Harness, user: &str) -> (u16, String) {
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]});
    let r = send(h, chat(&token(user), body.to_string().into_bytes()));
    let dep = r.headers["x-deployment"].to_str().unwrap().to_owned();
    (r.status, dep)
}

fn plan(strategy: Value) -> Value {
    json!({"blue": "stable", "green": "v2", "health_url": "https://green.test/health",
        "smoke": [{"method": "GET", "url": "https://green.test/v1/models", "expect_status": 200}],
        "strategy": strategy, "max_error_rate": 0.05, "max_p95_ms": 1000,
        "step_ms": 60000, "min_requests": 20})
}

#[test]
fn a_failed_pre_switch_check_moves_nothing() {
    let (h, world) = setup();
    world.green_healthy.set(false);
    let r = admin(
        &h,
        "POST",
        "/admin/bluegreen",
        Some(plan(json!({"kind": "instant"}))),
    );
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"]["code"], "pre_switch_failed");
    assert_eq!(v["checks"][0]["ok"], false);
    assert_eq!(admin(&h, "GET", "/admin/canary/main", None).status, 404);
    assert_eq!(deployment_of(&h, "alice").1, "stable");
}

#[test]
fn a_gradual_switch_completes_through_the_controller_loop() {
    let (h, _world) = setup();
    let r = admin(
        &h,
        "POST",
        "/admin/bluegreen",
        Some(plan(json!({"kind": "gradual", "steps": [50, 100]}))),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let on_green = |h: &Harness| {
        (0..80)
            .filter(|i| deployment_of(h, &format!("u{i}")).1 == "v2")
            .count()
    };
    let half = on_green(&h);
    assert!(
        (25..=55).contains(&half),
        "about half on green at 50%: {half}/80"
    );
    h.clock.advance_ms(61_000);
    let d = block_on(h.gw.canary_tick()).unwrap();
    assert!(format!("{d:?}").contains("Advance"), "{d:?}");
    assert_eq!(on_green(&h), 80, "everyone on green at 100%");
    h.clock.advance_ms(61_000);
    let d = block_on(h.gw.canary_tick()).unwrap();
    assert!(format!("{d:?}").contains("Complete"), "{d:?}");
    let report: Value =
        serde_json::from_slice(&admin(&h, "GET", "/admin/canary/main", None).body).unwrap();
    let actions: Vec<&str> = report["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["start", "advance", "complete"]);
}

#[test]
fn green_failing_after_an_instant_switch_is_rolled_back_to_blue() {
    let (h, world) = setup();
    let r = admin(
        &h,
        "POST",
        "/admin/bluegreen",
        Some(plan(json!({"kind": "instant"}))),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(deployment_of(&h, "alice").1, "v2");
    world.provider_failing.set(true);
    for i in 0..30 {
        let (status, dep) = deployment_of(&h, &format!("u{i}"));
        assert_eq!((status >= 500, dep.as_str()), (true, "v2"));
    }
    h.clock.advance_ms(10_000);
    let d = block_on(h.gw.canary_tick()).unwrap();
    assert!(format!("{d:?}").contains("Rollback"), "{d:?}");
    world.provider_failing.set(false);
    h.clock.advance_ms(6_000);
    assert_eq!(deployment_of(&h, "alice"), (200, "stable".to_owned()));
    let report: Value =
        serde_json::from_slice(&admin(&h, "GET", "/admin/canary/main", None).body).unwrap();
    let last = report["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "rollback");
    assert!(last["metrics"]["errors"].as_u64().unwrap() >= 30, "{last}");
}
