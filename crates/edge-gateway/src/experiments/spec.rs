//! An experiment as the admin API takes it, as KV stores it, and as the
//! GrowthBook payload runs it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use traffic_split::experiment::ExperimentConfig;
use traffic_split::verdict::{Direction, Rules, Running, Verdict};

use crate::config::{ActionKind, BUILTIN_ATTRIBUTES, GatewayConfig};

/// What happens to a winning treatment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnWin {
    /// Stop and serve the control to everyone (ship by hand).
    #[default]
    Stop,
    /// Stop and serve the winner to everyone.
    Ship,
}

/// `POST /admin/experiments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// The design (traffic-split's experiment config): key, variants and
    /// their traffic, coverage, targeting, schedule, primary metric
    /// (`success`, `latency_ms`, `cost_usd`, `tokens` or `score:NAME`),
    /// α, minimum sample per arm, safeguards.
    pub experiment: ExperimentConfig,
    /// The feature each arm sets (bound in `[[experiments.actions]]`).
    pub feature: String,
    /// The feature's value per variant name.
    pub values: BTreeMap<String, Value>,
    /// Keep users in their first variant (KV sticky buckets).
    #[serde(default)]
    pub sticky: bool,
    /// Stop or ship on a win.
    #[serde(default)]
    pub on_win: OnWin,
    /// The effect size worth detecting on the primary metric, in its unit
    /// (default 0.02 for rates and scores, 50 for `latency_ms`, 0.0005 for
    /// `cost_usd`, 50 for `tokens`).
    #[serde(default)]
    pub effect_size: Option<f64>,
    /// Roll a treatment back when its p95 latency passes this.
    #[serde(default)]
    pub max_p95_ms: Option<f64>,
}

/// The primary metric, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Metric {
    Success,
    LatencyMs,
    CostUsd,
    Tokens,
    Score(String),
}

impl Metric {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => Self::Success,
            "latency_ms" => Self::LatencyMs,
            "cost_usd" => Self::CostUsd,
            "tokens" => Self::Tokens,
            _ => {
                let name = s.strip_prefix("score:")?;
                if !valid_score_name(name) {
                    return None;
                }
                Self::Score(name.to_owned())
            }
        })
    }

    fn direction(&self) -> Direction {
        match self {
            Self::Success | Self::Score(_) => Direction::HigherIsBetter,
            _ => Direction::LowerIsBetter,
        }
    }

    fn default_effect(&self) -> f64 {
        match self {
            Self::Success | Self::Score(_) => 0.02,
            Self::LatencyMs | Self::Tokens => 50.0,
            Self::CostUsd => 0.0005,
        }
    }
}

/// Feedback score names: `[a-z0-9_-]{1,32}`.
pub(crate) fn valid_score_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Where an experiment stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Assigning users.
    Running,
    /// Stopped; everyone it targets gets `serving`.
    Stopped {
        /// The variant everyone now gets.
        serving: String,
        /// Why: `won`, `lost`, `rolled_back`, `sample_ratio_mismatch`,
        /// `manual`.
        reason: String,
    },
}

/// One arm in a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    /// Variant name.
    pub variant: String,
    /// Intended share, percent.
    pub traffic_percent: f64,
    /// Users exposed (deduplicated per isolate).
    pub exposures: u64,
    /// Requests served.
    pub requests: u64,
    /// 5xx answers.
    pub errors: u64,
    /// Successful share of requests.
    pub success_rate: f64,
    /// p95 latency, ms.
    pub p95_ms: f64,
    /// Mean cost per request, USD.
    pub cost_per_request_usd: f64,
    /// Mean tokens (in + out) per request.
    pub tokens_per_request: f64,
    /// The primary metric: observations, mean and 95% interval.
    pub metric_n: u64,
    /// Mean of the primary metric.
    pub metric_mean: f64,
    /// 95% confidence interval of that mean (normal approximation).
    pub metric_ci95: (f64, f64),
    /// Always-valid p-value against the control (treatments only).
    pub p_value: Option<f64>,
}

/// What `GET /admin/experiments/{key}` answers and audit entries keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// Per arm, the control first.
    pub arms: Vec<ArmReport>,
    /// Sample-ratio mismatch p-value (always valid, over exposures).
    pub srm_p_value: Option<f64>,
    /// The judgement at the time.
    pub verdict: Option<Verdict>,
}

/// An action the loop or an operator took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// Who: `loop` or the admin's subject.
    pub by: String,
    /// `created`, `stopped`, `shipped`, `rolled_back`, ...
    pub action: String,
    /// The numbers that drove it.
    pub report: ExperimentReport,
}

/// Audit entries kept per experiment (oldest dropped).
const MAX_AUDIT: usize = 50;

/// An experiment as stored in KV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredExperiment {
    /// What was asked.
    pub spec: ExperimentSpec,
    /// Where it stands.
    pub status: ExperimentStatus,
    /// Created, ms.
    pub created_ms: u64,
    /// The sequential tests' running p-values.
    #[serde(default)]
    pub running: Running,
    /// Every action.
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
}

impl StoredExperiment {
    pub(crate) fn key(&self) -> &str {
        &self.spec.experiment.key
    }

    pub(crate) fn variant_names(&self) -> Vec<&str> {
        self.spec
            .experiment
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect()
    }

    pub(crate) fn push_audit(&mut self, entry: AuditEntry) {
        self.audit.push(entry);
        if self.audit.len() > MAX_AUDIT {
            let extra = self.audit.len() - MAX_AUDIT;
            self.audit.drain(..extra);
        }
    }

    pub(crate) fn metric(&self) -> Metric {
        Metric::parse(&self.spec.experiment.primary_metric).unwrap_or(Metric::Success)
    }

    /// The verdict rules.
    pub(crate) fn rules(&self) -> Rules {
        let e = &self.spec.experiment;
        let metric = self.metric();
        Rules {
            alpha: e.significance_level,
            min_sample_per_arm: e.min_sample_size.max(1),
            tau: self
                .spec
                .effect_size
                .unwrap_or_else(|| metric.default_effect()),
            direction: metric.direction(),
            max_error_rate: Some(e.safeguards.max_error_rate),
            error_guard: true,
            max_p95_ms: self.spec.max_p95_ms,
        }
    }

    /// The GrowthBook rule that runs this experiment now, or `None`
    /// outside its schedule.
    pub(crate) fn rule(&self, now_ms: u64) -> Option<Value> {
        let e = &self.spec.experiment;
        let id = format!("edgeforge:{}", e.key);
        let condition = e.condition();
        let has_condition = condition.as_object().is_some_and(|m| !m.is_empty());
        let mut rule = match &self.status {
            ExperimentStatus::Stopped { serving, .. } => {
                json!({"id": id, "force": self.spec.values.get(serving).cloned().unwrap_or(Value::Null)})
            }
            ExperimentStatus::Running => {
                if let Some(s) = &e.schedule {
                    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
                    if s.start_ms().ok()? > now || s.end_ms().ok()? <= now {
                        return None;
                    }
                }
                let values: Vec<Value> = e
                    .variants
                    .iter()
                    .map(|v| {
                        self.spec
                            .values
                            .get(&v.name)
                            .cloned()
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                let weights: Vec<f64> = e
                    .variants
                    .iter()
                    .map(|v| v.traffic_percent / 100.0)
                    .collect();
                let meta: Vec<Value> = e
                    .variants
                    .iter()
                    .map(|v| json!({"key": v.name, "name": v.name}))
                    .collect();
                json!({
                    "id": id,
                    "key": e.key,
                    "name": e.key,
                    "variations": values,
                    "weights": weights,
                    "coverage": e.coverage,
                    "hashAttribute": "id",
                    "hashVersion": 2,
                    "meta": meta,
                    "disableStickyBucketing": !self.spec.sticky,
                    "bucketVersion": 1,
                })
            }
        };
        if has_condition && let Some(m) = rule.as_object_mut() {
            m.insert("condition".into(), condition);
        }
        Some(rule)
    }
}

impl ExperimentSpec {
    /// Checks the spec against the config; the message names the field.
    pub(crate) fn validate(&self, cfg: &GatewayConfig, models: &[String]) -> Result<(), String> {
        let e = &self.experiment;
        if !e
            .key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err("experiment.key: use [A-Za-z0-9._-]".into());
        }
        let mut custom: Vec<String> = BUILTIN_ATTRIBUTES.iter().map(|s| (*s).to_owned()).collect();
        custom.extend(cfg.experiments.attributes.values().cloned());
        e.validate(&custom).map_err(|err| err.to_string())?;
        if e.variants.len() > 8 {
            return Err("experiment.variants: at most 8".into());
        }
        if Metric::parse(&e.primary_metric).is_none() {
            return Err(format!(
                "experiment.primary_metric: {:?} is not success, latency_ms, cost_usd, tokens or score:NAME",
                e.primary_metric
            ));
        }
        let Some(action) = cfg.experiments.action(&self.feature) else {
            return Err(format!(
                "feature: {:?} is not bound in [[experiments.actions]]",
                self.feature
            ));
        };
        for v in &e.variants {
            let value = self
                .values
                .get(&v.name)
                .ok_or_else(|| format!("values: no value for variant {:?}", v.name))?;
            check_value(action, value, cfg, models)
                .map_err(|m| format!("values.{}: {m}", v.name))?;
        }
        if let Some(extra) = self
            .values
            .keys()
            .find(|k| !e.variants.iter().any(|v| &v.name == *k))
        {
            return Err(format!("values: {extra:?} is not a variant"));
        }
        if self
            .effect_size
            .is_some_and(|t| !(t.is_finite() && t > 0.0))
        {
            return Err("effect_size: must be a positive number".into());
        }
        Ok(())
    }
}

/// Checks that `value` fits `action` (the same check the request path uses
/// to ignore a bad payload value).
pub(crate) fn check_value(
    action: ActionKind,
    value: &Value,
    cfg: &GatewayConfig,
    models: &[String],
) -> Result<(), String> {
    let text = || value.as_str().filter(|s| !s.is_empty() && s.len() <= 128);
    let number = |lo: f64, hi: f64| value.as_f64().filter(|x| (lo..=hi).contains(x));
    let ok = match action {
        ActionKind::Model => text().is_some_and(|m| models.iter().any(|n| n == m)),
        ActionKind::Provider => text().is_some_and(|p| cfg.router.provider(p).is_some()),
        ActionKind::TemplateVersion => text().is_some_and(|v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        }),
        ActionKind::Temperature => number(0.0, 2.0).is_some(),
        ActionKind::TopP => number(0.0, 1.0).is_some(),
        ActionKind::MaxTokens => value
            .as_u64()
            .is_some_and(|n| n >= 1 && n <= u64::from(cfg.limits.chat.max_output_tokens)),
        ActionKind::CachePolicy => matches!(value.as_str(), Some("bypass" | "default")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value} is not a valid {} (models: a model the router serves; providers: a configured provider; temperature 0-2; top_p 0-1; max_tokens 1..=limits; cache_policy bypass|default)",
            action.as_str()
        ))
    }
}
