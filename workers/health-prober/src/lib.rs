//! The `health-prober` Worker: every minute (`[triggers] crons`), it probes
//! every provider of the gateway config through llm-router's prober and
//! writes health and reliability records to KV, where the api Worker's
//! router reads them for its ranking.
//!
//! Then it runs the SLO step: availability burn rates of the serving
//! deployment, multi-window burn-rate alerts (state in KV) delivered to
//! Slack (`SLACK_WEBHOOK_URL` secret) and PagerDuty (`PAGERDUTY_ROUTING_KEY`).
//!
//! `GET /health` answers for deploy gates; `GET /probe` and `GET /slo` run
//! one step on demand (the same code as the cron).
//!
//! ```text
//! scripts/build-workers.sh health-prober
//! npx wrangler dev -c workers/health-prober/wrangler.toml --test-scheduled
//! curl 'http://127.0.0.1:8787/__scheduled?cron=*+*+*+*+*'
//! ```

#[cfg(target_arch = "wasm32")]
mod shell;
