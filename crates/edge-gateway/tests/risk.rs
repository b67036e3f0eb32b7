//! What was built but not on the request path (issue 20, part 5): the risk
//! score and its thresholds, Turnstile challenges on browser routes and
//! their clearance, Slack alerts for high-severity events, and sealed
//! private completions and event details at rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use edge_ports::testing::block_on;
use edge_ports::{KvStore, ListOptions, ScriptedHttpClient, ScriptedResponse};
use serde_json::{Value, json};

mod common;
use common::*;

const KEYRING: &str = r#"{"active": 2, "keys": {"1": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "2": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"}}"#;

const TURNSTILE: &str = r#"
[security.turnstile]
site_key = "0x4AAAAAAA-test-site-key"
secret = "TURNSTILE_SECRET"
browser_paths = ["/api/prompts/templates/*"]
"#;

fn with_http(extra: &str, http: &ScriptedHttpClient) -> Harness {
    let text = format!("{}\n{extra}", edge_gateway::EXAMPLE_CONFIG);
    let http = http.clone();
    harness_with(&text, move |p| {
        p.http = Arc::new(http);
        p.secrets = Arc::new(HashMap::from([
            ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
            ("TURNSTILE_SECRET".to_string(), "ts-secret".to_string()),
            ("ENVELOPE_KEYRING".to_string(), KEYRING.to_string()),
            (
                "SECURITY_SLACK".to_string(),
                "https://hooks.slack.com/services/T/B/sec".to_string(),
            ),
        ]));
    })
}

fn from(ip: &str) -> edge_gateway::RequestContext {
    edge_gateway::RequestContext {
        client_ip: Some(ip.to_owned()),
        ..edge_gateway::RequestContext::default()
    }
}

/// A bare Chrome User-Agent, none of a browser's other headers: a bot
/// score of 20 on a browser route (challenge below 30).
fn headless_page(path: &str, cookie: Option<&str>) -> http::Request<Vec<u8>> {
    let mut b = http::Request::get(path)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
        )
        .header("accept", "text/html,application/xhtml+xml");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Vec::new()).unwrap()
}

#[test]
fn a_bot_challenge_on_a_browser_route_is_a_turnstile_page_that_clears_the_client() {
    let http = ScriptedHttpClient::new();
    http.push(
        "challenges.cloudflare.com",
        ScriptedResponse::json(200, &json!({"success": false})),
    );
    http.push(
        "challenges.cloudflare.com",
        ScriptedResponse::json(200, &json!({"success": true})),
    );
    let h = with_http(TURNSTILE, &http);
    let r = send_ctx(
        &h,
        headless_page("/api/prompts/templates/greeting", None),
        from("203.0.113.5"),
    );
    assert_eq!(r.status, 403);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8_lossy(&r.body);
    assert!(
        page.contains("class=\"cf-turnstile\"") && page.contains("0x4AAAAAAA-test-site-key"),
        "{page}"
    );
    assert!(page.contains("value=\"/api/prompts/templates/greeting\""));
    // An API route gets JSON: an SDK cannot solve a widget.
    let api = http::Request::get("/v1/models")
        .header("user-agent", "sqlmap-free but curl/8")
        .body(Vec::new())
        .unwrap();
    assert_ne!(
        send_ctx(&h, api, from("203.0.113.5")).headers["content-type"],
        "text/html; charset=utf-8"
    );
    // A wrong token is refused; a right one clears the client's network.
    let post = |token: &str| {
        http::Request::post("/__edgeforge/challenge")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("cf-turnstile-response={token}&return_to=%2Fapi%2Fprompts%2Ftemplates%2Fgreeting").into_bytes())
            .unwrap()
    };
    expect_error(
        &send_ctx(&h, post("bad"), from("203.0.113.5")),
        403,
        "challenge_failed",
        "wrong token",
    );
    let r = send_ctx(&h, post("good"), from("203.0.113.5"));
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/api/prompts/templates/greeting");
    let cookie = r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let sent = http.requests();
    assert_eq!(sent.len(), 2);
    assert!(String::from_utf8_lossy(&sent[1].body).contains("secret=ts-secret"));
    let r = send_ctx(
        &h,
        headless_page("/api/prompts/templates/greeting", Some(&cookie)),
        from("203.0.113.5"),
    );
    assert_eq!(
        r.status, 200,
        "the clearance admits the network that solved the challenge"
    );
    let elsewhere = send_ctx(
        &h,
        headless_page("/api/prompts/templates/greeting", Some(&cookie)),
        from("198.51.100.9"),
    );
    assert_eq!(
        elsewhere.status, 403,
        "a clearance is not portable to another network"
    );
    let forged = send_ctx(
        &h,
        headless_page(
            "/api/prompts/templates/greeting",
            Some("ef_clearance=99999999999.00"),
        ),
        from("203.0.113.5"),
    );
    assert_eq!(forged.status, 403);
}

#[test]
fn the_risk_score_logs_challenges_and_blocks_at_its_thresholds() {
    let http = ScriptedHttpClient::new();
    let h = with_http(
        "[security.risk]\nlog_at = 5\nchallenge_at = 20\nblock_at = 25\n",
        &http,
    );
    let models = |ua: &str| {
        http::Request::get("/v1/models")
            .header("user-agent", ua)
            .body(Vec::new())
            .unwrap()
    };
    // Unauthenticated alone: 5 points, logged with its reasons.
    let r = send_ctx(&h, models("OpenAI/Python 1.54.0"), from("192.0.2.10"));
    assert_eq!(r.status, 200);
    assert!(
        r.headers["server-timing"]
            .to_str()
            .unwrap()
            .contains("risk;dur=0;desc=\"5 low\"")
    );
    // Five refused requests from the network raise it to a challenge
    // (an API route: a JSON 403).
    for _ in 0..5 {
        let r = send_ctx(&h, chat("not.a.token", b"{}".to_vec()), from("192.0.2.10"));
        assert_eq!(r.status, 401);
    }
    let r = send_ctx(&h, models("OpenAI/Python 1.54.0"), from("192.0.2.10"));
    expect_error(&r, 403, "risk_challenge", "risky");
    // The same network from an unknown country adds 5 more: blocked.
    let tor = edge_gateway::RequestContext {
        country: Some("XX".into()),
        ..from("192.0.2.10")
    };
    expect_error(
        &send_ctx(&h, models("OpenAI/Python 1.54.0"), tor),
        403,
        "risk_blocked",
        "risk above block_at",
    );
    // Another network is unaffected.
    assert_eq!(
        send_ctx(&h, models("OpenAI/Python 1.54.0"), from("192.0.2.77")).status,
        200
    );
    let kinds: Vec<Value> = block_on(async {
        let page = h.kv.list(ListOptions::prefix("sec:")).await.unwrap();
        let mut out = Vec::new();
        for k in page.keys {
            out.push(serde_json::from_slice(&h.kv.get(&k.name).await.unwrap().unwrap()).unwrap());
        }
        out
    });
    assert!(
        kinds
            .iter()
            .any(|e| e["kind"] == "risk" && e["details"]["action"] == "challenged"),
        "{kinds:#?}"
    );
    assert!(
        kinds
            .iter()
            .any(|e| e["kind"] == "risk" && e["details"]["action"] == "blocked"),
        "an escalation is not folded into the minute's earlier events: {kinds:#?}"
    );
}

#[test]
fn private_completions_and_event_details_are_sealed_at_rest_and_alerts_reach_slack() {
    let http = ScriptedHttpClient::new();
    http.push("hooks.slack.com", ScriptedResponse::new(200).body("ok"));
    let h = with_http(
        "[security.encryption]\nkeyring_secret = \"ENVELOPE_KEYRING\"\n[security.alerts]\nslack_webhook_secret = \"SECURITY_SLACK\"\n",
        &http,
    );
    let tok = token("alice");
    let body = json!({"model": "mock-1", "temperature": 0, "messages": [{"role": "user", "content": "the plaintext marker"}]}).to_string();
    let first = send(&h, chat(&tok, body.clone().into_bytes()));
    assert_eq!(
        (
            first.status,
            first.headers["x-cache-status"].to_str().unwrap()
        ),
        (200, "MISS")
    );
    let second = send(&h, chat(&tok, body.into_bytes()));
    assert_eq!(second.headers["x-cache-status"], "HIT");
    assert_eq!(first.body, second.body);
    let stored = kv_text(&h, "cache:chat-completions:");
    assert!(!stored.is_empty());
    assert!(
        !stored.contains("plaintext marker") && !stored.contains("mock reply"),
        "{stored}"
    );
    // A high-severity event: sealed details in KV, one Slack message.
    let r = send_ctx(
        &h,
        http::Request::get("/v1/models?q=1%27%20OR%20%271%27%3D%271")
            .body(Vec::new())
            .unwrap(),
        from("192.0.2.50"),
    );
    assert_eq!(r.status, 403);
    let raw = kv_text(&h, "sec:");
    assert!(
        raw.contains("sealed:v1:") && !raw.contains("'1'='1"),
        "{raw}"
    );
    let slack: Vec<_> = http
        .requests()
        .into_iter()
        .filter(|r| r.uri.contains("hooks.slack.com"))
        .collect();
    assert_eq!(slack.len(), 1);
    assert!(String::from_utf8_lossy(&slack[0].body).contains("threat_blocked"));
}
