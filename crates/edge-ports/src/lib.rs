//! Ports for edgeforge's domain libraries, and in-memory adapters for tests.
//!
//! Every domain crate (edge-cache, llm-router, traffic-split, zt-security,
//! slo-metrics) depends only on these small traits, never on a platform SDK,
//! so it is unit-testable natively and deploys unchanged as WASM:
//!
//! | port | trait | in-memory adapter | Workers adapter (edge-cloudflare) |
//! |---|---|---|---|
//! | key-value store | [`KvStore`] | [`MemoryKv`] | `WorkersKv` |
//! | per-location cache | [`LocalCache`] | [`MemoryLocalCache`] | `WorkersCacheApi` (`caches.default`) |
//! | analytics sink | [`AnalyticsSink`] | [`MemoryAnalytics`] | `AnalyticsEngine` |
//! | HTTP client | [`HttpClient`] | [`ScriptedHttpClient`] | `WorkersFetch` |
//! | clock | [`Clock`] | [`ManualClock`] | `WorkersClock` |
//! | randomness | [`Random`] | [`SeededRandom`] | `WorkersRandom` |
//! | timer | [`Timer`] | [`ManualTimer`] | `WorkersTimer` |
//!
//! Limits are the platform's (Workers KV, Analytics Engine) and are enforced
//! by every adapter, so code that passes its tests here does not fail on the
//! platform for a limit. With the `conformance` feature, [`conformance`] holds
//! the suite every `KvStore` adapter must pass.
//!
//! Async ports use `#[async_trait(?Send)]`: Workers' futures are not `Send`,
//! and the native host runs one current-thread runtime per core.
//!
//! ```
//! use edge_ports::{Clock, KvStore, ManualClock, MemoryKv, PutOptions};
//!
//! # edge_ports::testing::block_on(async {
//! let clock = ManualClock::new(1_700_000_000_000);
//! let kv = MemoryKv::new(clock.clone());
//! kv.put("user:1", b"{\"tier\":\"premium\"}".to_vec(), PutOptions::ttl(300)).await?;
//! assert!(kv.get("user:1").await?.is_some());
//!
//! clock.advance_secs(300); // entries expire by the clock port, not wall time
//! assert!(kv.get("user:1").await?.is_none());
//!
//! // Workers KV limits are typed errors, not surprises in production.
//! let err = kv.put(&"k".repeat(513), vec![], PutOptions::default()).await.unwrap_err();
//! assert!(err.to_string().contains("512"));
//! # Ok::<(), edge_ports::KvError>(())
//! # }).unwrap();
//! ```

pub mod analytics;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod hex;
pub mod http;
pub mod kv;
pub mod local_cache;
pub mod random;
pub mod testing;
pub mod timer;

pub use analytics::{AnalyticsError, AnalyticsSink, DataPoint, MemoryAnalytics};
#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock};
pub use http::{
    Body, HttpClient, HttpError, Scripted, ScriptedHttpClient, ScriptedResponse, SendOptions,
};
pub use kv::{KvError, KvStore, KvValue, ListKey, ListOptions, ListPage, MemoryKv, PutOptions};
pub use local_cache::{LocalCache, LocalCacheError, MemoryLocalCache};
#[cfg(not(target_arch = "wasm32"))]
pub use random::OsRandom;
pub use random::{Random, RandomError, SeededRandom};
pub use timer::{ManualTimer, Timer};
