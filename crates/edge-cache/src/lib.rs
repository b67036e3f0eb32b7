//! Edge caching over the edgeforge ports.
//!
//! - **Policies per request type** (`prompt-evaluation`, `llm-provider-meta`,
//!   `user-preferences`, `prompt-templates`, and a default that every other
//!   type falls back to): TTL, edge TTL, stale-while-revalidate,
//!   stale-if-error, Vary, public or private scope, negative caching, regional
//!   TTL multipliers. Loaded from TOML or JSON and validated.
//! - **Keys** `{namespace}:{policy}:{generation}:{sha256}` over a normalised
//!   request (sorted query without tracking parameters, normalised Vary
//!   values, the user for private policies). Never the colo.
//! - **[`EdgeCache::get_or_fetch`]**: fresh hits, stale-while-revalidate with
//!   a background [`Revalidation`], stale-if-error, conditional revalidation
//!   (304), and single-flight coalescing of concurrent misses.
//! - **Two tiers** with [`EdgeCache::tiered`]: a per-location
//!   [`edge_ports::LocalCache`] (the Workers Cache API) in front of KV for
//!   public policies. Only fresh local copies are served; KV hits fill the
//!   local tier; private entries stay in KV. `X-Cache-Tier` says which
//!   answered.
//! - **Invalidation** in O(1) by request type or tag (generation counters), by
//!   request, or by prefix (paged list + delete). All of them reach every
//!   location's local tier: generations are in keys and entries, and deletes
//!   bump a purge epoch that is part of every local key.
//! - **Headers**: `Cache-Control`, `CDN-Cache-Control`, `Age`, `Vary`, `ETag`
//!   and an honest `X-Cache-Status` (`HIT`, `MISS`, `STALE`, `REVALIDATED`,
//!   `BYPASS`, `EXPIRED`).
//! - **Analytics**: one data point per request, indexed by policy.
//!
//! ```
//! use edge_cache::{CacheConfig, CacheRequest, EdgeCache};
//! use edge_ports::{ManualClock, MemoryAnalytics, MemoryKv};
//!
//! # edge_ports::testing::block_on(async {
//! let clock = ManualClock::new(1_700_000_000_000);
//! let cache = EdgeCache::new(
//!     CacheConfig::default(),
//!     MemoryKv::new(clock.clone()),
//!     MemoryAnalytics::new(),
//!     clock.clone(),
//! )?;
//! let req = http::Request::get("/v1/templates/greeting?utm_source=x").body(()).unwrap();
//! let origin = |_| async { Ok(http::Response::new(b"Hello!".to_vec())) };
//!
//! let first = cache.get_or_fetch("prompt-templates", &CacheRequest::from_http(&req), origin).await?;
//! assert_eq!(first.response.headers()["x-cache-status"], "MISS");
//! let second = cache.get_or_fetch("prompt-templates", &CacheRequest::from_http(&req), origin).await?;
//! assert_eq!(second.response.headers()["x-cache-status"], "HIT");
//! assert_eq!(second.response.body(), b"Hello!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod cache;
mod config;
mod entry;
mod headers;
mod invalidate;
mod key;
mod store;
mod tier;

pub use cache::{
    CacheError, CacheOutcome, Conditional, EdgeCache, Lookup, OriginError, OriginResult,
    Revalidation,
};
pub use config::{CacheConfig, ConfigError, KNOWN_VARY_HEADERS, MAX_SECS, Policy, Scope};
pub use entry::{Entry, EntryMeta, STORED_HEADERS};
pub use headers::{BypassReason, CacheStatus};
pub use invalidate::PrefixPurge;
pub use key::{CacheRequest, KeyError, build_key, normalize_query, normalize_vary_value};
pub use tier::CacheTier;
