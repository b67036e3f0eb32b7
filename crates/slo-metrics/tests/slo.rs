//! Sketch accuracy, windows, simulated incidents and alert payloads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_ports::testing::block_on;
use edge_ports::{Clock, ManualClock, ManualTimer, ScriptedHttpClient, ScriptedResponse};
use proptest::prelude::*;
use serde_json::json;
use slo_metrics::alert::{AlertEvent, Alerter, Severity};
use slo_metrics::sinks::{Sender, pagerduty_payload, slack_payload};
use slo_metrics::sketch::DdSketch;
use slo_metrics::slo::{SloSpec, Windows};

fn exact(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

proptest! {
    #[test]
    fn quantiles_are_within_one_percent(values in prop::collection::vec(0.01f64..100_000.0, 1..2000), q in 0.0f64..=1.0) {
        let mut s = DdSketch::new();
        for v in &values { s.insert(*v); }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let want = exact(&sorted, q);
        let got = s.quantile(q).unwrap();
        prop_assert!((got - want).abs() <= want * 0.01 + 1e-9, "q={q} got={got} want={want}");
    }

    #[test]
    fn merging_equals_one_sketch(a in prop::collection::vec(0.01f64..10_000.0, 0..500), b in prop::collection::vec(0.01f64..10_000.0, 0..500)) {
        let (mut sa, mut sb, mut all) = (DdSketch::new(), DdSketch::new(), DdSketch::new());
        for v in &a { sa.insert(*v); all.insert(*v); }
        for v in &b { sb.insert(*v); all.insert(*v); }
        sa.merge(&sb);
        for q in [0.5, 0.95, 0.99] {
            prop_assert_eq!(sa.quantile(q), all.quantile(q));
        }
        prop_assert_eq!(DdSketch::from_bytes(&sa.to_bytes()).unwrap(), sa.clone());
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = DdSketch::from_bytes(&bytes);
    }
}

#[test]
fn sketch_memory_over_the_full_range_is_under_4kb() {
    let mut s = DdSketch::new();
    let mut v = 1e-3;
    while v <= 1e5 {
        s.insert(v);
        v *= 1.01;
    }
    println!(
        "memory {} B, serialised {} B",
        s.memory_bytes(),
        s.to_bytes().len()
    );
    assert!(s.memory_bytes() <= 4096, "{}", s.memory_bytes());
}

const MIN: u64 = 60_000;

/// Simulated traffic: `rps_per_min` requests per minute with `err` error
/// share, minute by minute, evaluating alerts after each minute.
#[allow(clippy::too_many_arguments)]
fn run(
    w: &mut Windows,
    alerts: &mut Alerter,
    from_min: u64,
    minutes: u64,
    per_min: u64,
    err: f64,
    seed: &mut u64,
    eval_every: u64,
) -> Vec<(u64, AlertEvent)> {
    let spec = SloSpec::defaults();
    let mut out = Vec::new();
    for m in from_min..from_min + minutes {
        for _ in 0..per_min {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (*seed >> 11) as f64 / (1u64 << 53) as f64;
            w.record(
                m * MIN + 1,
                if r < err { 503 } else { 200 },
                20.0 + r * 60.0,
            );
        }
        if (m + 1) % eval_every == 0 {
            for ev in alerts.evaluate(&spec.slo[..1], w, m * MIN + 59_999) {
                out.push((m, ev));
            }
        }
    }
    out
}

#[test]
fn a_fast_burn_pages_within_five_minutes_and_resolves_after_recovery() {
    let (mut w, mut a, mut seed) = (Windows::new(), Alerter::default(), 7u64);
    // Three healthy days first (0.01% errors, well inside 99.9%).
    assert!(run(&mut w, &mut a, 0, 4320, 100, 0.0001, &mut seed, 15).is_empty());
    // Incident: 20% errors (200x burn).
    let ev = run(&mut w, &mut a, 4320, 10, 100, 0.2, &mut seed, 1);
    let (minute, first) = &ev[0];
    assert!(
        matches!(
            first,
            AlertEvent::Trigger {
                severity: Severity::Page,
                ..
            }
        ),
        "{first:?}"
    );
    assert!(*minute - 4320 < 5, "paged after {} minutes", minute - 4320);
    assert_eq!(
        ev.iter()
            .filter(|(_, e)| matches!(e, AlertEvent::Trigger { .. }))
            .count(),
        1,
        "de-duplicated"
    );
    // Recovery: the short window clears first, the alert resolves.
    let ev = run(&mut w, &mut a, 4330, 60, 100, 0.0, &mut seed, 1);
    assert!(ev.iter().any(|(_, e)| matches!(e, AlertEvent::Resolve { dedup_key, .. } if dedup_key == "edgeforge/availability")), "{ev:?}");
}

#[test]
fn a_slow_burn_opens_a_ticket_and_does_not_page() {
    let (mut w, mut a, mut seed) = (Windows::new(), Alerter::default(), 11u64);
    // 0.3% errors for three days: 3x burn, below 6x and 14.4x.
    let ev = run(&mut w, &mut a, 0, 4320, 100, 0.003, &mut seed, 5);
    assert!(
        ev.iter().all(|(_, e)| !matches!(
            e,
            AlertEvent::Trigger {
                severity: Severity::Page,
                ..
            }
        )),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|(_, e)| matches!(
            e,
            AlertEvent::Trigger {
                severity: Severity::Ticket,
                ..
            }
        )),
        "no ticket"
    );
}

#[test]
fn a_healthy_baseline_with_noise_never_alerts() {
    let (mut w, mut a, mut seed) = (Windows::new(), Alerter::default(), 3u64);
    // 0.05% errors with random noise for three days.
    let ev = run(&mut w, &mut a, 0, 4320, 200, 0.0005, &mut seed, 1);
    assert!(ev.is_empty(), "{ev:?}");
}

#[test]
fn spec_validation_names_the_field_and_budgets_are_reported() {
    let err = SloSpec::from_toml(
        "[[slo]]\nname = \"a\"\nobjective_bp = 10000\nsli = { type = \"availability\" }\n",
    )
    .unwrap_err();
    assert_eq!(err.field, "slo[0].objective_bp");
    let spec = SloSpec::from_toml("[[slo]]\nname = \"lat\"\nobjective_bp = 9500\nsli = { type = \"latency\", threshold_ms = 200.0 }\n").unwrap();
    let mut w = Windows::new();
    for i in 0..100 {
        w.record(0, 200, if i < 90 { 100.0 } else { 500.0 });
    }
    let r = spec.slo[0].report(&w, 1);
    assert!((r.sli - 0.90).abs() < 1e-9);
    assert!(
        (r.budget_remaining - (1.0 - 0.10 / 0.05)).abs() < 1e-9,
        "{}",
        r.budget_remaining
    );
    assert!(r.burn_rates.contains_key("5m") && r.burn_rates.contains_key("3d"));
}

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
fn golden_pagerduty_and_slack_payloads() {
    assert_eq!(
        pagerduty_payload(&trigger(), "rk", "edgeforge-api"),
        json!({"routing_key": "rk", "event_action": "trigger", "dedup_key": "edgeforge/availability",
               "payload": {"summary": "availability: error budget burning at 20.0x over 1h (and 30.0x over 5m), threshold 14.4x",
                           "source": "edgeforge-api", "severity": "critical", "component": "edgeforge", "class": "slo-burn-rate",
                           "custom_details": {"slo": "availability", "long_burn": 20.0, "short_burn": 30.0, "threshold": 14.4}}})
    );
    let resolve = AlertEvent::Resolve {
        dedup_key: "edgeforge/availability".into(),
        slo: "availability".into(),
    };
    assert_eq!(
        pagerduty_payload(&resolve, "rk", "x"),
        json!({"routing_key": "rk", "event_action": "resolve", "dedup_key": "edgeforge/availability"})
    );
    let slack = slack_payload(&trigger());
    assert_eq!(
        slack["text"],
        "[PAGE] availability: error budget burning at 20.0x over 1h (and 30.0x over 5m), threshold 14.4x"
    );
    assert_eq!(
        slack["blocks"][0]["text"]["text"],
        "PAGE: SLO availability is burning its error budget"
    );
    assert_eq!(
        slack["blocks"][2]["fields"][2]["text"],
        "*Threshold*\n14.4x"
    );
}

#[test]
fn deliveries_retry_with_backoff_and_failures_are_counted() {
    let clock = ManualClock::new(0);
    let http = ScriptedHttpClient::with_clock(clock.clone());
    let timer = ManualTimer::new(clock.clone());
    http.push("events.pagerduty.com", ScriptedResponse::new(503));
    http.push("events.pagerduty.com", ScriptedResponse::new(429));
    http.push(
        "events.pagerduty.com",
        ScriptedResponse::json(202, &json!({"status": "success"})),
    );
    let sender = Sender::new(&http, &timer);
    let d = block_on(sender.post(
        slo_metrics::sinks::PAGERDUTY_URL,
        &pagerduty_payload(&trigger(), "rk", "s"),
    ));
    assert_eq!((d.ok, d.attempts), (true, 3));
    assert_eq!(clock.now_ms(), 500 + 1000, "backoff 0.5 s then 1 s");
    // A 400 is not retried; a dead endpoint is retried then counted.
    http.push(
        "hooks.slack.com",
        ScriptedResponse::new(400).body("invalid_payload"),
    );
    let d = block_on(sender.post(
        "https://hooks.slack.com/services/T/B/X",
        &slack_payload(&trigger()),
    ));
    assert_eq!(
        (d.ok, d.attempts, d.error.as_deref()),
        (false, 1, Some("HTTP 400"))
    );
    for _ in 0..4 {
        http.push("hooks.slack.com", ScriptedResponse::new(500));
    }
    let d = block_on(sender.post(
        "https://hooks.slack.com/services/T/B/X",
        &slack_payload(&trigger()),
    ));
    assert_eq!((d.ok, d.attempts), (false, 4));
    assert_eq!(sender.failed_deliveries(), 2);
    let sent = http.requests();
    assert_eq!(sent.len(), 8);
    assert_eq!(sent[0].headers["content-type"], "application/json");
}

#[test]
fn sql_client_weights_by_sample_interval_and_sends_the_documented_request() {
    use slo_metrics::sql::AnalyticsSql;
    let http = ScriptedHttpClient::new();
    // Sampled rows: the API already applied the weights in SUM(_sample_interval).
    http.push(
        "api.cloudflare.com",
        ScriptedResponse::json(200, &json!({"meta": [{"name": "total", "type": "Float64"}, {"name": "good", "type": "Float64"}],
            "data": [{"total": 12000.0, "good": "11988"}], "rows": 1})),
    );
    let sql = AnalyticsSql::new(&http, "acct", "tok", "edgeforge_requests");
    let c = block_on(sql.availability(60, "v2")).unwrap();
    assert_eq!((c.total, c.good), (12000.0, 11988.0));
    assert!((c.error_ratio() - 0.001).abs() < 1e-12);
    let req = &http.requests()[0];
    assert_eq!(
        req.uri,
        "https://api.cloudflare.com/client/v4/accounts/acct/analytics_engine/sql"
    );
    assert_eq!(req.headers["authorization"], "Bearer tok");
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert_eq!(
        body,
        "SELECT SUM(_sample_interval) AS total, SUM(IF(double1 < 500, _sample_interval, 0)) AS good FROM edgeforge_requests WHERE timestamp > NOW() - INTERVAL '60' MINUTE AND blob10 = 'v2'"
    );
    // Quotes in a deployment name cannot break out of the literal.
    let q = sql.availability_sql(5, "x' OR '1'='1").unwrap();
    assert!(q.ends_with("blob10 = 'x\\' OR \\'1\\'=\\'1'"), "{q}");
    assert!(
        sql.provider_sql(60)
            .contains("quantileExactWeighted(0.95)(double2, _sample_interval)")
    );
    // Errors are typed.
    http.push(
        "api.cloudflare.com",
        ScriptedResponse::new(403).body("forbidden"),
    );
    assert!(matches!(
        block_on(sql.availability(5, "")),
        Err(slo_metrics::sql::SqlError::Api { status: 403, .. })
    ));
}

#[test]
fn langfuse_batch_is_golden_redacted_and_sent_with_basic_auth() {
    use slo_metrics::trace::{LlmCall, iso8601, langfuse_batch, send_langfuse};
    assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
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
        cache_hit: false,
        prompt: json!([{"role": "user", "content": "mail me at jane.doe@example.com"}]),
        completion: "sure".into(),
        user_id: Some("u1".into()),
    };
    let b = langfuse_batch(&call);
    let text = b.to_string();
    assert!(!text.contains("jane.doe@example.com"), "{text}");
    assert!(text.contains("[REDACTED:email]"), "{text}");
    let gen_ev = &b["batch"][1];
    assert_eq!(gen_ev["type"], "generation-create");
    assert_eq!(
        gen_ev["body"]["usage"],
        json!({"input": 12, "output": 5, "total": 17, "unit": "TOKENS"})
    );
    assert_eq!(gen_ev["body"]["startTime"], "2023-11-14T22:13:20.000Z");
    assert_eq!(gen_ev["body"]["metadata"]["latency_ms"], 250);
    assert_eq!(b["batch"][2]["body"]["name"], "cache_hit");
    let http = ScriptedHttpClient::new();
    http.push(
        "cloud.langfuse.com",
        ScriptedResponse::json(
            207,
            &json!({"successes": [{"id": "req-1-t", "status": 201}], "errors": []}),
        ),
    );
    let r = block_on(send_langfuse(
        &http,
        "https://cloud.langfuse.com/",
        "pk",
        "sk",
        &b,
    ))
    .unwrap();
    assert_eq!(r["errors"], json!([]));
    let req = &http.requests()[0];
    assert_eq!(req.uri, "https://cloud.langfuse.com/api/public/ingestion");
    assert_eq!(req.headers["authorization"], "Basic cGs6c2s=");
}
