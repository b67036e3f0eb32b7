//! Traffic splitting over the edgeforge ports.
//!
//! - [`growthbook`]: a GrowthBook-compatible evaluation core (hashing,
//!   bucketing, conditions, experiments, features, sticky bucketing,
//!   decryption) that passes GrowthBook's cross-SDK conformance suite.
//! - [`experiment`]: the source design's A/B experiments (variants with
//!   traffic percentages, targeting, schedule, metrics, safeguards) mapped
//!   onto that core, with exposure events.
//! - [`canary`]: staged rollouts (5% → 25% → 50% → 100%) judged on metrics,
//!   with sticky *monotonic* routing, versioned state and an audit log.
//! - [`bluegreen`]: switch plans with pre-switch checks, instant or gradual
//!   cut-over, validation and automatic rollback.
//! - [`stats`]: z-test, Welch's t-test, sample-ratio mismatch, and an mSPRT
//!   sequential test that stays valid under repeated peeking.
//! - [`verdict`]: the experiment loop's judgement (win, lose, roll back an
//!   arm, sample-ratio mismatch) from cumulative per-arm observations.
//! - [`decision`]: the per-request routing decision, as headers.
//! - [`gradual`]: Cloudflare gradual deployments (Workers Versions/Deployments API).
//!
//! ```
//! use serde_json::json;
//! use traffic_split::experiment::{ExperimentConfig, assign};
//!
//! let exp: ExperimentConfig = serde_json::from_value(json!({
//!     "key": "prompt-v2",
//!     "variants": [{"name": "control", "traffic_percent": 50}, {"name": "short", "traffic_percent": 50}],
//!     "primary_metric": "thumbs_up",
//!     "targeting": {"countries": ["US"]}
//! })).unwrap();
//! exp.validate(&[]).unwrap();
//! let a = assign(&exp, &json!({"id": "user-42", "country": "US"}), 0, None).unwrap();
//! assert!(a.variant == "control" || a.variant == "short");
//! // Sticky: same user, same variant.
//! assert_eq!(assign(&exp, &json!({"id": "user-42", "country": "US"}), 0, None).unwrap().variant, a.variant);
//! ```

pub mod bluegreen;
pub mod canary;
pub mod decision;
mod error;
pub mod experiment;
pub mod gradual;
pub mod growthbook;
mod hashing;
pub mod stats;
pub mod verdict;

pub use error::Error;
pub use hashing::sticky_bucket;
