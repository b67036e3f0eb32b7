//! The SLO step the health-prober cron (and the native host's loop) runs:
//! availability and latency of this deployment from the per-deployment
//! minute counts and sketches,
//! multi-window burn-rate alerts (state in KV, so each incident is sent
//! once), delivered to Slack and PagerDuty when their secrets are set.
//!
//! From KV every window to 3 days is read from the minute, hour and day
//! buckets (see [`crate::DeploymentMetrics`]; a window longer than 8 h may
//! miss up to 59 minutes at its old end). With `gateway.analytics_dataset`
//! and the `CF_ACCOUNT_ID` / `CF_ANALYTICS_TOKEN` secrets, every window
//! comes from the Analytics Engine SQL API instead (exact, availability
//! only).

use edge_ports::PutOptions;
use serde::Serialize;
use slo_metrics::alert::{AlertEvent, Alerter};
use slo_metrics::sinks::{PAGERDUTY_URL, Sender, pagerduty_payload, slack_payload};
use slo_metrics::slo::{FixedCounts, SloSpec, WINDOWS_MIN};
use slo_metrics::sql::AnalyticsSql;

use crate::Gateway;

/// KV key of the alert state.
pub const ALERT_STATE_KEY: &str = "slo:alerts";

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct SloTick {
    /// Availability burn rates by window.
    pub burn_rates: std::collections::BTreeMap<String, f64>,
    /// Alert changes this step.
    pub events: Vec<AlertEvent>,
    /// Deliveries that failed after retries.
    pub failed_deliveries: u64,
}

impl Gateway {
    /// Evaluates the availability SLO and delivers alert changes.
    pub async fn slo_tick(&self) -> Result<SloTick, String> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let spec = SloSpec::defaults();
        let deployment = inner.cfg.gateway.deployment.clone();
        let sql = match (
            &inner.cfg.gateway.analytics_dataset,
            inner.secrets.get("CF_ACCOUNT_ID"),
            inner.secrets.get("CF_ANALYTICS_TOKEN"),
        ) {
            (Some(ds), Some(account), Some(token)) => Some((ds.clone(), account, token)),
            _ => None,
        };
        let mut alerter: Alerter = match inner.kv.get(ALERT_STATE_KEY).await {
            Ok(Some(b)) => serde_json::from_slice(&b).unwrap_or_default(),
            _ => Alerter::default(),
        };
        let (events, report) = if let Some((ds, account, token)) = sql {
            // Analytics Engine: every window up to 3 days, availability only.
            let client = AnalyticsSql::new(inner.http.as_ref(), &account, &token, &ds);
            let mut counts = FixedCounts::default();
            for w in WINDOWS_MIN {
                let c = client
                    .availability(w, &deployment)
                    .await
                    .map_err(|e| e.to_string())?;
                counts.0.insert(w, c);
            }
            let slos = &spec.slo[..1];
            (
                alerter.evaluate(slos, &counts, now),
                slos[0].report(&counts, now),
            )
        } else {
            let windows = inner
                .deploy_metrics
                .windows(&deployment, now, &WINDOWS_MIN)
                .await
                .map_err(|e| e.to_string())?;
            // Availability and latency (p95 under 200 ms as a ratio SLI).
            let slos = &spec.slo[..2];
            (
                alerter.evaluate(slos, &windows, now),
                slos[0].report(&windows, now),
            )
        };
        let mut failed = 0;
        if !events.is_empty() {
            let body = serde_json::to_vec(&alerter).map_err(|e| e.to_string())?;
            inner
                .kv
                .put(ALERT_STATE_KEY, body, PutOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let sender = Sender::new(inner.http.as_ref(), inner.timer.as_ref());
            let slack = inner.secrets.get("SLACK_WEBHOOK_URL");
            let pagerduty = inner.secrets.get("PAGERDUTY_ROUTING_KEY");
            for ev in &events {
                if let Some(url) = &slack {
                    sender.post(url, &slack_payload(ev)).await;
                }
                if let Some(key) = &pagerduty {
                    sender
                        .post(
                            PAGERDUTY_URL,
                            &pagerduty_payload(ev, key, &inner.cfg.gateway.deployment),
                        )
                        .await;
                }
            }
            failed = sender.failed_deliveries();
        }
        Ok(SloTick {
            burn_rates: report.burn_rates,
            events,
            failed_deliveries: failed,
        })
    }
}
