//! Blue-green switches: pre-switch checks, instant or gradual cut-over,
//! post-switch validation and automatic rollback with a report.

use std::time::Duration;

use edge_ports::http::{HttpClient, SendOptions};
use serde::{Deserialize, Serialize};

use crate::canary::StageMetrics;

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
pub struct SwitchPlan {
    /// The live deployment.
    pub blue: String,
    /// The new deployment.
    pub green: String,
    /// Green's health URL (must answer 2xx).
    pub health_url: String,
    /// Smoke requests that must pass before switching.
    pub smoke: Vec<SmokeRequest>,
    /// Instant or gradual.
    pub strategy: SwitchStrategy,
    /// Roll back when green's error rate exceeds this after a step.
    pub max_error_rate: f64,
    /// Roll back when green's p95 exceeds this after a step, ms.
    pub max_p95_ms: f64,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Status or error.
    pub detail: String,
}

/// The result of running a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchReport {
    /// Pre-switch checks.
    pub checks: Vec<Check>,
    /// Green's share after each step that was applied.
    pub steps: Vec<f64>,
    /// Where traffic ended: green's share.
    pub final_green_percent: f64,
    /// Whether the switch was rolled back (or never started).
    pub rolled_back: bool,
    /// Why it stopped, if it did.
    pub reason: Option<String>,
}

/// Applies traffic weights and reads green's metrics (the controller wires
/// these to its state store and to slo-metrics).
#[async_trait::async_trait(?Send)]
pub trait SwitchTarget {
    /// Sends `green_percent` of traffic to green.
    async fn set_green_percent(&self, green_percent: f64) -> Result<(), crate::Error>;
    /// Green's metrics since the last step.
    async fn green_metrics(&self) -> Result<StageMetrics, crate::Error>;
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

/// Runs a plan: checks, then steps with validation after each; any failure
/// returns all traffic to blue and says why.
pub async fn run(
    plan: &SwitchPlan,
    http: &dyn HttpClient,
    target: &dyn SwitchTarget,
) -> Result<SwitchReport, crate::Error> {
    let checks = pre_switch_checks(plan, http).await;
    if let Some(failed) = checks.iter().find(|c| !c.ok) {
        let reason = Some(format!(
            "pre-switch check failed: {}: {}",
            failed.name, failed.detail
        ));
        return Ok(SwitchReport {
            checks,
            steps: Vec::new(),
            final_green_percent: 0.0,
            rolled_back: true,
            reason,
        });
    }
    let steps = match &plan.strategy {
        SwitchStrategy::Instant => vec![100.0],
        SwitchStrategy::Gradual { steps } => steps.clone(),
    };
    let mut applied = Vec::new();
    for pct in steps {
        target.set_green_percent(pct).await?;
        applied.push(pct);
        let m = target.green_metrics().await?;
        let err = if m.requests == 0 {
            0.0
        } else {
            m.errors as f64 / m.requests as f64
        };
        let breach = if err > plan.max_error_rate {
            Some(format!(
                "green error rate {:.2}% > {:.2}% at {pct}%",
                err * 100.0,
                plan.max_error_rate * 100.0
            ))
        } else if m.p95_ms > plan.max_p95_ms {
            Some(format!(
                "green p95 {:.0} ms > {:.0} ms at {pct}%",
                m.p95_ms, plan.max_p95_ms
            ))
        } else {
            None
        };
        if let Some(reason) = breach {
            target.set_green_percent(0.0).await?;
            return Ok(SwitchReport {
                checks,
                steps: applied,
                final_green_percent: 0.0,
                rolled_back: true,
                reason: Some(reason),
            });
        }
    }
    Ok(SwitchReport {
        checks,
        steps: applied,
        final_green_percent: 100.0,
        rolled_back: false,
        reason: None,
    })
}
