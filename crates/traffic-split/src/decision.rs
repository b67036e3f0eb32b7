//! The per-request routing decision: deployment, variants and flags, each
//! with a reason, as headers and analytics fields for the gateway.

use serde::Serialize;
use serde_json::Value;

use crate::canary::CanaryState;
use crate::experiment::{Assignment, ExperimentConfig, assign};

/// Everything traffic-split decided for one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoutingDecision {
    /// The deployment that serves the request.
    pub deployment: String,
    /// Why (canary bucket, rollout status).
    pub deployment_reason: String,
    /// Experiment assignments.
    pub variants: Vec<Assignment>,
    /// Feature flag values: (key, value, source).
    pub flags: Vec<(String, Value, String)>,
}

impl RoutingDecision {
    /// Decides the deployment (from a rollout, if any) and the experiment
    /// variants for a unit with `attributes` (must carry `id` or `fingerprint`).
    pub fn decide(
        stable: &str,
        rollout: Option<&CanaryState>,
        experiments: &[ExperimentConfig],
        attributes: &Value,
        now_ms: u64,
        exposures: Option<&dyn edge_ports::AnalyticsSink>,
    ) -> Self {
        let unit = attributes
            .get("id")
            .or_else(|| attributes.get("fingerprint"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let (deployment, deployment_reason) = match rollout {
            Some(r) if !unit.is_empty() => {
                let d = r.route(unit).to_owned();
                let why = format!("rollout {} at {}% ({:?})", r.name, r.percent, r.status);
                (d, why)
            }
            Some(r) => (r.stable.clone(), "no unit id: stable".to_owned()),
            None => (stable.to_owned(), "no rollout".to_owned()),
        };
        let variants = experiments
            .iter()
            .filter_map(|e| assign(e, attributes, now_ms, exposures))
            .collect();
        Self {
            deployment,
            deployment_reason,
            variants,
            flags: Vec::new(),
        }
    }

    /// Evaluates feature flags from a GrowthBook payload for the same unit
    /// and records each value with its source.
    pub fn with_flags(
        mut self,
        payload: &crate::growthbook::Payload,
        attributes: &Value,
        keys: &[&str],
    ) -> Self {
        let user = crate::growthbook::UserContext::with_attributes(attributes.clone());
        let mut eval = crate::growthbook::Evaluator::new(payload, &user);
        for key in keys {
            let r = eval.eval_feature(key);
            let source = serde_json::to_value(r.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            self.flags.push(((*key).to_owned(), r.value, source));
        }
        self
    }

    /// Response headers: `x-edgeforge-deployment` and, when any,
    /// `x-edgeforge-variants` (`exp=variant;exp2=variant`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("x-edgeforge-deployment", self.deployment.clone())];
        if !self.variants.is_empty() {
            let v: Vec<String> = self
                .variants
                .iter()
                .map(|a| format!("{}={}", a.experiment, a.variant))
                .collect();
            h.push(("x-edgeforge-variants", v.join(";")));
        }
        if !self.flags.is_empty() {
            let f: Vec<String> = self
                .flags
                .iter()
                .map(|(k, v, _)| format!("{k}={v}"))
                .collect();
            h.push(("x-edgeforge-flags", f.join(";")));
        }
        h
    }
}
