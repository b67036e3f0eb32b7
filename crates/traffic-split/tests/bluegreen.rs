//! Blue-green switch plans.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use async_trait::async_trait;
use edge_ports::testing::block_on;
use edge_ports::{ScriptedHttpClient, ScriptedResponse};
use traffic_split::Error;
use traffic_split::bluegreen::{SmokeRequest, SwitchPlan, SwitchStrategy, SwitchTarget, run};
use traffic_split::canary::StageMetrics;

struct Target {
    applied: RefCell<Vec<f64>>,
    metrics: RefCell<Vec<StageMetrics>>,
}

#[async_trait(?Send)]
impl SwitchTarget for Target {
    async fn set_green_percent(&self, p: f64) -> Result<(), Error> {
        self.applied.borrow_mut().push(p);
        Ok(())
    }
    async fn green_metrics(&self) -> Result<StageMetrics, Error> {
        let mut m = self.metrics.borrow_mut();
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
    }
}

const OK: StageMetrics = StageMetrics {
    requests: 1000,
    errors: 1,
    p95_ms: 100.0,
};

#[test]
fn gradual_switch_completes_when_green_is_healthy() {
    let http = ScriptedHttpClient::new();
    http.push("green.test", ScriptedResponse::new(200));
    http.push("green.test", ScriptedResponse::new(200));
    let t = Target {
        applied: RefCell::new(vec![]),
        metrics: RefCell::new(vec![OK]),
    };
    let r = block_on(run(
        &plan(SwitchStrategy::Gradual {
            steps: vec![10.0, 50.0, 100.0],
        }),
        &http,
        &t,
    ))
    .unwrap();
    assert!(!r.rolled_back);
    assert_eq!(r.final_green_percent, 100.0);
    assert_eq!(*t.applied.borrow(), vec![10.0, 50.0, 100.0]);
    assert!(r.checks.iter().all(|c| c.ok));
}

#[test]
fn failed_checks_never_switch() {
    let http = ScriptedHttpClient::new();
    http.push("green.test", ScriptedResponse::new(200));
    http.push("green.test", ScriptedResponse::new(500));
    let t = Target {
        applied: RefCell::new(vec![]),
        metrics: RefCell::new(vec![OK]),
    };
    let r = block_on(run(&plan(SwitchStrategy::Instant), &http, &t)).unwrap();
    assert!(r.rolled_back);
    assert!(t.applied.borrow().is_empty(), "no traffic moved");
    assert!(r.reason.unwrap().contains("smoke GET"));
}

#[test]
fn a_breach_after_a_step_rolls_back_with_a_report() {
    let http = ScriptedHttpClient::new();
    http.push("green.test", ScriptedResponse::new(200));
    http.push("green.test", ScriptedResponse::new(200));
    let bad = StageMetrics {
        requests: 1000,
        errors: 50,
        p95_ms: 100.0,
    };
    let t = Target {
        applied: RefCell::new(vec![]),
        metrics: RefCell::new(vec![OK, bad]),
    };
    let r = block_on(run(
        &plan(SwitchStrategy::Gradual {
            steps: vec![10.0, 50.0, 100.0],
        }),
        &http,
        &t,
    ))
    .unwrap();
    assert!(r.rolled_back);
    assert_eq!(r.final_green_percent, 0.0);
    assert_eq!(*t.applied.borrow(), vec![10.0, 50.0, 0.0]);
    assert!(r.reason.unwrap().contains("at 50%"));
}
