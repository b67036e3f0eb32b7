//! `scripts/gradual-deploy.sh`, the path every api deploy takes, run
//! against a fake `wrangler` (a stand-in `npx` that records each call) and a
//! fake api on loopback: the calls in order, the smoke check through a
//! version override, a gate that fails mid-rollout, the first deploy, a
//! Durable Object migration, and a missing secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fake `npx --no-install wrangler …`: appends its arguments to
/// `$FAKE_STATE/calls`, answers from `$FAKE_STATE`.
const FAKE_NPX: &str = r#"#!/usr/bin/env bash
set -euo pipefail
shift 2 # --no-install wrangler
echo "$*" >> "$FAKE_STATE/calls"
case "$1 ${2:-}" in
  "deployments status")
    [ -f "$FAKE_STATE/serving" ] || { echo "no deployments" >&2; exit 1; }
    printf '{"versions":[{"version_id":"%s","percentage":100}]}' "$(cat "$FAKE_STATE/serving")" ;;
  "versions secret") cp "$4" "$FAKE_STATE/secrets.json" ;;
  "versions upload")
    if [ -f "$FAKE_STATE/migration" ]; then echo "migrations are not supported by versions upload" >&2; exit 1; fi
    echo '{"version_id":"v-new"}' ;;
  "versions deploy") echo "$3" > "$FAKE_STATE/deployed" ;;
  "deploy --env") echo "v-first" > "$FAKE_STATE/serving" ;;
  "secret bulk") cp "$3" "$FAKE_STATE/secrets.json" ;;
  *) echo "unexpected wrangler call: $*" >&2; exit 2 ;;
esac
"#;

/// The fake api: `/status` answers from the version an override names
/// (else from the serving one); gate reads of `?deployment=` answer the
/// new version's metrics, failing from the `fail_from`-th gate on.
struct FakeApi {
    port: u16,
    gates: Arc<AtomicU32>,
}

fn fake_api(serving: &'static str, honour_overrides: bool, fail_from: u32) -> FakeApi {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let gates = Arc::new(AtomicU32::new(0));
    let seen = gates.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap_or(0);
            let mut version_override = None;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if let Some(v) = line
                    .to_ascii_lowercase()
                    .strip_prefix("cloudflare-workers-version-overrides:")
                {
                    version_override = v.split('"').nth(1).map(str::to_owned);
                }
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            let body = if path.starts_with("/status?deployment=") {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                let error_rate = if fail_from > 0 && n >= fail_from {
                    0.5
                } else {
                    0.0
                };
                format!(
                    r#"{{"metrics":{{"deployment":"v-new","requests":100,"error_rate":{error_rate},"p95_ms":80.0}}}}"#
                )
            } else if path.starts_with("/status") {
                let from = version_override
                    .filter(|_| honour_overrides)
                    .unwrap_or_else(|| serving.to_owned());
                format!(r#"{{"deployment":"{from}"}}"#)
            } else {
                "{}".to_owned()
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    FakeApi { port, gates }
}

struct Run {
    code: i32,
    output: String,
    calls: Vec<String>,
    state: PathBuf,
}

static SERIAL: Mutex<()> = Mutex::new(());

fn run(case: &str, api: &FakeApi, prepare: impl FnOnce(&Path), env: &[(&str, &str)]) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("edgeforge-deploy-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = dir.join("bin");
    let state = dir.join("state");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let npx = bin.join("npx");
    std::fs::write(&npx, FAKE_NPX).unwrap();
    Command::new("chmod").arg("+x").arg(&npx).status().unwrap();
    prepare(&state);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(root().join("scripts/gradual-deploy.sh"))
        .arg("staging")
        .arg(format!("http://127.0.0.1:{}", api.port))
        .current_dir(root().join("workers/api"))
        .env("PATH", path)
        .env("FAKE_STATE", &state)
        .env("STEP_WAIT", "0")
        .env("SMOKE_RETRY_SECS", "0")
        .env("GATE_MIN_REQUESTS", "10")
        .env("GITHUB_SHA", "abc123")
        .env_remove("GITHUB_OUTPUT")
        .env("SECRET_NAMES", "ALPHA BETA")
        .env("ALPHA", "one")
        .env("BETA", "two")
        .env("VAR_NAMES", "JWT_ISSUER")
        .env("JWT_ISSUER", "https://idp.test/")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(state.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        calls,
        state,
    }
}

fn serving(version: &'static str) -> impl FnOnce(&Path) {
    move |state: &Path| std::fs::write(state.join("serving"), version).unwrap()
}

fn deploys(r: &Run) -> Vec<String> {
    r.calls
        .iter()
        .filter(|c| c.starts_with("versions deploy"))
        .map(|c| c.split(" --env").next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_healthy_version_goes_0_5_25_50_100_after_the_smoke_check() {
    let api = fake_api("v-old", true, 0);
    let r = run("healthy", &api, serving("v-old"), &[]);
    assert_eq!(r.code, 0, "{}", r.output);
    assert!(
        r.calls[1].starts_with("versions secret bulk"),
        "{:?}",
        r.calls
    );
    assert!(
        r.calls[2].starts_with("versions upload")
            && r.calls[2].contains("--var JWT_ISSUER:https://idp.test/")
            && r.calls[2].contains("--tag abc123"),
        "{:?}",
        r.calls
    );
    assert_eq!(
        deploys(&r),
        [
            "versions deploy v-new@0% v-old@100%",
            "versions deploy v-new@5% v-old@95%",
            "versions deploy v-new@25% v-old@75%",
            "versions deploy v-new@50% v-old@50%",
            "versions deploy v-new@100%",
        ]
    );
    assert_eq!(
        api.gates.load(Ordering::SeqCst),
        4,
        "a gate after each step"
    );
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.state.join("secrets.json")).unwrap())
            .unwrap();
    assert_eq!(secrets, serde_json::json!({"ALPHA": "one", "BETA": "two"}));
}

#[test]
fn a_gate_that_fails_at_25_percent_puts_the_old_version_back() {
    let api = fake_api("v-old", true, 2);
    let r = run("gate", &api, serving("v-old"), &[]);
    assert_eq!(r.code, 1, "{}", r.output);
    assert_eq!(
        deploys(&r),
        [
            "versions deploy v-new@0% v-old@100%",
            "versions deploy v-new@5% v-old@95%",
            "versions deploy v-new@25% v-old@75%",
            "versions deploy v-old@100%",
        ]
    );
    assert!(r.output.contains("gate failed at 25%"), "{}", r.output);
}

#[test]
fn a_version_the_smoke_check_cannot_reach_never_takes_traffic() {
    // The override is not honoured: /status keeps answering from v-old.
    let api = fake_api("v-old", false, 0);
    let r = run("smoke", &api, serving("v-old"), &[]);
    assert_eq!(r.code, 1, "{}", r.output);
    assert_eq!(
        deploys(&r),
        [
            "versions deploy v-new@0% v-old@100%",
            "versions deploy v-old@100%"
        ]
    );
    assert_eq!(api.gates.load(Ordering::SeqCst), 0);
}

#[test]
fn the_first_deploy_and_a_migration_deploy_at_100_percent_then_smoke_check() {
    let api = fake_api("v-first", true, 0);
    let r = run("first", &api, |_| {}, &[]);
    assert_eq!(r.code, 0, "{}", r.output);
    assert!(
        r.calls
            .iter()
            .any(|c| c.starts_with("deploy --env staging --var JWT_ISSUER"))
    );
    assert!(r.calls.iter().any(|c| c.starts_with("secret bulk")));
    assert!(deploys(&r).is_empty());

    let api = fake_api("v-first", true, 0);
    let r = run("migrate", &api, serving("v-old"), &[("MIGRATE", "true")]);
    assert_eq!(r.code, 0, "{}", r.output);
    assert!(
        r.calls
            .iter()
            .any(|c| c.starts_with("deploy --env staging"))
    );
    assert!(deploys(&r).is_empty());
}

#[test]
fn an_unannounced_migration_and_a_missing_secret_stop_before_any_traffic_moves() {
    let api = fake_api("v-old", true, 0);
    let r = run(
        "migration",
        &api,
        |state: &Path| {
            std::fs::write(state.join("serving"), "v-old").unwrap();
            std::fs::write(state.join("migration"), "").unwrap();
        },
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.output.contains("migrate = true"), "{}", r.output);
    assert!(deploys(&r).is_empty());

    let r = run("secret", &api, serving("v-old"), &[("BETA", "")]);
    assert_eq!(r.code, 1);
    assert!(r.output.contains("secret BETA is empty"), "{}", r.output);
    assert!(r.calls.is_empty(), "{:?}", r.calls);
}
