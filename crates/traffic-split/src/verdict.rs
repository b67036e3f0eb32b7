//! The experiment loop's judgement: given every arm's cumulative
//! observations, continue, declare a winner or a loser, roll an arm back
//! (a safeguard breached) or stop on a sample-ratio mismatch.
//!
//! The primary metric is read with an mSPRT ([`Msprt`]) whose always-valid
//! p-value may be checked after every batch (the loop peeks every minute)
//! without inflating the false-positive rate; with more than one treatment
//! the level is split between them (Bonferroni). Safeguards come first:
//! a sample-ratio mismatch (an always-valid multinomial test at 0.001), then per treatment an error rate above an absolute
//! limit, errors significantly above the control's (a one-sided sequential
//! test at the same level), or a p95 latency over a limit.
//!
//! ```
//! use traffic_split::verdict::{ArmStats, Direction, Rules, Running, Verdict, judge};
//!
//! let rules = Rules { min_sample_per_arm: 100, ..Rules::default() };
//! let mut arms = vec![ArmStats::new("control", 0.5), ArmStats::new("b", 0.5)];
//! for i in 0..2000u64 {
//!     arms[0].record(i % 100 < 2, 120.0, if i % 10 < 9 { 1.0 } else { 0.0 });
//!     arms[1].record(i % 100 < 9, 120.0, if i % 10 < 9 { 1.0 } else { 0.0 });
//! }
//! let mut running = Running::default();
//! assert!(matches!(judge(&rules, &arms, &mut running), Verdict::RollBack { arm: 1, .. }));
//! ```

use serde::{Deserialize, Serialize};

use crate::stats::{Msprt, Summary, srm_sequential};

/// Whether larger values of the primary metric are better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Success rate, scores.
    #[default]
    HigherIsBetter,
    /// Latency, cost, tokens.
    LowerIsBetter,
}

/// Count, sum and sum of squares of a metric: enough for its mean and
/// variance, and mergeable across writers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Observations.
    pub n: u64,
    /// Σx.
    pub sum: f64,
    /// Σx².
    pub sum_sq: f64,
}

impl Moments {
    /// Adds one observation (non-finite values are ignored).
    pub fn push(&mut self, x: f64) {
        if x.is_finite() {
            self.n += 1;
            self.sum += x;
            self.sum_sq += x * x;
        }
    }

    /// Adds another writer's moments.
    pub fn merge(&mut self, o: &Moments) {
        self.n = self.n.saturating_add(o.n);
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }

    /// Mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// Sample variance (n − 1 denominator; 0 below two observations).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }

    /// As a [`Summary`] for the tests in [`crate::stats`].
    pub fn summary(&self) -> Summary {
        Summary {
            n: self.n as f64,
            mean: self.mean(),
            variance: self.variance(),
        }
    }
}

/// One arm's cumulative observations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// Variant name.
    pub name: String,
    /// Intended share of the experiment's traffic (any positive scale).
    pub weight: f64,
    /// Units (users) exposed: the sample-ratio check counts these.
    pub units: u64,
    /// Requests served in this arm.
    pub requests: u64,
    /// Of which failed (5xx).
    pub errors: u64,
    /// The primary metric.
    pub metric: Moments,
    /// p95 latency in ms, when known.
    pub p95_ms: Option<f64>,
}

impl ArmStats {
    /// An empty arm.
    pub fn new(name: &str, weight: f64) -> Self {
        Self {
            name: name.to_owned(),
            weight,
            ..Self::default()
        }
    }

    /// Records one request: whether it failed, its latency (the running p95
    /// is left to the caller's sketch) and its primary-metric value.
    pub fn record(&mut self, failed: bool, _latency_ms: f64, metric: f64) {
        self.requests += 1;
        self.errors += u64::from(failed);
        self.metric.push(metric);
    }

    /// Error rate (0 when empty).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// The stopping rules of one experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Significance level α (split between treatments).
    pub alpha: f64,
    /// No winner or loser before every arm has this many observations of
    /// the primary metric.
    pub min_sample_per_arm: u64,
    /// Mixing standard deviation of the mSPRT: the size of effect on the
    /// primary metric worth detecting, in its own unit.
    pub tau: f64,
    /// Which way is better.
    pub direction: Direction,
    /// Roll a treatment back when its error rate exceeds this (after 100
    /// requests or the minimum sample, whichever is smaller).
    pub max_error_rate: Option<f64>,
    /// Roll a treatment back when its errors are significantly above the
    /// control's.
    pub error_guard: bool,
    /// Roll a treatment back when its p95 latency exceeds this.
    pub max_p95_ms: Option<f64>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_sample_per_arm: 1000,
            tau: 0.02,
            direction: Direction::HigherIsBetter,
            max_error_rate: None,
            error_guard: true,
            max_p95_ms: None,
        }
    }
}

/// State carried between looks: the running always-valid p-values, one per
/// treatment arm (index 0 is unused: the control).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Running {
    /// Primary metric, per arm.
    pub metric_p: Vec<f64>,
    /// Errors above the control's, per arm.
    pub errors_p: Vec<f64>,
    /// The sequential sample-ratio check (`None` before the first look).
    #[serde(default)]
    pub srm_p: Option<f64>,
}

/// Why a treatment was rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Breach {
    /// Its error rate passed the absolute limit.
    ErrorRate {
        /// Observed.
        observed: f64,
        /// The limit.
        limit: f64,
    },
    /// Its errors are significantly above the control's.
    ErrorsAboveControl {
        /// The always-valid p-value.
        p_value: f64,
        /// Control's error rate.
        control: f64,
        /// Treatment's error rate.
        treatment: f64,
    },
    /// Its p95 latency passed the limit.
    Latency {
        /// Observed p95 in ms.
        p95_ms: f64,
        /// The limit.
        limit: f64,
    },
}

/// What the loop should do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Keep collecting.
    Continue {
        /// Why (sample size, p-values).
        reason: String,
    },
    /// Treatment `arm` beats the control.
    Win {
        /// Arm index.
        arm: usize,
        /// Its always-valid p-value.
        p_value: f64,
    },
    /// The control beats every treatment.
    Lose {
        /// The largest treatment p-value (all below the level).
        p_value: f64,
    },
    /// Treatment `arm` breached a safeguard.
    RollBack {
        /// Arm index.
        arm: usize,
        /// Which safeguard.
        breach: Breach,
    },
    /// Assignment is broken.
    SampleRatioMismatch {
        /// The χ² p-value.
        p_value: f64,
    },
}

/// The sample-ratio check's level (GrowthBook's default threshold).
pub const SRM_LEVEL: f64 = 0.001;

/// Judges the arms (index 0 is the control) and updates `running`.
pub fn judge(rules: &Rules, arms: &[ArmStats], running: &mut Running) -> Verdict {
    if arms.len() < 2 {
        return Verdict::Continue {
            reason: "fewer than two arms".into(),
        };
    }
    running.metric_p.resize(arms.len(), 1.0);
    running.errors_p.resize(arms.len(), 1.0);
    let counts: Vec<u64> = arms.iter().map(|a| a.units).collect();
    let weights: Vec<f64> = arms.iter().map(|a| a.weight).collect();
    if let Some(p) = srm_sequential(&counts, &weights) {
        let p = running.srm_p.map_or(p, |q| q.min(p));
        running.srm_p = Some(p);
        if p < SRM_LEVEL && counts.iter().all(|c| *c >= 8) {
            return Verdict::SampleRatioMismatch { p_value: p };
        }
    }
    let level = rules.alpha / (arms.len() - 1) as f64;
    for (arm, t) in arms.iter().enumerate().skip(1) {
        if let Some(breach) = safeguard(rules, &arms[0], t, &mut running.errors_p[arm], level) {
            return Verdict::RollBack { arm, breach };
        }
    }
    let enough = arms.iter().all(|a| a.metric.n >= rules.min_sample_per_arm);
    let control = arms[0].metric.summary();
    let mut better = None;
    let mut all_worse = true;
    let mut worst_p: f64 = 0.0;
    for (arm, t) in arms.iter().enumerate().skip(1) {
        let mut test = Msprt {
            tau2: rules.tau * rules.tau,
            p_value: running.metric_p[arm],
        };
        let p = test.update_means(control, t.metric.summary());
        running.metric_p[arm] = p;
        let lift = t.metric.mean() - arms[0].metric.mean();
        let improves = match rules.direction {
            Direction::HigherIsBetter => lift > 0.0,
            Direction::LowerIsBetter => lift < 0.0,
        };
        worst_p = worst_p.max(p);
        if p < level && improves && better.is_none_or(|(_, bp)| p < bp) {
            better = Some((arm, p));
        }
        all_worse &= p < level && !improves;
    }
    if !enough {
        return Verdict::Continue {
            reason: format!(
                "below the minimum sample ({} per arm)",
                rules.min_sample_per_arm
            ),
        };
    }
    if let Some((arm, p_value)) = better {
        return Verdict::Win { arm, p_value };
    }
    if all_worse {
        return Verdict::Lose { p_value: worst_p };
    }
    Verdict::Continue {
        reason: format!("no arm significant at {level:.4} (largest p {worst_p:.4})"),
    }
}

fn safeguard(
    rules: &Rules,
    control: &ArmStats,
    t: &ArmStats,
    errors_p: &mut f64,
    level: f64,
) -> Option<Breach> {
    let floor = rules.min_sample_per_arm.min(100);
    if let Some(limit) = rules.max_error_rate
        && t.requests >= floor
        && t.error_rate() > limit
    {
        return Some(Breach::ErrorRate {
            observed: t.error_rate(),
            limit,
        });
    }
    if rules.error_guard {
        let mut test = Msprt {
            tau2: rules.tau.max(0.01).powi(2),
            p_value: *errors_p,
        };
        let p = test.update(control.errors, control.requests, t.errors, t.requests);
        *errors_p = p;
        if p < level && t.error_rate() > control.error_rate() {
            return Some(Breach::ErrorsAboveControl {
                p_value: p,
                control: control.error_rate(),
                treatment: t.error_rate(),
            });
        }
    }
    match (rules.max_p95_ms, t.p95_ms) {
        (Some(limit), Some(p95)) if t.requests >= floor && p95 > limit => {
            Some(Breach::Latency { p95_ms: p95, limit })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arms(rates: &[(u64, u64, u64)]) -> Vec<ArmStats> {
        rates
            .iter()
            .enumerate()
            .map(|(i, &(n, errors, successes))| ArmStats {
                name: format!("arm{i}"),
                weight: 1.0,
                units: n,
                requests: n,
                errors,
                metric: Moments {
                    n,
                    sum: successes as f64,
                    sum_sq: successes as f64,
                },
                p95_ms: None,
            })
            .collect()
    }

    #[test]
    fn a_clear_lift_wins_and_a_clear_drop_loses() {
        let rules = Rules {
            min_sample_per_arm: 500,
            error_guard: false,
            ..Rules::default()
        };
        let mut r = Running::default();
        let v = judge(&rules, &arms(&[(5000, 0, 4000), (5000, 0, 4400)]), &mut r);
        assert!(matches!(v, Verdict::Win { arm: 1, .. }), "{v:?}");
        let mut r = Running::default();
        let v = judge(&rules, &arms(&[(5000, 0, 4400), (5000, 0, 4000)]), &mut r);
        assert!(matches!(v, Verdict::Lose { .. }), "{v:?}");
    }

    #[test]
    fn the_minimum_sample_holds_back_a_verdict_but_not_a_safeguard() {
        let rules = Rules {
            min_sample_per_arm: 10_000,
            max_error_rate: Some(0.05),
            ..Rules::default()
        };
        let mut r = Running::default();
        let v = judge(&rules, &arms(&[(5000, 0, 4000), (5000, 0, 4400)]), &mut r);
        assert!(matches!(v, Verdict::Continue { .. }), "{v:?}");
        let v = judge(&rules, &arms(&[(200, 2, 198), (200, 20, 180)]), &mut r);
        assert!(
            matches!(
                v,
                Verdict::RollBack {
                    arm: 1,
                    breach: Breach::ErrorRate { .. }
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn unequal_arm_counts_stop_on_srm() {
        let mut r = Running::default();
        let v = judge(
            &Rules::default(),
            &arms(&[(5000, 0, 4000), (5600, 0, 4480)]),
            &mut r,
        );
        assert!(matches!(v, Verdict::SampleRatioMismatch { .. }), "{v:?}");
    }

    #[test]
    fn lower_is_better_reverses_the_winner() {
        let rules = Rules {
            min_sample_per_arm: 100,
            direction: Direction::LowerIsBetter,
            tau: 10.0,
            error_guard: false,
            ..Rules::default()
        };
        let mut a = vec![ArmStats::new("c", 1.0), ArmStats::new("t", 1.0)];
        for i in 0..2000 {
            let jitter = f64::from(i % 7);
            a[0].record(false, 0.0, 300.0 + jitter);
            a[1].record(false, 0.0, 250.0 + jitter);
        }
        let v = judge(&rules, &a, &mut Running::default());
        assert!(matches!(v, Verdict::Win { arm: 1, .. }), "{v:?}");
    }
}
