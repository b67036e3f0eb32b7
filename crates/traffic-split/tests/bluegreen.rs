//! Blue-green switch plans: pre-switch checks, and the switch as a rollout
//! the canary loop runs (held per step, judged on green, rolled back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use async_trait::async_trait;
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryKv, ScriptedHttpClient, ScriptedResponse};
use traffic_split::Error;
use traffic_split::bluegreen::{SmokeRequest, SwitchPlan, SwitchStrategy, pre_switch_checks};
use traffic_split::canary::{
    CanaryConfig, CanaryMetrics, CanaryState, CanaryStore, Decision, KvCanaryStore, StageMetrics,
    Status, tick,
};

struct Scripted(RefCell<Vec<StageMetrics>>);

#[async_trait(?Send)]
impl CanaryMetrics for Scripted {
    async fn canary_metrics(&self, _: &str, _: u64) -> Result<StageMetrics, Error> {
        let mut m = self.0.borrow_mut();
        Ok(if m.len() > 1 { m.remove(0) } else { m[0] })
    }
}

fn plan(strategy: SwitchStrategy) -> SwitchPlan {
    SwitchPlan {
        blue: "v1".into(),
        green: "v2".into(),
        health_url: "https://green.test/health".into(),
        smoke: vec![SmokeRequest {
            method: "GET".into(),
            url: "https://green.test/v1/models".into(),
            expect_status: 200,
        }],
        strategy,
        max_error_rate: 0.01,
        max_p95_ms: 300.0,
        step_ms: 60_000,
        min_requests: 100,
    }
}

const OK: StageMetrics = StageMetrics {
    requests: 1000,
    errors: 1,
    p95_ms: 100.0,
};

/// Runs the plan through the controller's `tick` once a minute until it
/// finishes; returns the green percentages it went through and the end.
fn run_switch(p: &SwitchPlan, metrics: Vec<StageMetrics>) -> (Vec<f64>, CanaryState) {
    let clock = ManualClock::new(0);
    let store = KvCanaryStore::new(MemoryKv::new(clock.clone()));
    let state = CanaryState::start_with_plan("main", &p.blue, &p.green, p.stages().unwrap(), 0);
    block_on(store.save(&state, 0)).unwrap();
    let m = Scripted(RefCell::new(metrics));
    // The configured plan is ignored: the switch carries its own.
    let configured = CanaryConfig::default();
    let mut seen = vec![state.percent];
    for minute in 1..=20u64 {
        clock.advance_ms(60_000);
        let d = block_on(tick(&configured, "main", &store, &m, minute * 60_000)).unwrap();
        let s = block_on(store.load("main")).unwrap().unwrap();
        if !matches!(d, Decision::Hold(_)) {
            seen.push(s.percent);
        }
        if s.status != Status::Running {
            return (seen, s);
        }
    }
    panic!("the switch did not finish: {seen:?}");
}

#[test]
fn a_gradual_switch_steps_through_its_own_plan_and_completes() {
    let p = plan(SwitchStrategy::Gradual {
        steps: vec![10.0, 50.0, 100.0],
    });
    let (seen, end) = run_switch(&p, vec![OK]);
    assert_eq!(seen, vec![10.0, 50.0, 100.0, 100.0]);
    assert_eq!(end.status, Status::Completed);
}

#[test]
fn an_instant_switch_is_validated_at_100_and_rolled_back_on_a_breach() {
    let bad = StageMetrics {
        requests: 1000,
        errors: 50,
        p95_ms: 100.0,
    };
    let (seen, end) = run_switch(&plan(SwitchStrategy::Instant), vec![bad]);
    assert_eq!(seen, vec![100.0, 0.0]);
    assert_eq!(end.status, Status::RolledBack);
    assert_eq!(end.route("anyone"), "v1", "everyone back on blue");
}

#[test]
fn checks_report_each_failure_and_plans_are_validated() {
    let http = ScriptedHttpClient::new();
    http.push("green.test", ScriptedResponse::new(200));
    http.push("green.test", ScriptedResponse::new(500));
    let checks = block_on(pre_switch_checks(&plan(SwitchStrategy::Instant), &http));
    assert_eq!(checks.len(), 2);
    assert!(checks[0].ok, "health");
    assert!(!checks[1].ok && checks[1].name.contains("smoke GET"));
    let mut p = plan(SwitchStrategy::Gradual {
        steps: vec![50.0, 20.0],
    });
    assert!(p.stages().is_err(), "steps must rise to 100");
    p.strategy = SwitchStrategy::Instant;
    p.green = "v1".into();
    assert!(p.stages().is_err(), "blue and green differ");
}
