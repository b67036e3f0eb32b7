//! The `health-prober` Worker: every minute (`[triggers] crons`), it probes
//! every provider of the gateway config through llm-router's prober and
//! writes health and reliability records to KV, where the api Worker's
//! router reads them for its ranking.
//!
//! `GET /health` answers for deploy gates; `GET /probe` runs one probe on
//! demand and returns the records (the same code as the cron).
//!
//! ```text
//! scripts/build-workers.sh health-prober
//! npx wrangler dev -c workers/health-prober/wrangler.toml --test-scheduled
//! curl 'http://127.0.0.1:8787/__scheduled?cron=*+*+*+*+*'
//! ```

#[cfg(target_arch = "wasm32")]
mod shell;
