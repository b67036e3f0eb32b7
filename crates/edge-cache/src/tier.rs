//! The local tier: a per-location cache (the Workers Cache API) in front of
//! KV for public policies.
//!
//! Reads try the local tier first and fall back to KV; a usable KV entry is
//! copied into the local tier for the rest of its fresh life. Only fresh
//! local copies are served: once past its TTL a copy defers to KV, where
//! another location's refresh may already be. Writes go to KV
//! first, then to the local tier. Private entries (one per user) stay in KV
//! only. Local keys are `{kv key}~{purge epoch}` (see [`crate::invalidate`]),
//! so every invalidation stays correct in every location. A failing local
//! tier is skipped, never an error.

use edge_ports::{KvError, LocalCache};

use crate::cache::Inner;
use crate::config::Scope;
use crate::entry::{Entry, EntryMeta};
use crate::headers::scale;
use crate::invalidate::purge_epoch_key;

/// Which store answered a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTier {
    /// The per-location cache (the Workers Cache API).
    Local,
    /// KV, replicated to every location.
    Kv,
}

impl CacheTier {
    /// The `X-Cache-Tier` value and analytics blob: `local` or `kv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Kv => "kv",
        }
    }
}

/// What a read found.
pub(crate) enum Read {
    /// Neither tier holds the key.
    Absent,
    /// KV holds bytes that are not an entry (they will be overwritten).
    Corrupt,
    /// An entry, the store that answered, and the local key to fill after
    /// a KV read (public policies with a tier).
    Found {
        entry: Entry,
        tier: CacheTier,
        fill: Option<String>,
    },
}

impl Inner {
    /// The local tier and this entry's key in it, when the scope allows one
    /// and the purge epoch is readable.
    async fn local_key(&self, key: &str, scope: Scope) -> Option<(&dyn LocalCache, String)> {
        let local = self.local.as_deref()?;
        if scope != Scope::Public {
            return None;
        }
        let epoch = self.generation(&purge_epoch_key(&self.config)).await.ok()?;
        Some((local, format!("{key}~{epoch}")))
    }

    /// Reads `key`: the local tier, then KV. A local copy that does not
    /// decode is dropped and KV answers.
    pub(crate) async fn read(
        &self,
        key: &str,
        scope: Scope,
        multiplier: f64,
    ) -> Result<Read, KvError> {
        let local = self.local_key(key, scope).await;
        if let Some((tier, local_key)) = &local
            && let Ok(Some(bytes)) = tier.get(local_key).await
        {
            match Entry::decode(bytes) {
                Ok(entry) if self.fresh_for_ms(&entry.meta, multiplier) > 0 => {
                    return Ok(Read::Found {
                        entry,
                        tier: CacheTier::Local,
                        fill: None,
                    });
                }
                // Past its TTL here: KV may hold a newer entry.
                Ok(_) => {}
                Err(_) => {
                    let _ = tier.delete(local_key).await;
                }
            }
        }
        let Some(bytes) = self.kv.get(key).await? else {
            return Ok(Read::Absent);
        };
        Ok(match Entry::decode(bytes) {
            Ok(entry) => Read::Found {
                entry,
                tier: CacheTier::Kv,
                fill: local.map(|(_, k)| k),
            },
            Err(_) => Read::Corrupt,
        })
    }

    /// How much longer (ms) `meta` is fresh under `multiplier`.
    fn fresh_for_ms(&self, meta: &EntryMeta, multiplier: f64) -> u64 {
        let age_ms = self.clock.now_ms().saturating_sub(meta.stored_at_ms);
        scale(meta.ttl_secs, multiplier)
            .saturating_mul(1000)
            .saturating_sub(age_ms)
    }

    /// How long a local copy is worth keeping: its fresh life in the
    /// longest-lived region, in whole seconds (0: not worth storing).
    fn local_ttl_secs(&self, meta: &EntryMeta) -> u64 {
        self.fresh_for_ms(meta, self.config.max_multiplier()) / 1000
    }

    /// Copies an entry read from KV into the local tier.
    pub(crate) async fn fill_local(&self, local_key: &str, entry: &Entry) {
        let Some(tier) = self.local.as_deref() else {
            return;
        };
        let ttl = self.local_ttl_secs(&entry.meta);
        if ttl > 0 {
            let _ = tier.put(local_key, entry.encode(), ttl).await;
        }
    }

    /// Writes a freshly stored entry (`bytes` encodes `meta`'s entry) to
    /// the local tier too.
    pub(crate) async fn store_local(
        &self,
        key: &str,
        scope: Scope,
        meta: &EntryMeta,
        bytes: Vec<u8>,
    ) {
        let ttl = self.local_ttl_secs(meta);
        if ttl > 0
            && let Some((tier, local_key)) = self.local_key(key, scope).await
        {
            let _ = tier.put(&local_key, bytes, ttl).await;
        }
    }

    /// Deletes `key` from this location's local tier and makes every other
    /// location's copy unreachable.
    pub(crate) async fn forget_local(&self, key: &str) -> Result<(), crate::CacheError> {
        if let Some((tier, local_key)) = self.local_key(key, Scope::Public).await {
            let _ = tier.delete(&local_key).await;
        }
        self.forget_local_all().await
    }

    /// Bumps the purge epoch: every location's local entries become
    /// unreachable (after `generation_cache_ms` and KV propagation). Bumped
    /// even by a cache without a local tier: the purge may come from a tool
    /// or Worker other than the ones serving from the tier.
    pub(crate) async fn forget_local_all(&self) -> Result<(), crate::CacheError> {
        self.bump(&purge_epoch_key(&self.config)).await.map(|_| ())
    }
}
