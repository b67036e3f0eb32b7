//! What is deployed is what was tested (issue 20): the api, health-prober
//! and canary-controller Workers together in workerd, from
//! `workers/config/production.toml` with only its hosts moved to loopback
//! stand-ins (the OpenAI upstream, the JWKS issuer, Slack, PagerDuty,
//! Turnstile's siteverify), the api's version metadata set by wrangler.
//!
//! It shows: `/v1/models` served from the Cache API tier; a cached private
//! completion that is nowhere in plaintext on disk; a bot on a browser route
//! challenged with a Turnstile page; a high-severity security event in
//! Slack; a provider failure paging PagerDuty for the serving version and
//! resolving after recovery; a canary rolled back on errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use edgeforge_e2e::{HttpResponse, Loopback, WranglerDev, http_request_with, workspace_root};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.e2e.test/";
const AUDIENCE: &str = "edgeforge-api";
const PROMPT_MARKER: &str = "private-prompt-41c9e7";
const REPLY_MARKER: &str = "private-reply-8d2e5b";
const KEYRING: &str =
    r#"{"active": 1, "keys": {"1": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}}"#;

struct Stand {
    fail: Arc<AtomicBool>,
    upstream: Loopback,
    /// A provider that is down: every call answers 503 at once (a freed
    /// port could be reused by a wrangler process and hang instead).
    down: Loopback,
    hooks: Loopback,
    jwks: Loopback,
    key: EncodingKey,
}

fn rsa_key() -> Vec<u8> {
    std::fs::read(
        workspace_root().join("crates/zt-security/tests/fixtures/test_only_rsa_private.pem"),
    )
    .unwrap()
}

fn stand_ins() -> Stand {
    let fail = Arc::new(AtomicBool::new(false));
    let failing = fail.clone();
    let upstream = Loopback::start(move |req| {
        if failing.load(Ordering::SeqCst) {
            let body = json!({"error": {"message": "injected", "type": "server_error"}});
            return (500, "application/json", body.to_string().into_bytes());
        }
        let asked: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let body = json!({"id": "c1", "object": "chat.completion", "created": 1,
            "model": asked["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("{REPLY_MARKER} ok")}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
        (200, "application/json", body.to_string().into_bytes())
    })
    .unwrap();
    // Slack, PagerDuty and siteverify on one receiver, told apart by path.
    let hooks = Loopback::start(|req| {
        let ok = if req.path.starts_with("/siteverify") {
            json!({"success": req.text().contains("response=good")})
        } else {
            json!({"status": "success"})
        };
        (200, "application/json", ok.to_string().into_bytes())
    })
    .unwrap();
    let pem = rsa_key();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("e2e".into());
    let set = json!({"keys": [jwk]}).to_string();
    let jwks =
        Loopback::start(move |_| (200, "application/json", set.clone().into_bytes())).unwrap();
    let down = Loopback::start(|_| {
        let body =
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "down"}});
        (503, "application/json", body.to_string().into_bytes())
    })
    .unwrap();
    Stand {
        fail,
        upstream,
        down,
        hooks,
        jwks,
        key,
    }
}

/// `workers/config/production.toml` with its hosts on loopback, objectives
/// a short test can page and resolve, and a rollout to roll back.
fn production_config(s: &Stand) -> String {
    let text =
        std::fs::read_to_string(workspace_root().join("workers/config/production.toml")).unwrap();
    let mut text = text
        .replace("https://api.openai.com/v1", &s.upstream.url("/v1"))
        .replace("https://api.anthropic.com/v1", &s.down.url("/v1"))
        .replace(
            "[security.turnstile]\n",
            &format!(
                "[security.turnstile]\nsiteverify_url = \"{}\"\n",
                s.hooks.url("/siteverify")
            ),
        )
        .replace(
            "[slo_alerts]\n",
            &format!(
                "[slo_alerts]\npagerduty_events_url = \"{}\"\n",
                s.hooks.url("/pagerduty")
            ),
        );
    assert!(text.contains(&s.upstream.url("/v1")) && text.contains("siteverify_url"));
    // One objective that 12 failures can page (a 10% budget burning at 6x
    // over 30 minutes) and ~130 good requests can resolve.
    let objectives = text.find("[[slo.objectives]]").unwrap();
    text.truncate(objectives);
    text.push_str(
        r#"[[slo.objectives]]
name = "availability"
sli = { type = "availability" }
objective_bp = 9000
min_events = 10
min_bad_events = 5

[traffic]
rollout = "r1"
canary_deployment = "v2"
metrics_flush_ms = 0

[[traffic.canary.stages]]
percent = 50.0
min_duration_ms = 0
max_error_rate = 0.1
max_p95_ms = 5000.0
min_requests = 3

[[traffic.canary.stages]]
percent = 100.0
min_duration_ms = 0
max_error_rate = 0.1
max_p95_ms = 5000.0
min_requests = 0
"#,
    );
    // Experiments counted and re-read on every request, and an admin tier
    // for their routes (the rest of /admin stays behind Access).
    let text = text.replace(
        "[experiments]\n",
        "[experiments]\nmetrics_flush_ms = 0\nrefresh_ms = 0\n",
    ) + r#"
[[security.policy.routes]]
pattern = "/admin/experiments"
methods = ["POST"]
tiers = ["admin"]

[[security.policy.routes]]
pattern = "/admin/experiments/*"
methods = ["GET"]
tiers = ["admin"]
"#;
    // One line for the env file: the same config as JSON.
    let value: toml::Value = toml::from_str(&text).unwrap();
    serde_json::to_string(&value).unwrap()
}

fn token(s: &Stand, sub: &str) -> String {
    token_with_tier(s, sub, "authenticated")
}

fn token_with_tier(s: &Stand, sub: &str, tier: &str) -> String {
    #[allow(clippy::disallowed_methods)] // the test signs a real-time token
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("e2e".into());
    let claims =
        json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 900, "tier": tier});
    encode(&header, &claims, &s.key).unwrap()
}

struct Workers {
    api: WranglerDev,
    prober: WranglerDev,
    controller: WranglerDev,
}

fn start(s: &Stand, config: &str, persist: &str) -> Option<Workers> {
    let slack = s.hooks.url("/slack");
    let security_slack = s.hooks.url("/security-slack");
    let jwks_url = s.jwks.url("/.well-known/jwks.json");
    // GATEWAY_CONFIG last: wrangler expands `${NAME}` in .env values, so the
    // variables it names must come before it.
    let env = [
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        ("JWKS_URL", jwks_url.as_str()),
        ("ACCESS_TEAM", "acme-e2e"),
        (
            "ACCESS_AUD",
            "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2",
        ),
        ("TURNSTILE_SITE_KEY", "0x4AAAAAAAe2eSiteKey"),
        ("OPENAI_API_KEY", "sk-e2e"),
        ("ANTHROPIC_API_KEY", "sk-ant-e2e"),
        ("ANON_SALT", "e2e-salt-0123456789abcdef0123456789abcdef"),
        ("ENVELOPE_KEYRING", KEYRING),
        ("SECURITY_SLACK_WEBHOOK_URL", security_slack.as_str()),
        ("TURNSTILE_SECRET", "ts-e2e-secret"),
        ("SLACK_WEBHOOK_URL", slack.as_str()),
        ("PAGERDUTY_ROUTING_KEY", "rk-e2e"),
        ("GATEWAY_CONFIG", config),
    ];
    let shared = ["--persist-to", persist];
    let cron = ["--persist-to", persist, "--test-scheduled"];
    let boot = |w: &str, args: &[&str]| {
        WranglerDev::start_with(w, &env, args).unwrap_or_else(|e| panic!("{w}: {e}"))
    };
    Some(Workers {
        api: boot("api", &shared)?,
        prober: boot("health-prober", &cron)?,
        controller: boot("canary-controller", &cron)?,
    })
}

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request_with(port, "GET", path, headers, b"").unwrap()
}

fn chat(w: &Workers, s: &Stand, user: &str, body: &Value) -> HttpResponse {
    let auth = format!("Bearer {}", token(s, user));
    http_request_with(
        w.api.port(),
        "POST",
        "/v1/chat/completions",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("user-agent", "OpenAI/Python 1.54.0"),
        ],
        body.to_string().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", w.api.log_tail()))
}

fn cron(w: &WranglerDev) {
    let r = http_request_with(w.port(), "GET", "/__scheduled?cron=*+*+*+*+*", &[], b"")
        .unwrap_or_else(|e| panic!("cron: {e}\n{}", w.log_tail()));
    assert_eq!(r.status, 200, "{}", w.log_tail());
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn the_three_workers_run_the_production_config_together() {
    let s = stand_ins();
    let config = production_config(&s);
    let persist_dir =
        std::env::temp_dir().join(format!("edgeforge-e2e-production-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&persist_dir);
    let persist = persist_dir.to_string_lossy().into_owned();
    let Some(w) = start(&s, &config, &persist) else {
        return;
    };
    let status = get(w.api.port(), "/status", &[("user-agent", "e2e")])
        .json()
        .unwrap();
    let version = status["deployment"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 36, "version metadata is set: {status}");

    cache_tiers_and_encryption(&w, &s, &persist_dir);
    challenges_and_security_alerts(&w, &s);
    provider_failure_pages_the_serving_version(&w, &s, &version);
    canary_rolls_back_on_errors(&w, &s);
    experiments_act_on_requests_and_the_cron_judges_them(&w, &s);

    drop(w);
    let _ = std::fs::remove_dir_all(&persist_dir);
}

fn cache_tiers_and_encryption(w: &Workers, s: &Stand, persist: &Path) {
    let sdk = [("user-agent", "OpenAI/Python 1.54.0")];
    let first = get(w.api.port(), "/v1/models", &sdk);
    assert_eq!(first.status, 200, "{}", w.api.log_tail());
    let second = get(w.api.port(), "/v1/models", &sdk);
    assert_eq!(
        (
            second.header("x-cache-status"),
            second.header("x-cache-tier")
        ),
        (Some("HIT"), Some("local")),
        "the Cache API tier answers"
    );
    assert!(String::from_utf8_lossy(&second.body).contains("gpt-4o-mini"));

    let body = json!({"model": "gpt-4o-mini", "temperature": 0,
        "messages": [{"role": "user", "content": format!("tell me {PROMPT_MARKER}")}]});
    let a = chat(w, s, "carol", &body);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-cache-status"), Some("MISS"));
    let b = chat(w, s, "carol", &body);
    assert_eq!(b.header("x-cache-status"), Some("HIT"));
    assert!(String::from_utf8_lossy(&b.body).contains(REPLY_MARKER));
    // Another principal never reads carol's entry.
    assert_eq!(
        chat(w, s, "dave", &body).header("x-cache-status"),
        Some("MISS")
    );
    // Nothing on disk holds the prompt or the reply in plaintext, while the
    // public model list (the control) is there to be found.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!files_containing(persist, b"gpt-4o-mini").is_empty());
    for marker in [PROMPT_MARKER, REPLY_MARKER] {
        let found = files_containing(persist, marker.as_bytes());
        assert!(found.is_empty(), "{marker} in plaintext: {found:?}");
    }
}

fn challenges_and_security_alerts(w: &Workers, s: &Stand) {
    // A bare headless-Chrome request on a browser route: a Turnstile page.
    let bot = get(
        w.api.port(),
        "/api/prompts/templates/greeting",
        &[
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36",
            ),
            ("accept", "text/html"),
        ],
    );
    assert_eq!(bot.status, 403, "{}", String::from_utf8_lossy(&bot.body));
    let page = String::from_utf8_lossy(&bot.body);
    assert!(
        bot.header("content-type").unwrap().starts_with("text/html")
            && page.contains("cf-turnstile")
            && page.contains("0x4AAAAAAAe2eSiteKey"),
        "{page}"
    );
    // Solving it goes through siteverify.
    let solved = http_request_with(
        w.api.port(),
        "POST",
        "/__edgeforge/challenge",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"cf-turnstile-response=good&return_to=%2Fapi%2Fprompts%2Ftemplates%2Fgreeting",
    )
    .unwrap();
    assert_eq!(
        solved.status,
        303,
        "{}",
        String::from_utf8_lossy(&solved.body)
    );
    assert!(
        solved
            .header("set-cookie")
            .unwrap()
            .starts_with("ef_clearance=")
    );
    let verified = s.hooks.requests_to("/siteverify");
    assert!(
        verified
            .iter()
            .any(|r| r.text().contains("secret=ts-e2e-secret"))
    );

    // A blocked injection is a high-severity event: it reaches Slack.
    let attack = get(
        w.api.port(),
        "/v1/models?q=1%27%20OR%20%271%27%3D%271",
        &[("user-agent", "e2e")],
    );
    assert_eq!(attack.status, 403);
    let mut delivered = Vec::new();
    for _ in 0..20 {
        delivered = s.hooks.requests_to("/security-slack");
        if !delivered.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        delivered
            .iter()
            .any(|r| r.text().contains("threat_blocked")),
        "{delivered:?}\n{}",
        w.api.log_tail()
    );
}

/// Runs the prober until PagerDuty has seen `action` for `dedup_key`.
fn prober_until(w: &Workers, s: &Stand, action: &str, dedup_key: &str) {
    for _ in 0..8 {
        cron(&w.prober);
        let seen = s.hooks.requests_to("/pagerduty").iter().any(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            v["event_action"] == action && v["dedup_key"] == dedup_key
        });
        if seen {
            return;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let sent: Vec<String> = s
        .hooks
        .requests_to("/pagerduty")
        .iter()
        .map(|r| r.text())
        .collect();
    panic!(
        "no PagerDuty {action} for {dedup_key}: {sent:#?}\n{}",
        w.prober.log_tail()
    );
}

fn provider_failure_pages_the_serving_version(w: &Workers, s: &Stand, version: &str) {
    s.fail.store(true, Ordering::SeqCst);
    let ask = |i: u32| json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("question {i}")}]});
    for i in 0..12 {
        let r = chat(w, s, &format!("user-{}", i % 6), &ask(i));
        assert!(r.status >= 500, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("x-deployment"), Some(version));
    }
    let dedup = format!("edgeforge/{version}/availability");
    prober_until(w, s, "trigger", &dedup);
    assert!(
        s.hooks
            .requests_to("/slack")
            .iter()
            .any(|r| r.text().contains("availability")),
        "the page reached Slack too"
    );

    s.fail.store(false, Ordering::SeqCst);
    for i in 0..140 {
        let r = chat(w, s, &format!("user-{}", i % 14), &ask(i));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    prober_until(w, s, "resolve", &dedup);
}

fn canary_rolls_back_on_errors(w: &Workers, s: &Stand) {
    let rollout = || {
        get(w.api.port(), "/status", &[("user-agent", "e2e")])
            .json()
            .unwrap()["rollout"]
            .clone()
    };
    cron(&w.controller); // starts r1 at 50%
    let settle = || std::thread::sleep(Duration::from_millis(5_500)); // the api's rollout cache
    settle();
    assert_eq!(rollout()["percent"], 50.0, "{}", w.controller.log_tail());
    s.fail.store(true, Ordering::SeqCst);
    let mut on_canary = 0;
    for i in 0..24 {
        let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
        let r = chat(w, s, &format!("canary-user-{i}"), &body);
        if r.header("x-deployment") == Some("v2") {
            on_canary += 1;
        }
    }
    assert!(on_canary >= 3, "{on_canary} of 24 on the canary");
    let mut last = Value::Null;
    for _ in 0..6 {
        cron(&w.controller);
        settle();
        last = rollout();
        if last["status"] == "rolled_back" {
            break;
        }
    }
    assert_eq!(last["status"], "rolled_back", "{}", w.controller.log_tail());
    s.fail.store(false, Ordering::SeqCst);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    for i in 0..5 {
        let r = chat(w, s, &format!("after-{i}"), &body);
        assert_eq!(r.status, 200);
        assert_ne!(r.header("x-deployment"), Some("v2"));
    }
}

/// An experiment created on the api Worker splits `temperature`: each arm's
/// requests reach the upstream with its value, the arms are counted in KV,
/// and the canary-controller's cron judges the experiment.
fn experiments_act_on_requests_and_the_cron_judges_them(w: &Workers, s: &Stand) {
    let admin = format!("Bearer {}", token_with_tier(s, "ops", "admin"));
    let spec = json!({
        "experiment": {"key": "temp-ab", "variants": [
            {"name": "control", "traffic_percent": 50}, {"name": "warm", "traffic_percent": 50}],
            "primary_metric": "success", "min_sample_size": 1000},
        "feature": "chat-temperature", "values": {"control": 0.2, "warm": 0.8}
    });
    let r = http_request_with(
        w.api.port(),
        "POST",
        "/admin/experiments",
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        spec.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        r.status,
        201,
        "{}\n{}",
        String::from_utf8_lossy(&r.body),
        w.api.log_tail()
    );
    let before = s.upstream.requests_to("/v1/chat").len();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let mut arms = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..20 {
        let r = chat(w, s, &format!("exp-user-{i}"), &body);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let variant = r.header("x-edgeforge-variant").unwrap().to_owned();
        *arms.entry(variant).or_default() += 1;
    }
    assert_eq!(arms.len(), 2, "both arms served: {arms:?}");
    let sent: Vec<Value> = s.upstream.requests_to("/v1/chat")[before..]
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let warm = sent.iter().filter(|b| b["temperature"] == 0.8).count();
    let control = sent.iter().filter(|b| b["temperature"] == 0.2).count();
    assert_eq!(
        (control, warm),
        (arms["temp-ab=control"], arms["temp-ab=warm"]),
        "each arm reached the upstream with its temperature"
    );
    cron(&w.controller);
    assert!(
        !w.controller.log_tail().contains("experiment step failed"),
        "{}",
        w.controller.log_tail()
    );
    let report = get(
        w.api.port(),
        "/admin/experiments/temp-ab",
        &[("authorization", &admin)],
    );
    assert_eq!(
        report.status,
        200,
        "{}",
        String::from_utf8_lossy(&report.body)
    );
    let v = report.json().unwrap();
    let served: u64 = v["report"]["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(served, 20, "{v}");
    assert_eq!(v["status"]["state"], "running", "{v}");
}
