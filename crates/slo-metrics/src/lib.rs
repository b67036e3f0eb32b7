//! SLO metrics over the edgeforge ports.
//!
//! | module | what | entry points |
//! |---|---|---|
//! | [`schema`] | the one request data point (Analytics Engine columns) | [`schema::RequestPoint::to_data_point`] → `AnalyticsSink::write` |
//! | [`sketch`] | DDSketch at 1%, mergeable, compact bytes | [`sketch::DdSketch`] |
//! | [`store`] | per-writer minute/hour/day buckets in KV | [`store::BucketWriter::record`] / [`flush`](store::BucketWriter::flush), [`store::KvWindows`] |
//! | [`slo`] | SLO spec (TOML), in-memory windows, budgets | [`slo::SloSpec::from_toml`], [`slo::Windows`] |
//! | [`source`] | SLIs from SQL, KV or memory; one evaluation step | [`source::evaluate`] |
//! | [`alert`] | multi-window multi-burn-rate alerts, state in KV | [`alert::Alerter`] |
//! | [`sinks`] | Slack and PagerDuty with retries and dead letters | [`sinks::Sender`], [`sinks::slack_payload`], [`sinks::pagerduty_payload`] |
//! | [`sql`] | Analytics Engine SQL API client and query builders | [`sql::AnalyticsSql`], [`sql::queries`] |
//! | [`trace`] | Langfuse ingestion, redacted by zt-security | [`trace::langfuse_batch`], [`trace::send_langfuse`] |
//! | [`aggregate`] | the dashboard's numbers in memory | [`aggregate::Dashboard`] |
//!
//! A cron step: read every window an SLO needs from a source (here the KV
//! buckets two isolates wrote), evaluate the burn-rate rules, persist the
//! alert state and hand the changes to the sinks.
//!
//! ```
//! use edge_ports::{ManualClock, MemoryKv, testing::block_on};
//! use slo_metrics::alert::{AlertEvent, Alerter, Severity, STATE_KEY};
//! use slo_metrics::slo::SloSpec;
//! use slo_metrics::source::evaluate;
//! use slo_metrics::store::{BucketWriter, KvWindows};
//!
//! let clock = ManualClock::new(1_700_000_000_000);
//! let kv = MemoryKv::new(clock.clone());
//! let (a, b) = (BucketWriter::new(&kv, "slo:v1", "isolate-a", 10_000),
//!               BucketWriter::new(&kv, "slo:v1", "isolate-b", 10_000));
//! // Five minutes of 50% errors from two isolates: a fast burn.
//! for s in 0..300u64 {
//!     let now = 1_700_000_000_000 + s * 1000;
//!     a.record(now, if s % 2 == 0 { 503 } else { 200 }, 20.0);
//!     b.record(now, 200, 35.0);
//! }
//! let now = 1_700_000_000_000 + 300_000;
//! block_on(async {
//!     a.flush(now).await?;
//!     b.flush(now).await?;
//!     let mut alerter = Alerter::load(&kv, STATE_KEY).await?;
//!     let spec = SloSpec::defaults();
//!     let out = evaluate(&spec.slo, &KvWindows::new(&kv, "slo:v1"), &mut alerter, now)
//!         .await
//!         .map_err(|e| edge_ports::KvError::Backend(e.to_string()))?;
//!     assert!(matches!(&out.events[0], AlertEvent::Trigger { severity: Severity::Page, .. }));
//!     alerter.save(&kv, STATE_KEY).await
//! })
//! .unwrap();
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
