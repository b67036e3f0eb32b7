//! High-severity security events to Slack (the event log's alert hook).
//! Events reach it already redacted and folded per client and minute, so
//! a flood is one message per client per minute, not one per request.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use edge_ports::{HttpClient, SendOptions};
use serde_json::json;
use zt_security::events::{AlertHook, SecurityEvent};

/// Posts each event to a Slack incoming webhook.
pub(crate) struct SlackSecurityAlerts {
    http: Arc<dyn HttpClient>,
    url: String,
}

impl SlackSecurityAlerts {
    pub(crate) fn new(http: Arc<dyn HttpClient>, url: String) -> Self {
        Self { http, url }
    }
}

/// The Slack message for one event.
pub(crate) fn slack_message(ev: &SecurityEvent) -> serde_json::Value {
    let count = if ev.count > 1 {
        format!(" ×{}", ev.count)
    } else {
        String::new()
    };
    let text = format!(
        ":shield: *{:?} {}*{count}: {}\nroute `{}` · client {} · country {} · request {}",
        ev.severity,
        ev.kind.as_str(),
        ev.reason,
        ev.route.as_deref().unwrap_or("-"),
        ev.client_ip.as_deref().unwrap_or("-"),
        ev.country.as_deref().unwrap_or("-"),
        ev.request_id.as_deref().unwrap_or("-"),
    );
    json!({"text": text})
}

#[async_trait(?Send)]
impl AlertHook for SlackSecurityAlerts {
    async fn alert(&self, event: &SecurityEvent) -> Result<(), String> {
        let body = slack_message(event).to_string().into_bytes();
        let req = http::Request::post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| e.to_string())?;
        let resp = self
            .http
            .send(req, SendOptions::timeout(Duration::from_secs(5)))
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("Slack answered {}", resp.status()))
        }
    }
}
