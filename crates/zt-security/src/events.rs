//! The security event log: structured events to KV (30-day TTL,
//! time-sortable keys) and to analytics, with PII and secrets redacted, and
//! an alert hook for high-severity events.
//!
//! **Keys** are `<prefix><13-digit reversed ms>-<16 hex random>`, where the
//! reversed timestamp is `9_999_999_999_999 − ts_ms`: KV lists keys in
//! ascending order, so a listing returns the **newest events first** and a
//! bounded query stops early. The random suffix keeps concurrent writers
//! (isolates, processes) from overwriting each other. Each key carries
//! `{"k": kind, "s": severity}` metadata so queries filter without reading
//! values.
//!
//! **Redaction** happens before anything leaves the process: the client IP is
//! truncated (IPv4 to /24, IPv6 to /48); the subject is replaced by an
//! HMAC-SHA256 pseudonym when it is PII (an Access email) and a pseudonym key
//! is configured, else by `[REDACTED:<type>]`; `details` go through
//! [`crate::classify::redact_json`]; and a reason that classifies as PII or
//! secret is replaced.
//!
//! **Nothing is dropped silently**: KV, analytics and the alert hook are all
//! attempted, and each failure is returned in [`Recorded::failures`] and
//! counted in [`EventLog::failure_count`].
//!
//! ```
//! use edge_ports::{ManualClock, MemoryAnalytics, MemoryKv, SeededRandom};
//! use zt_security::events::{EventKind, EventLog, EventQuery, EventSeverity, SecurityEvent};
//!
//! # edge_ports::testing::block_on(async {
//! let clock = ManualClock::new(1_700_000_000_000);
//! let log = EventLog::new(MemoryKv::new(clock.clone()), MemoryAnalytics::new(), clock, SeededRandom::new(7));
//! let ev = SecurityEvent::new(EventKind::ThreatBlocked, EventSeverity::High, "sqli in query:id")
//!     .client_ip("203.0.113.77")
//!     .details(serde_json::json!({"contact": "alice@example.com"}));
//! let rec = log.record(ev).await;
//! assert!(rec.failures.is_empty());
//! let page = log.query(&EventQuery::default()).await.unwrap();
//! assert_eq!(page.events[0].client_ip.as_deref(), Some("203.0.113.0"));
//! assert_eq!(page.events[0].details["contact"], "[REDACTED:email]");
//! # });
//! ```

use std::cell::Cell;

use async_trait::async_trait;
use edge_ports::{AnalyticsSink, Clock, KvError, KvStore, ListOptions, PutOptions, Random};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::{classify_text, redact_json};

mod fields;
mod sampler;
mod sealing;
pub use fields::anonymize_ip;
use fields::{data_point, meta_matches, redact_text, truncate};
pub use sampler::EventSampler;

/// 30 days, the log's retention.
pub const DEFAULT_TTL_SECS: u64 = 30 * 24 * 3600;
const REVERSE_BASE: u64 = 9_999_999_999_999;
const MAX_REASON_BYTES: usize = 256;
const MAX_FIELD_BYTES: usize = 256;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A credential was missing, malformed, expired or forged.
    AuthFailure,
    /// Authorization denied a valid principal.
    AccessDenied,
    /// The rate limiter refused a request.
    RateLimited,
    /// The threat scanner blocked a request.
    ThreatBlocked,
    /// Bot scoring blocked or challenged a request.
    BotBlocked,
    /// A geo rule refused a request.
    GeoBlocked,
    /// A consent token was invalid or replayed.
    ConsentInvalid,
    /// A key was rotated or a keyring changed.
    KeyRotation,
    /// An administrator changed configuration, flags or rollouts.
    AdminAction,
    /// Prompt content was flagged (SQLi/XSS in a message, or the
    /// prompt-injection guardrail) and logged or blocked.
    PromptFlagged,
    /// A request's risk score reached a threshold (logged, challenged or
    /// blocked).
    Risk,
}

impl EventKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthFailure => "auth_failure",
            Self::AccessDenied => "access_denied",
            Self::RateLimited => "rate_limited",
            Self::ThreatBlocked => "threat_blocked",
            Self::BotBlocked => "bot_blocked",
            Self::GeoBlocked => "geo_blocked",
            Self::ConsentInvalid => "consent_invalid",
            Self::KeyRotation => "key_rotation",
            Self::AdminAction => "admin_action",
            Self::PromptFlagged => "prompt_flagged",
            Self::Risk => "risk",
        }
    }
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSeverity {
    /// Routine (admin actions, rotations).
    Info,
    /// Expected noise (a rate-limited client).
    Low,
    /// Worth a look (repeated auth failures).
    Medium,
    /// An attack was blocked.
    High,
    /// Needs a human now.
    Critical,
}

impl EventSeverity {
    fn level(self) -> f64 {
        match self {
            Self::Info => 0.0,
            Self::Low => 1.0,
            Self::Medium => 2.0,
            Self::High => 3.0,
            Self::Critical => 4.0,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// One security event. Build with [`SecurityEvent::new`]; `id` and `ts_ms`
/// are set when it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// The KV key suffix (set on record).
    #[serde(default)]
    pub id: String,
    /// Unix ms (set on record from the clock port).
    #[serde(default)]
    pub ts_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// How bad.
    pub severity: EventSeverity,
    /// Why (our own text; redacted if it classifies as PII or secret).
    pub reason: String,
    /// The request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The principal (user id, service token id), pseudonymised if PII.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The client IP, truncated to /24 (IPv4) or /48 (IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// `cf.country`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The route path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Structured details (redacted field by field).
    #[serde(default)]
    pub details: Value,
    /// How many like events this one stands for (more than 1 for a
    /// [`EventSampler`] summary).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl SecurityEvent {
    /// A new event.
    pub fn new(kind: EventKind, severity: EventSeverity, reason: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            ts_ms: 0,
            kind,
            severity,
            reason: reason.into(),
            request_id: None,
            subject: None,
            client_ip: None,
            country: None,
            route: None,
            details: Value::Null,
            count: 1,
        }
    }
    /// Sets the request id.
    pub fn request_id(mut self, v: impl Into<String>) -> Self {
        self.request_id = Some(v.into());
        self
    }
    /// Sets the subject.
    pub fn subject(mut self, v: impl Into<String>) -> Self {
        self.subject = Some(v.into());
        self
    }
    /// Sets the client IP (truncated on record).
    pub fn client_ip(mut self, v: impl Into<String>) -> Self {
        self.client_ip = Some(v.into());
        self
    }
    /// Sets the country.
    pub fn country(mut self, v: impl Into<String>) -> Self {
        self.country = Some(v.into());
        self
    }
    /// Sets the route.
    pub fn route(mut self, v: impl Into<String>) -> Self {
        self.route = Some(v.into());
        self
    }
    /// Sets the details.
    pub fn details(mut self, v: Value) -> Self {
        self.details = v;
        self
    }
}

/// Receives events at or above [`EventLogConfig::alert_at`].
#[async_trait(?Send)]
pub trait AlertHook {
    /// Delivers one (already redacted) event.
    async fn alert(&self, event: &SecurityEvent) -> Result<(), String>;
}

/// Log settings.
#[derive(Debug, Clone)]
pub struct EventLogConfig {
    /// KV key prefix (default `sec:`).
    pub prefix: String,
    /// Retention (default 30 days).
    pub ttl_secs: u64,
    /// Lowest severity that triggers the alert hook (default high).
    pub alert_at: EventSeverity,
    /// HMAC key for subject pseudonyms; without it PII subjects are redacted.
    pub pseudonym_key: Option<Vec<u8>>,
    /// Seals each event's `details` in KV (AES-256-GCM, bound to the event
    /// id; the key id rides in the ciphertext's header). Queries open them.
    pub details_keyring: Option<crate::envelope::Keyring>,
}

impl Default for EventLogConfig {
    fn default() -> Self {
        Self {
            prefix: "sec:".into(),
            ttl_secs: DEFAULT_TTL_SECS,
            alert_at: EventSeverity::High,
            pseudonym_key: None,
            details_keyring: None,
        }
    }
}

/// One sink that failed for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkFailure {
    /// `kv`, `analytics` or `alert`.
    pub sink: &'static str,
    /// The error.
    pub error: String,
}

/// The outcome of [`EventLog::record`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The KV key.
    pub key: String,
    /// The event as stored (redacted).
    pub event: SecurityEvent,
    /// The alert hook was called and succeeded.
    pub alerted: bool,
    /// Sinks that failed (the others were still written).
    pub failures: Vec<SinkFailure>,
}

/// A query over the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventQuery {
    /// Inclusive lower bound (unix ms).
    pub since_ms: Option<u64>,
    /// Inclusive upper bound (unix ms).
    pub until_ms: Option<u64>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only at or above this severity.
    pub min_severity: Option<EventSeverity>,
    /// Maximum events (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// A query result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPage {
    /// Matching events, newest first.
    pub events: Vec<SecurityEvent>,
    /// The scan stopped at its page budget before covering the range.
    pub truncated: bool,
}

/// The log over the KV and analytics ports.
pub struct EventLog<K, A> {
    kv: K,
    analytics: A,
    clock: Box<dyn Clock>,
    random: Box<dyn Random>,
    hook: Option<Box<dyn AlertHook>>,
    config: EventLogConfig,
    failures: Cell<u64>,
}

impl<K: KvStore, A: AnalyticsSink> EventLog<K, A> {
    /// A log with the default config and no alert hook.
    pub fn new(
        kv: K,
        analytics: A,
        clock: impl Clock + 'static,
        random: impl Random + 'static,
    ) -> Self {
        Self {
            kv,
            analytics,
            clock: Box::new(clock),
            random: Box::new(random),
            hook: None,
            config: EventLogConfig::default(),
            failures: Cell::new(0),
        }
    }
    /// Replaces the config.
    pub fn with_config(mut self, config: EventLogConfig) -> Self {
        self.config = config;
        self
    }
    /// Sets the alert hook.
    pub fn with_alert_hook(mut self, hook: impl AlertHook + 'static) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }
    /// Sink failures since creation.
    pub fn failure_count(&self) -> u64 {
        self.failures.get()
    }

    /// Redacts, stores, emits and (if severe enough) alerts one event.
    pub async fn record(&self, event: SecurityEvent) -> Recorded {
        let ts = self.clock.now_ms();
        let rand = self
            .random
            .next_u64()
            .unwrap_or(ts.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
        let id = format!("{:013}-{rand:016x}", REVERSE_BASE.saturating_sub(ts));
        let mut event = self.redact(event);
        event.id = id.clone();
        event.ts_ms = ts;
        let key = format!("{}{id}", self.config.prefix);
        let mut failures = Vec::new();

        let meta = serde_json::json!({"k": event.kind.as_str(), "s": event.severity.as_str()});
        let body = match &self.config.details_keyring {
            Some(ring) => {
                let mut stored = event.clone();
                sealing::seal_details(ring, self.random.as_ref(), &mut stored);
                serde_json::to_vec(&stored).unwrap_or_default()
            }
            None => serde_json::to_vec(&event).unwrap_or_default(),
        };
        let put = PutOptions::ttl(self.config.ttl_secs.max(60)).with_metadata(meta);
        if let Err(e) = self.kv.put(&key, body, put).await {
            failures.push(SinkFailure {
                sink: "kv",
                error: e.to_string(),
            });
        }
        if let Err(e) = self.analytics.write(data_point(&event)) {
            failures.push(SinkFailure {
                sink: "analytics",
                error: e.to_string(),
            });
        }
        let mut alerted = false;
        if let Some(hook) = self
            .hook
            .as_ref()
            .filter(|_| event.severity >= self.config.alert_at)
        {
            match hook.alert(&event).await {
                Ok(()) => alerted = true,
                Err(error) => failures.push(SinkFailure {
                    sink: "alert",
                    error,
                }),
            }
        }
        self.failures
            .set(self.failures.get() + failures.len() as u64);
        Recorded {
            key,
            event,
            alerted,
            failures,
        }
    }

    fn redact(&self, mut ev: SecurityEvent) -> SecurityEvent {
        ev.client_ip = ev.client_ip.map(|ip| anonymize_ip(&ip));
        ev.subject = ev.subject.map(|s| self.pseudonymize(s));
        ev.reason = redact_text(&ev.reason);
        ev.reason = truncate(&ev.reason, MAX_REASON_BYTES);
        // Paths carry ids (`/templates/alice@example.com`): redacted like text.
        ev.route = ev.route.map(|r| redact_text(&r));
        for v in [&mut ev.request_id, &mut ev.country, &mut ev.route]
            .into_iter()
            .flatten()
        {
            *v = truncate(v, MAX_FIELD_BYTES);
        }
        ev.details = redact_json(&ev.details);
        ev
    }

    fn pseudonymize(&self, subject: String) -> String {
        let findings = classify_text(Some("subject"), &subject);
        let Some(first) = findings.first() else {
            return truncate(&subject, MAX_FIELD_BYTES);
        };
        match &self.config.pseudonym_key {
            Some(key) => format!("pseudonym:{}", crate::classify::pseudonym(key, &subject)),
            None => format!("[REDACTED:{}]", first.kind.label()),
        }
    }

    /// Reads events newest first. Scans at most 20 KV list pages.
    pub async fn query(&self, q: &EventQuery) -> Result<EventPage, KvError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        // Reversed timestamps: `until` gives the smallest key, `since` the largest.
        let lo = format!(
            "{:013}",
            REVERSE_BASE.saturating_sub(q.until_ms.unwrap_or(REVERSE_BASE))
        );
        let hi = format!(
            "{:013}",
            REVERSE_BASE.saturating_sub(q.since_ms.unwrap_or(0))
        );
        let common: String = lo
            .chars()
            .zip(hi.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect();
        let prefix = format!("{}{common}", self.config.prefix);
        let mut cursor = None;
        let mut events = Vec::new();
        for _ in 0..20 {
            let page = self
                .kv
                .list(ListOptions::prefix(prefix.clone()).cursor(cursor.take()))
                .await?;
            for k in &page.keys {
                let Some(rev) = k
                    .name
                    .get(self.config.prefix.len()..self.config.prefix.len() + 13)
                else {
                    continue;
                };
                if rev < lo.as_str() {
                    continue;
                }
                if rev > hi.as_str() {
                    return Ok(EventPage {
                        events,
                        truncated: false,
                    });
                }
                if !meta_matches(k.metadata.as_ref(), q) {
                    continue;
                }
                let Some(raw) = self.kv.get(&k.name).await? else {
                    continue; // expired between list and get
                };
                let Ok(mut ev) = serde_json::from_slice::<SecurityEvent>(&raw) else {
                    continue;
                };
                if let Some(ring) = &self.config.details_keyring {
                    sealing::open_details(ring, &mut ev);
                }
                events.push(ev);
                if events.len() >= limit {
                    return Ok(EventPage {
                        events,
                        truncated: false,
                    });
                }
            }
            match page.cursor {
                Some(c) if !page.list_complete => cursor = Some(c),
                _ => {
                    return Ok(EventPage {
                        events,
                        truncated: false,
                    });
                }
            }
        }
        Ok(EventPage {
            events,
            truncated: true,
        })
    }
}
