//! Golden payloads (exact JSON), the SQL API as an SLI source, typed rows,
//! dead-lettered deliveries and the in-memory dashboard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_ports::testing::block_on;
use edge_ports::{
    KvStore, ListOptions, ManualClock, ManualTimer, MemoryKv, ScriptedHttpClient, ScriptedResponse,
};
use serde_json::json;
use slo_metrics::aggregate::Dashboard;
use slo_metrics::alert::{AlertEvent, Alerter, Severity};
use slo_metrics::schema::RequestPoint;
use slo_metrics::sinks::{Sender, pagerduty_payload, slack_payload};
use slo_metrics::slo::{Sli, SloSpec};
use slo_metrics::source::{SliSource, evaluate};
use slo_metrics::sql::{AnalyticsSql, ProviderRow};
use slo_metrics::trace::{LlmCall, langfuse_batch};

fn trigger() -> AlertEvent {
    AlertEvent::Trigger {
        dedup_key: "edgeforge/availability".into(),
        slo: "availability".into(),
        severity: Severity::Page,
        summary: "availability: error budget burning at 20.0x over 1h (and 30.0x over 5m), threshold 14.4x".into(),
        long_burn: 20.0,
        short_burn: 30.0,
        threshold: 14.4,
    }
}

#[test]
fn golden_slack_messages() {
    assert_eq!(
        slack_payload(&trigger()),
        json!({
            "text": "[PAGE] availability: error budget burning at 20.0x over 1h (and 30.0x over 5m), threshold 14.4x",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "PAGE: SLO availability is burning its error budget"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": ":rotating_light: availability: error budget burning at 20.0x over 1h (and 30.0x over 5m), threshold 14.4x"}},
                {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": "*Long window burn*\n20.0x"},
                    {"type": "mrkdwn", "text": "*Short window burn*\n30.0x"},
                    {"type": "mrkdwn", "text": "*Threshold*\n14.4x"},
                ]},
            ],
        })
    );
    let resolve = AlertEvent::Resolve {
        dedup_key: "edgeforge/availability".into(),
        slo: "availability".into(),
    };
    assert_eq!(
        slack_payload(&resolve),
        json!({
            "text": "[RESOLVED] SLO availability is no longer burning",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: SLO *availability* is no longer burning its error budget."}}],
        })
    );
}

#[test]
fn golden_langfuse_batch() {
    let call = LlmCall {
        trace_id: "req-1".into(),
        name: "chat".into(),
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_000_250,
        tokens_in: 12,
        tokens_out: 5,
        cost_usd: 0.00001,
        cache_hit: true,
        prompt: json!([{"role": "user", "content": "mail me at jane.doe@example.com"}]),
        completion: "call 4111 1111 1111 1111? no: my key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789".into(),
        user_id: Some("u1".into()),
    };
    let b = langfuse_batch(&call);
    let prompt = json!([{"role": "user", "content": "[REDACTED:email]"}]);
    let output = b["batch"][0]["body"]["output"].clone();
    assert!(
        output.as_str().unwrap().starts_with("[REDACTED:"),
        "{output}"
    );
    assert_eq!(
        b,
        json!({"batch": [
            {"id": "req-1-t", "type": "trace-create", "timestamp": "2023-11-14T22:13:20.250Z",
             "body": {"id": "req-1", "name": "chat", "userId": "u1", "input": prompt, "output": output,
                      "metadata": {"provider": "openai", "cache_hit": true}}},
            {"id": "req-1-g", "type": "generation-create", "timestamp": "2023-11-14T22:13:20.250Z",
             "body": {"id": "req-1-gen", "traceId": "req-1", "name": "chat gpt-4o-mini",
                      "startTime": "2023-11-14T22:13:20.000Z", "endTime": "2023-11-14T22:13:20.250Z",
                      "model": "gpt-4o-mini", "input": prompt, "output": output,
                      "usage": {"input": 12, "output": 5, "total": 17, "unit": "TOKENS"},
                      "costDetails": {"total": 0.00001},
                      "metadata": {"provider": "openai", "cache_hit": true, "latency_ms": 250}}},
            {"id": "req-1-s", "type": "score-create", "timestamp": "2023-11-14T22:13:20.250Z",
             "body": {"traceId": "req-1", "observationId": "req-1-gen", "name": "cache_hit", "value": 1, "dataType": "BOOLEAN"}},
        ]})
    );
    let text = b.to_string();
    assert!(
        !text.contains("jane.doe") && !text.contains("4111 1111") && !text.contains("sk-ant-"),
        "{text}"
    );
}

/// AE's JSON: 64-bit sums arrive as strings, floats as numbers.
fn ae(rows: serde_json::Value) -> ScriptedResponse {
    ScriptedResponse::json(200, &json!({"meta": [], "data": rows, "rows": 1}))
}

#[test]
fn the_sql_api_is_an_sli_source_for_every_window_and_pages() {
    let http = ScriptedHttpClient::new();
    // Sampled data (each stored row stands for _sample_interval requests):
    // the SQL sums the weights, so totals are the weighted figures below.
    for (total, good) in [
        ("12000", "11400"),   // 5m: 5% errors, 50x
        ("72000", "70000"),   // 30m
        ("144000", "140000"), // 1h: 2.8%, 27.8x
        ("864000", "850000"), // 6h
        ("3456000", "3440000"),
        ("10368000", "10350000"),
        ("103680000", "103600000"),
    ] {
        http.push(
            "api.cloudflare.com",
            ae(json!([{"total": total, "good": good}])),
        );
    }
    let sql = AnalyticsSql::new(&http, "acct", "tok", "edgeforge_requests").for_deployment("v42");
    let spec = SloSpec::defaults();
    let mut alerter = Alerter::default();
    let out = block_on(evaluate(&spec.slo[..1], &sql, &mut alerter, 0)).unwrap();
    assert!(
        matches!(
            &out.events[..],
            [AlertEvent::Trigger {
                severity: Severity::Page,
                ..
            }]
        ),
        "{:?}",
        out.events
    );
    let reqs = http.requests();
    assert_eq!(reqs.len(), 7);
    for (r, w) in reqs.iter().zip([5, 30, 60, 360, 1440, 4320, 43200]) {
        assert_eq!(
            r.uri,
            "https://api.cloudflare.com/client/v4/accounts/acct/analytics_engine/sql"
        );
        assert_eq!(r.headers["authorization"], "Bearer tok");
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            format!(
                "SELECT SUM(_sample_interval) AS total, SUM(IF(double1 < 500, _sample_interval, 0)) AS good FROM edgeforge_requests WHERE timestamp > NOW() - INTERVAL '{w}' MINUTE AND blob10 = 'v42'"
            )
        );
    }
    let report = &out.reports[0];
    assert!((report.sli - 103_600_000.0 / 103_680_000.0).abs() < 1e-12);
    // Latency and error-rate SLIs are ratio queries too.
    http.push(
        "api.cloudflare.com",
        ae(json!([{"total": 100, "good": "96"}])),
    );
    let c = block_on(SliSource::counts(
        &sql,
        Sli::Latency {
            threshold_ms: 200.0,
        },
        0,
        60,
    ))
    .unwrap();
    assert_eq!((c.good, c.total), (96.0, 100.0));
    let body = String::from_utf8(http.requests()[7].body.clone()).unwrap();
    assert!(
        body.contains("SUM(IF(double2 <= 200, _sample_interval, 0)) AS good"),
        "{body}"
    );
}

#[test]
fn provider_rows_are_typed_and_weighted() {
    let http = ScriptedHttpClient::new();
    http.push(
        "api.cloudflare.com",
        ae(json!([
            {"provider": "openai", "requests": "2000", "errors": "20", "p95_ms": 812.5, "tokens_in": "240000", "tokens_out": "80000", "cost_usd": 1.25},
            {"provider": "anthropic", "requests": "500", "errors": "0", "p95_ms": null, "tokens_in": "0", "tokens_out": "0", "cost_usd": 0},
        ])),
    );
    let sql = AnalyticsSql::new(&http, "acct", "tok", "edgeforge_requests");
    let rows = block_on(sql.providers(60)).unwrap();
    assert_eq!(
        rows[0],
        ProviderRow {
            provider: "openai".into(),
            requests: 2000.0,
            errors: 20.0,
            p95_ms: 812.5,
            tokens_in: 240_000.0,
            tokens_out: 80_000.0,
            cost_usd: 1.25,
        }
    );
    assert_eq!(rows[1].p95_ms, 0.0);
    let body = String::from_utf8(http.requests()[0].body.clone()).unwrap();
    assert!(
        body.contains("SUM(_sample_interval * double6) AS cost_usd"),
        "{body}"
    );
    // A bad dataset name never reaches the API.
    let bad = AnalyticsSql::new(&http, "a", "t", "x; DROP TABLE y");
    assert!(block_on(bad.providers(60)).is_err());
    assert_eq!(http.requests().len(), 1);
}

#[test]
fn failed_deliveries_are_dead_lettered_without_secrets() {
    let clock = ManualClock::new(1_700_000_000_000);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let timer = ManualTimer::new(clock.clone());
    let kv = MemoryKv::new(clock.clone());
    for _ in 0..3 {
        http.push("events.pagerduty.com", ScriptedResponse::new(502));
    }
    let mut sender = Sender::new(&http, &timer).dead_letter(&kv, &clock, "slo:dlq:");
    sender.max_attempts = 3;
    let d = block_on(sender.post(
        slo_metrics::sinks::PAGERDUTY_URL,
        &pagerduty_payload(&trigger(), "secret-rk", "s"),
    ));
    assert_eq!(
        (d.ok, d.attempts, d.error.as_deref()),
        (false, 3, Some("HTTP 502"))
    );
    assert_eq!(sender.failed_deliveries(), 1);
    let page = block_on(kv.list(ListOptions::prefix("slo:dlq:"))).unwrap();
    assert_eq!(page.keys.len(), 1);
    let v: serde_json::Value =
        serde_json::from_slice(&block_on(kv.get(&page.keys[0].name)).unwrap().unwrap()).unwrap();
    assert_eq!(v["host"], "events.pagerduty.com");
    assert_eq!(v["attempts"], 3);
    assert_eq!(v["body"]["routing_key"], "[redacted]");
    assert_eq!(v["body"]["dedup_key"], "edgeforge/availability");
}

#[test]
fn the_in_memory_dashboard_matches_the_panel_definitions() {
    let mut d = Dashboard::new();
    let mut seed = 1u64;
    for m in 0..10u64 {
        for i in 0..100u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let p = RequestPoint {
                status: if i == 0 {
                    503
                } else if i == 1 {
                    429
                } else {
                    200
                },
                country: ["DE", "US", "FR"][(i % 3) as usize].into(),
                cache: ["HIT", "MISS", "BYPASS", "STALE"][(i % 4) as usize].into(),
                provider: if i % 2 == 0 {
                    "openai".into()
                } else {
                    String::new()
                },
                response_ms: 10.0 + (seed >> 40) as f64 / (1u64 << 24) as f64 * 90.0,
                tokens_in: 10.0,
                tokens_out: 2.0,
                cost_usd: 0.001,
                ..Default::default()
            };
            d.record(m * 60_000 + i, &p);
        }
    }
    let v = d.view(&SloSpec::defaults().slo[0], 10 * 60_000 - 1, 5);
    assert_eq!(v.requests, 500);
    assert_eq!(v.throughput.len(), 5);
    assert!((v.availability - 0.99).abs() < 1e-12);
    assert!((v.error_rate - 0.02).abs() < 1e-12);
    // HIT and STALE among HIT/MISS/STALE.
    assert!(
        (v.cache_hit_rate - 2.0 / 3.0).abs() < 0.01,
        "{}",
        v.cache_hit_rate
    );
    assert_eq!(v.top_regions[0], ("DE".to_string(), 170));
    assert_eq!(v.providers[0].requests, 250);
    assert!((v.providers[0].cost_usd - 0.25).abs() < 1e-9);
    assert_eq!(v.tokens, [2500.0, 500.0]);
    assert!(
        v.latency_ms[0] > 10.0 && v.latency_ms[2] <= 101.0 && v.latency_ms[0] < v.latency_ms[2]
    );
    // 1% errors against a 0.1% budget: 10x in every window that has traffic.
    assert!(
        (v.burn_rates["5m"] - 10.0).abs() < 1e-9,
        "{:?}",
        v.burn_rates
    );
}

#[test]
fn toml_errors_name_the_field() {
    let base = "[[slo]]\nname = \"a\"\nobjective_bp = 9990\nsli = { type = \"availability\" }\n";
    let cases = [
        (
            format!(
                "{base}[[slo]]\nname = \"b\"\nobjective_bp = \"high\"\nsli = {{ type = \"availability\" }}\n"
            ),
            "slo[1].objective_bp",
        ),
        (
            format!(
                "{base}[[slo]]\nname = \"b\"\nobjectve_bp = 9990\nsli = {{ type = \"availability\" }}\n"
            ),
            "slo[1].objectve_bp",
        ),
        (
            "[[slo]]\nname = \"a\"\nsli = { type = \"availability\" }\n".to_string(),
            "slo[0].objective_bp",
        ),
        (
            format!(
                "{base}[[slo]]\nname = \"b\"\nobjective_bp = 9000\nsli = {{ type = \"speed\" }}\n"
            ),
            "slo[1].sli",
        ),
        (
            format!(
                "{base}[[slo]]\nname = \"a\"\nobjective_bp = 9000\nsli = {{ type = \"availability\" }}\n"
            ),
            "slo[1].name",
        ),
        (
            format!(
                "{base}[[slo]]\nname = \"l\"\nobjective_bp = 9000\nsli = {{ type = \"latency\", threshold_ms = -1.0 }}\n"
            ),
            "slo[1].sli.threshold_ms",
        ),
    ];
    for (text, field) in cases {
        let err = SloSpec::from_toml(&text).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
}
