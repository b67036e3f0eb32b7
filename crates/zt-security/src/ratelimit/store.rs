//! Rate-limit state stores: in-memory, KV (approximate) and the trait a
//! Durable Object implements for exact limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use edge_ports::{Clock, KvStore, PutOptions};

use super::{Decision, Gcra, Quota, RateLimitError, RateLimitTable, Tat};
use crate::jwt::Tier;

/// Where GCRA state lives. `decide` must be atomic per key for exact limits:
/// a Durable Object (single-threaded per id) gives that for a global limit.
///
/// The Worker's implementation sends `key`, `quota` and `cost` to the object,
/// which runs [`Gcra::decide`] against its stored TAT and its own clock.
#[async_trait(?Send)]
pub trait RateLimitStore {
    /// Spends `cost` units of `quota` for `key`, if allowed.
    async fn decide(&self, key: &str, quota: &Quota, cost: u32)
    -> Result<Decision, RateLimitError>;
}

/// Exact limits within one isolate or process (each isolate has its own
/// counters, so a global limit is up to `isolates ×` the quota).
///
/// At most `max_keys` keys are held; when full, expired keys are dropped, and
/// if it is still full a new key's state is not stored (it is limited only by
/// its own burst on each request) rather than evicting live keys.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    state: Mutex<HashMap<String, Tat>>,
    max_keys: usize,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// A store holding up to 100,000 keys.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(clock, 100_000)
    }

    /// A store holding up to `max_keys` keys.
    pub fn with_capacity(clock: Arc<dyn Clock>, max_keys: usize) -> Self {
        Self {
            clock,
            state: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// The synchronous decision (what [`RateLimitStore::decide`] calls).
    pub fn decide_now(&self, key: &str, quota: &Quota, cost: u32) -> Decision {
        let now_ms = self.clock.now_ms();
        let gcra = Gcra::new(*quota);
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (decision, new_tat) = gcra.decide(map.get(key).copied(), now_ms, cost);
        if let Some(tat) = new_tat {
            if let Some(slot) = map.get_mut(key) {
                *slot = tat;
            } else {
                if map.len() >= self.max_keys {
                    map.retain(|_, t| !t.has_passed(now_ms));
                }
                if map.len() < self.max_keys {
                    map.insert(key.to_owned(), tat);
                }
            }
        }
        decision
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait(?Send)]
impl RateLimitStore for MemoryStore {
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        Ok(self.decide_now(key, quota, cost))
    }
}

/// Approximate limits over Workers KV: read the TAT, decide, write it back.
///
/// The race, precisely: `decide` is a read-modify-write with no compare-and-
/// swap. (1) Two requests for one key that read before either writes both see
/// the same TAT and both write `TAT + cost × T`, so one spend is lost; with `n`
/// concurrent readers up to `n × burst` units pass. (2) KV is eventually
/// consistent: another location can read a TAT up to ~60 s old, so each
/// location may spend close to a full quota, up to `locations × quota` per
/// window. (3) KV accepts about one write per second per key; faster writes
/// fail with [`RateLimitError::Store`]. Use it for coarse abuse limits only,
/// and a [`RateLimitStore`] on a Durable Object for exact limits.
pub struct KvStoreLimiter {
    kv: Arc<dyn KvStore>,
    clock: Arc<dyn Clock>,
    prefix: String,
}

impl std::fmt::Debug for KvStoreLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStoreLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl KvStoreLimiter {
    /// A limiter storing TATs under `prefix` (e.g. `rl:`).
    pub fn new(kv: Arc<dyn KvStore>, clock: Arc<dyn Clock>, prefix: impl Into<String>) -> Self {
        Self {
            kv,
            clock,
            prefix: prefix.into(),
        }
    }
}

#[async_trait(?Send)]
impl RateLimitStore for KvStoreLimiter {
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let kv_key = format!("{}{key}", self.prefix);
        let stored = self
            .kv
            .get(&kv_key)
            .await
            .map_err(|e| RateLimitError::Store(e.to_string()))?;
        let tat = stored
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .map(Tat::from_micros);
        let now_ms = self.clock.now_ms();
        let (decision, new_tat) = Gcra::new(*quota).decide(tat, now_ms, cost);
        if let Some(t) = new_tat.filter(|t| Some(*t) != tat) {
            // Keep the entry until the bucket is full again (KV minimum: 60 s).
            let ttl = decision
                .reset_after_ms
                .div_ceil(1000)
                .saturating_add(1)
                .max(60);
            self.kv
                .put(
                    &kv_key,
                    t.micros().to_string().into_bytes(),
                    PutOptions::ttl(ttl),
                )
                .await
                .map_err(|e| RateLimitError::Store(e.to_string()))?;
        }
        Ok(decision)
    }
}

/// The quota table over a store: keys become `<category>:<subject key>`.
#[derive(Debug)]
pub struct RateLimiter<S> {
    table: RateLimitTable,
    store: S,
}

impl<S: RateLimitStore> RateLimiter<S> {
    /// A limiter over `store`.
    pub fn new(table: RateLimitTable, store: S) -> Self {
        Self { table, store }
    }

    /// The table.
    pub fn table(&self) -> &RateLimitTable {
        &self.table
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Checks `cost` units for `subject` (from [`user_key`](super::user_key),
    /// [`api_key_key`](super::api_key_key) or [`anonymous_key`](super::anonymous_key)).
    /// Returns the decision and the quota that applied (for the headers).
    pub async fn check(
        &self,
        tier: Tier,
        category: &str,
        subject: &str,
        cost: u32,
    ) -> Result<(Decision, Quota), RateLimitError> {
        let quota = self
            .table
            .quota(tier, category)
            .ok_or_else(|| RateLimitError::InvalidCategory(category.to_owned()))?;
        let key = format!("{category}:{subject}");
        let decision = self.store.decide(&key, &quota, cost).await?;
        Ok((decision, quota))
    }
}
