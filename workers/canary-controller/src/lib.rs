//! The `canary-controller` Worker: every minute (`[triggers] crons`) it runs
//! one controller step for the configured rollout (`traffic.rollout`):
//! the canary deployment's error rate and p95 since the stage began, from
//! the per-deployment metrics the api writes to KV, decide hold, advance,
//! complete or rollback; the state and an audit entry are written back.
//! Its fetch handler serves the gateway's admin API (`/admin/canary/...`,
//! Access required) over the same KV.
//!
//! ```text
//! scripts/build-workers.sh canary-controller
//! npx wrangler dev -c workers/canary-controller/wrangler.toml --test-scheduled
//! ```

#[cfg(target_arch = "wasm32")]
mod shell;
