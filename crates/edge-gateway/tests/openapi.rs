//! docs/openapi.json matches the routes the gateway serves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use edge_gateway::{CollectTasks, Gateway, GatewayConfig, GatewayPorts, ROUTES, RequestContext};
use edge_ports::testing::block_on;
use serde_json::Value;

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_spec_lists_exactly_the_served_routes() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(
                op["operationId"].is_string(),
                "{method} {path}: operationId"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{method} {path}: no success response"
            );
            if path != "/health" {
                assert!(
                    responses.keys().any(|c| c.starts_with('4')),
                    "{method} {path}: errors undocumented"
                );
            }
        }
    }
    let served: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn every_route_is_covered_by_the_policy_and_dispatched() {
    let mut p = GatewayPorts::in_memory(1_700_000_000_000);
    p.secrets = Arc::new(HashMap::from([(
        "JWT_HS256_SECRET".to_string(),
        "a-test-hs256-secret-of-at-least-32-bytes!".to_string(),
    )]));
    let gw = Gateway::new(
        GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap(),
        p,
        "1",
    )
    .unwrap();
    for (method, path) in ROUTES {
        let uri = path
            .replace("{id}", "greeting")
            .replace("{name}", "r1")
            .replace("{key}", "k1");
        let body = if *method == "GET" {
            Vec::new()
        } else {
            b"{}".to_vec()
        };
        let req = http::Request::builder()
            .method(*method)
            .uri(uri.as_str())
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        let resp = block_on(gw.handle(req, RequestContext::default(), &CollectTasks::new()));
        let status = resp.status().as_u16();
        let body = block_on(resp.into_body().collect(1 << 20)).unwrap();
        let text = String::from_utf8_lossy(&body);
        // Public routes answer; protected ones stop at authentication, which
        // proves the policy has a rule for them (an unlisted route is a 404).
        assert!(
            !(status == 404 && (text.contains("no route") || text.contains("no handler")))
                && status != 405,
            "{method} {path}: {status} {text}"
        );
        if path.starts_with("/admin") || *path == "/v1/chat/completions" {
            assert_eq!(status, 401, "{method} {path} must require credentials");
        }
    }
}
