//! Experiments in `edgectl serve`: created through the admin API, applied
//! to chat requests on every thread, counted per arm, reported by
//! `edgectl experiment report`, stopped by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use edgeforge_e2e::http_request_with;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

mod common;
use common::*;

const EXTRA: &str = r#"
[[router.providers]]
name = "mock-a"
kind = "mock"
base_url = "http://mock-a.invalid/v1"
regions = ["local"]
models = [{ name = "model-a" }]

[[router.providers]]
name = "mock-b"
kind = "mock"
base_url = "http://mock-b.invalid/v1"
regions = ["local"]
models = [{ name = "model-b" }]

[[security.policy.routes]]
pattern = "/admin/experiments"
methods = ["GET", "POST"]
tiers = ["admin"]

[[security.policy.routes]]
pattern = "/admin/experiments/*"
methods = ["GET", "POST", "DELETE"]
tiers = ["admin"]
"#;

fn token(dir: &Path, sub: &str, tier: &str) -> String {
    let secret = std::fs::read_to_string(dir.join("dev-jwt-secret")).unwrap();
    let exp = edge_ports::Clock::now_secs(&edge_ports::SystemClock::new()) + 3600;
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "iss": "edgeforge-dev", "aud": "edgeforge", "exp": exp, "tier": tier}),
        &EncodingKey::from_secret(secret.trim().as_bytes()).unwrap(),
    )
    .unwrap()
}

fn call(
    port: u16,
    tok: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> edgeforge_e2e::HttpResponse {
    let auth = format!("Bearer {tok}");
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    http_request_with(
        port,
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &bytes,
    )
    .unwrap()
}

fn report(dir: &Path, config: &Path, json: bool) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["experiment", "report", "model-ab", "--data-dir"])
        .arg(dir)
        .arg("--config")
        .arg(config);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_experiment_runs_in_the_server_and_is_reported_and_stopped() {
    let dir = temp_dir("experiments");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("gateway.toml");
    let text = edge_gateway::EXAMPLE_CONFIG.replace(
        "[experiments]\n",
        "[experiments]\nmetrics_flush_ms = 0\nrefresh_ms = 500\n",
    );
    std::fs::write(&config, format!("{text}\n{EXTRA}")).unwrap();
    let s = Server::start_with(
        &dir,
        &["--config", config.to_str().unwrap(), "--loop-secs", "1"],
    );
    let admin = token(&dir, "ops", "admin");
    let spec = json!({
        "experiment": {
            "key": "model-ab",
            "variants": [{"name": "control", "traffic_percent": 50}, {"name": "treatment", "traffic_percent": 50}],
            "primary_metric": "success",
            "min_sample_size": 1000
        },
        "feature": "chat-model",
        "values": {"control": "model-a", "treatment": "model-b"}
    });
    let r = call(s.port, &admin, "POST", "/admin/experiments", &spec);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));

    let chat = json!({"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]});
    let mut arms: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..60 {
        let r = call(
            s.port,
            &token(&dir, &format!("u{i}"), "authenticated"),
            "POST",
            "/v1/chat/completions",
            &chat,
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let variant = r.header("x-edgeforge-variant").unwrap().to_owned();
        let provider = r.header("x-edge-provider").unwrap();
        let want = if variant.ends_with("=control") {
            "mock-a"
        } else {
            "mock-b"
        };
        assert_eq!(provider, want, "{variant}");
        *arms.entry(variant).or_default() += 1;
    }
    assert_eq!(arms.len(), 2, "both arms served: {arms:?}");

    // Every thread flushed its counts; the report adds them up.
    let mut v = Value::Null;
    for _ in 0..50 {
        v = serde_json::from_str(&report(&dir, &config, true)).unwrap();
        let exposed: u64 = v["report"]["arms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["exposures"].as_u64().unwrap())
            .sum();
        if exposed == 60 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let served = v["report"]["arms"][0]["requests"].as_u64().unwrap();
    assert_eq!(served, arms["model-ab=control"], "{v}");
    let table = report(&dir, &config, false);
    println!("{table}");
    assert!(
        table.contains("control") && table.contains("treatment"),
        "{table}"
    );
    assert!(table.contains("SRM p-value"), "{table}");

    // Stopped by hand: everyone gets the control, no arm.
    let r = call(
        s.port,
        &admin,
        "POST",
        "/admin/experiments/model-ab/stop",
        &json!({"serve": "control"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    std::thread::sleep(Duration::from_millis(600));
    for i in 0..10 {
        let r = call(
            s.port,
            &token(&dir, &format!("u{i}"), "authenticated"),
            "POST",
            "/v1/chat/completions",
            &chat,
        );
        assert_eq!(r.header("x-edge-provider"), Some("mock-a"));
        assert_eq!(r.header("x-edgeforge-variant"), None);
    }
    let table = report(&dir, &config, false);
    assert!(table.contains("stopped by ops"), "{table}");
    assert!(
        table.contains("status stopped (manual), serving control"),
        "{table}"
    );
    assert!(s.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}
