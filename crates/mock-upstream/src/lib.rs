//! A loopback, OpenAI-compatible mock LLM upstream with fault injection.
//!
//! `mock-upstream` answers `POST /v1/chat/completions` (plain JSON or SSE
//! streaming), `GET /v1/models`, `GET /health` and `GET /__stats` over
//! HTTP/1.1 with keep-alive. Replies are deterministic (`"mock reply to: "` +
//! the last user message, cut to 64 characters) and carry token usage computed
//! as `ceil(chars / 4)`. Faults (error statuses, latency, latency spikes,
//! requests that are never answered, truncated bodies) are injected at
//! configurable rates from a seedable per-connection PRNG, so end-to-end tests
//! and `wrk` load tests can exercise a gateway's retry and failover paths.
//!
//! Details worth knowing when writing assertions against it:
//!
//! - prompt tokens are `ceil(chars of all message texts / 4)`, completion
//!   tokens `ceil(reply chars / 4)` (Unicode scalar values, not bytes);
//! - `max_tokens` caps the reply at `4 * max_tokens` characters and then
//!   reports `finish_reason: "length"` (the default reply is at most 79 chars);
//! - faults apply to chat completions only (`/v1/models` gets latency only);
//!   each connection has its own PRNG seeded from `--seed`, so the n-th
//!   request on the n-th connection always meets the same fault;
//! - `GET /__stats` returns a [`StatsSnapshot`] and `DELETE /__stats` resets
//!   the counters; neither is counted itself.
//!
//! It is both a library (embed the server in a test) and a binary
//! (`mock-upstream --listen 127.0.0.1:9001 --error-rate 0.1`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use mock_upstream::{Config, Stats, serve_with_stats};
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let config = Config::from_args(
//!     ["--error-rate", "0.25", "--error-status", "429,503", "--seed", "7"]
//!         .into_iter()
//!         .map(String::from),
//! )
//! .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
//! let stats = Arc::new(Stats::new());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(serve_with_stats(listener, config, Arc::clone(&stats), async {
//!     let _ = stopped.await;
//! }));
//! // ... point the code under test at http://{addr}/v1 ...
//! println!("served {} chat requests", stats.snapshot().chat_requests);
//! let _ = stop.send(());
//! let _ = server.await;
//! # let _ = addr;
//! # Ok(())
//! # }
//! ```

mod body;
mod clock;
mod config;
mod faults;
mod openai;
mod responses;
mod rng;
mod server;
mod stats;

pub use config::{Config, LatencySpec, USAGE, wants_help};
pub use server::{MAX_BODY_BYTES, serve, serve_with_stats};
pub use stats::{Stats, StatsSnapshot};
