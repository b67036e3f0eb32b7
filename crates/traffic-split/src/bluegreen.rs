//! Blue-green switches: pre-switch checks, then an instant or gradual
//! cut-over that the canary controller runs like any rollout — each step
//! held for `step_ms` and judged on green's own metrics, with automatic
//! rollback to blue and an audit entry per transition (the report).
//!
//! ```
//! use traffic_split::bluegreen::{SwitchPlan, SwitchStrategy};
//!
//! let plan: SwitchPlan = serde_json::from_value(serde_json::json!({
//!     "blue": "v1", "green": "v2", "health_url": "https://green.example/health",
//!     "strategy": {"kind": "gradual", "steps": [10, 50, 100]},
//!     "max_error_rate": 0.01, "max_p95_ms": 500
//! })).unwrap();
//! let stages = plan.stages().unwrap();
//! assert_eq!(stages.stages.iter().map(|s| s.percent).collect::<Vec<_>>(), [10.0, 50.0, 100.0]);
//! ```

use std::time::Duration;

use edge_ports::http::{HttpClient, SendOptions};
use serde::{Deserialize, Serialize};

use crate::canary::{CanaryConfig, Stage};

/// One smoke request through the HTTP port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeRequest {
    /// Method.
    pub method: String,
    /// Absolute URL on the green deployment.
    pub url: String,
    /// The status it must answer.
    pub expect_status: u16,
}

/// How traffic moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SwitchStrategy {
    /// 0 → 100% at once.
    Instant,
    /// Through these percentages, validating after each.
    Gradual {
        /// Green's share at each step, rising to 100.
        steps: Vec<f64>,
    },
}

/// A blue → green switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchPlan {
    /// The live deployment.
    pub blue: String,
    /// The new deployment.
    pub green: String,
    /// Green's health URL (must answer 2xx).
    pub health_url: String,
    /// Smoke requests that must pass before switching.
    #[serde(default)]
    pub smoke: Vec<SmokeRequest>,
    /// Instant or gradual.
    pub strategy: SwitchStrategy,
    /// Roll back when green's error rate exceeds this after a step.
    pub max_error_rate: f64,
    /// Roll back when green's p95 exceeds this after a step, ms.
    pub max_p95_ms: f64,
    /// How long each step (the instant switch's 100% included) is
    /// validated before the next, ms.
    #[serde(default = "default_step_ms")]
    pub step_ms: u64,
    /// Requests green must serve in a step before it is judged healthy.
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
}

fn default_step_ms() -> u64 {
    5 * 60_000
}

fn default_min_requests() -> u64 {
    100
}

impl SwitchPlan {
    /// The rollout the controller runs: one stage per step (instant: a
    /// single 100% stage), each guarded by the plan's limits.
    pub fn stages(&self) -> Result<CanaryConfig, crate::Error> {
        let steps = match &self.strategy {
            SwitchStrategy::Instant => vec![100.0],
            SwitchStrategy::Gradual { steps } => steps.clone(),
        };
        let plan = CanaryConfig {
            stages: steps
                .iter()
                .map(|&percent| Stage {
                    percent,
                    min_duration_ms: self.step_ms,
                    max_error_rate: self.max_error_rate,
                    max_p95_ms: self.max_p95_ms,
                    min_requests: self.min_requests,
                })
                .collect(),
        };
        plan.validate()?;
        if self.blue == self.green || self.blue.is_empty() || self.green.is_empty() {
            return Err(crate::Error::Config(
                "blue and green must be two different deployments".into(),
            ));
        }
        Ok(plan)
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Status or error.
    pub detail: String,
}

/// Runs the pre-switch checks: green's health, then every smoke request.
pub async fn pre_switch_checks(plan: &SwitchPlan, http: &dyn HttpClient) -> Vec<Check> {
    let mut checks = Vec::new();
    let probe = |method: &str, url: &str| -> Option<http::Request<Vec<u8>>> {
        http::Request::builder()
            .method(method)
            .uri(url)
            .body(Vec::new())
            .ok()
    };
    let opts = SendOptions::timeout(Duration::from_secs(5));
    let health = match probe("GET", &plan.health_url) {
        None => Check {
            name: "health".into(),
            ok: false,
            detail: format!("invalid URL {}", plan.health_url),
        },
        Some(req) => match http.send(req, opts).await {
            Ok(r) => Check {
                name: "health".into(),
                ok: r.status().is_success(),
                detail: format!("status {}", r.status().as_u16()),
            },
            Err(e) => Check {
                name: "health".into(),
                ok: false,
                detail: e.to_string(),
            },
        },
    };
    checks.push(health);
    for s in &plan.smoke {
        let name = format!("smoke {} {}", s.method, s.url);
        let c = match probe(&s.method, &s.url) {
            None => Check {
                name,
                ok: false,
                detail: "invalid request".into(),
            },
            Some(req) => match http.send(req, opts).await {
                Ok(r) => Check {
                    name,
                    ok: r.status().as_u16() == s.expect_status,
                    detail: format!("status {} (want {})", r.status().as_u16(), s.expect_status),
                },
                Err(e) => Check {
                    name,
                    ok: false,
                    detail: e.to_string(),
                },
            },
        };
        checks.push(c);
    }
    checks
}
