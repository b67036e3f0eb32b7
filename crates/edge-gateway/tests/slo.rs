//! The SLO step (the health-prober's cron, edgectl's loop): every
//! objective of the config, per deployment that served traffic, alerts
//! delivered once per incident, from KV buckets or the SQL API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use edge_gateway::{Gateway, GatewayConfig, GatewayPorts};
use edge_ports::testing::block_on;
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000_000;
const SECRET: &str = "a-test-hs256-secret-of-at-least-32-bytes!";

fn ports() -> GatewayPorts {
    let mut p = GatewayPorts::in_memory(T0);
    p.secrets = Arc::new(HashMap::from([(
        "JWT_HS256_SECRET".to_string(),
        SECRET.to_string(),
    )]));
    p
}

/// A prober-side gateway on the example config, over `http` and `clock`,
/// with the dev secret and `alert_secrets`.
fn prober(
    http: &edge_ports::ScriptedHttpClient,
    clock: &edge_ports::ManualClock,
    alert_secrets: &[(&str, &str)],
) -> Gateway {
    let mut p = ports();
    p.http = Arc::new(http.clone());
    p.clock = Arc::new(clock.clone());
    p.kv = Arc::new(edge_ports::MemoryKv::new(clock.clone()));
    let mut secrets = HashMap::from([("JWT_HS256_SECRET".to_string(), SECRET.to_string())]);
    for (k, v) in alert_secrets {
        secrets.insert((*k).to_string(), (*v).to_string());
    }
    p.secrets = Arc::new(secrets);
    Gateway::new(
        GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap(),
        p,
        "9",
    )
    .unwrap()
}

#[test]
fn slo_step_pages_once_through_slack_and_pagerduty_then_resolves() {
    use edge_ports::{Clock, ManualClock, ScriptedHttpClient, ScriptedResponse};
    let clock = ManualClock::new(T0);
    let http = ScriptedHttpClient::new();
    // Two objectives fire (availability and error rate), then resolve.
    for _ in 0..4 {
        http.push("hooks.slack.com", ScriptedResponse::new(200).body("ok"));
        http.push(
            "events.pagerduty.com",
            ScriptedResponse::json(202, &json!({"status": "success"})),
        );
    }
    let g = prober(
        &http,
        &clock,
        &[
            (
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/X",
            ),
            ("PAGERDUTY_ROUTING_KEY", "rk-test"),
        ],
    );
    let m = g.deployment_metrics();
    // Ten minutes at 30% errors: far above the 14.4x page threshold.
    for minute in 0..10u64 {
        for i in 0..100 {
            m.record(
                "stable",
                if i < 30 { 503 } else { 200 },
                20,
                T0 + minute * 60_000,
            );
        }
    }
    clock.advance_ms(10 * 60_000);
    block_on(m.flush(clock.now_ms())).unwrap();
    let tick = block_on(g.slo_tick()).unwrap();
    // Availability and error rate burn; latency (20 ms) does not.
    assert_eq!(tick.events.len(), 2, "{tick:?}");
    assert!(tick.burn_rates("stable", "availability").unwrap()["5m"] > 14.4);
    assert!(tick.burn_rates("stable", "error-rate").unwrap()["5m"] > 14.4);
    assert_eq!(
        tick.burn_rates("stable", "latency-p95-200ms").unwrap()["5m"],
        0.0
    );
    let sent = http.requests();
    assert_eq!(sent.len(), 4);
    let pd: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(
        (pd["event_action"].as_str(), pd["dedup_key"].as_str()),
        (Some("trigger"), Some("edgeforge/stable/availability"))
    );
    // Still burning: no second page.
    assert!(block_on(g.slo_tick()).unwrap().events.is_empty());
    // Seven healthy hours later the windows are clean: resolve.
    for minute in 0..30u64 {
        for _ in 0..100 {
            m.record("stable", 200, 20, T0 + (400 + minute) * 60_000);
        }
    }
    clock.set_ms(T0 + 430 * 60_000);
    block_on(m.flush(clock.now_ms())).unwrap();
    let tick = block_on(g.slo_tick()).unwrap();
    assert!(
        matches!(
            tick.events[..],
            [
                slo_metrics::alert::AlertEvent::Resolve { .. },
                slo_metrics::alert::AlertEvent::Resolve { .. }
            ]
        ),
        "{tick:?}"
    );
    assert_eq!(tick.failed_deliveries, 0);
    assert_eq!(http.requests().len(), 8);
}

#[test]
fn a_slow_three_day_burn_from_kv_alone_opens_a_ticket() {
    use edge_ports::{Clock, ManualClock};
    use slo_metrics::alert::{AlertEvent, Severity};
    let clock = ManualClock::new(T0);
    let mut p = ports();
    p.clock = Arc::new(clock.clone());
    p.kv = Arc::new(edge_ports::MemoryKv::new(clock.clone()));
    let g = Gateway::new(
        GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap(),
        p,
        "9",
    )
    .unwrap();
    let m = g.deployment_metrics();
    // Three days at 0.3% errors: 3x the 99.9% budget. Too slow for either
    // page pair (14.4x, 6x); only the 3-day/6-hour ticket pair (1x) fires,
    // and only if the 3-day window is read.
    for _hour in 0..72 {
        for i in 0..1000 {
            let status = if i < 3 { 503 } else { 200 };
            m.record("stable", status, 20, clock.now_ms());
        }
        block_on(m.flush(clock.now_ms())).unwrap();
        clock.advance_ms(3_600_000);
    }
    let tick = block_on(g.slo_tick()).unwrap();
    let burns = tick.burn_rates("stable", "availability").unwrap();
    assert!((burns["3d"] - 3.0).abs() < 0.2, "{burns:?}");
    assert!(
        matches!(
            &tick.events[..],
            [AlertEvent::Trigger {
                severity: Severity::Ticket,
                ..
            }]
        ),
        "{tick:?}"
    );
}

#[test]
fn slo_step_reads_all_windows_from_analytics_engine_when_configured() {
    use edge_ports::{ScriptedHttpClient, ScriptedResponse};
    let http = ScriptedHttpClient::new();
    // 5m, 30m, 1h, 6h, 1d, 3d, 30d: a fast burn in the short windows.
    for (total, good) in [
        (1000.0, 700.0),
        (6000.0, 4500.0),
        (12000.0, 9500.0),
        (72000.0, 69000.0),
        (288000.0, 285000.0),
        (864000.0, 861000.0),
        (8640000.0, 8630000.0),
    ] {
        http.push(
            "api.cloudflare.com",
            ScriptedResponse::json(200, &json!({"data": [{"total": total, "good": good}]})),
        );
    }
    let mut p = ports();
    p.http = Arc::new(http.clone());
    p.secrets = Arc::new(HashMap::from([
        ("JWT_HS256_SECRET".to_string(), SECRET.to_string()),
        ("CF_ACCOUNT_ID".to_string(), "acct".to_string()),
        ("CF_ANALYTICS_TOKEN".to_string(), "tok".to_string()),
    ]));
    let text = edge_gateway::EXAMPLE_CONFIG.replacen(
        "[gateway]\n",
        "[gateway]\nanalytics_dataset = \"edgeforge_requests\"\n",
        1,
    ) + "\n[[slo.objectives]]\nname = \"availability\"\nsli = { type = \"availability\" }\nobjective_bp = 9990\n";
    let g = Gateway::new(GatewayConfig::from_toml(&text).unwrap(), p, "9").unwrap();
    let tick = block_on(g.slo_tick()).unwrap();
    assert_eq!(http.requests().len(), 7, "one query per window");
    assert!(
        tick.burn_rates("stable", "availability").unwrap()["5m"] > 14.4,
        "{tick:?}"
    );
    assert!(
        matches!(
            &tick.events[..],
            [slo_metrics::alert::AlertEvent::Trigger {
                severity: slo_metrics::alert::Severity::Page,
                ..
            }]
        ),
        "{tick:?}"
    );
    let sql = String::from_utf8(http.requests()[5].body.clone()).unwrap();
    assert!(
        sql.contains("INTERVAL '4320' MINUTE") && sql.contains("blob10 = 'stable'"),
        "{sql}"
    );
}

/// Issue 20: each version labels its metrics with its id; the SLO step
/// evaluates every version that served traffic and pages for the failing
/// one only, then resolves when it recovers.
#[test]
fn every_live_version_is_evaluated_and_only_the_failing_one_pages() {
    use edge_ports::{Clock, ManualClock, ScriptedHttpClient, ScriptedResponse};
    let clock = ManualClock::new(T0);
    let http = ScriptedHttpClient::new();
    for _ in 0..4 {
        http.push(
            "events.pagerduty.com",
            ScriptedResponse::json(202, &json!({"status": "success"})),
        );
    }
    // The prober's own config knows neither version.
    let g = prober(&http, &clock, &[("PAGERDUTY_ROUTING_KEY", "rk")]);
    let m = g.deployment_metrics();
    for minute in 0..10u64 {
        for i in 0..100 {
            let at = T0 + minute * 60_000;
            m.record("version-a", 200, 20, at);
            m.record("version-b", if i < 40 { 502 } else { 200 }, 20, at);
        }
    }
    clock.advance_ms(10 * 60_000);
    block_on(m.flush(clock.now_ms())).unwrap();
    let tick = block_on(g.slo_tick()).unwrap();
    let mut evaluated: Vec<&str> = tick
        .deployments
        .iter()
        .map(|d| d.deployment.as_str())
        .collect();
    evaluated.sort_unstable();
    assert_eq!(evaluated, ["version-a", "version-b"]);
    let keys: Vec<String> = http
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["dedup_key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "edgeforge/version-b/availability",
            "edgeforge/version-b/error-rate"
        ]
    );
    assert_eq!(
        tick.burn_rates("version-a", "availability").unwrap()["5m"],
        0.0
    );
    // Version b recovers: its incidents resolve, version a stays quiet.
    for minute in 0..40u64 {
        for _ in 0..100 {
            m.record("version-b", 200, 20, T0 + (400 + minute) * 60_000);
        }
    }
    clock.set_ms(T0 + 440 * 60_000);
    block_on(m.flush(clock.now_ms())).unwrap();
    let tick = block_on(g.slo_tick()).unwrap();
    assert_eq!(tick.events.len(), 2, "{tick:?}");
    assert!(
        tick.events
            .iter()
            .all(|e| matches!(e, slo_metrics::alert::AlertEvent::Resolve { .. }))
    );
}

/// Issue 20: while a gradual deployment splits traffic between Worker
/// versions, every request is labelled with the version that served it
/// (its metrics, `x-deployment`), never with a hash split of users; the
/// hash split stays for rollouts inside one version.
#[test]
fn requests_are_labelled_with_the_serving_version_under_a_gradual_deployment() {
    use edge_gateway::{CollectTasks, RequestContext};
    use traffic_split::canary::{CanaryState, CanaryStore, KvCanaryStore};
    let gradual = r#"
[traffic]
rollout = "r1"
[traffic.gradual]
account_id = "acct"
script = "edgeforge-api-production"
api_token_secret = "CF_DEPLOYMENTS_TOKEN"
stable_version_id = "ver-old"
canary_version_id = "ver-new"
"#;
    let labels = |version: Option<&str>, extra: &str| -> Vec<String> {
        let mut cfg =
            GatewayConfig::from_toml(&format!("{}{extra}", edge_gateway::EXAMPLE_CONFIG)).unwrap();
        cfg.gateway.version_id = version.map(str::to_owned);
        let p = ports();
        let kv = p.kv.clone();
        let g = Gateway::new(cfg.clone(), p, "9").unwrap();
        block_on(async {
            let mut state = CanaryState::start("r1", "ver-old", "ver-new", &cfg.traffic.canary, T0);
            state.percent = 50.0;
            KvCanaryStore::new(kv).save(&state, 0).await.unwrap();
            let mut out = Vec::new();
            for i in 0..40 {
                let req = http::Request::get("/v1/models")
                    .header(
                        "user-agent",
                        "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                    )
                    .header("accept-language", "en")
                    .header("accept-encoding", "gzip")
                    .body(Vec::new())
                    .unwrap();
                let ctx = RequestContext {
                    client_ip: Some(format!("198.51.100.{i}")),
                    ..RequestContext::default()
                };
                let resp = g.handle(req, ctx, &CollectTasks::new()).await;
                out.push(resp.headers()["x-deployment"].to_str().unwrap().to_owned());
            }
            out
        })
    };
    let served = labels(Some("ver-new"), gradual);
    assert!(served.iter().all(|d| d == "ver-new"), "{served:?}");
    // A rollout inside one version (no gradual deployment): the hash split.
    let inside = labels(None, "\n[traffic]\nrollout = \"r1\"\n");
    assert!(
        inside.iter().any(|d| d == "ver-old") && inside.iter().any(|d| d == "ver-new"),
        "{inside:?}"
    );
}

/// Issue 20: cache lookups are a stream of their own, so request counts,
/// availability and p95 only ever see requests.
#[test]
fn cache_points_never_land_in_the_request_stream() {
    use edge_gateway::{CollectTasks, RequestContext};
    use edge_ports::MemoryAnalytics;
    let requests = MemoryAnalytics::new();
    let cache = MemoryAnalytics::new();
    let mut p = ports();
    p.analytics = Arc::new(requests.clone());
    p.cache_analytics = Arc::new(cache.clone());
    let g = Gateway::new(
        GatewayConfig::from_toml(edge_gateway::EXAMPLE_CONFIG).unwrap(),
        p,
        "9",
    )
    .unwrap();
    block_on(async {
        for _ in 0..2 {
            let req = http::Request::get("/api/prompts/templates/greeting")
                .body(Vec::new())
                .unwrap();
            let bg = CollectTasks::new();
            let resp = g.handle(req, RequestContext::default(), &bg).await;
            assert_eq!(resp.status(), 200);
            bg.run_all().await;
        }
    });
    let req_points = requests.points();
    assert_eq!(req_points.len(), 2, "{req_points:?}");
    assert!(
        req_points
            .iter()
            .all(|p| slo_metrics::schema::RequestPoint::from_data_point(p).is_some())
    );
    assert!(!cache.points().is_empty());
    assert!(
        cache
            .points()
            .iter()
            .all(|p| slo_metrics::schema::RequestPoint::from_data_point(p).is_none())
    );
}
