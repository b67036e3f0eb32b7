//! The `api` Worker's WASM build in real workerd, in front of loopback mock
//! upstreams: chat (non-streamed and streamed), template caching, rate
//! limiting, authentication, threat blocking and provider fallback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;

use edgeforge_e2e::{HttpResponse, WranglerDev, http_request_chunked, http_request_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SECRET: &str = "e2e-hs256-secret-that-is-long-enough-for-hs256";

/// Starts a mock upstream on a free loopback port in a background thread.
fn mock_upstream(error_rate: f64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let config = mock_upstream::Config {
                error_rate,
                seed: Some(7),
                ..mock_upstream::Config::default()
            };
            let _ = mock_upstream::serve(listener, config, std::future::pending()).await;
        });
    });
    port
}

fn config(primary: u16, broken: u16) -> String {
    let mut cfg: Value = toml::from_str(edge_gateway::EXAMPLE_CONFIG).unwrap();
    let provider = |name: &str, port: u16, model: &str| {
        json!({
            "name": name, "kind": "openai", "base_url": format!("http://127.0.0.1:{port}/v1"),
            "api_key_secrets": ["UPSTREAM_KEY"], "regions": ["local"], "models": [{"name": model}],
        })
    };
    cfg["router"]["providers"] = json!([
        provider("primary", primary, "gpt-e2e"),
        provider("broken", broken, "gpt-flaky"),
        provider("fallback", primary, "gpt-flaky"),
    ]);
    cfg["router"]["policy"] = json!({"strategy": "priority"});
    cfg["security"]["rate_limits"]["quotas"]["anonymous"]["read"] =
        json!({"limit": 5, "window_secs": 60});
    serde_json::to_string(&cfg).unwrap()
}

fn token(sub: &str) -> String {
    #[allow(clippy::disallowed_methods)] // the test signs a real-time token
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "exp": now + 600, "iat": now});
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[test]
fn api_worker_in_workerd() {
    let primary = mock_upstream(0.0);
    let broken = mock_upstream(1.0);
    let cfg = config(primary, broken);
    let env = [
        ("GATEWAY_CONFIG", cfg.as_str()),
        ("JWT_HS256_SECRET", SECRET),
        ("UPSTREAM_KEY", "sk-e2e-not-a-real-key"),
    ];
    let dev = match WranglerDev::start_with("api", &env, &[]) {
        Ok(Some(dev)) => dev,
        Ok(None) => return, // skipped, with the reason printed
        Err(e) => panic!("{e}"),
    };
    let port = dev.port();
    let call = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| -> HttpResponse {
        let mut h = vec![("user-agent", "edgeforge-e2e/1.0")];
        h.extend_from_slice(headers);
        http_request_with(port, method, path, &h, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", dev.log_tail()))
    };
    let code = |r: &HttpResponse| {
        r.json().unwrap()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // Health reports the version this workspace built.
    let r = call("GET", "/health", &[], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json().unwrap()["version"], env!("CARGO_PKG_VERSION"));
    assert!(r.header("x-request-id").is_some());

    // Chat, not streamed.
    let tok = token("e2e-user");
    let auth = format!("Bearer {tok}");
    let json_ct = ("content-type", "application/json");
    let chat = json!({"model": "gpt-e2e", "messages": [{"role": "user", "content": "hello"}]});
    let r = call(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth), json_ct],
        chat.to_string().as_bytes(),
    );
    assert_eq!(
        r.status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&r.body),
        dev.log_tail()
    );
    let v = r.json().unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(
        !v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(r.header("x-edge-provider"), Some("primary"));
    assert!(
        r.header("server-timing")
            .unwrap()
            .contains("ratelimit;dur=")
    );

    // Chat, streamed: SSE frames ending in [DONE].
    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    let r = call(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth), json_ct],
        streamed.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(text.matches("data: {").count() >= 2, "{text}");

    // The primary provider for gpt-flaky answers 500: the fallback answers.
    let flaky = json!({"model": "gpt-flaky", "messages": [{"role": "user", "content": "hi"}]});
    let r = call(
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth), json_ct],
        flaky.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-edge-provider"), Some("fallback"));

    // A second identical template request is a cache HIT.
    let a = call("GET", "/api/prompts/templates/greeting", &[], b"");
    assert_eq!((a.status, a.header("x-cache-status")), (200, Some("MISS")));
    let b = call("GET", "/api/prompts/templates/greeting", &[], b"");
    assert_eq!((b.status, b.header("x-cache-status")), (200, Some("HIT")));
    assert_eq!(a.body, b.body);

    // Missing JWT: 401. A bad Access token on admin: 403.
    let r = call(
        "POST",
        "/v1/chat/completions",
        &[json_ct],
        chat.to_string().as_bytes(),
    );
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "authentication_required")
    );
    let r = call(
        "GET",
        "/admin/features",
        &[("cf-access-jwt-assertion", "not-a-token")],
        b"",
    );
    assert_eq!((r.status, code(&r).as_str()), (403, "invalid_access_token"));

    // SQLi in a query parameter: 403.
    let r = call("GET", "/v1/models?id=1%27%20OR%20%271%27%3D%271", &[], b"");
    assert_eq!((r.status, code(&r).as_str()), (403, "threat_detected"));

    // A body over the limit is refused while it is read, with no
    // Content-Length to trust (chunked).
    let mib = vec![b' '; 256 * 1024];
    let r = http_request_chunked(
        port,
        "POST",
        "/v1/chat/completions",
        &[("authorization", &auth), json_ct],
        &[&mib, &mib, &mib, &mib, b"  "],
    )
    .unwrap();
    assert_eq!((r.status, code(&r).as_str()), (413, "body_too_large"));

    // Issue 18's worst body shape (a 512 KiB key over ~170k strings, no
    // credentials) is refused without scanning past the budget, and the
    // Worker keeps serving.
    let mut hostile = format!("{{\"{}\":[", "k".repeat(512 * 1024)).into_bytes();
    while hostile.len() < (1 << 20) - 8 {
        hostile.extend_from_slice(b"\"\",");
    }
    hostile.extend_from_slice(b"\"\"]}");
    let r = call("POST", "/v1/chat/completions", &[json_ct], &hostile);
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "authentication_required")
    );
    assert!(
        r.header("server-timing")
            .is_some_and(|t| t.contains("scan-truncated")),
        "{:?}",
        r.header("server-timing")
    );
    assert_eq!(call("GET", "/health", &[], b"").status, 200);

    // Over the limit (anonymous read: 5 per minute, exact in the Durable
    // Object): 429 with Retry-After. The key is the client's network, so a
    // new User-Agent buys nothing: the two template reads above count.
    let ua = [("user-agent", "edgeforge-e2e-limit/1.0")];
    let statuses: Vec<u16> = (0..6)
        .map(|_| {
            http_request_with(port, "GET", "/v1/models", &ua, b"")
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429, 429],
        "{}",
        dev.log_tail()
    );
    let r = http_request_with(port, "GET", "/v1/models", &ua, b"").unwrap();
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.json().unwrap()["error"]["type"], "rate_limit_error");
}
