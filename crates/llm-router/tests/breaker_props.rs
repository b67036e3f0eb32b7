//! Property test of the breaker state machine against a reference model.

use llm_router::{Breaker, BreakerConfig, BreakerState};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Call(bool),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            (0u64..3_000).prop_map(Op::Advance),
            any::<bool>().prop_map(Op::Call),
        ],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn breaker_invariants(ops in ops(), threshold in 1u32..6, probes in 1u32..3) {
        let cfg = BreakerConfig {
            consecutive_failures: threshold,
            error_ratio: 1.0,
            window: 50,
            min_calls: 50,
            reset_timeout_ms: 1_000,
            half_open_probes: probes,
        };
        let mut b = Breaker::new(cfg);
        let mut now = 0u64;
        let mut consecutive = 0u32;
        for op in ops {
            match op {
                Op::Advance(ms) => now += ms,
                Op::Call(ok) => {
                    let before = b.state(now);
                    let allowed = b.try_acquire(now);
                    match before {
                        // Never a call through an open breaker before its time.
                        BreakerState::Open { until_ms } => {
                            prop_assert!(until_ms > now);
                            prop_assert!(!allowed);
                        }
                        BreakerState::Closed => prop_assert!(allowed),
                        BreakerState::HalfOpen => prop_assert!(allowed, "the first probe is always allowed"),
                    }
                    if !allowed {
                        continue;
                    }
                    let was_half_open = matches!(b.state(now), BreakerState::HalfOpen);
                    b.record(now, ok);
                    let after = b.state(now);
                    if was_half_open {
                        // One probe decides: success closes, failure re-opens for the full timeout.
                        if ok {
                            prop_assert_eq!(after, BreakerState::Closed);
                        } else {
                            prop_assert_eq!(after, BreakerState::Open { until_ms: now + 1_000 });
                        }
                        consecutive = 0;
                    } else {
                        consecutive = if ok { 0 } else { consecutive + 1 };
                        // Closed opens exactly at the threshold of consecutive failures.
                        if consecutive >= threshold {
                            prop_assert_eq!(after, BreakerState::Open { until_ms: now + 1_000 });
                            consecutive = 0;
                        } else {
                            prop_assert_eq!(after, BreakerState::Closed);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn half_open_admits_at_most_the_probe_limit(probes in 1u32..5, extra in 0u32..5) {
        let cfg = BreakerConfig { consecutive_failures: 1, reset_timeout_ms: 10, half_open_probes: probes, ..BreakerConfig::default() };
        let mut b = Breaker::new(cfg);
        prop_assert!(b.try_acquire(0));
        b.record(0, false);
        let admitted = (0..probes + extra).filter(|_| b.try_acquire(10)).count() as u32;
        prop_assert_eq!(admitted, probes);
    }
}
