//! Multi-window, multi-burn-rate alerting (Google SRE Workbook, ch. 5) with
//! de-duplicated trigger/resolve per SLO.
//!
//! | severity | long window | short window | burn rate |
//! |---|---|---|---|
//! | page | 1 h | 5 m | 14.4 |
//! | page | 6 h | 30 m | 6 |
//! | ticket | 3 d | 6 h | 1 |
//!
//! A pair fires when both windows burn faster than its rate; the SLO's
//! severity is the highest pair firing. [`Alerter::evaluate`] returns only
//! *changes*: a trigger when an SLO starts firing (or escalates), a resolve
//! when it stops, nothing while the state holds, so a sink receives each
//! incident once under a stable `dedup_key` (`edgeforge/<slo>`). When only
//! a slower pair keeps firing, the state drops to its severity silently
//! (the incident stays open) and a renewed fast burn escalates again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::slo::{CountSource, Slo};

/// How urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Open a ticket.
    Ticket,
    /// Page someone.
    Page,
}

/// One window pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRule {
    /// Severity when it fires.
    pub severity: Severity,
    /// Long window, minutes.
    pub long_min: u64,
    /// Short window, minutes.
    pub short_min: u64,
    /// Burn-rate threshold.
    pub rate: f64,
}

/// The workbook's rules for a 30-day objective.
pub const RULES: [BurnRule; 3] = [
    BurnRule {
        severity: Severity::Page,
        long_min: 60,
        short_min: 5,
        rate: 14.4,
    },
    BurnRule {
        severity: Severity::Page,
        long_min: 360,
        short_min: 30,
        rate: 6.0,
    },
    BurnRule {
        severity: Severity::Ticket,
        long_min: 4320,
        short_min: 360,
        rate: 1.0,
    },
];

/// What to tell the sinks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum AlertEvent {
    /// Start (or escalate) an incident.
    Trigger {
        /// Stable per SLO.
        dedup_key: String,
        /// The SLO.
        slo: String,
        /// Severity.
        severity: Severity,
        /// Human summary.
        summary: String,
        /// Burn rates of the firing pair (long, short) and the threshold.
        long_burn: f64,
        /// Short-window burn.
        short_burn: f64,
        /// The threshold.
        threshold: f64,
    },
    /// The burn stopped.
    Resolve {
        /// Same key as the trigger.
        dedup_key: String,
        /// The SLO.
        slo: String,
    },
}

/// Per-SLO alert state (persist it between cron runs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alerter {
    /// Firing SLOs and their severity.
    pub firing: BTreeMap<String, Severity>,
    /// What the objectives are measured on (a deployment or version id):
    /// part of every `dedup_key` (`edgeforge/<scope>/<slo>`) and summary,
    /// so two versions' incidents never merge. `None`: `edgeforge/<slo>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// KV key of the persisted alert state.
pub const STATE_KEY: &str = "slo:alerts";

impl Alerter {
    /// The state persisted at `key` (empty when missing or unreadable: the
    /// worst case is one repeated trigger, which the sinks de-duplicate by
    /// `dedup_key`).
    pub async fn load(
        kv: &dyn edge_ports::KvStore,
        key: &str,
    ) -> Result<Self, edge_ports::KvError> {
        Ok(kv
            .get(key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    /// Persists the state at `key`. Call it after [`Alerter::evaluate`]
    /// returned changes (one writer: the cron step, so KV's one write per
    /// second per key is not a concern).
    pub async fn save(
        &self,
        kv: &dyn edge_ports::KvStore,
        key: &str,
    ) -> Result<(), edge_ports::KvError> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        kv.put(key, body, edge_ports::PutOptions::default()).await
    }

    /// Evaluates every SLO at `now_ms`; returns the state changes.
    pub fn evaluate(&mut self, slos: &[Slo], w: &dyn CountSource, now_ms: u64) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for slo in slos {
            let mut hit: Option<(BurnRule, f64, f64)> = None;
            for rule in RULES {
                let long = slo.burn(w, now_ms, rule.long_min);
                let short = slo.burn(w, now_ms, rule.short_min);
                if long > rule.rate
                    && short > rule.rate
                    && hit.is_none_or(|(h, _, _)| rule.severity > h.severity)
                {
                    hit = Some((rule, long, short));
                }
            }
            let (dedup_key, subject) = match &self.scope {
                Some(scope) => (
                    format!("edgeforge/{scope}/{}", slo.name),
                    format!("{} on {scope}", slo.name),
                ),
                None => (format!("edgeforge/{}", slo.name), slo.name.clone()),
            };
            match (hit, self.firing.get(&slo.name).copied()) {
                (Some((rule, long, short)), prev) if prev.is_none_or(|p| rule.severity > p) => {
                    self.firing.insert(slo.name.clone(), rule.severity);
                    out.push(AlertEvent::Trigger {
                        dedup_key,
                        slo: slo.name.clone(),
                        severity: rule.severity,
                        summary: format!(
                            "{subject}: error budget burning at {long:.1}x over {} (and {short:.1}x over {}), threshold {}x",
                            crate::slo::label(rule.long_min),
                            crate::slo::label(rule.short_min),
                            rule.rate
                        ),
                        long_burn: long,
                        short_burn: short,
                        threshold: rule.rate,
                    });
                }
                // Only a slower pair still fires: remember the lower
                // severity (no message), so a renewed fast burn pages again.
                (Some((rule, _, _)), Some(prev)) if rule.severity < prev => {
                    self.firing.insert(slo.name.clone(), rule.severity);
                }
                (None, Some(_)) => {
                    self.firing.remove(&slo.name);
                    out.push(AlertEvent::Resolve {
                        dedup_key,
                        slo: slo.name.clone(),
                    });
                }
                _ => {}
            }
        }
        out
    }
}
