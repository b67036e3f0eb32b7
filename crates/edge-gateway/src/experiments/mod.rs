//! Flags and experiments on every request, and the loop that stops them.
//!
//! - **Source of truth**: the GrowthBook payload stored by
//!   `PUT /admin/features` (plain or encrypted) plus the experiments
//!   created by `POST /admin/experiments`, each compiled into a rule of the
//!   feature it varies (a running experiment is an experiment rule; a
//!   stopped one forces the value it now serves). A version key in KV
//!   changes on every write; each isolate reuses its parsed payload and
//!   checks that key every `[experiments] refresh_ms` ([`payload`]).
//! - **Per request** ([`apply`]): the caller's attributes (id, country,
//!   region, tier, device, route, deployment and the headers mapped in
//!   config) go through the GrowthBook evaluator; the features bound in
//!   `[[experiments.actions]]` become typed overrides (model, provider,
//!   template version, temperature, top_p, max_tokens, cache policy);
//!   `x-edgeforge-variant` / `x-edgeforge-features` name what applied; one
//!   exposure per (user, experiment, variant) per isolate reaches the
//!   exposures dataset; sticky buckets live in KV when an experiment asks.
//! - **Per arm metrics** ([`arms`]): requests, errors, latency, cost,
//!   tokens and feedback scores, flushed by each isolate to its own KV key.
//! - **The loop** ([`tick`]): the canary-controller's cron and edgectl's
//!   background loop judge every running experiment with
//!   [`traffic_split::verdict::judge`] and stop, ship or roll back, each
//!   action an audit entry with the numbers that drove it.

pub(crate) mod admin;
pub(crate) mod apply;
pub(crate) mod arms;
pub(crate) mod payload;
pub(crate) mod spec;
pub(crate) mod tick;

pub use spec::{ArmReport, AuditEntry, ExperimentReport, ExperimentStatus};
pub use tick::ExperimentStep;

/// KV key of the version that changes with every write to the payload or
/// an experiment.
pub const VERSION_KEY: &str = "traffic:features:version";
/// KV prefix of stored experiments (`xp:{key}`).
pub const EXPERIMENT_PREFIX: &str = "xp:";
/// KV prefix of per-arm metrics (`xa:{experiment}:{writer}`).
pub const ARMS_PREFIX: &str = "xa:";
/// KV prefix of sticky-bucket documents.
pub const STICKY_PREFIX: &str = "xs:";
/// Experiments stored at most.
pub const MAX_EXPERIMENTS: usize = 100;
