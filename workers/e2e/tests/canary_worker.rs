//! The canary-controller Worker in real workerd, sharing local KV with the
//! api Worker: a scheduled run starts the declared rollout, the api routes
//! users sticky by the canary percentage and records per-deployment
//! metrics, a healthy stage advances on the next run, and when the upstream
//! starts failing the next run rolls back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use edgeforge_e2e::{Loopback, WranglerDev, http_request_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SECRET: &str = "e2e-hs256-secret-that-is-long-enough-for-hs256";

/// An OpenAI-compatible upstream whose failure can be switched on.
fn switchable_upstream(fail: Arc<AtomicBool>) -> u16 {
    Loopback::start(move |_| {
        if fail.load(Ordering::SeqCst) {
            let body = json!({"error": {"message": "injected", "type": "server_error"}});
            (500, "application/json", body.to_string().into_bytes())
        } else {
            let body = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-canary",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
            (200, "application/json", body.to_string().into_bytes())
        }
    })
    .unwrap()
    .port()
}

fn token(sub: &str) -> String {
    #[allow(clippy::disallowed_methods)] // the test signs a real-time token
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "exp": now + 600});
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[test]
fn canary_advances_when_healthy_and_rolls_back_on_errors() {
    let fail = Arc::new(AtomicBool::new(false));
    let port = switchable_upstream(fail.clone());
    let mut cfg: Value = toml::from_str(edge_gateway::EXAMPLE_CONFIG).unwrap();
    cfg["router"]["providers"] = json!([{"name": "up", "kind": "openai", "base_url": format!("http://127.0.0.1:{port}/v1"),
        "api_key_secrets": ["UPSTREAM_KEY"], "regions": ["local"], "models": [{"name": "gpt-canary"}]}]);
    let stage = |percent: f64, min_requests: u64| {
        json!({"percent": percent, "min_duration_ms": 0,
        "max_error_rate": 0.1, "max_p95_ms": 5000.0, "min_requests": min_requests})
    };
    cfg["traffic"] = json!({
        "rollout": "r1", "canary_deployment": "v2", "metrics_flush_ms": 0,
        "canary": {"stages": [stage(50.0, 3), stage(75.0, 3), stage(100.0, 0)]},
    });
    cfg["security"]["rate_limits"]["quotas"]["authenticated"]["chat"] =
        json!({"limit": 1000, "window_secs": 60});
    let cfg = serde_json::to_string(&cfg).unwrap();
    let env = [
        ("GATEWAY_CONFIG", cfg.as_str()),
        ("JWT_HS256_SECRET", SECRET),
        ("UPSTREAM_KEY", "sk-e2e"),
    ];
    let shared = std::env::temp_dir().join(format!("edgeforge-e2e-canary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shared);
    let persist = shared.to_string_lossy().into_owned();
    let Some(api) = WranglerDev::start_with("api", &env, &["--persist-to", &persist])
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let Some(ctl) = WranglerDev::start_with(
        "canary-controller",
        &env,
        &["--persist-to", &persist, "--test-scheduled"],
    )
    .unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let cron = || {
        let r =
            http_request_with(ctl.port(), "GET", "/__scheduled?cron=*+*+*+*+*", &[], b"").unwrap();
        assert_eq!(r.status, 200, "{}", ctl.log_tail());
    };
    let status = || {
        http_request_with(api.port(), "GET", "/status", &[("user-agent", "e2e")], b"")
            .unwrap()
            .json()
            .unwrap()
    };
    let chat =
        json!({"model": "gpt-canary", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let traffic = |users: u32| -> Vec<(String, u16)> {
        (0..users)
            .map(|i| {
                let auth = format!("Bearer {}", token(&format!("user-{i}")));
                let r = http_request_with(
                    api.port(),
                    "POST",
                    "/v1/chat/completions",
                    &[
                        ("authorization", &auth),
                        ("content-type", "application/json"),
                        ("user-agent", "e2e"),
                    ],
                    chat.as_bytes(),
                )
                .unwrap();
                (r.header("x-deployment").unwrap_or("").to_owned(), r.status)
            })
            .collect()
    };
    // The api caches the rollout state for 5 s.
    let settle = || std::thread::sleep(Duration::from_millis(5_500));

    // The controller serves /health and the admin API behind Access only:
    // no chat, and no admin call without an Access assertion.
    let auth = format!("Bearer {}", token("user-x"));
    let on_ctl = |method: &str, path: &str, headers: &[(&str, &str)]| {
        http_request_with(ctl.port(), method, path, headers, chat.as_bytes()).unwrap()
    };
    let r = on_ctl("POST", "/v1/chat/completions", &[("authorization", &auth)]);
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let r = on_ctl("GET", "/admin/canary/r1", &[("authorization", &auth)]);
    assert_eq!(r.status, 403);
    assert_eq!(r.json().unwrap()["error"]["code"], "access_required");
    assert_eq!(on_ctl("GET", "/health", &[]).status, 200);

    cron(); // starts r1 at 50%
    settle();
    assert_eq!(status()["rollout"]["percent"], 50.0, "{}", api.log_tail());
    let served = traffic(20);
    let on_canary = served.iter().filter(|(d, _)| d == "v2").count();
    assert!(served.iter().all(|(_, s)| *s == 200), "{served:?}");
    assert!(
        (3..=17).contains(&on_canary),
        "{on_canary} of 20 on the canary"
    );

    // A real controller runs every minute; local KV shared between two
    // wrangler processes can serve a read from before the api's last flush,
    // so give the controller a few runs, as production would.
    let until = |want_percent: f64, want_status: &str| {
        let mut last = Value::Null;
        for _ in 0..5 {
            cron();
            settle();
            last = status();
            if last["rollout"]["percent"].as_f64() == Some(want_percent)
                && last["rollout"]["status"].as_str() == Some(want_status)
            {
                return;
            }
        }
        panic!("rollout never reached {want_percent}% {want_status}: {last}");
    };
    until(75.0, "running"); // healthy stage: 50% -> 75%

    fail.store(true, Ordering::SeqCst);
    let served = traffic(20);
    assert!(
        served.iter().any(|(d, s)| d == "v2" && *s >= 500),
        "{served:?}"
    );
    until(0.0, "rolled_back"); // errors on the canary: roll back
    fail.store(false, Ordering::SeqCst);
    let after = traffic(5);
    assert!(after.iter().all(|(d, _)| d == "stable"), "{after:?}");
    drop(ctl);
    drop(api);
    let _ = std::fs::remove_dir_all(&shared);
}
