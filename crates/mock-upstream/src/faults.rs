//! Per-request fault decisions drawn from the connection's PRNG.

use std::time::Duration;

use crate::config::{Config, LatencySpec};
use crate::rng::SplitMix64;

/// What happens to one chat request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answer normally.
    Normal,
    /// Answer with this injected error status.
    Error(u16),
    /// Never answer (hold the connection).
    Timeout,
    /// Cut the reply short and close the connection.
    Truncate,
}

/// The faults planned for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Delay before the response headers (latency plus any spike).
    pub(crate) delay: Duration,
    /// How the request is answered.
    pub(crate) outcome: Outcome,
}

/// Latency plus an optional spike. Always draws exactly two values so that
/// the sequence of decisions for a seed does not depend on the rates.
pub(crate) fn delay(cfg: &Config, rng: &mut SplitMix64) -> Duration {
    let base = match cfg.latency {
        LatencySpec::Fixed(ms) => {
            rng.next_u64();
            ms
        }
        LatencySpec::Range(a, b) => {
            a.saturating_add(rng.below(b.saturating_sub(a).saturating_add(1)))
        }
    };
    let spike = if rng.chance(cfg.spike_rate) {
        cfg.spike_ms
    } else {
        0
    };
    Duration::from_millis(base.saturating_add(spike))
}

/// Plans a chat request: timeout beats error beats truncation. Always draws
/// the same number of values.
pub(crate) fn plan_chat(cfg: &Config, rng: &mut SplitMix64) -> Plan {
    let delay = delay(cfg, rng);
    let timeout = rng.chance(cfg.timeout_rate);
    let error = rng.chance(cfg.error_rate);
    let pick = rng.below(cfg.error_statuses.len() as u64) as usize;
    let truncate = rng.chance(cfg.truncate_rate);
    let outcome = if timeout {
        Outcome::Timeout
    } else if error {
        Outcome::Error(cfg.error_statuses.get(pick).copied().unwrap_or(500))
    } else if truncate {
        Outcome::Truncate
    } else {
        Outcome::Normal
    };
    Plan { delay, outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_zero_and_one() {
        let mut rng = SplitMix64::new(1);
        let calm = Config::default();
        for _ in 0..100 {
            assert_eq!(
                plan_chat(&calm, &mut rng),
                Plan {
                    delay: Duration::ZERO,
                    outcome: Outcome::Normal
                }
            );
        }
        let angry = Config {
            error_rate: 1.0,
            error_statuses: vec![429, 529],
            latency: LatencySpec::Range(2, 4),
            ..Config::default()
        };
        let mut seen = [false; 2];
        for _ in 0..200 {
            let plan = plan_chat(&angry, &mut rng);
            assert!((2..=4).contains(&plan.delay.as_millis()));
            match plan.outcome {
                Outcome::Error(429) => seen[0] = true,
                Outcome::Error(529) => seen[1] = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn roughly_honours_rates() {
        let cfg = Config {
            error_rate: 0.3,
            ..Config::default()
        };
        let mut rng = SplitMix64::new(99);
        let errors = (0..10_000)
            .filter(|_| matches!(plan_chat(&cfg, &mut rng).outcome, Outcome::Error(_)))
            .count();
        assert!((2_700..3_300).contains(&errors), "{errors}");
    }
}
