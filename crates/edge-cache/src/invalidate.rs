//! Invalidation: by request type or tag in O(1) (generation counters), by
//! request, or by key prefix.
//!
//! The local tier is per location, so a delete there reaches one location
//! only. Generations already live in the keys (request type) and in the
//! entries (tags), so they reach the local tier everywhere. Deletes by
//! request or prefix also bump the purge epoch, which is part of every
//! local-tier key: every location's local copies become unreachable and
//! refill from KV.

use edge_ports::{ListOptions, PutOptions};

use crate::cache::{CacheError, EdgeCache, Inner};
use crate::config::CacheConfig;
use crate::entry::Entry;
use crate::key::CacheRequest;

impl EdgeCache {
    /// Invalidates every entry of a request type in O(1): bumps its
    /// generation, so old keys become unreachable and expire on their own.
    /// Other isolates see it after `generation_cache_ms` plus KV propagation
    /// (up to ~60 s).
    pub async fn invalidate_request_type(&self, request_type: &str) -> Result<u64, CacheError> {
        let (name, _) = self.inner.config.policy(request_type);
        let key = policy_gen_key(&self.inner.config, name);
        self.inner.bump(&key).await
    }

    /// Invalidates every entry carrying `tag` in O(1) (entries record their
    /// tags' generations; a newer generation makes them a miss).
    pub async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let key = tag_gen_key(&self.inner.config, tag);
        self.inner.bump(&key).await
    }

    /// Deletes the entry for one request, from KV and from every location's
    /// local tier (see [`EdgeCache::tiered`]).
    pub async fn invalidate(
        &self,
        request_type: &str,
        req: &CacheRequest<'_>,
    ) -> Result<bool, CacheError> {
        match self.key_for(request_type, req).await? {
            Some(key) => {
                self.inner.kv.delete(&key).await?;
                self.inner.forget_local(&key).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Deletes up to `max_deletes` cache entries whose key starts with
    /// `prefix` (for example `cache:prompt-templates:`), paging through the
    /// listing. Only this cache's keys can be purged: the prefix must start
    /// with the namespace and `:` ([`CacheError::OutsideNamespace`]
    /// otherwise), so a purge cannot reach other data sharing the KV
    /// namespace (the security log, rollout state). Returns how many keys
    /// were deleted and whether the purge is complete; call again while it
    /// is not. Eventually consistent: on Workers KV, other locations may
    /// serve deleted entries for up to ~60 s. Entries in the local
    /// tier of every location are dropped too (by the purge epoch).
    pub async fn purge_prefix(
        &self,
        prefix: &str,
        max_deletes: u64,
    ) -> Result<PrefixPurge, CacheError> {
        let own = format!("{}:", self.inner.config.namespace);
        if !prefix.starts_with(&own) {
            return Err(CacheError::OutsideNamespace {
                prefix: prefix.to_owned(),
                namespace: self.inner.config.namespace.clone(),
            });
        }
        let mut deleted = 0u64;
        let mut cursor = None;
        loop {
            let page = self
                .inner
                .kv
                .list(ListOptions::prefix(prefix).cursor(cursor.take()))
                .await?;
            for k in &page.keys {
                if deleted >= max_deletes {
                    self.inner.forget_local_all().await?;
                    return Ok(PrefixPurge {
                        deleted,
                        complete: false,
                    });
                }
                self.inner.kv.delete(&k.name).await?;
                deleted += 1;
            }
            if page.list_complete || page.cursor.is_none() {
                if deleted > 0 {
                    self.inner.forget_local_all().await?;
                }
                return Ok(PrefixPurge {
                    deleted,
                    complete: true,
                });
            }
            cursor = page.cursor;
        }
    }
}

/// The outcome of [`EdgeCache::purge_prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixPurge {
    /// Keys deleted by this call.
    pub deleted: u64,
    /// False when `max_deletes` stopped it before the end of the listing.
    pub complete: bool,
}

pub(crate) fn policy_gen_key(cfg: &CacheConfig, policy: &str) -> String {
    // '_' never appears in policy names, so these keys cannot collide with
    // entry keys (`{ns}:{policy}:…`).
    format!("{}:_gen:p:{policy}", cfg.namespace)
}

pub(crate) fn tag_gen_key(cfg: &CacheConfig, tag: &str) -> String {
    format!("{}:_gen:t:{tag}", cfg.namespace)
}

/// The purge epoch: part of every local-tier key, bumped by purges that a
/// per-location delete cannot carry to other locations.
pub(crate) fn purge_epoch_key(cfg: &CacheConfig) -> String {
    format!("{}:_gen:purge", cfg.namespace)
}

impl Inner {
    pub(crate) async fn generation(&self, key: &str) -> Result<u64, CacheError> {
        let now = self.clock.now_ms();
        let memo = self.generations.borrow().get(key).copied();
        if let Some((g, _)) =
            memo.filter(|&(_, at)| now.saturating_sub(at) < self.config.generation_cache_ms)
        {
            return Ok(g);
        }
        let g = match self.kv.get(key).await? {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| CacheError::CorruptGeneration(key.to_owned()))?,
        };
        self.generations
            .borrow_mut()
            .insert(key.to_owned(), (g, now));
        Ok(g)
    }

    /// Sets a generation to a new value without read-modify-write: the clock
    /// in ms, or one more than the last value seen here if that is larger.
    pub(crate) async fn bump(&self, key: &str) -> Result<u64, CacheError> {
        let now = self.clock.now_ms();
        let seen = self.generations.borrow().get(key).map_or(0, |&(g, _)| g);
        let next = now.max(seen.saturating_add(1));
        self.kv
            .put(key, next.to_string().into_bytes(), PutOptions::default())
            .await?;
        self.generations
            .borrow_mut()
            .insert(key.to_owned(), (next, now));
        Ok(next)
    }

    pub(crate) async fn tags_current(&self, entry: &Entry) -> bool {
        for (tag, gen_at_store) in &entry.meta.tags {
            match self.generation(&tag_gen_key(&self.config, tag)).await {
                Ok(g) if g <= *gen_at_store => {}
                // Invalidated, or unknown: refetch rather than risk serving
                // something that was purged.
                _ => return false,
            }
        }
        true
    }
}
