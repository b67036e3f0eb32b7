//! Flags and experiments on the request path: an experiment created
//! through the admin API splits the model between two providers; the loop
//! rolls back an arm with a 3x error rate; sticky buckets keep a user in
//! their arm; bad experiments get a 400 that names the field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arc_with_non_send_sync
)]

mod common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use edge_ports::http::{Body, HttpClient, SendOptions};
use edge_ports::testing::block_on;
use edge_ports::{HttpError, MemoryAnalytics};
use serde_json::{Value, json};

/// Two providers, each the only one serving its model (OpenAI-shaped, over
/// the HTTP port: the in-memory ports answer with the mock provider).
const PROVIDERS: &str = r#"
[[router.providers]]
name = "mock-a"
kind = "openai"
base_url = "http://mock-a.invalid/v1"
api_key_secrets = ["KEY_A"]
regions = ["local"]
models = [{ name = "model-a" }]

[[router.providers]]
name = "mock-b"
kind = "openai"
base_url = "http://mock-b.invalid/v1"
api_key_secrets = ["KEY_B"]
regions = ["local"]
models = [{ name = "model-b" }]

[router.retry]
max_retries = 0
backoff_base_ms = 100
backoff_cap_ms = 2000
fallback_statuses = [408, 409, 429, 500, 502, 503, 504, 529]
connect_timeout_ms = 10000
first_token_timeout_ms = 15000
total_timeout_ms = 120000
deadline_ms = 180000
max_retry_after_ms = 10000
default_max_tokens = 4096
auth_failure_cooldown_ms = 300000

[[security.policy.routes]]
pattern = "/admin/experiments"
methods = ["GET", "POST"]
tiers = ["admin"]

[[security.policy.routes]]
pattern = "/admin/features"
methods = ["GET", "PUT"]
tiers = ["admin"]

[[security.policy.routes]]
pattern = "/admin/experiments/*"
methods = ["GET", "POST", "DELETE"]
tiers = ["admin"]
"#;

fn config() -> String {
    // Flush arm metrics on every request and re-check the payload version
    // on every request: a test's clock does not wait for timers.
    let base = edge_gateway::EXAMPLE_CONFIG.replace(
        "[experiments]\n",
        "[experiments]\nmetrics_flush_ms = 0\nrefresh_ms = 0\n",
    );
    format!("{base}\n{PROVIDERS}")
}

/// A harness over [`config`] with the providers' keys set; `http`
/// replaces the HTTP port when given.
fn gateway(http: Option<Arc<dyn HttpClient>>, exposures: Option<MemoryAnalytics>) -> Harness {
    gateway_text(&config(), http, exposures, &[])
}

/// [`gateway`] over `text`, with `secrets` besides the JWT and provider keys.
fn gateway_text(
    text: &str,
    http: Option<Arc<dyn HttpClient>>,
    exposures: Option<MemoryAnalytics>,
    secrets: &[(&str, &str)],
) -> Harness {
    let mut all = std::collections::HashMap::from([
        ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
        ("KEY_A".to_string(), "sk-a".to_string()),
        ("KEY_B".to_string(), "sk-b".to_string()),
    ]);
    for (k, v) in secrets {
        all.insert((*k).to_owned(), (*v).to_owned());
    }
    harness_with(text, move |p| {
        p.secrets = Arc::new(all);
        if let Some(http) = http {
            p.http = http;
        }
        if let Some(sink) = exposures {
            p.experiment_analytics = Arc::new(sink);
        }
    })
}

fn admin_token() -> String {
    token_with(
        json!({"sub": "ops", "iss": "edgeforge-dev", "aud": "edgeforge",
        "exp": T0 / 1000 + 30 * 86_400, "tier": "admin"}),
    )
}

fn user_token(sub: &str) -> String {
    token_with(
        json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge",
        "exp": T0 / 1000 + 30 * 86_400}),
    )
}

fn admin(h: &Harness, method: &str, path: &str, body: Option<Value>) -> Resp {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", admin_token()))
        .header("content-type", "application/json")
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .unwrap();
    send(h, req)
}

fn ask(h: &Harness, user: &str) -> Resp {
    let body = json!({"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]});
    send(h, chat(&user_token(user), body.to_string().into_bytes()))
}

fn header<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn model_split(sticky: bool, max_error_rate: f64) -> Value {
    json!({
        "experiment": {
            "key": "model-ab",
            "variants": [
                {"name": "control", "traffic_percent": 50},
                {"name": "treatment", "traffic_percent": 50}
            ],
            "primary_metric": "success",
            "min_sample_size": 100,
            "safeguards": {"max_error_rate": max_error_rate, "auto_stop_on_significance": true}
        },
        "feature": "chat-model",
        "values": {"control": "model-a", "treatment": "model-b"},
        "sticky": sticky
    })
}

#[test]
fn an_experiment_from_the_admin_api_splits_the_model_between_two_providers() {
    let exposures = MemoryAnalytics::new();
    let h = gateway(None, Some(exposures.clone()));
    let created = admin(
        &h,
        "POST",
        "/admin/experiments",
        Some(model_split(false, 0.05)),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );

    const USERS: usize = 400;
    let mut arms: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..USERS {
        let user = format!("user-{i}");
        let r = ask(&h, &user);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let variant = header(&r, "x-edgeforge-variant").expect("every user is in the experiment");
        let provider = header(&r, "x-edge-provider").unwrap();
        let expected = match variant {
            "model-ab=control" => "mock-a",
            "model-ab=treatment" => "mock-b",
            other => panic!("unexpected variant {other}"),
        };
        assert_eq!(provider, expected, "{user}: {variant} served by {provider}");
        assert!(
            header(&r, "x-edgeforge-features")
                .is_some_and(|f| f.starts_with("chat-model=\"model-")),
            "{:?}",
            r.headers
        );
        *arms.entry(variant.to_owned()).or_default() += 1;
        // Sticky by hashing: the same user again, the same arm, no new exposure.
        if i % 10 == 0 {
            let again = ask(&h, &user);
            assert_eq!(header(&again, "x-edgeforge-variant"), Some(variant));
        }
    }
    // 50/50 over 400 users: the standard deviation is 10; allow 4.
    let control = arms["model-ab=control"];
    assert!(
        (160..=240).contains(&control),
        "control got {control} of {USERS}: {arms:?}"
    );
    let points = exposures.points();
    assert_eq!(points.len(), USERS, "one exposure per user and experiment");
    assert!(points.iter().all(|p| p.blobs[0] == "model-ab"));

    let report = admin(&h, "GET", "/admin/experiments/model-ab", None);
    assert_eq!(report.status, 200);
    let v: Value = serde_json::from_slice(&report.body).unwrap();
    let arms_report = v["report"]["arms"].as_array().unwrap();
    let exposed: u64 = arms_report
        .iter()
        .map(|a| a["exposures"].as_u64().unwrap())
        .sum();
    assert_eq!(exposed, USERS as u64, "{v}");
    assert_eq!(
        arms_report[0]["exposures"].as_u64().unwrap(),
        control as u64
    );
    assert!(v["report"]["srm_p_value"].as_f64().unwrap() > 0.001, "{v}");
    assert_eq!(v["status"]["state"], "running");
}

/// The mock provider, failing every `every`-th call per host with a 500.
struct Flaky {
    every: BTreeMap<&'static str, u64>,
    calls: Cell<u64>,
    calls_b: Cell<u64>,
}

#[async_trait(?Send)]
impl HttpClient for Flaky {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let host = req.uri().host().unwrap_or("").to_owned();
        let counter = if host.starts_with("mock-b") {
            &self.calls_b
        } else {
            &self.calls
        };
        counter.set(counter.get() + 1);
        let every = self
            .every
            .iter()
            .find(|(h, _)| host.starts_with(*h))
            .map_or(0, |(_, n)| *n);
        if every > 0 && counter.get() % every == 0 {
            let mut r = http::Response::new(Body::from(
                br#"{"error":{"message":"boom","type":"server_error"}}"#.to_vec(),
            ));
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(r);
        }
        llm_router::MockProvider.send(req, opts).await
    }
}

#[test]
fn the_loop_rolls_back_an_arm_with_three_times_the_errors() {
    let flaky = Flaky {
        // 2% and ~6%.
        every: BTreeMap::from([("mock-a", 50), ("mock-b", 17)]),
        calls: Cell::new(0),
        calls_b: Cell::new(0),
    };
    let h = gateway(Some(Arc::new(flaky)), None);
    // An absolute limit far above both: only the comparison with the
    // control can roll the treatment back.
    let created = admin(
        &h,
        "POST",
        "/admin/experiments",
        Some(model_split(false, 0.5)),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );

    let mut rolled_back_after = None;
    for minute in 0..60 {
        for i in 0..100 {
            ask(&h, &format!("m{minute}-u{i}"));
        }
        h.clock.advance_ms(60_000);
        let steps = block_on(h.gw.experiment_tick()).unwrap();
        assert_eq!(steps.len(), 1);
        if let Some(action) = &steps[0].action {
            assert_eq!(action, "rolled_back", "{:?}", steps[0]);
            rolled_back_after = Some(minute + 1);
            break;
        }
    }
    let minutes = rolled_back_after.expect("the loop rolled the treatment back within an hour");
    println!(
        "rolled back after {minutes} minutes ({} requests)",
        minutes * 100
    );

    // Everyone is on the control now, with no variant assigned.
    for i in 0..50 {
        let r = ask(&h, &format!("after-{i}"));
        if r.status == 200 {
            assert_eq!(header(&r, "x-edge-provider"), Some("mock-a"));
        }
        assert_eq!(header(&r, "x-edgeforge-variant"), None);
    }
    let v: Value =
        serde_json::from_slice(&admin(&h, "GET", "/admin/experiments/model-ab", None).body)
            .unwrap();
    assert_eq!(v["status"]["state"], "stopped", "{v}");
    assert_eq!(v["status"]["reason"], "rolled_back");
    let audit = v["audit"].as_array().unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last["by"], "loop");
    assert_eq!(last["action"], "rolled_back");
    assert_eq!(
        last["report"]["verdict"]["breach"]["kind"], "errors_above_control",
        "{last}"
    );
    let arms = last["report"]["arms"].as_array().unwrap();
    let rate = |a: &Value| a["errors"].as_f64().unwrap() / a["requests"].as_f64().unwrap();
    assert!(rate(&arms[1]) > 2.0 * rate(&arms[0]), "{arms:?}");
}

#[test]
fn sticky_experiments_keep_users_in_their_arm_when_weights_change() {
    let h = gateway(None, None);
    assert_eq!(
        admin(
            &h,
            "POST",
            "/admin/experiments",
            Some(model_split(true, 0.05))
        )
        .status,
        201
    );
    let mut first = BTreeMap::new();
    for i in 0..40 {
        let user = format!("s{i}");
        let r = ask(&h, &user);
        first.insert(user, header(&r, "x-edgeforge-variant").unwrap().to_owned());
    }
    assert!(
        kv_text(&h, "xs:").contains("model-ab"),
        "sticky documents stored"
    );
    // The same experiment again with everyone sent to the treatment.
    assert_eq!(
        admin(&h, "DELETE", "/admin/experiments/model-ab", None).status,
        200
    );
    let mut spec = model_split(true, 0.05);
    spec["experiment"]["variants"][0]["traffic_percent"] = json!(0);
    spec["experiment"]["variants"][1]["traffic_percent"] = json!(100);
    assert_eq!(
        admin(&h, "POST", "/admin/experiments", Some(spec)).status,
        201
    );
    for (user, variant) in &first {
        let r = ask(&h, user);
        assert_eq!(
            header(&r, "x-edgeforge-variant"),
            Some(variant.as_str()),
            "{user}"
        );
    }
    let newcomer = ask(&h, "newcomer");
    assert_eq!(
        header(&newcomer, "x-edgeforge-variant"),
        Some("model-ab=treatment")
    );
}

#[test]
fn bad_experiments_are_400_naming_the_field() {
    let h = gateway(None, None);
    let cases = [
        ("feature", json!({"feature": "not-bound"})),
        (
            "values.treatment",
            json!({"values": {"control": "model-a", "treatment": "no-such-model"}}),
        ),
        ("values", json!({"values": {"control": "model-a"}})),
        (
            "primary_metric",
            json!({"experiment": {"key": "k", "variants": [{"name": "control", "traffic_percent": 50}, {"name": "treatment", "traffic_percent": 50}], "primary_metric": "vibes"}}),
        ),
        (
            "sum to",
            json!({"experiment": {"key": "k", "variants": [{"name": "control", "traffic_percent": 50}, {"name": "treatment", "traffic_percent": 60}], "primary_metric": "success"}}),
        ),
    ];
    for (needle, patch) in cases {
        let mut spec = model_split(false, 0.05);
        for (k, v) in patch.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let r = admin(&h, "POST", "/admin/experiments", Some(spec));
        expect_error(&r, 400, "invalid_experiment", needle);
        assert!(
            String::from_utf8_lossy(&r.body).contains(needle),
            "{needle}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert_eq!(
        admin(
            &h,
            "POST",
            "/admin/experiments",
            Some(model_split(false, 0.05))
        )
        .status,
        201
    );
    let dup = admin(
        &h,
        "POST",
        "/admin/experiments",
        Some(model_split(false, 0.05)),
    );
    expect_error(&dup, 409, "experiment_exists", "duplicate");
    let missing = admin(&h, "GET", "/admin/experiments/nope", None);
    assert_eq!(missing.status, 404);
}

#[test]
fn payload_rules_apply_and_feedback_reaches_the_arms() {
    let h = gateway(None, None);
    // A plain GrowthBook payload: a forced temperature for premium users.
    let payload = json!({"features": {"chat-temperature": {"defaultValue": null, "rules": [
        {"condition": {"tier": "premium"}, "force": 0.2}
    ]}}});
    let put = admin(&h, "PUT", "/admin/features", Some(payload));
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let premium = token_with(
        json!({"sub": "vip", "iss": "edgeforge-dev", "aud": "edgeforge",
        "exp": T0 / 1000 + 3600, "tier": "premium"}),
    );
    let body = json!({"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]});
    let r = send(&h, chat(&premium, body.to_string().into_bytes()));
    assert_eq!(
        header(&r, "x-edgeforge-features"),
        Some("chat-temperature=0.2")
    );
    assert_eq!(header(&ask(&h, "plain"), "x-edgeforge-features"), None);
    // A value that does not fit its action is ignored and named.
    let payload = json!({"features": {"chat-temperature": {"defaultValue": "hot"}}});
    assert_eq!(
        admin(&h, "PUT", "/admin/features", Some(payload)).status,
        200
    );
    let r = ask(&h, "plain");
    assert_eq!(header(&r, "x-edgeforge-ignored"), Some("chat-temperature"));
    assert_eq!(r.status, 200);
    assert_eq!(
        admin(
            &h,
            "POST",
            "/admin/experiments",
            Some(model_split(false, 0.05))
        )
        .status,
        201
    );
    let r = ask(&h, "fan");
    let variant = header(&r, "x-edgeforge-variant").unwrap().to_owned();
    let fb = http::Request::post("/v1/feedback")
        .header("authorization", format!("Bearer {}", user_token("fan")))
        .header("content-type", "application/json")
        .body(
            json!({"name": "thumbs_up", "score": 1})
                .to_string()
                .into_bytes(),
        )
        .unwrap();
    let r = send(&h, fb);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["recorded"], 1);
    assert!(
        kv_text(&h, "xa:model-ab:").contains("thumbs_up"),
        "{variant}"
    );
    let bad = http::Request::post("/v1/feedback")
        .header("authorization", format!("Bearer {}", user_token("fan")))
        .header("content-type", "application/json")
        .body(
            json!({"name": "Not Valid!", "score": 1})
                .to_string()
                .into_bytes(),
        )
        .unwrap();
    expect_error(&send(&h, bad), 400, "invalid_name", "feedback name");
}

/// GrowthBook's "Valid feature" decryption vector (its cross-SDK suite,
/// MIT) from `../shared`; `None` with a message when the suite is absent.
fn growthbook_decrypt_vector() -> Option<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/growthbook/cases.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipping: GrowthBook's cases.json is missing at {}",
            path.display()
        );
        return None;
    };
    let cases: Value = serde_json::from_str(&text).unwrap();
    let case = cases["decrypt"]
        .as_array()?
        .iter()
        .find(|c| c[0] == "Valid feature")?;
    Some((case[1].as_str()?.to_owned(), case[2].as_str()?.to_owned()))
}

#[test]
fn an_encrypted_payload_is_decrypted_and_evaluated_on_requests() {
    let Some((cipher, key)) = growthbook_decrypt_vector() else {
        return;
    };
    // The vector decrypts to {"feature": {"defaultValue": true}}: bind it to
    // an action whose type a boolean does not fit, so the request shows it
    // was read (and ignored by name).
    let text = config()
        .replace(
            "[experiments]\n",
            "[experiments]\ndecryption_key_secret = \"GB_KEY\"\n",
        )
        .replace(
            "  { feature = \"chat-cache\", action = \"cache_policy\" },\n",
            "  { feature = \"chat-cache\", action = \"cache_policy\" },\n  { feature = \"feature\", action = \"temperature\" },\n",
        );
    let h = gateway_text(&text, None, None, &[("GB_KEY", &key)]);
    let put = admin(
        &h,
        "PUT",
        "/admin/features",
        Some(json!({"encryptedFeatures": cipher})),
    );
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let v: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(v["features"], 1);
    let r = ask(&h, "reader");
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "x-edgeforge-ignored"), Some("feature"));
    // Ciphertext that is not GrowthBook's format: 400, nothing stored.
    let bad = admin(
        &h,
        "PUT",
        "/admin/features",
        Some(json!({"encryptedFeatures": "not.base64!"})),
    );
    expect_error(&bad, 400, "invalid_payload", "bad ciphertext");
}
