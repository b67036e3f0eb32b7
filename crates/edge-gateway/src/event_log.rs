//! The security event log as the gateway wires it: the keyring that seals
//! event details and cached private completions, pseudonymous subjects, the
//! Slack hook for high-severity events, and the per-minute folding of like
//! events before they are written.

use zt_security::envelope::Keyring;
use zt_security::events::{EventLog, SecurityEvent};

use crate::context::WaitUntil;
use crate::{
    ConfigError, Gateway, GatewayConfig, GatewayPorts, SharedKv, SharedSink, alerts, security,
};

impl Gateway {
    /// Queues a security event, folded with like events of the same client
    /// in the same minute (one write per client and kind per minute).
    pub(crate) fn security_event(&self, bg: &dyn WaitUntil, event: SecurityEvent) {
        let now = self.inner.clock.now_ms();
        for ev in self.inner.security.sampler.admit(event, now) {
            self.record_event(bg, ev);
        }
    }

    /// Writes the summaries of a minute that has ended (cheap when none).
    pub(crate) fn flush_event_summaries(&self, bg: &dyn WaitUntil) {
        let now = self.inner.clock.now_ms();
        for ev in self.inner.security.sampler.flush(now) {
            self.record_event(bg, ev);
        }
    }

    fn record_event(&self, bg: &dyn WaitUntil, event: SecurityEvent) {
        let this = self.clone();
        bg.wait_until(Box::pin(async move {
            // Failures are counted by the log and returned; nothing else to do
            // in the background.
            let _ = this.inner.events.record(event).await;
        }));
    }
}

/// The keyring `[security.encryption]` names, if any.
pub(crate) fn keyring(
    cfg: &GatewayConfig,
    ports: &GatewayPorts,
) -> Result<Option<Keyring>, ConfigError> {
    let Some(e) = &cfg.security.encryption else {
        return Ok(None);
    };
    let field = "security.encryption.keyring_secret";
    let text = ports.secrets.get(&e.keyring_secret).ok_or_else(|| {
        ConfigError::at(field, format!("secret {:?} is not set", e.keyring_secret))
    })?;
    Keyring::from_json(&text)
        .map(Some)
        .map_err(|err| ConfigError::at(field, err))
}

/// The security event log: sealed details with a keyring, pseudonymous
/// subjects with a salt, high-severity events to Slack when configured.
pub(crate) fn event_log(
    cfg: &GatewayConfig,
    ports: &GatewayPorts,
    security: &security::Security,
    keyring: Option<Keyring>,
) -> Result<EventLog<SharedKv, SharedSink>, ConfigError> {
    let config = zt_security::events::EventLogConfig {
        details_keyring: keyring,
        pseudonym_key: security
            .salt()
            .filter(|s| !s.is_empty())
            .map(<[u8]>::to_vec),
        ..zt_security::events::EventLogConfig::default()
    };
    let log = EventLog::new(
        ports
            .security_kv
            .clone()
            .unwrap_or_else(|| ports.kv.clone()),
        ports.security_analytics.clone(),
        ports.clock.clone(),
        ports.random.clone(),
    )
    .with_config(config);
    let Some(name) = &cfg.security.alerts.slack_webhook_secret else {
        return Ok(log);
    };
    let url = ports.secrets.get(name).ok_or_else(|| {
        ConfigError::at(
            "security.alerts.slack_webhook_secret",
            format!("secret {name:?} is not set"),
        )
    })?;
    Ok(log.with_alert_hook(alerts::SlackSecurityAlerts::new(ports.http.clone(), url)))
}
