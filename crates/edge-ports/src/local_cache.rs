//! The local cache port: a per-location byte cache in front of a replicated
//! store, such as the Workers Cache API (`caches.default`) in front of KV.
//!
//! A local cache is fast and free to read, holds what this location stored,
//! never replicates, and may drop any entry at any time. Code must treat a
//! miss as normal and never store anything there that is not also
//! recoverable from the replicated store. Deleting an entry reaches only
//! this location; invalidation that must reach every location belongs in
//! the key (a generation counter in the replicated store).
//!
//! ```
//! use edge_ports::{LocalCache, ManualClock, MemoryLocalCache};
//!
//! # edge_ports::testing::block_on(async {
//! let clock = ManualClock::new(1_700_000_000_000);
//! let tier = MemoryLocalCache::new(clock.clone(), 1 << 20);
//! tier.put("cache:meta:0:abc", b"entry".to_vec(), 60).await?;
//! assert_eq!(tier.get("cache:meta:0:abc").await?.as_deref(), Some(&b"entry"[..]));
//! clock.advance_secs(60);
//! assert_eq!(tier.get("cache:meta:0:abc").await?, None); // expired
//! # Ok::<(), edge_ports::LocalCacheError>(())
//! # }).unwrap();
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use crate::Clock;

/// Keys longer than this are refused by every adapter (the Cache API keys
/// by URL; KV's own limit is 512 bytes, so nothing real comes close).
pub const MAX_KEY_BYTES: usize = 1024;

/// A local cache failed or refused an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalCacheError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`].
    #[error("local cache key of {len} bytes (1..={MAX_KEY_BYTES})")]
    InvalidKey {
        /// Its length.
        len: usize,
    },
    /// The platform's cache failed.
    #[error("local cache: {0}")]
    Backend(String),
}

/// Checks a key; every adapter calls it first.
pub fn validate_key(key: &str) -> Result<(), LocalCacheError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(LocalCacheError::InvalidKey { len: key.len() });
    }
    Ok(())
}

/// A per-location byte cache (see the module docs).
#[async_trait(?Send)]
pub trait LocalCache {
    /// The bytes under `key`, if this location still holds them unexpired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, LocalCacheError>;
    /// Stores `value` for `ttl_secs` (at least 1). The cache may drop it
    /// sooner.
    async fn put(&self, key: &str, value: Vec<u8>, ttl_secs: u64) -> Result<(), LocalCacheError>;
    /// Deletes `key` at this location; true when it was there.
    async fn delete(&self, key: &str) -> Result<bool, LocalCacheError>;
}

macro_rules! forward_local_cache {
    ($ptr:ty) => {
        #[async_trait(?Send)]
        impl<T: LocalCache + ?Sized> LocalCache for $ptr {
            async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, LocalCacheError> {
                (**self).get(key).await
            }
            async fn put(
                &self,
                key: &str,
                value: Vec<u8>,
                ttl_secs: u64,
            ) -> Result<(), LocalCacheError> {
                (**self).put(key, value, ttl_secs).await
            }
            async fn delete(&self, key: &str) -> Result<bool, LocalCacheError> {
                (**self).delete(key).await
            }
        }
    };
}

forward_local_cache!(std::sync::Arc<T>);
forward_local_cache!(std::rc::Rc<T>);
forward_local_cache!(Box<T>);

#[derive(Debug)]
struct Slot {
    value: Vec<u8>,
    expires_ms: u64,
    /// Recency stamp, the key of `State::by_use`.
    used: u64,
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<String, Slot>,
    /// Least recently used first.
    by_use: BTreeMap<u64, String>,
    bytes: usize,
    tick: u64,
}

impl State {
    fn remove(&mut self, key: &str) -> Option<Slot> {
        let slot = self.slots.remove(key)?;
        self.by_use.remove(&slot.used);
        self.bytes -= slot.value.len() + key.len();
        Some(slot)
    }

    fn touch(&mut self, key: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(slot) = self.slots.get_mut(key) {
            self.by_use.remove(&slot.used);
            slot.used = tick;
            self.by_use.insert(tick, key.to_owned());
        }
    }
}

/// An in-process [`LocalCache`] bounded in bytes, least recently used
/// entries evicted first; expiry by the clock port. The native host keeps
/// one per worker thread, as Workers keep one Cache API per location.
#[derive(Debug)]
pub struct MemoryLocalCache<C> {
    clock: C,
    max_bytes: usize,
    state: RefCell<State>,
}

impl<C: Clock> MemoryLocalCache<C> {
    /// A cache holding at most `max_bytes` of keys and values.
    pub fn new(clock: C, max_bytes: usize) -> Self {
        Self {
            clock,
            max_bytes,
            state: RefCell::new(State::default()),
        }
    }

    /// Entries held (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.state.borrow().slots.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held (keys and values).
    pub fn bytes(&self) -> usize {
        self.state.borrow().bytes
    }
}

#[async_trait(?Send)]
impl<C: Clock> LocalCache for MemoryLocalCache<C> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, LocalCacheError> {
        validate_key(key)?;
        let now = self.clock.now_ms();
        let mut st = self.state.borrow_mut();
        match st.slots.get(key) {
            None => Ok(None),
            Some(slot) if slot.expires_ms <= now => {
                st.remove(key);
                Ok(None)
            }
            Some(slot) => {
                let value = slot.value.clone();
                st.touch(key);
                Ok(Some(value))
            }
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl_secs: u64) -> Result<(), LocalCacheError> {
        validate_key(key)?;
        let size = value.len() + key.len();
        let mut st = self.state.borrow_mut();
        st.remove(key);
        if size > self.max_bytes {
            // Larger than the whole cache: not held, like an evicted entry.
            return Ok(());
        }
        while st.bytes + size > self.max_bytes {
            let Some((_, oldest)) = st.by_use.pop_first() else {
                break;
            };
            if let Some(slot) = st.slots.remove(&oldest) {
                st.bytes -= slot.value.len() + oldest.len();
            }
        }
        let expires_ms = self
            .clock
            .now_ms()
            .saturating_add(ttl_secs.max(1).saturating_mul(1000));
        st.tick += 1;
        let used = st.tick;
        st.by_use.insert(used, key.to_owned());
        st.bytes += size;
        st.slots.insert(
            key.to_owned(),
            Slot {
                value,
                expires_ms,
                used,
            },
        );
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, LocalCacheError> {
        validate_key(key)?;
        Ok(self.state.borrow_mut().remove(key).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::testing::block_on;

    #[test]
    fn least_recently_used_entries_go_first_and_the_byte_bound_holds() {
        block_on(async {
            let clock = ManualClock::new(0);
            // Room for two 10-byte values under 1-byte keys.
            let tier = MemoryLocalCache::new(clock, 22);
            tier.put("a", vec![0; 10], 60).await.unwrap();
            tier.put("b", vec![1; 10], 60).await.unwrap();
            assert!(tier.get("a").await.unwrap().is_some()); // a is now newer than b
            tier.put("c", vec![2; 10], 60).await.unwrap();
            assert!(
                tier.get("b").await.unwrap().is_none(),
                "b was least recently used"
            );
            assert!(tier.get("a").await.unwrap().is_some());
            assert!(tier.get("c").await.unwrap().is_some());
            assert!(tier.bytes() <= 22);
            // Too large for the whole cache: not held, nothing evicted.
            tier.put("d", vec![3; 100], 60).await.unwrap();
            assert_eq!((tier.len(), tier.get("d").await.unwrap()), (2, None));
            // Overwrites replace, deletes report.
            tier.put("a", vec![9; 5], 60).await.unwrap();
            assert_eq!(tier.get("a").await.unwrap(), Some(vec![9; 5]));
            assert!(tier.delete("a").await.unwrap());
            assert!(!tier.delete("a").await.unwrap());
            assert_eq!(tier.bytes(), 11);
        });
    }

    #[test]
    fn keys_are_validated() {
        block_on(async {
            let tier = MemoryLocalCache::new(ManualClock::new(0), 1024);
            assert!(tier.get("").await.is_err());
            let long = "k".repeat(MAX_KEY_BYTES + 1);
            assert_eq!(
                tier.put(&long, vec![], 1).await,
                Err(LocalCacheError::InvalidKey { len: long.len() })
            );
        });
    }
}
