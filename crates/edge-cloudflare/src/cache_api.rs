//! The Workers Cache API (`caches.default`) as the local cache tier.
//!
//! Entries stay in the data center that stored them. Keys become URLs under
//! a base (`https://edgeforge-cache.internal/` unless `CACHE_API_BASE`
//! names one on the Worker's own zone) with the key hex-encoded, so any key
//! is a valid path. The TTL rides in `Cache-Control: max-age`.
//!
//! Cloudflare documents that Cache API calls have no effect on `*.workers.dev`
//! and behind Cloudflare Access: there every read misses and KV answers, as
//! if the tier were empty. Deploy on a custom domain to use it.

use async_trait::async_trait;
use edge_ports::local_cache::validate_key;
use edge_ports::{LocalCache, LocalCacheError};
use worker::{Cache, CacheDeletionOutcome, Headers, Response};

/// The default key base.
pub const DEFAULT_BASE: &str = "https://edgeforge-cache.internal/";

/// A [`LocalCache`] over `caches.default`.
pub struct WorkersCacheApi {
    cache: Cache,
    base: String,
}

impl std::fmt::Debug for WorkersCacheApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkersCacheApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl WorkersCacheApi {
    /// The default cache, keys under `base` (ending in `/`).
    pub fn new(base: impl Into<String>) -> Self {
        let mut base = base.into();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self {
            cache: Cache::default(),
            base,
        }
    }

    fn url(&self, key: &str) -> Result<String, LocalCacheError> {
        validate_key(key)?;
        Ok(format!(
            "{}{}",
            self.base,
            edge_ports::hex::encode(key.as_bytes())
        ))
    }
}

fn backend(e: worker::Error) -> LocalCacheError {
    LocalCacheError::Backend(e.to_string())
}

#[async_trait(?Send)]
impl LocalCache for WorkersCacheApi {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, LocalCacheError> {
        let url = self.url(key)?;
        match self.cache.get(url, false).await.map_err(backend)? {
            Some(mut resp) => resp.bytes().await.map(Some).map_err(backend),
            None => Ok(None),
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl_secs: u64) -> Result<(), LocalCacheError> {
        let url = self.url(key)?;
        let headers = Headers::new();
        headers
            .set("cache-control", &format!("max-age={}", ttl_secs.max(1)))
            .map_err(backend)?;
        headers
            .set("content-type", "application/octet-stream")
            .map_err(backend)?;
        let resp = Response::from_bytes(value)
            .map_err(backend)?
            .with_headers(headers);
        self.cache.put(url, resp).await.map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<bool, LocalCacheError> {
        let url = self.url(key)?;
        match self.cache.delete(url, false).await.map_err(backend)? {
            CacheDeletionOutcome::Success => Ok(true),
            CacheDeletionOutcome::ResponseNotFound => Ok(false),
        }
    }
}
