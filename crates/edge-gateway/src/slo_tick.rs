//! The SLO step the health-prober cron (and the native host's loop) runs:
//! every objective of the config's `[slo]` section (availability, latency
//! and error rate), evaluated for **every deployment that served traffic**
//! in the last 3 days (on Workers each version labels its metrics with its
//! own id, so a version is a deployment), with multi-window burn-rate
//! alerts per deployment (state in KV under `slo:alerts:<deployment>`, so
//! each incident is sent once, and dedup keys `edgeforge/<deployment>/<slo>`
//! so two versions' incidents never merge), delivered to Slack and
//! PagerDuty when their secrets are set.
//!
//! The counts come from the per-deployment minute/hour/day buckets in KV
//! (see [`crate::DeploymentMetrics`]; a window longer than 8 h may miss up
//! to 59 minutes at its old end) or, with `gateway.analytics_dataset` and
//! the `CF_ACCOUNT_ID` / `CF_ANALYTICS_TOKEN` secrets, from the Analytics
//! Engine SQL API (exact). The maths is slo-metrics' `evaluate`, the same
//! that `/status`, `edgectl slo report` and the dashboard use.

use serde::Serialize;
use slo_metrics::alert::{AlertEvent, Alerter};
use slo_metrics::sinks::{Sender, pagerduty_payload, slack_payload};
use slo_metrics::slo::SloReport;
use slo_metrics::source::{Evaluation, evaluate};
use slo_metrics::sql::AnalyticsSql;
use slo_metrics::store::KvWindows;

use crate::Gateway;

/// KV key prefix of the alert state (one key per deployment).
pub const ALERT_STATE_KEY: &str = "slo:alerts";

/// What one step found for one deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentSlo {
    /// The deployment (version id on Workers).
    pub deployment: String,
    /// One report per objective: SLI, budget left, burn rates.
    pub reports: Vec<SloReport>,
}

/// What one step did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SloTick {
    /// Every deployment evaluated.
    pub deployments: Vec<DeploymentSlo>,
    /// Alert changes this step, over all deployments.
    pub events: Vec<AlertEvent>,
    /// Deliveries that failed after retries.
    pub failed_deliveries: u64,
}

impl SloTick {
    /// The burn rates of `slo` on `deployment` by window (`"5m"`, `"1h"`…).
    pub fn burn_rates(
        &self,
        deployment: &str,
        slo: &str,
    ) -> Option<&std::collections::BTreeMap<String, f64>> {
        self.deployments
            .iter()
            .find(|d| d.deployment == deployment)?
            .reports
            .iter()
            .find(|r| r.name == slo)
            .map(|r| &r.burn_rates)
    }
}

impl Gateway {
    /// Evaluates the objectives of every live deployment and delivers the
    /// alert changes.
    pub async fn slo_tick(&self) -> Result<SloTick, String> {
        let inner = &self.inner;
        let mut deployments = inner
            .deploy_metrics
            .live_deployments()
            .await
            .map_err(|e| e.to_string())?;
        if deployments.is_empty() {
            deployments.push(inner.cfg.gateway.deployment.clone());
        }
        let mut tick = SloTick::default();
        for deployment in deployments {
            let (evaluation, events) = self.evaluate_deployment(&deployment).await?;
            tick.events.extend(events);
            tick.deployments.push(DeploymentSlo {
                deployment,
                reports: evaluation.reports,
            });
        }
        tick.failed_deliveries = self.deliver(&tick.events).await;
        Ok(tick)
    }

    /// One deployment's evaluation and alert changes (state persisted).
    async fn evaluate_deployment(
        &self,
        deployment: &str,
    ) -> Result<(Evaluation, Vec<AlertEvent>), String> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let state_key = format!("{ALERT_STATE_KEY}:{deployment}");
        let mut alerter = Alerter::load(inner.kv.as_ref(), &state_key)
            .await
            .unwrap_or_default();
        alerter.scope = Some(deployment.to_owned());
        let slos = &inner.cfg.slo.slo;
        let sql = match (
            &inner.cfg.gateway.analytics_dataset,
            inner.secrets.get("CF_ACCOUNT_ID"),
            inner.secrets.get("CF_ANALYTICS_TOKEN"),
        ) {
            (Some(ds), Some(account), Some(token)) => Some((ds.clone(), account, token)),
            _ => None,
        };
        let evaluation = match sql {
            Some((ds, account, token)) => {
                let client = AnalyticsSql::new(inner.http.as_ref(), &account, &token, &ds)
                    .for_deployment(deployment);
                evaluate(slos, &client, &mut alerter, now).await
            }
            None => {
                let kv = KvWindows::shared(inner.kv.clone(), &format!("dm:{deployment}"));
                evaluate(slos, &kv, &mut alerter, now).await
            }
        }
        .map_err(|e| format!("{deployment}: {e}"))?;
        let events = evaluation.events.clone();
        if !events.is_empty() {
            alerter
                .save(inner.kv.as_ref(), &state_key)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok((evaluation, events))
    }

    /// Sends `events` to Slack and PagerDuty (when their secrets are set);
    /// returns the deliveries that failed after retries.
    async fn deliver(&self, events: &[AlertEvent]) -> u64 {
        if events.is_empty() {
            return 0;
        }
        let inner = &self.inner;
        let sender = Sender::new(inner.http.as_ref(), inner.timer.as_ref());
        let sinks = &inner.cfg.slo_alerts;
        let slack = inner.secrets.get(&sinks.slack_webhook_secret);
        let pagerduty = inner.secrets.get(&sinks.pagerduty_routing_key_secret);
        for ev in events {
            if let Some(url) = &slack {
                sender.post(url, &slack_payload(ev)).await;
            }
            if let Some(key) = &pagerduty {
                sender
                    .post(
                        &sinks.pagerduty_events_url,
                        &pagerduty_payload(ev, key, "edgeforge"),
                    )
                    .await;
            }
        }
        sender.failed_deliveries()
    }
}
