//! `[slo_alerts]`: where the SLO step delivers pages and tickets.

use serde::{Deserialize, Serialize};

/// `[slo_alerts]`: the secrets that hold the Slack webhook and the
/// PagerDuty routing key (a sink whose secret is unset is skipped), and
/// PagerDuty's Events API endpoint (https, or http to a loopback host for
/// tests).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SloAlertsSection {
    /// Secret name of a Slack incoming-webhook URL.
    pub slack_webhook_secret: String,
    /// Secret name of a PagerDuty Events API v2 routing key.
    pub pagerduty_routing_key_secret: String,
    /// PagerDuty's enqueue endpoint.
    pub pagerduty_events_url: String,
}

impl Default for SloAlertsSection {
    fn default() -> Self {
        Self {
            slack_webhook_secret: "SLACK_WEBHOOK_URL".into(),
            pagerduty_routing_key_secret: "PAGERDUTY_ROUTING_KEY".into(),
            pagerduty_events_url: slo_metrics::sinks::PAGERDUTY_URL.into(),
        }
    }
}
