//! The gateway's two cache tiers (issue 20, part 6): `/v1/models` and
//! prompt templates from the local tier, private completions in KV only,
//! and an admin purge that reaches every location's local tier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

mod common;
use common::*;

fn models(tok: &str, etag: Option<&str>) -> http::Request<Vec<u8>> {
    let mut b = http::Request::get("/v1/models").header("authorization", format!("Bearer {tok}"));
    if let Some(e) = etag {
        b = b.header("if-none-match", e);
    }
    b.body(Vec::new()).unwrap()
}

fn header<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn models_are_cached_per_location_with_an_etag_and_304s() {
    let h = harness("");
    let tok = token("alice");
    let first = send(&h, models(&tok, None));
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "x-cache-status"), Some("MISS"));
    let list: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(list["object"], "list");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "mock-1")
    );
    assert!(header(&first, "cache-control").unwrap().contains("max-age"));
    let etag = header(&first, "etag").unwrap().to_owned();

    // Another caller, another token: the same shared entry, from this
    // location's tier.
    let second = send(&h, models(&token("bob"), None));
    assert_eq!(
        (
            header(&second, "x-cache-status"),
            header(&second, "x-cache-tier")
        ),
        (Some("HIT"), Some("local"))
    );
    assert_eq!(second.body, first.body);
    let not_modified = send(&h, models(&tok, Some(&etag)));
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
}

#[test]
fn a_config_with_other_models_never_reads_the_old_list() {
    let h = harness("");
    let tok = token("alice");
    let old = send(&h, models(&tok, None));
    // The same KV (another deployment of the gateway), another model list.
    let extra = r#"
[[router.providers]]
name = "mock-two"
kind = "mock"
base_url = "http://mock-two.invalid/v1"
regions = ["local"]
models = [{ name = "another-model" }]
"#;
    let text = format!("{}\n{extra}", edge_gateway::EXAMPLE_CONFIG);
    let kv = h.kv.clone();
    let other = harness_with(&text, move |p| p.kv = kv);
    let new = send(&other, models(&tok, None));
    assert_eq!(header(&new, "x-cache-status"), Some("MISS"));
    assert_ne!(header(&new, "etag"), header(&old, "etag"));
    assert!(String::from_utf8_lossy(&new.body).contains("another-model"));
}

#[test]
fn private_completions_stay_out_of_the_local_tier_and_purges_reach_it() {
    let h = harness(
        "[[security.policy.routes]]\npattern = \"/admin/cache/purge\"\nmethods = [\"POST\"]\ntiers = [\"admin\"]\n",
    );
    let admin = token_with(
        json!({"sub": "ops", "iss": "edgeforge-dev", "aud": "edgeforge",
        "exp": T0 / 1000 + 3600, "tier": "admin"}),
    );
    let tok = token("alice");
    let body = json!({"model": "mock-1", "temperature": 0, "messages": [{"role": "user", "content": "hi"}]});
    send(&h, chat(&tok, body.to_string().into_bytes()));
    let again = send(&h, chat(&tok, body.to_string().into_bytes()));
    assert_eq!(header(&again, "x-cache-status"), Some("HIT"));
    assert!(h.local.is_empty(), "a per-user completion is in KV only");

    let template = |lang: &str| {
        http::Request::get("/api/prompts/templates/greeting")
            .header("accept-language", lang)
            .body(Vec::new())
            .unwrap()
    };
    send(&h, template("en"));
    assert_eq!(
        header(&send(&h, template("en")), "x-cache-tier"),
        Some("local")
    );
    // A prefix purge deletes KV entries; this and every other location's
    // local copies become unreachable through the purge epoch.
    let purge = http::Request::post("/admin/cache/purge")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(
            json!({"prefix": "cache:prompt-templates:"})
                .to_string()
                .into_bytes(),
        )
        .unwrap();
    let purged = send(&h, purge);
    assert_eq!(
        purged.status,
        200,
        "{}",
        String::from_utf8_lossy(&purged.body)
    );
    assert_eq!(
        header(&send(&h, template("en")), "x-cache-status"),
        Some("MISS")
    );
}
