//! Canary state machine, persistence and routing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use async_trait::async_trait;
use edge_ports::testing::block_on;
use edge_ports::{ManualClock, MemoryKv};
use proptest::prelude::*;
use traffic_split::Error;
use traffic_split::canary::{
    CanaryConfig, CanaryMetrics, CanaryState, CanaryStore, Decision, KvCanaryStore, StageMetrics,
    Status, evaluate, tick,
};

const MIN: u64 = 60_000;

struct Scripted(RefCell<Vec<StageMetrics>>);

#[async_trait(?Send)]
impl CanaryMetrics for Scripted {
    async fn canary_metrics(&self, _: &str, _: u64) -> Result<StageMetrics, Error> {
        let mut v = self.0.borrow_mut();
        if v.len() > 1 {
            Ok(v.remove(0))
        } else {
            v.first().copied().ok_or(Error::Metrics("none".into()))
        }
    }
}

fn healthy(requests: u64) -> StageMetrics {
    StageMetrics {
        requests,
        errors: requests / 1000,
        p95_ms: 120.0,
    }
}

#[test]
fn advances_through_the_default_stages_and_completes() {
    let cfg = CanaryConfig::default();
    cfg.validate().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let store = KvCanaryStore::new(MemoryKv::new(clock.clone()));
    let now = || edge_ports::Clock::now_ms(&clock);
    block_on(store.save(&CanaryState::start("api", "v1", "v2", &cfg, now()), 0)).unwrap();
    let metrics = Scripted(RefCell::new(vec![healthy(5_000)]));

    // Too early: hold.
    let d = block_on(tick(&cfg, "api", &store, &metrics, now())).unwrap();
    assert!(matches!(d, Decision::Hold(_)), "{d:?}");
    let mut percents = vec![block_on(store.load("api")).unwrap().unwrap().percent];
    for _ in 0..3 {
        clock.advance_ms(16 * MIN);
        let d = block_on(tick(&cfg, "api", &store, &metrics, now())).unwrap();
        assert!(
            matches!(d, Decision::Advance { .. } | Decision::Complete(_)),
            "{d:?}"
        );
        percents.push(block_on(store.load("api")).unwrap().unwrap().percent);
    }
    assert_eq!(percents, vec![5.0, 25.0, 50.0, 100.0]);
    clock.advance_ms(MIN);
    let d = block_on(tick(&cfg, "api", &store, &metrics, now())).unwrap();
    assert!(matches!(d, Decision::Complete(_)), "{d:?}");
    let state = block_on(store.load("api")).unwrap().unwrap();
    assert_eq!((state.status, state.percent), (Status::Completed, 100.0));
    let log = block_on(store.audit_log("api")).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["advance", "advance", "advance", "complete"]);
    assert!(log[0].reason.contains("healthy"));
    assert_eq!(log[0].metrics.requests, 5_000);
}

#[test]
fn rolls_back_at_once_on_errors_or_latency() {
    let cfg = CanaryConfig::default();
    let clock = ManualClock::new(0);
    let store = KvCanaryStore::new(MemoryKv::new(clock.clone()));
    block_on(store.save(&CanaryState::start("api", "v1", "v2", &cfg, 0), 0)).unwrap();
    // 3% errors after only 100 requests and one minute: roll back anyway.
    let bad = Scripted(RefCell::new(vec![StageMetrics {
        requests: 100,
        errors: 3,
        p95_ms: 100.0,
    }]));
    clock.advance_ms(MIN);
    let d = block_on(tick(&cfg, "api", &store, &bad, MIN)).unwrap();
    assert!(
        matches!(d, Decision::Rollback(ref r) if r.contains("error rate")),
        "{d:?}"
    );
    let s = block_on(store.load("api")).unwrap().unwrap();
    assert_eq!((s.status, s.percent), (Status::RolledBack, 0.0));
    assert_eq!(s.route("any-user"), "v1", "rollback drops the canary to 0%");
    // A rolled-back rollout holds.
    assert!(matches!(
        block_on(tick(&cfg, "api", &store, &bad, 2 * MIN)).unwrap(),
        Decision::Hold(_)
    ));

    let state = CanaryState::start("lat", "v1", "v2", &cfg, 0);
    let slow = StageMetrics {
        requests: 10,
        errors: 0,
        p95_ms: 900.0,
    };
    assert!(
        matches!(evaluate(&cfg, &state, &slow, 1), Decision::Rollback(ref r) if r.contains("p95"))
    );
    // Enough time but too few requests: hold.
    let few = StageMetrics {
        requests: 10,
        errors: 0,
        p95_ms: 100.0,
    };
    assert!(
        matches!(evaluate(&cfg, &state, &few, 60 * MIN), Decision::Hold(ref r) if r.contains("requests"))
    );
}

#[test]
fn stale_writers_are_detected() {
    let cfg = CanaryConfig::default();
    let store = KvCanaryStore::new(MemoryKv::new(ManualClock::new(0)));
    let s = CanaryState::start("api", "v1", "v2", &cfg, 0);
    block_on(store.save(&s, 0)).unwrap();
    let mut newer = s.clone();
    newer.version = 2;
    block_on(store.save(&newer, 1)).unwrap();
    let mut stale = s.clone();
    stale.version = 2;
    let e = block_on(store.save(&stale, 1)).unwrap_err();
    assert_eq!(
        e,
        Error::StaleWrite {
            expected: 1,
            found: 2
        }
    );
}

#[test]
fn config_validation() {
    let mut cfg = CanaryConfig::default();
    cfg.stages[1].percent = 3.0;
    assert!(
        cfg.validate()
            .unwrap_err()
            .to_string()
            .contains("stages[1].percent")
    );
    let mut cfg = CanaryConfig::default();
    cfg.stages.pop();
    assert!(cfg.validate().unwrap_err().to_string().contains("100%"));
}

#[test]
fn routing_share_is_within_half_a_point() {
    let cfg = CanaryConfig::default();
    for pct in [5.0, 25.0, 50.0] {
        let mut s = CanaryState::start("share", "v1", "v2", &cfg, 0);
        s.percent = pct;
        let n = 100_000;
        let on = (0..n)
            .filter(|i| s.route(&format!("user-{i}")) == "v2")
            .count();
        let share = on as f64 / n as f64 * 100.0;
        assert!((share - pct).abs() <= 0.5, "{pct}%: observed {share:.3}%");
    }
}

proptest! {
    #[test]
    fn canary_growth_is_monotonic(ids in prop::collection::vec("[a-zA-Z0-9-]{1,24}", 1..50), a in 0.0f64..100.0, b in 0.0f64..100.0) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let cfg = CanaryConfig::default();
        let mut s = CanaryState::start("mono", "v1", "v2", &cfg, 0);
        for id in &ids {
            s.percent = lo;
            let before = s.route(id) == "v2";
            s.percent = hi;
            let after = s.route(id) == "v2";
            prop_assert!(!before || after, "{id} left the canary when it grew from {lo}% to {hi}%");
        }
    }
}
