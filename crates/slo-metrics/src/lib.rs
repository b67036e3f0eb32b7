//! SLO metrics over the edgeforge ports.
//!
//! - [`sketch`]: DDSketch quantiles at 1% relative accuracy, mergeable,
//!   compactly serialised.
//! - [`slo`]: SLOs from a TOML spec (availability, latency, error rate),
//!   per-minute buckets merged into 5 m … 3 d windows, error budgets.
//! - [`alert`]: multi-window multi-burn-rate alerts with de-duplicated
//!   trigger/resolve.
//! - [`sinks`]: Slack and PagerDuty payloads, delivery with backoff and
//!   failure accounting.
//! - [`schema`]: the one request data-point schema (Analytics Engine columns).
//! - [`sql`]: the Analytics Engine SQL API client with sample-weighted queries.
//!
//! - [`trace`]: Langfuse ingestion of LLM calls, redacted by zt-security.
//!
//! Rolling windows across isolates live in edge-gateway's deployment
//! metrics: one KV key per writer (isolate) per minute holding counters and
//! a serialised [`sketch::DdSketch`], merged by readers — no writer ever
//! overwrites another, at one KV write per writer per flush interval.
//!
//! ```
//! use slo_metrics::alert::{AlertEvent, Alerter, Severity};
//! use slo_metrics::slo::{SloSpec, Windows};
//!
//! let spec = SloSpec::defaults();
//! let mut w = Windows::new();
//! let mut alerts = Alerter::default();
//! // Five minutes of 50% errors: a fast burn pages.
//! for minute in 0..5u64 {
//!     for i in 0..100 { w.record(minute * 60_000, if i % 2 == 0 { 500 } else { 200 }, 20.0); }
//! }
//! let events = alerts.evaluate(&spec.slo, &w, 5 * 60_000 - 1);
//! assert!(matches!(&events[0], AlertEvent::Trigger { severity: Severity::Page, .. }));
//! ```

pub mod aggregate;
pub mod alert;
pub mod schema;
pub mod sinks;
pub mod sketch;
pub mod slo;
pub mod source;
pub mod sql;
pub mod store;
pub mod trace;
