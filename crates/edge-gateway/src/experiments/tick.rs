//! The experiment loop: judge every running experiment on its arms'
//! cumulative metrics and act — stop a winner or a loser (shipping the
//! winner when asked), roll back an arm that breached a safeguard, stop on
//! a sample-ratio mismatch — with an audit entry holding the numbers.

use std::collections::BTreeMap;

use edge_ports::{KvError, PutOptions};
use serde::Serialize;
use traffic_split::verdict::{ArmStats, Moments, Running, Verdict, judge};

use super::EXPERIMENT_PREFIX;
use super::arms::{ArmCounters, read_arms};
use super::payload::{bump_version, list_experiments};
use super::spec::{
    ArmReport, AuditEntry, ExperimentReport, ExperimentStatus, Metric, OnWin, StoredExperiment,
};
use crate::Gateway;

/// What one step did for one running experiment.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentStep {
    /// The experiment.
    pub experiment: String,
    /// `stopped`, `shipped`, `rolled_back`, or none.
    pub action: Option<String>,
    /// The judgement.
    pub verdict: Verdict,
}

fn metric_moments(metric: &Metric, c: &ArmCounters) -> Moments {
    match metric {
        Metric::Success => {
            let ok = c.requests.saturating_sub(c.errors) as f64;
            Moments {
                n: c.requests,
                sum: ok,
                sum_sq: ok,
            }
        }
        Metric::LatencyMs => c.latency_ms,
        Metric::CostUsd => c.cost_usd,
        Metric::Tokens => c.tokens,
        Metric::Score(name) => c.scores.get(name).copied().unwrap_or_default(),
    }
}

/// The arms of `exp` in variant order (the control first).
fn arm_stats(exp: &StoredExperiment, counters: &BTreeMap<String, ArmCounters>) -> Vec<ArmStats> {
    let metric = exp.metric();
    let empty = ArmCounters::default();
    exp.spec
        .experiment
        .variants
        .iter()
        .map(|v| {
            let c = counters.get(&v.name).unwrap_or(&empty);
            ArmStats {
                name: v.name.clone(),
                weight: v.traffic_percent,
                units: c.exposures,
                requests: c.requests,
                errors: c.errors,
                metric: metric_moments(&metric, c),
                p95_ms: c.latency_sketch.quantile(0.95),
            }
        })
        .collect()
}

fn per_request(m: &Moments) -> f64 {
    m.mean()
}

fn report(
    counters: &BTreeMap<String, ArmCounters>,
    stats: &[ArmStats],
    running: &Running,
    verdict: &Verdict,
) -> ExperimentReport {
    let empty = ArmCounters::default();
    let arms = stats
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let c = counters.get(&a.name).unwrap_or(&empty);
            let half = 1.96 * (a.metric.variance() / (a.metric.n.max(1) as f64)).sqrt();
            let mean = a.metric.mean();
            ArmReport {
                variant: a.name.clone(),
                traffic_percent: a.weight,
                exposures: a.units,
                requests: a.requests,
                errors: a.errors,
                success_rate: if a.requests == 0 {
                    0.0
                } else {
                    1.0 - a.error_rate()
                },
                p95_ms: a.p95_ms.unwrap_or(0.0),
                cost_per_request_usd: per_request(&c.cost_usd),
                tokens_per_request: per_request(&c.tokens),
                metric_n: a.metric.n,
                metric_mean: mean,
                metric_ci95: (mean - half, mean + half),
                p_value: (i > 0).then(|| running.metric_p.get(i).copied().unwrap_or(1.0)),
            }
        })
        .collect();
    ExperimentReport {
        arms,
        srm_p_value: running.srm_p,
        verdict: Some(verdict.clone()),
    }
}

/// The status and audit action a verdict leads to (`None`: keep running).
fn act(exp: &StoredExperiment, verdict: &Verdict) -> Option<(ExperimentStatus, &'static str)> {
    let names = exp.variant_names();
    let control = (*names.first()?).to_owned();
    let auto = exp.spec.experiment.safeguards.auto_stop_on_significance;
    let stop = |reason: &str| ExperimentStatus::Stopped {
        serving: control.clone(),
        reason: reason.to_owned(),
    };
    match verdict {
        Verdict::Continue { .. } => None,
        Verdict::SampleRatioMismatch { .. } => Some((stop("sample_ratio_mismatch"), "stopped")),
        Verdict::RollBack { .. } => Some((stop("rolled_back"), "rolled_back")),
        Verdict::Lose { .. } if auto => Some((stop("lost"), "stopped")),
        Verdict::Win { arm, .. } if auto => match exp.spec.on_win {
            OnWin::Ship => Some((
                ExperimentStatus::Stopped {
                    serving: (*names.get(*arm)?).to_owned(),
                    reason: "won".into(),
                },
                "shipped",
            )),
            OnWin::Stop => Some((stop("won"), "stopped")),
        },
        Verdict::Win { .. } | Verdict::Lose { .. } => None,
    }
}

impl Gateway {
    /// Reads `exp`'s arms and judges them without acting (reports).
    pub(crate) async fn judge_experiment(
        &self,
        exp: &StoredExperiment,
    ) -> Result<(ExperimentReport, Running, Verdict), KvError> {
        let counters = read_arms(self.inner.kv.as_ref(), exp.key()).await?;
        let stats = arm_stats(exp, &counters);
        let mut running = exp.running.clone();
        let verdict = judge(&exp.rules(), &stats, &mut running);
        let rep = report(&counters, &stats, &running, &verdict);
        Ok((rep, running, verdict))
    }

    /// Saves an experiment and tells every isolate.
    pub(crate) async fn save_experiment(&self, exp: &StoredExperiment) -> Result<(), KvError> {
        self.put_experiment(exp).await?;
        bump_version(self).await
    }

    /// Writes an experiment without telling the isolates (what they
    /// evaluate did not change).
    async fn put_experiment(&self, exp: &StoredExperiment) -> Result<(), KvError> {
        let body = serde_json::to_vec(exp).unwrap_or_default();
        self.inner
            .kv
            .put(
                &format!("{EXPERIMENT_PREFIX}{}", exp.key()),
                body,
                PutOptions::default(),
            )
            .await
    }

    /// One step of the experiment loop over every running experiment (the
    /// canary-controller's cron and edgectl's background loop call it).
    pub async fn experiment_tick(&self) -> Result<Vec<ExperimentStep>, KvError> {
        // This isolate's own counts first, so a single-process host judges
        // what it served.
        let now = self.inner.clock.now_ms();
        self.inner
            .arm_metrics
            .flush(self.inner.kv.as_ref(), now)
            .await?;
        let mut steps = Vec::new();
        for mut exp in list_experiments(self.inner.kv.as_ref()).await? {
            if exp.status != ExperimentStatus::Running {
                continue;
            }
            let (rep, running, verdict) = self.judge_experiment(&exp).await?;
            exp.running = running;
            let action = act(&exp, &verdict);
            if let Some((status, action)) = &action {
                exp.status = status.clone();
                exp.push_audit(AuditEntry {
                    at_ms: now,
                    by: "loop".into(),
                    action: (*action).to_owned(),
                    report: rep,
                });
                self.save_experiment(&exp).await?;
            } else {
                // The running p-values only: no isolate needs to reload.
                self.put_experiment(&exp).await?;
            }
            steps.push(ExperimentStep {
                experiment: exp.key().to_owned(),
                action: action.map(|(_, a)| a.to_owned()),
                verdict,
            });
        }
        Ok(steps)
    }
}
