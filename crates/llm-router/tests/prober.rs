//! The health prober writes records that routers read, and breaker state is
//! shared best-effort through KV.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use edge_ports::testing::block_on;
use edge_ports::{
    HttpError, KvStore, ListOptions, ManualClock, ManualTimer, MemoryKv, Scripted,
    ScriptedHttpClient, ScriptedResponse, SeededRandom,
};
use llm_router::prober::{HealthRecord, health_key, stats_prefix};
use llm_router::{
    BreakerState, ChatRequest, KvBreakerStore, Message, Ports, RequestContext, Router, RouterConfig,
};

const CONFIG: &str = r#"
    [regions]
    default = "us"
    [[providers]]
    name = "alpha"
    kind = "openai"
    base_url = "https://alpha.test/v1"
    api_key_secrets = ["ALPHA_KEY"]
    regions = ["us"]
    models = [{ name = "gpt" }]
    [[providers]]
    name = "beta"
    kind = "openai"
    base_url = "https://beta.test/v1"
    api_key_secrets = ["BETA_KEY"]
    regions = ["us"]
    models = [{ name = "gpt" }]
    [policy]
    strategy = "priority"
"#;

fn router(clock: &ManualClock, http: &ScriptedHttpClient, kv: &MemoryKv) -> Router {
    let secrets: HashMap<String, String> = [("ALPHA_KEY", "a"), ("BETA_KEY", "b")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    Router::new(
        RouterConfig::from_toml(CONFIG).unwrap(),
        Ports {
            http: Box::new(http.clone()),
            clock: Box::new(clock.clone()),
            timer: Box::new(ManualTimer::new(clock.clone())),
            random: Box::new(SeededRandom::new(1)),
            secrets: Box::new(secrets),
            kv: Some(Box::new(kv.clone())),
            breakers: Box::new(KvBreakerStore::new(kv.clone())),
        },
    )
    .unwrap()
}

fn ok_body() -> ScriptedResponse {
    ScriptedResponse::json(
        200,
        &serde_json::json!({"id": "c", "object": "chat.completion", "created": 1, "model": "gpt",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}),
    )
}

fn chat() -> ChatRequest {
    ChatRequest {
        model: "gpt".into(),
        messages: vec![Message::text("user", "x")],
        ..Default::default()
    }
}

#[test]
fn probe_writes_health_and_per_run_counters_without_read_modify_write() {
    let clock = ManualClock::new(1_700_000_000_000);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let kv = MemoryKv::new(clock.clone());
    let r = router(&clock, &http, &kv);
    http.delay("alpha.test", 120, ScriptedResponse::new(200));
    http.fail("beta.test", HttpError::Connect("refused".into()));
    let recs = block_on(r.probe(&kv));
    assert_eq!(recs.len(), 2);
    assert!(recs[0].ok && recs[0].latency_ms == 120);
    assert!(!recs[1].ok && recs[1].status.is_none());
    let reqs = http.requests();
    assert_eq!(reqs[0].uri, "https://alpha.test/v1/models");
    assert_eq!(reqs[0].headers["authorization"], "Bearer a");
    let stored: HealthRecord =
        serde_json::from_slice(&block_on(kv.get(&health_key("alpha"))).unwrap().unwrap()).unwrap();
    assert_eq!(stored, recs[0]);
    // A second run adds a second record instead of rewriting a counter.
    clock.advance_ms(60_000);
    http.push("alpha.test", ScriptedResponse::new(503));
    http.push("beta.test", ScriptedResponse::new(200));
    block_on(r.probe(&kv));
    let runs = block_on(kv.list(ListOptions::prefix(stats_prefix("alpha")))).unwrap();
    assert_eq!(runs.keys.len(), 2);
    let ok: u64 = runs
        .keys
        .iter()
        .map(|k| k.metadata.as_ref().unwrap()["ok"].as_u64().unwrap())
        .sum();
    assert_eq!(ok, 1);
}

#[test]
fn routers_skip_providers_the_prober_saw_down() {
    let clock = ManualClock::new(1_700_000_000_000);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let kv = MemoryKv::new(clock.clone());
    let prober = router(&clock, &http, &kv);
    http.fail("alpha.test", HttpError::Connect("refused".into()));
    http.push("beta.test", ScriptedResponse::new(200));
    block_on(prober.probe(&kv));
    // A fresh router (another isolate) reads the records on its first request.
    let r = router(&clock, &http, &kv);
    http.push("beta.test", ok_body());
    let out = block_on(r.chat(chat(), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert!(out.attempts.iter().all(|a| a.provider == "beta"));
}

#[test]
fn breaker_state_is_shared_through_kv() {
    let clock = ManualClock::new(1_700_000_000_000);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let kv = MemoryKv::new(clock.clone());
    let a = router(&clock, &http, &kv);
    http.fallback("alpha.test", Scripted::Respond(ScriptedResponse::new(500)));
    http.fallback("beta.test", Scripted::Respond(ok_body()));
    for _ in 0..4 {
        block_on(a.chat(chat(), &RequestContext::default())).unwrap();
    }
    assert!(matches!(
        a.breaker_state("alpha"),
        BreakerState::Open { .. }
    ));
    assert!(
        block_on(kv.get("router:breaker:alpha")).unwrap().is_some(),
        "the opening was published"
    );
    // Another isolate learns of the outage before sending alpha anything.
    let b = router(&clock, &http, &kv);
    let before = http.requests().len();
    let out = block_on(b.chat(chat(), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert_eq!(
        http.requests().len(),
        before + 1,
        "no request went to alpha"
    );
}
