//! The SLO step the health-prober cron (and the native host's loop) runs:
//! availability and latency of this deployment from the per-deployment
//! minute counts and sketches,
//! multi-window burn-rate alerts (state in KV, so each incident is sent
//! once), delivered to Slack and PagerDuty when their secrets are set.
//!
//! Windows up to 6 h are read (KV list + get per writer-minute); the 3-day
//! ticket pair therefore never fires here — see the README's status table.

use edge_ports::PutOptions;
use serde::Serialize;
use slo_metrics::alert::{AlertEvent, Alerter};
use slo_metrics::sinks::{PAGERDUTY_URL, Sender, pagerduty_payload, slack_payload};
use slo_metrics::slo::{Bucket, SloSpec, Windows};

use crate::Gateway;

/// KV key of the alert state.
pub const ALERT_STATE_KEY: &str = "slo:alerts";
/// Longest window read.
const READ_WINDOW_MIN: u64 = 360;

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
        let minutes = inner
            .deploy_metrics
            .read_minutes(
                &inner.cfg.gateway.deployment,
                now.saturating_sub(READ_WINDOW_MIN * 60_000),
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut windows = Windows::new();
        for (minute, c) in minutes {
            windows.add_bucket(
                minute,
                &Bucket {
                    total: c.requests,
                    server_errors: c.errors,
                    throttled: 0,
                    latency: c.latency,
                },
            );
        }
        let spec = SloSpec::defaults();
        // Availability and latency (p95 under 200 ms as a ratio SLI).
        let slos = &spec.slo[..2];
        let mut alerter: Alerter = match inner.kv.get(ALERT_STATE_KEY).await {
            Ok(Some(b)) => serde_json::from_slice(&b).unwrap_or_default(),
            _ => Alerter::default(),
        };
        let events = alerter.evaluate(slos, &windows, now);
        let report = slos[0].report(&windows, now);
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
            burn_rates: report
                .burn_rates
                .into_iter()
                .filter(|(k, _)| ["5m", "30m", "1h", "6h"].contains(&k.as_str()))
                .collect(),
            events,
            failed_deliveries: failed,
        })
    }
}
