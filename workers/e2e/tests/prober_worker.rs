//! The health-prober Worker in real workerd, sharing local KV with the api
//! Worker: a prober run through `/__scheduled` writes health that the api's
//! router then uses in its ranking (a dead provider stops being tried).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::time::Duration;

use edgeforge_e2e::{WranglerDev, http_request_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SECRET: &str = "e2e-hs256-secret-that-is-long-enough-for-hs256";

fn mock_upstream() -> u16 {
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
            let _ = mock_upstream::serve(
                listener,
                mock_upstream::Config::default(),
                std::future::pending(),
            )
            .await;
        });
    });
    port
}

/// A loopback port with nothing listening.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn token() -> String {
    #[allow(clippy::disallowed_methods)] // the test signs a real-time token
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims =
        json!({"sub": "prober-e2e", "iss": "edgeforge-dev", "aud": "edgeforge", "exp": now + 600});
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[test]
fn prober_health_steers_the_api_ranking() {
    let alive = mock_upstream();
    let dead = dead_port();
    let mut cfg: Value = toml::from_str(edge_gateway::EXAMPLE_CONFIG).unwrap();
    let provider = |name: &str, port: u16| {
        json!({"name": name, "kind": "openai", "base_url": format!("http://127.0.0.1:{port}/v1"),
               "api_key_secrets": ["UPSTREAM_KEY"], "regions": ["local"], "models": [{"name": "gpt-health"}]})
    };
    cfg["router"]["providers"] = json!([provider("dead", dead), provider("alive", alive)]);
    cfg["router"]["policy"] = json!({"strategy": "priority"});
    let cfg = serde_json::to_string(&cfg).unwrap();
    let env = [
        ("GATEWAY_CONFIG", cfg.as_str()),
        ("JWT_HS256_SECRET", SECRET),
        ("UPSTREAM_KEY", "sk-e2e-not-a-real-key"),
    ];
    let shared = std::env::temp_dir().join(format!("edgeforge-e2e-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shared);
    let persist = shared.to_string_lossy().into_owned();
    let args = ["--persist-to", persist.as_str()];
    let Some(api) = WranglerDev::start_with("api", &env, &args).unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let prober_args = ["--persist-to", persist.as_str(), "--test-scheduled"];
    let Some(prober) = WranglerDev::start_with("health-prober", &env, &prober_args)
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let auth = format!("Bearer {}", token());
    let chat =
        json!({"model": "gpt-health", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let ask = || {
        http_request_with(
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
        .unwrap_or_else(|e| panic!("{e}\n{}", api.log_tail()))
    };

    // Before any probe: the dead provider is first in priority order and is
    // tried, then the live one answers.
    let r = ask();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-edge-provider"), Some("alive"));
    let attempts: u32 = r.header("x-edge-attempts").unwrap().parse().unwrap();
    assert!(
        attempts >= 2,
        "the dead provider was not tried first ({attempts} attempts)"
    );

    // A cron run of the prober writes the health records.
    let r = http_request_with(
        prober.port(),
        "GET",
        "/__scheduled?cron=*+*+*+*+*",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(
        r.status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&r.body),
        prober.log_tail()
    );
    // The prober serves /health and nothing else: probing and the SLO step
    // cannot be triggered from outside.
    for path in ["/probe", "/slo", "/v1/chat/completions"] {
        let r = http_request_with(prober.port(), "GET", path, &[], b"").unwrap();
        assert_eq!(r.status, 404, "{path}");
    }
    assert_eq!(
        http_request_with(prober.port(), "GET", "/health", &[], b"")
            .unwrap()
            .status,
        200
    );

    // The api re-reads health every 10 s (the read may land one request
    // later, and local KV shared by two processes can lag); after that the
    // dead provider is skipped.
    std::thread::sleep(Duration::from_secs(10));
    let mut seen = Vec::new();
    for _ in 0..8 {
        let r = ask();
        assert_eq!(r.status, 200);
        let answer = (
            r.header("x-edge-provider").map(str::to_owned),
            r.header("x-edge-attempts").map(str::to_owned),
        );
        if answer == (Some("alive".into()), Some("1".into())) {
            break;
        }
        seen.push(answer);
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        seen.len() < 8,
        "the dead provider is still tried: {seen:?}\n{}",
        api.log_tail()
    );
    drop(prober);
    drop(api);
    let _ = std::fs::remove_dir_all(&shared);
}
