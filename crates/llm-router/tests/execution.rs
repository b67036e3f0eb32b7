//! Routing and execution under ManualClock: fallback, retries, Retry-After,
//! deadlines, key rotation, breakers, streaming fallback, residency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use edge_ports::testing::block_on;
use edge_ports::{
    Clock, HttpError, ManualClock, ManualTimer, Scripted, ScriptedHttpClient, ScriptedResponse,
    SeededRandom,
};
use llm_router::{
    BreakerState, ChatRequest, ErrorClass, LocalOnly, Message, OutcomeBody, Ports, RequestContext,
    Router, RouterConfig, RouterError,
};
use serde_json::json;

const CONFIG: &str = r#"
    [regions]
    default = "us"
    continents = { EU = "eu" }

    [[providers]]
    name = "alpha"
    kind = "openai"
    base_url = "https://alpha.test/v1"
    api_key_secrets = ["ALPHA_KEY_1", "ALPHA_KEY_2"]
    regions = ["us", "eu"]
    models = [{ name = "gpt", input_per_mtok = 1.0, output_per_mtok = 2.0 }]

    [[providers]]
    name = "beta"
    kind = "anthropic"
    base_url = "https://beta.test/v1"
    api_key_secrets = ["BETA_KEY"]
    regions = ["us", "eu"]
    gdpr_compliant = true
    models = [{ name = "gpt", upstream = "claude", input_per_mtok = 3.0, output_per_mtok = 15.0 }]

    [policy]
    strategy = "priority"

    [retry]
    max_retries = 1
    backoff_base_ms = 100
    backoff_cap_ms = 1000
    fallback_statuses = [429, 500, 502, 503, 504, 529]
    connect_timeout_ms = 2000
    first_token_timeout_ms = 1000
    total_timeout_ms = 5000
    deadline_ms = 10000
    max_retry_after_ms = 5000
    default_max_tokens = 1024
    auth_failure_cooldown_ms = 60000
"#;

struct Fx {
    clock: ManualClock,
    http: ScriptedHttpClient,
    router: Router,
}

fn fx(config: &str) -> Fx {
    let clock = ManualClock::new(1_700_000_000_000);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let secrets: HashMap<String, String> = [
        ("ALPHA_KEY_1", "sk-alpha-one"),
        ("ALPHA_KEY_2", "sk-alpha-two"),
        ("BETA_KEY", "sk-ant-beta"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let router = Router::new(
        RouterConfig::from_toml(config).unwrap(),
        Ports {
            http: Box::new(http.clone()),
            clock: Box::new(clock.clone()),
            timer: Box::new(ManualTimer::new(clock.clone())),
            random: Box::new(SeededRandom::new(7)),
            secrets: Box::new(secrets),
            kv: None,
            breakers: Box::new(LocalOnly),
        },
    )
    .unwrap();
    Fx {
        clock,
        http,
        router,
    }
}

fn req(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "gpt".into(),
        messages: vec![Message::text("user", "hello")],
        stream: Some(stream),
        ..Default::default()
    }
}

fn openai_ok(text: &str) -> ScriptedResponse {
    ScriptedResponse::json(
        200,
        &json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
    )
}

fn anthropic_ok(text: &str) -> ScriptedResponse {
    ScriptedResponse::json(
        200,
        &json!({"id": "msg", "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "output_tokens": 5}}),
    )
}

fn text_of(out: &llm_router::ChatOutcome) -> String {
    match &out.body {
        OutcomeBody::Complete { response, .. } => response.choices[0].message.text_content(),
        OutcomeBody::Stream(_) => panic!("expected a complete response"),
    }
}

#[test]
fn primary_500_falls_back_and_records_attempts() {
    let f = fx(CONFIG);
    f.http.push(
        "alpha.test",
        ScriptedResponse::json(500, &json!({"error": {"message": "boom"}})),
    );
    f.http.push(
        "alpha.test",
        ScriptedResponse::json(503, &json!({"error": {"message": "still down"}})),
    );
    f.http.push("beta.test", anthropic_ok("from beta"));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert_eq!(text_of(&out), "from beta");
    let summary: Vec<(&str, Option<u16>, Option<ErrorClass>)> = out
        .attempts
        .iter()
        .map(|a| (a.provider.as_str(), a.status, a.error))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alpha", Some(500), Some(ErrorClass::Server)),
            ("alpha", Some(503), Some(ErrorClass::Server)),
            ("beta", Some(200), None)
        ]
    );
    if let OutcomeBody::Complete { cost_usd, .. } = out.body {
        assert!((cost_usd - (10.0 * 3.0 + 5.0 * 15.0) / 1e6).abs() < 1e-12);
    }
    assert_eq!(out.decision.len(), 2);
    assert!(out.decision[0].contains("score"), "{}", out.decision[0]);
}

#[test]
fn retry_after_is_honoured() {
    let f = fx(CONFIG);
    // Both keys rate-limited, then a retry after Retry-After succeeds.
    f.http.push(
        "alpha.test",
        ScriptedResponse::json(429, &json!({"error": {"message": "slow down"}}))
            .header("retry-after", "2"),
    );
    f.http.push(
        "alpha.test",
        ScriptedResponse::json(429, &json!({"error": {"message": "slow down"}}))
            .header("retry-after", "2"),
    );
    f.http.push("alpha.test", openai_ok("after wait"));
    let t0 = f.clock.now_ms();
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(text_of(&out), "after wait");
    assert!(
        f.clock.now_ms() - t0 >= 2_000,
        "waited {} ms",
        f.clock.now_ms() - t0
    );
    let keys: Vec<usize> = out.attempts.iter().map(|a| a.key_index).collect();
    assert_eq!(keys.len(), 3);
    assert_ne!(keys[0], keys[1], "a 429 rotates to the next key first");
    let sent: Vec<String> = f
        .http
        .requests()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_ne!(sent[0], sent[1]);
}

#[test]
fn long_retry_after_falls_back_instead_of_waiting() {
    let f = fx(CONFIG);
    for _ in 0..2 {
        f.http.push(
            "alpha.test",
            ScriptedResponse::new(429).header("retry-after", "60"),
        );
    }
    f.http.push("beta.test", anthropic_ok("beta"));
    let t0 = f.clock.now_ms();
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert!(f.clock.now_ms() - t0 < 1_000);
}

#[test]
fn deadline_is_respected() {
    let f = fx(CONFIG);
    f.http.fallback(
        "alpha.test",
        Scripted::Delay {
            ms: 1_500,
            then: Box::new(Scripted::Respond(ScriptedResponse::new(503))),
        },
    );
    f.http.fallback(
        "beta.test",
        Scripted::Delay {
            ms: 1_500,
            then: Box::new(Scripted::Respond(ScriptedResponse::new(503))),
        },
    );
    let t0 = f.clock.now_ms();
    let ctx = RequestContext {
        deadline_ms: Some(2_500),
        ..Default::default()
    };
    let err = block_on(f.router.chat(req(false), &ctx)).unwrap_err();
    let elapsed = f.clock.now_ms() - t0;
    assert!(
        elapsed <= 2_500,
        "took {elapsed} ms past a 2500 ms deadline"
    );
    assert_eq!(err.status(), 502);
    let body = err.to_json();
    assert!(body["error"]["attempts"].as_array().unwrap().len() >= 2);
}

#[test]
fn header_timeout_is_a_retryable_failure() {
    let f = fx(CONFIG);
    f.http.delay("alpha.test", 5_000, openai_ok("too late"));
    f.http.delay("alpha.test", 5_000, openai_ok("too late"));
    f.http.push("beta.test", anthropic_ok("beta"));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert_eq!(out.attempts[0].error, Some(ErrorClass::Timeout));
}

#[test]
fn client_errors_are_not_retried_elsewhere() {
    let f = fx(CONFIG);
    f.http.push(
        "alpha.test",
        ScriptedResponse::json(400, &json!({"error": {"message": "bad tool schema"}})),
    );
    f.http.push("beta.test", anthropic_ok("never"));
    let err = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("bad tool schema"));
    assert_eq!(f.http.remaining("beta.test"), 1, "no fallback for a 400");
}

#[test]
fn auth_failure_rotates_key_then_marks_unhealthy() {
    let f = fx(CONFIG);
    f.http.push("alpha.test", ScriptedResponse::new(401));
    f.http.push("alpha.test", openai_ok("second key works"));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(text_of(&out), "second key works");
    // Both keys rejected: the provider is skipped for the cooldown.
    f.http.push("alpha.test", ScriptedResponse::new(401));
    f.http.push("alpha.test", ScriptedResponse::new(403));
    f.http.push("beta.test", anthropic_ok("beta"));
    f.http.push("beta.test", anthropic_ok("beta again"));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    assert!(
        out.attempts.iter().all(|a| a.provider == "beta"),
        "alpha is skipped while unhealthy"
    );
}

#[test]
fn errors_never_contain_keys() {
    let f = fx(CONFIG);
    f.http.fallback(
        "alpha.test",
        Scripted::Respond(ScriptedResponse::json(
            500,
            &json!({"error": {"message": "internal"}}),
        )),
    );
    f.http.fallback(
        "beta.test",
        Scripted::Fail(HttpError::Connect("refused".into())),
    );
    let err = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap_err();
    let text = err.to_json().to_string();
    for key in ["sk-alpha-one", "sk-alpha-two", "sk-ant-beta"] {
        assert!(!text.contains(key), "key leaked: {text}");
    }
    assert!(matches!(err, RouterError::AllFailed { .. }));
    assert_eq!(err.status(), 502);
}

#[test]
fn breaker_opens_and_skips_then_probes() {
    let f = fx(CONFIG);
    f.http
        .fallback("alpha.test", Scripted::Respond(ScriptedResponse::new(500)));
    f.http
        .fallback("beta.test", Scripted::Respond(anthropic_ok("beta")));
    // Default threshold: 8 consecutive failures = 4 requests x (1 try + 1 retry).
    for _ in 0..4 {
        block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    }
    assert!(matches!(
        f.router.breaker_state("alpha"),
        BreakerState::Open { .. }
    ));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert!(
        out.attempts.iter().all(|a| a.provider == "beta"),
        "an open breaker is skipped: {:?}",
        out.attempts
    );
    f.clock.advance_ms(30_000);
    assert_eq!(f.router.breaker_state("alpha"), BreakerState::HalfOpen);
    f.http.push("alpha.test", openai_ok("recovered"));
    let out = block_on(f.router.chat(req(false), &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "alpha");
    assert_eq!(f.router.breaker_state("alpha"), BreakerState::Closed);
}

#[test]
fn stream_error_as_first_event_falls_back() {
    let f = fx(CONFIG);
    let err_event = "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
    f.http.push(
        "alpha.test",
        ScriptedResponse::new(200)
            .header("content-type", "text/event-stream")
            .body(err_event),
    );
    f.http.push(
        "alpha.test",
        ScriptedResponse::new(200)
            .header("content-type", "text/event-stream")
            .body(err_event),
    );
    let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    f.http.push(
        "beta.test",
        ScriptedResponse::new(200)
            .header("content-type", "text/event-stream")
            .chunk(&anthropic[..50])
            .chunk(&anthropic[50..]),
    );
    let mut r = req(true);
    r.stream_options = Some(llm_router::StreamOptions {
        include_usage: true,
    });
    let out = block_on(f.router.chat(r, &RequestContext::default())).unwrap();
    assert_eq!(out.provider, "beta");
    let OutcomeBody::Stream(s) = out.body else {
        panic!("expected a stream")
    };
    let text = String::from_utf8(block_on(s.collect())).unwrap();
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert!(
        frames.iter().all(|f| f.starts_with("data: ")),
        "SSE framing: {text}"
    );
    assert_eq!(*frames.last().unwrap(), "data: [DONE]");
    assert!(text.contains("\"content\":\"Hi\""));
    assert!(text.contains("\"finish_reason\":\"stop\""));
    assert!(
        text.contains("\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}")
    );
}

#[test]
fn stalled_stream_before_first_token_falls_back() {
    let f = fx(CONFIG);
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"},\"finish_reason\":null}]}\n\n";
    // Headers arrive at once, the first event only after 5 s (> first_token_timeout 1 s).
    for _ in 0..2 {
        f.http.push(
            "alpha.test",
            ScriptedResponse::new(200).chunk_after(5_000, first),
        );
    }
    let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    f.http
        .push("beta.test", ScriptedResponse::new(200).body(anthropic));
    let r = req(true);
    // Scripted reads are instantaneous, so each stalled attempt costs the
    // whole 5 s of virtual time: give the request room for both.
    let ctx = RequestContext {
        deadline_ms: Some(60_000),
        ..Default::default()
    };
    let out = block_on(f.router.chat(r, &ctx)).unwrap();
    assert_eq!(out.provider, "beta");
    assert_eq!(out.attempts[0].error, Some(ErrorClass::Timeout));
    assert_eq!(
        out.attempts[0].detail.as_deref(),
        Some("no first token in time")
    );
}

#[test]
fn mid_stream_failure_ends_with_an_error_event() {
    let f = fx(CONFIG);
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
    f.http.push(
        "alpha.test",
        ScriptedResponse::new(200)
            .chunk(first)
            .fail_body("connection reset"),
    );
    let out = block_on(f.router.chat(req(true), &RequestContext::default())).unwrap();
    let OutcomeBody::Stream(s) = out.body else {
        panic!("expected a stream")
    };
    let text = String::from_utf8(block_on(s.collect())).unwrap();
    assert!(text.contains("Hel"));
    assert!(text.contains("upstream_stream_error"), "{text}");
    assert!(
        !text.contains("[DONE]"),
        "a failed stream must not look complete"
    );
}

#[test]
fn eu_residency_uses_only_gdpr_providers() {
    let f = fx(&CONFIG.replace(
        "[policy]\n    strategy = \"priority\"",
        "[policy]\n    strategy = \"priority\"\n    data_residency = true",
    ));
    f.http.push("beta.test", anthropic_ok("gdpr"));
    let ctx = RequestContext {
        continent: Some("EU".into()),
        country: Some("DE".into()),
        ..Default::default()
    };
    let out = block_on(f.router.chat(req(false), &ctx)).unwrap();
    assert_eq!(out.provider, "beta");
    assert_eq!(
        out.decision.len(),
        1,
        "alpha is not GDPR-compliant: {:?}",
        out.decision
    );
    // Outside the EU both are eligible.
    f.http.push("alpha.test", openai_ok("us"));
    let out = block_on(f.router.chat(
        req(false),
        &RequestContext {
            continent: Some("NA".into()),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(out.provider, "alpha");
}

#[test]
fn invalid_requests_and_unknown_models() {
    let f = fx(CONFIG);
    let mut r = req(false);
    r.temperature = Some(3.0);
    let e = block_on(f.router.chat(r, &RequestContext::default())).unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(e.to_json()["error"]["param"], "temperature");
    let mut r = req(false);
    r.messages.clear();
    assert_eq!(
        block_on(f.router.chat(r, &RequestContext::default()))
            .unwrap_err()
            .status(),
        400
    );
    let mut r = req(false);
    r.model = "nope".into();
    let e = block_on(f.router.chat(r, &RequestContext::default())).unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(e.to_json()["error"]["code"], "model_not_found");
}
