//! An in-memory [`KvStore`] whose expiry follows the [`Clock`] port.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::{
    KvError, KvStore, KvValue, ListKey, ListOptions, ListPage, PutOptions, decode_cursor,
    encode_cursor, limits,
};
use crate::Clock;

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    metadata: Option<Value>,
    /// Absolute expiry in seconds since the epoch.
    expires_at: Option<u64>,
}

impl Entry {
    fn live(&self, now_secs: u64) -> bool {
        self.expires_at.is_none_or(|at| at > now_secs)
    }
}

/// An in-memory KV store for tests and single-process hosts.
///
/// Entries expire by the injected clock, not by wall time, so tests move time
/// with [`ManualClock`](crate::ManualClock). Limits are those of Workers KV.
/// Clones share the same data.
///
/// ```
/// use edge_ports::{KvStore, ManualClock, MemoryKv, PutOptions};
/// # edge_ports::testing::block_on(async {
/// let clock = ManualClock::new(0);
/// let kv = MemoryKv::new(clock.clone());
/// kv.put("greeting", b"hi".to_vec(), PutOptions::ttl(60)).await.unwrap();
/// assert_eq!(kv.get("greeting").await.unwrap().as_deref(), Some(&b"hi"[..]));
/// clock.advance_secs(60);
/// assert_eq!(kv.get("greeting").await.unwrap(), None);
/// # });
/// ```
#[derive(Clone)]
pub struct MemoryKv {
    clock: Arc<dyn Clock + Send + Sync>,
    data: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl std::fmt::Debug for MemoryKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKv")
            .field("keys", &self.lock().len())
            .finish()
    }
}

impl MemoryKv {
    /// An empty store reading time from `clock`.
    pub fn new(clock: impl Clock + Send + Sync + 'static) -> Self {
        Self {
            clock: Arc::new(clock),
            data: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The number of live entries.
    pub fn len(&self) -> usize {
        let now = self.clock.now_secs();
        self.lock().values().filter(|e| e.live(now)).count()
    }

    /// True when there are no live entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry
        // (every mutation is a single map operation), so poisoning is ignored.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait(?Send)]
impl KvStore for MemoryKv {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        limits::validate_key(key)?;
        let now = self.clock.now_secs();
        let mut data = self.lock();
        match data.get(key) {
            Some(e) if e.live(now) => Ok(Some(KvValue {
                value: e.value.clone(),
                metadata: e.metadata.clone(),
            })),
            Some(_) => {
                data.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        let now = self.clock.now_secs();
        limits::validate_put(key, value.len(), &opts, now)?;
        let entry = Entry {
            value,
            expires_at: limits::expiry_secs(&opts, now),
            metadata: opts.metadata,
        };
        self.lock().insert(key.to_owned(), entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        limits::validate_key(key)?;
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        limits::validate_list(&opts)?;
        let now = self.clock.now_secs();
        let prefix = opts.prefix.unwrap_or_default();
        let start = match &opts.cursor {
            // A cursor before the prefix (never issued by us, but harmless)
            // must not end the scan early.
            Some(c) => match decode_cursor(c)? {
                after if after >= prefix => Bound::Excluded(after),
                _ => Bound::Included(prefix.clone()),
            },
            None => Bound::Included(prefix.clone()),
        };
        let limit = usize::try_from(opts.limit).unwrap_or(usize::MAX);
        let mut data = self.lock();
        data.retain(|_, e| e.live(now));
        let mut keys = Vec::new();
        let mut more = false;
        for (name, e) in data.range((start, Bound::Unbounded)) {
            if !name.starts_with(&prefix) {
                break;
            }
            if keys.len() == limit {
                more = true;
                break;
            }
            keys.push(ListKey {
                name: name.clone(),
                expiration: e.expires_at,
                metadata: e.metadata.clone(),
            });
        }
        let cursor = if more {
            keys.last().map(|k| encode_cursor(&k.name))
        } else {
            None
        };
        Ok(ListPage {
            keys,
            list_complete: !more,
            cursor,
        })
    }
}
