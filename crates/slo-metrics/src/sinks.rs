//! Alert sinks over the HTTP port: a Slack incoming webhook (blocks) and
//! PagerDuty Events API v2 (trigger/resolve with a stable `dedup_key`).
//! Deliveries retry with exponential backoff on transport errors, 429 and
//! 5xx; a delivery that still fails is returned as failed and counted —
//! never dropped silently; with [`Sender::dead_letter`] it is also kept
//! in KV (`{prefix}{now_ms:013}:{n}`, 7 days) with the URL's host only and
//! the PagerDuty `routing_key` blanked, so no secret is stored.

use std::cell::Cell;
use std::time::Duration;

use edge_ports::http::{HttpClient, SendOptions};
use edge_ports::{Clock, KvStore, PutOptions, Timer};
use serde_json::{Value, json};

use crate::alert::{AlertEvent, Severity};

/// PagerDuty's Events API v2 endpoint.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// The payload for Slack.
pub fn slack_payload(ev: &AlertEvent) -> Value {
    match ev {
        AlertEvent::Trigger {
            slo,
            severity,
            summary,
            long_burn,
            short_burn,
            threshold,
            ..
        } => {
            let icon = if *severity == Severity::Page {
                ":rotating_light:"
            } else {
                ":warning:"
            };
            let sev = if *severity == Severity::Page {
                "PAGE"
            } else {
                "TICKET"
            };
            json!({
                "text": format!("[{sev}] {summary}"),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": format!("{sev}: SLO {slo} is burning its error budget")}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("{icon} {summary}")}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": format!("*Long window burn*\n{long_burn:.1}x")},
                        {"type": "mrkdwn", "text": format!("*Short window burn*\n{short_burn:.1}x")},
                        {"type": "mrkdwn", "text": format!("*Threshold*\n{threshold}x")},
                    ]},
                ],
            })
        }
        AlertEvent::Resolve { slo, .. } => json!({
            "text": format!("[RESOLVED] SLO {slo} is no longer burning"),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!(":white_check_mark: SLO *{slo}* is no longer burning its error budget.")}},
            ],
        }),
    }
}

/// The PagerDuty Events v2 body.
pub fn pagerduty_payload(ev: &AlertEvent, routing_key: &str, source: &str) -> Value {
    match ev {
        AlertEvent::Trigger {
            dedup_key,
            slo,
            severity,
            summary,
            long_burn,
            short_burn,
            threshold,
        } => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary,
                "source": source,
                "severity": if *severity == Severity::Page { "critical" } else { "warning" },
                "component": "edgeforge",
                "class": "slo-burn-rate",
                "custom_details": {"slo": slo, "long_burn": long_burn, "short_burn": short_burn, "threshold": threshold},
            },
        }),
        AlertEvent::Resolve { dedup_key, .. } => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
    }
}

/// One delivery's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Delivered (2xx).
    pub ok: bool,
    /// Attempts made.
    pub attempts: u32,
    /// The last error, if not delivered.
    pub error: Option<String>,
}

/// Posts JSON with retries; counts failed deliveries.
pub struct Sender<'a> {
    http: &'a dyn HttpClient,
    timer: &'a dyn Timer,
    /// Attempts per delivery (default 4).
    pub max_attempts: u32,
    /// First backoff (doubles each retry).
    pub base_backoff: Duration,
    failed: Cell<u64>,
    dead_letter: Option<(&'a dyn KvStore, &'a dyn Clock, String)>,
}

impl std::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("failed", &self.failed.get())
            .finish_non_exhaustive()
    }
}

impl<'a> Sender<'a> {
    /// A sender over the HTTP and timer ports.
    pub fn new(http: &'a dyn HttpClient, timer: &'a dyn Timer) -> Self {
        Self {
            http,
            timer,
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            failed: Cell::new(0),
            dead_letter: None,
        }
    }

    /// Also records every failed delivery in `kv` under `prefix` (e.g.
    /// `slo:dlq:`), timestamped by `clock`.
    pub fn dead_letter(mut self, kv: &'a dyn KvStore, clock: &'a dyn Clock, prefix: &str) -> Self {
        self.dead_letter = Some((kv, clock, prefix.to_owned()));
        self
    }

    async fn fail(&self, url: &str, body: &Value, d: Delivery) -> Delivery {
        let n = self.failed.get() + 1;
        self.failed.set(n);
        if let Some((kv, clock, prefix)) = &self.dead_letter {
            let host = url
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or("");
            let mut body = body.clone();
            if body.get("routing_key").is_some() {
                body["routing_key"] = Value::from("[redacted]");
            }
            let record =
                json!({"host": host, "attempts": d.attempts, "error": d.error, "body": body});
            let key = format!("{prefix}{:013}:{n}", clock.now_ms());
            // A KV failure here leaves the counter and the returned outcome.
            let _ = kv
                .put(
                    &key,
                    record.to_string().into_bytes(),
                    PutOptions::ttl(7 * 86_400),
                )
                .await;
        }
        d
    }

    /// Deliveries that failed after every retry.
    pub fn failed_deliveries(&self) -> u64 {
        self.failed.get()
    }

    /// POSTs `body` to `url`.
    pub async fn post(&self, url: &str, body: &Value) -> Delivery {
        let mut last = None;
        for attempt in 1..=self.max_attempts.max(1) {
            let req = http::Request::post(url)
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes());
            let req = match req {
                Ok(r) => r,
                Err(e) => {
                    last = Some(e.to_string());
                    break;
                }
            };
            match self
                .http
                .send(req, SendOptions::timeout(Duration::from_secs(10)))
                .await
            {
                Ok(resp) if resp.status().is_success() => {
                    return Delivery {
                        ok: true,
                        attempts: attempt,
                        error: None,
                    };
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    last = Some(format!("HTTP {status}"));
                    if status != 429 && status < 500 {
                        // A client error will not fix itself.
                        let d = Delivery {
                            ok: false,
                            attempts: attempt,
                            error: last,
                        };
                        return self.fail(url, body, d).await;
                    }
                }
                Err(e) => last = Some(e.to_string()),
            }
            if attempt < self.max_attempts {
                self.timer
                    .sleep(self.base_backoff * 2u32.pow(attempt - 1))
                    .await;
            }
        }
        let d = Delivery {
            ok: false,
            attempts: self.max_attempts.max(1),
            error: last,
        };
        self.fail(url, body, d).await
    }
}
