//! Port adapters over the Cloudflare Workers runtime (`worker` crate).
//!
//! Compiled on `wasm32` only; on other targets this crate is empty. Each
//! adapter implements one [`edge_ports`] trait and enforces the same limits
//! as the in-memory adapters, so domain code behaves the same in tests and in
//! production:
//!
//! | port | adapter | platform API |
//! |---|---|---|
//! | `KvStore` | [`WorkersKv`] | Workers KV binding |
//! | `LocalCache` | [`WorkersCacheApi`] | the Cache API, `caches.default` |
//! | `AnalyticsSink` | [`AnalyticsEngine`] | Analytics Engine `writeDataPoint` |
//! | `HttpClient` | [`WorkersFetch`] | `fetch` with an `AbortSignal` timeout |
//! | `Clock` | [`WorkersClock`] | `Date.now()` |
//! | `Random` | [`WorkersRandom`] | `crypto.getRandomValues` |
//! | `Timer` | [`WorkersTimer`] | `setTimeout` |
//! | zt-security `RateLimitStore` | [`DurableRateLimits`] | a Durable Object per key |
//!
//! ```ignore
//! use edge_cloudflare::{WorkersClock, WorkersKv};
//! use edge_ports::{KvStore, PutOptions};
//!
//! #[worker::event(fetch)]
//! async fn fetch(_req: worker::Request, env: worker::Env, _ctx: worker::Context) -> worker::Result<worker::Response> {
//!     let kv = WorkersKv::new(env.kv("CACHE")?, WorkersClock);
//!     kv.put("hello", b"world".to_vec(), PutOptions::ttl(60)).await
//!         .map_err(|e| worker::Error::RustError(e.to_string()))?;
//!     worker::Response::ok("stored")
//! }
//! ```

#[cfg(target_arch = "wasm32")]
mod analytics;
#[cfg(target_arch = "wasm32")]
pub mod cache_api;
#[cfg(target_arch = "wasm32")]
mod clock;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
pub mod host;
#[cfg(target_arch = "wasm32")]
mod kv;
#[cfg(target_arch = "wasm32")]
mod ratelimit;

#[cfg(target_arch = "wasm32")]
pub use analytics::AnalyticsEngine;
#[cfg(target_arch = "wasm32")]
pub use cache_api::WorkersCacheApi;
#[cfg(target_arch = "wasm32")]
pub use clock::{WorkersClock, WorkersRandom, WorkersTimer};
#[cfg(target_arch = "wasm32")]
pub use fetch::WorkersFetch;
#[cfg(target_arch = "wasm32")]
pub use kv::WorkersKv;
#[cfg(target_arch = "wasm32")]
pub use ratelimit::{DecideRequest, DurableRateLimits, decide_in_object};
