//! The whole pipeline over in-memory ports: every stage's success and
//! failure, caching (including streamed completions), admin routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use edge_gateway::{CollectTasks, Gateway, GatewayConfig, GatewayPorts, RequestContext};
use edge_ports::testing::block_on;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000_000;
const SECRET: &str = "a-test-hs256-secret-of-at-least-32-bytes!";

struct Resp {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn ports() -> GatewayPorts {
    let mut p = GatewayPorts::in_memory(T0);
    p.secrets = Arc::new(HashMap::from([(
        "JWT_HS256_SECRET".to_string(),
        SECRET.to_string(),
    )]));
    p
}

fn gateway() -> Gateway {
    let cfg = GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap();
    Gateway::new(cfg, ports(), "9.9.9").unwrap()
}

fn token(sub: &str, tier: &str) -> String {
    let claims = json!({
        "sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "tier": tier,
        "exp": T0 / 1000 + 3600, "iat": T0 / 1000,
    });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn send(g: &Gateway, req: http::Request<Vec<u8>>) -> Resp {
    block_on(async {
        let bg = CollectTasks::new();
        let ctx = RequestContext {
            client_ip: Some("203.0.113.9".into()),
            country: Some("DE".into()),
            ..RequestContext::default()
        };
        let resp = g.handle(req, ctx, &bg).await;
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

fn get(g: &Gateway, uri: &str) -> Resp {
    send(g, http::Request::get(uri).body(Vec::new()).unwrap())
}

fn chat_req(tok: Option<&str>, body: &Value) -> http::Request<Vec<u8>> {
    let mut b = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("user-agent", "OpenAI/Python 1.54.0");
    if let Some(t) = tok {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(serde_json::to_vec(body).unwrap()).unwrap()
}

fn hello(stream: bool) -> Value {
    json!({"model": "mock-1", "messages": [{"role": "user", "content": "hello there"}], "stream": stream})
}

fn error_code(r: &Resp) -> String {
    r.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn health_and_standard_headers() {
    let g = gateway();
    let r = get(&g, "/health");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok", "version": "9.9.9"}));
    assert_eq!(r.header("x-request-id").len(), 16);
    assert!(r.header("server-timing").contains("total;dur="));
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("x-cache-status"), "BYPASS");
}

#[test]
fn chat_completion_non_streaming_in_openai_shape() {
    let g = gateway();
    let r = send(
        &g,
        chat_req(Some(&token("u1", "authenticated")), &hello(false)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "mock reply to: hello there"
    );
    assert_eq!(r.header("x-edge-provider"), "mock");
    assert_eq!(r.header("x-deployment"), "stable");
    let timing = r.header("server-timing");
    for stage in [
        "threat",
        "bot",
        "geo",
        "auth",
        "authz",
        "ratelimit",
        "traffic",
        "handler",
        "total",
    ] {
        assert!(
            timing.contains(&format!("{stage};dur=")),
            "{stage} missing in {timing}"
        );
    }
    assert!(r.header("ratelimit-policy").contains("\"chat\";q=60;w=60"));
}

#[test]
fn chat_completion_streaming_is_sse_ending_in_done() {
    let g = gateway();
    let r = send(
        &g,
        chat_req(Some(&token("u1", "authenticated")), &hello(true)),
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/event-stream"));
    let text = r.text();
    assert!(text.starts_with("data: {"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let content: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(content, "mock reply to: hello there");
}

#[test]
fn deterministic_chat_is_cached_and_a_stream_is_replayed_from_the_cache() {
    let g = gateway();
    let tok = token("u1", "authenticated");
    let mut body = hello(true);
    body["temperature"] = json!(0);
    let first = send(&g, chat_req(Some(&tok), &body));
    assert_eq!(first.header("x-cache-status"), "MISS");
    let second = send(&g, chat_req(Some(&tok), &body));
    assert_eq!(second.header("x-cache-status"), "HIT");
    assert!(second.text().ends_with("data: [DONE]\n\n"));
    assert!(second.text().contains("mock reply to: hello there"));
    // The non-streamed form of the same request shares the entry.
    body["stream"] = json!(false);
    let third = send(&g, chat_req(Some(&tok), &body));
    assert_eq!(third.header("x-cache-status"), "HIT");
    assert_eq!(
        third.json()["choices"][0]["message"]["content"],
        "mock reply to: hello there"
    );
    // A non-deterministic request is never cached; the header can opt out.
    let mut warm = hello(false);
    warm["temperature"] = json!(0.7);
    assert_eq!(
        send(&g, chat_req(Some(&tok), &warm)).header("x-cache-status"),
        "BYPASS"
    );
    let mut off = chat_req(Some(&tok), &body);
    off.headers_mut()
        .insert("x-edge-cache", "off".parse().unwrap());
    assert_eq!(send(&g, off).header("x-cache-status"), "BYPASS");
    // Private scope: another user does not see u1's entry.
    let other = send(&g, chat_req(Some(&token("u2", "authenticated")), &body));
    assert_eq!(other.header("x-cache-status"), "MISS");
}

#[test]
fn authentication_failures_are_401_with_typed_errors() {
    let g = gateway();
    let r = send(&g, chat_req(None, &hello(false)));
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (401, "authentication_required")
    );
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    let r = send(&g, chat_req(Some("not.a.jwt"), &hello(false)));
    assert_eq!((r.status, error_code(&r).as_str()), (401, "invalid_token"));
    // Signed with another key.
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "x", "iss": "edgeforge-dev", "aud": "edgeforge", "exp": T0 / 1000 + 60}),
        &EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long!!").unwrap(),
    )
    .unwrap();
    let r = send(&g, chat_req(Some(&forged), &hello(false)));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
}

#[test]
fn admin_routes_need_access() {
    let g = gateway();
    let r = get(&g, "/admin/features");
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (401, "authentication_required")
    );
    // A user token is not an Access token.
    let req = http::Request::get("/admin/features")
        .header("authorization", format!("Bearer {}", token("u1", "admin")))
        .body(Vec::new())
        .unwrap();
    let r = send(&g, req);
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (403, "access_required")
    );
    let req = http::Request::get("/admin/features")
        .header("cf-access-jwt-assertion", "garbage")
        .body(Vec::new())
        .unwrap();
    let r = send(&g, req);
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (403, "invalid_access_token")
    );
}

#[test]
fn sqli_in_a_query_parameter_is_403() {
    let g = gateway();
    let r = get(
        &g,
        "/api/prompts/templates/greeting?id=1%27%20OR%20%271%27%3D%271",
    );
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (403, "threat_detected")
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("query:id")
    );
    // Benign traps pass.
    let r = get(&g, "/api/prompts/templates/greeting?q=C%23&name=O%27Brien");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn templates_are_cached_miss_then_hit_and_unknown_is_404() {
    let g = gateway();
    let a = get(&g, "/api/prompts/templates/greeting");
    assert_eq!((a.status, a.header("x-cache-status")), (200, "MISS"));
    assert_eq!(
        a.json()["template"]["system"],
        "You are a helpful assistant."
    );
    let b = get(&g, "/api/prompts/templates/greeting");
    assert_eq!((b.status, b.header("x-cache-status")), (200, "HIT"));
    assert_eq!(a.body, b.body);
    let r = get(&g, "/api/prompts/templates/nope");
    assert_eq!(r.status, 404);
}

#[test]
fn over_the_limit_is_429_with_retry_after() {
    let g = gateway();
    let tok = token("limited", "authenticated");
    let mut last = None;
    for _ in 0..61 {
        last = Some(send(&g, chat_req(Some(&tok), &hello(false))));
    }
    let r = last.unwrap();
    assert_eq!((r.status, error_code(&r).as_str()), (429, "rate_limited"));
    assert_eq!(r.header("retry-after"), "1");
    assert!(r.header("ratelimit").contains("r=0"));
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    // Another user is unaffected.
    let other = send(
        &g,
        chat_req(Some(&token("other", "authenticated")), &hello(false)),
    );
    assert_eq!(other.status, 200);
}

#[test]
fn bad_input_gets_typed_4xx() {
    let g = gateway();
    let tok = token("u1", "authenticated");
    let mut req = chat_req(Some(&tok), &hello(false));
    *req.body_mut() = b"{not json".to_vec();
    let r = send(&g, req);
    assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_json"));
    let mut req = chat_req(Some(&tok), &hello(false));
    req.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_eq!(send(&g, req).status, 415);
    let mut req = chat_req(Some(&tok), &hello(false));
    *req.body_mut() = vec![b' '; (1 << 20) + 1];
    assert_eq!(send(&g, req).status, 413);
    let r = send(
        &g,
        chat_req(
            Some(&tok),
            &json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
        ),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    assert_eq!(get(&g, "/nowhere").status, 404);
    let r = send(
        &g,
        http::Request::delete("/v1/models")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(r.status, 405);
}

#[test]
fn scanner_user_agents_are_blocked() {
    let g = gateway();
    let req = http::Request::get("/v1/models")
        .header("user-agent", "sqlmap/1.8")
        .body(Vec::new())
        .unwrap();
    let r = send(&g, req);
    assert_eq!((r.status, error_code(&r).as_str()), (403, "bot_blocked"));
}

#[test]
fn models_and_status() {
    let g = gateway();
    let r = get(&g, "/v1/models");
    assert_eq!(r.json()["data"][0]["id"], "mock-1");
    let r = get(&g, "/status");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["providers"][0]["name"], "mock");
}

#[test]
fn config_errors_name_the_field() {
    let bad = edge_gateway::EXAMPLE_CONFIG.replace(
        "categories = [\"chat\", \"read\", \"admin\"]",
        "categories = [\"chat\", \"read\"]",
    );
    let err = GatewayConfig::from_toml(&bad).unwrap_err();
    assert!(err.field.starts_with("security.rate_limits"), "{err}");
    let err =
        GatewayConfig::from_toml(&format!("{}\n[unknown]\nx=1", edge_gateway::EXAMPLE_CONFIG))
            .unwrap_err();
    assert!(err.message.contains("unknown"), "{err}");
    // A named secret that is not set fails at start, naming it.
    let err = Gateway::new(
        GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap(),
        GatewayPorts::in_memory(T0),
        "x",
    )
    .unwrap_err();
    assert_eq!(err.field, "security.jwt.hs256_secret");
}

#[test]
fn canary_routes_sticky_and_the_controller_advances_on_healthy_metrics() {
    use traffic_split::canary::{CanaryConfig, CanaryState, CanaryStore, Decision, KvCanaryStore};
    let extra = r#"
[traffic]
rollout = "r1"
metrics_flush_ms = 0
[[traffic.canary.stages]]
percent = 50.0
min_duration_ms = 0
max_error_rate = 0.05
max_p95_ms = 1000.0
min_requests = 5
[[traffic.canary.stages]]
percent = 100.0
min_duration_ms = 0
max_error_rate = 0.05
max_p95_ms = 1000.0
min_requests = 0
"#;
    let cfg =
        GatewayConfig::from_toml(&format!("{}{extra}", edge_gateway::EXAMPLE_CONFIG)).unwrap();
    let p = ports();
    let kv = p.kv.clone();
    let g = Gateway::new(cfg.clone(), p, "9.9.9").unwrap();
    let plan: CanaryConfig = cfg.traffic.canary.clone();
    block_on(async {
        let store = KvCanaryStore::new(kv.clone());
        let state = CanaryState::start("r1", "v1", "v2", &plan, T0);
        store.save(&state, 0).await.unwrap();
    });
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..40 {
        let user = format!("user-{i}");
        let r = send(
            &g,
            chat_req(Some(&token(&user, "authenticated")), &hello(false)),
        );
        assert_eq!(r.status, 200);
        let dep = r.header("x-deployment").to_owned();
        // Sticky: the same user lands on the same deployment again.
        let again = send(
            &g,
            chat_req(Some(&token(&user, "authenticated")), &hello(false)),
        );
        assert_eq!(again.header("x-deployment"), dep);
        *seen.entry(dep).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen["v2"] >= 10 && seen["v1"] >= 10, "{seen:?}");
    let m = block_on(g.deployment_metrics().read("v2", 0)).unwrap();
    assert_eq!((m.requests, m.errors), (seen["v2"] as u64 * 2, 0));
    let st = get(&g, "/status?deployment=v2&window_min=5").json();
    assert_eq!(st["metrics"]["requests"], seen["v2"] as u64 * 2, "{st}");
    assert_eq!(st["metrics"]["error_rate"], 0.0);
    assert_eq!(get(&g, "/status?window_min=0").status, 400);
    let d = block_on(g.canary_tick()).unwrap();
    assert!(
        matches!(d, Decision::Advance { to_percent, .. } if to_percent == 100.0),
        "{d:?}"
    );
    let r = send(
        &g,
        chat_req(Some(&token("user-0", "authenticated")), &hello(false)),
    );
    assert_eq!(
        r.header("x-deployment"),
        "v2",
        "at 100% everyone is on the canary"
    );
}

#[test]
fn controller_steps_reconcile_cloudflare_gradual_deployments() {
    use edge_ports::{ScriptedHttpClient, ScriptedResponse};
    use traffic_split::canary::{CanaryState, CanaryStore, KvCanaryStore};
    let extra = r#"
[traffic]
rollout = "r1"
[traffic.gradual]
account_id = "acct"
script = "edgeforge-api-production"
api_token_secret = "CF_API_TOKEN"
stable_version_id = "ver-old"
canary_version_id = "ver-new"
"#;
    let cfg =
        GatewayConfig::from_toml(&format!("{}{extra}", edge_gateway::EXAMPLE_CONFIG)).unwrap();
    let http = ScriptedHttpClient::new();
    let ok = |result: Value| {
        ScriptedResponse::json(
            200,
            &json!({"success": true, "errors": [], "result": result}),
        )
    };
    // Live: 100% old. The rollout says 5% new: one split call.
    http.push(
        "api.cloudflare.com",
        ok(
            json!({"deployments": [{"id": "d1", "strategy": "percentage",
        "versions": [{"version_id": "ver-old", "percentage": 100.0}]}]}),
        ),
    );
    http.push("api.cloudflare.com", ok(json!({"id": "d2", "strategy": "percentage", "versions": [
        {"version_id": "ver-new", "percentage": 5.0}, {"version_id": "ver-old", "percentage": 95.0}]})));
    let mut p = ports();
    p.http = Arc::new(http.clone());
    p.secrets = Arc::new(HashMap::from([
        ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
        ("CF_API_TOKEN".to_string(), "cf-token".to_string()),
    ]));
    let kv = p.kv.clone();
    let g = Gateway::new(cfg.clone(), p, "9.9.9").unwrap();
    block_on(async {
        let state = CanaryState::start("r1", "v1", "v2", &cfg.traffic.canary, T0);
        KvCanaryStore::new(kv.clone())
            .save(&state, 0)
            .await
            .unwrap();
    });
    block_on(g.canary_tick()).unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    let body: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(
        body["versions"],
        json!([{"version_id": "ver-new", "percentage": 5.0}, {"version_id": "ver-old", "percentage": 95.0}])
    );
    assert_eq!(reqs[1].headers["authorization"], "Bearer cf-token");
    // Already in sync: the next step only reads.
    http.push("api.cloudflare.com", ok(json!({"deployments": [{"id": "d2", "strategy": "percentage", "versions": [
        {"version_id": "ver-new", "percentage": 5.0}, {"version_id": "ver-old", "percentage": 95.0}]}]})));
    block_on(g.canary_tick()).unwrap();
    assert_eq!(http.requests().len(), 3);
}

/// A gateway with Langfuse tracing on, and the HTTP client that answers
/// one ingestion call.
fn traced_gateway() -> (Gateway, edge_ports::ScriptedHttpClient) {
    use edge_ports::{ScriptedHttpClient, ScriptedResponse};
    let http = ScriptedHttpClient::new();
    http.push(
        "langfuse.test",
        ScriptedResponse::json(207, &json!({"successes": [], "errors": []})),
    );
    let mut p = ports();
    p.http = Arc::new(http.clone());
    p.secrets = Arc::new(HashMap::from([
        ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
        ("LANGFUSE_PUBLIC_KEY".to_string(), "pk".to_string()),
        ("LANGFUSE_SECRET_KEY".to_string(), "sk".to_string()),
    ]));
    let cfg = GatewayConfig::from_toml(&format!(
        "{}\n[tracing]\nlangfuse_host = \"https://langfuse.test\"\n",
        edge_gateway::EXAMPLE_CONFIG
    ))
    .unwrap();
    (Gateway::new(cfg, p, "9").unwrap(), http)
}

#[test]
fn completed_calls_are_traced_to_langfuse_with_the_prompt_redacted() {
    let (g, http) = traced_gateway();
    let body = json!({"model": "mock-1", "messages": [{"role": "user", "content": "call me on +1 415 555 0100, mail bob@example.com"}]});
    let r = send(&g, chat_req(Some(&token("u1", "authenticated")), &body));
    assert_eq!(r.status, 200);
    let sent = http.requests();
    assert_eq!(sent.len(), 1, "one ingestion batch");
    assert_eq!(sent[0].uri, "https://langfuse.test/api/public/ingestion");
    let text = String::from_utf8_lossy(&sent[0].body);
    assert!(
        !text.contains("bob@example.com") && !text.contains("555 0100"),
        "{text}"
    );
    let batch: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(batch["batch"][1]["body"]["model"], "mock-1");
    assert_eq!(batch["batch"][1]["body"]["usage"]["unit"], "TOKENS");
    // Issue 18 (low): Langfuse's userId is a pseudonym, never the JWT `sub`.
    let user = batch["batch"][0]["body"]["userId"].as_str().unwrap();
    assert!(user.starts_with("u-") && user.len() == 26, "{user}");
    assert!(!text.contains("\"u1\""), "{text}");
}

#[test]
fn streamed_calls_are_traced_once_the_stream_ends() {
    let (g, http) = traced_gateway();
    // The client does not ask for usage; the trace still carries it.
    let body = json!({"model": "mock-1", "stream": true, "messages": [{"role": "user", "content": "mail bob@example.com"}]});
    let r = send(&g, chat_req(Some(&token("u1", "authenticated")), &body));
    assert_eq!(r.status, 200);
    assert!(r.text().ends_with("data: [DONE]\n\n"), "{}", r.text());
    let sent = http.requests();
    assert_eq!(sent.len(), 1, "one ingestion batch");
    let text = String::from_utf8_lossy(&sent[0].body);
    assert!(!text.contains("bob@example.com"), "{text}");
    let batch: Value = serde_json::from_str(&text).unwrap();
    let generation = &batch["batch"][1]["body"];
    assert_eq!(generation["model"], "mock-1");
    assert!(
        generation["usage"]["output"].as_u64().unwrap_or(0) > 0,
        "{generation}"
    );
    assert!(
        !generation["output"].as_str().unwrap_or_default().is_empty(),
        "the assembled completion is the output: {generation}"
    );
}
