//! Storage for sticky-bucket documents: the [`StickyBucketService`] port, an
//! in-memory implementation and one over the edgeforge [`KvStore`] port.
//!
//! Evaluation itself stays synchronous: load the user's documents with
//! [`load_sticky_bucket_docs`] before evaluating, and save what the
//! [`Evaluator`](super::Evaluator) changed with [`save_sticky_bucket_docs`] after.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use edge_ports::{KvStore, PutOptions};

use super::GrowthBookError;
use super::model::Payload;
use super::results::UserContext;
use super::sticky::{StickyAssignmentsDocument, sticky_attribute_key, sticky_bucket_attributes};

/// Where sticky-bucket documents live.
///
/// Futures are not `Send` (Workers' JS-backed futures are not).
#[async_trait(?Send)]
pub trait StickyBucketService {
    /// The document for `attribute_name = attribute_value`, if stored.
    async fn get_assignments(
        &self,
        attribute_name: &str,
        attribute_value: &str,
    ) -> Result<Option<StickyAssignmentsDocument>, GrowthBookError>;

    /// Stores a document (replacing the one with the same key).
    async fn save_assignments(
        &self,
        doc: &StickyAssignmentsDocument,
    ) -> Result<(), GrowthBookError>;

    /// The documents for all `(name, value)` pairs, keyed `"{name}||{value}"`.
    async fn get_all_assignments(
        &self,
        attributes: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, StickyAssignmentsDocument>, GrowthBookError> {
        let mut docs = HashMap::new();
        for (name, value) in attributes {
            if let Some(doc) = self.get_assignments(name, value).await? {
                docs.insert(sticky_attribute_key(name, value), doc);
            }
        }
        Ok(docs)
    }
}

/// Loads the sticky-bucket documents `user` needs for `payload` (see
/// [`sticky_bucket_attributes`]); pass them to [`UserContext::with_sticky_bucket_docs`].
pub async fn load_sticky_bucket_docs<S: StickyBucketService + ?Sized>(
    service: &S,
    payload: &Payload,
    user: &UserContext,
) -> Result<HashMap<String, StickyAssignmentsDocument>, GrowthBookError> {
    let attributes = sticky_bucket_attributes(payload, user);
    service.get_all_assignments(&attributes).await
}

/// Saves documents (typically [`Evaluator::take_sticky_bucket_changes`](super::Evaluator::take_sticky_bucket_changes)).
pub async fn save_sticky_bucket_docs<'d, S, I>(service: &S, docs: I) -> Result<(), GrowthBookError>
where
    S: StickyBucketService + ?Sized,
    I: IntoIterator<Item = &'d StickyAssignmentsDocument>,
{
    for doc in docs {
        service.save_assignments(doc).await?;
    }
    Ok(())
}

/// Sticky-bucket documents in process memory (tests, single-process hosts).
#[derive(Debug, Default)]
pub struct InMemoryStickyBucketService {
    docs: Mutex<HashMap<String, StickyAssignmentsDocument>>,
}

impl InMemoryStickyBucketService {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, StickyAssignmentsDocument>> {
        // A panic elsewhere cannot leave a half-written map: inserts are atomic.
        self.docs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of stored documents.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no documents are stored.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[async_trait(?Send)]
impl StickyBucketService for InMemoryStickyBucketService {
    async fn get_assignments(
        &self,
        attribute_name: &str,
        attribute_value: &str,
    ) -> Result<Option<StickyAssignmentsDocument>, GrowthBookError> {
        let key = sticky_attribute_key(attribute_name, attribute_value);
        Ok(self.lock().get(&key).cloned())
    }

    async fn save_assignments(
        &self,
        doc: &StickyAssignmentsDocument,
    ) -> Result<(), GrowthBookError> {
        self.lock().insert(doc.key(), doc.clone());
        Ok(())
    }
}

/// Default key prefix of [`KvStickyBucketService`] (the JS SDK's storage prefix).
pub const DEFAULT_KV_PREFIX: &str = "gbStickyBuckets__";

/// Sticky-bucket documents as JSON in a [`KvStore`] (Workers KV in production).
///
/// Keys are `{prefix}{attributeName}||{attributeValue}`; Workers KV keys are at
/// most 512 bytes, so very long attribute values fail with a typed KV error.
/// KV is eventually consistent: a user hitting two locations within about a
/// minute can be bucketed twice, as with any KV-backed sticky store.
#[derive(Debug, Clone)]
pub struct KvStickyBucketService<K> {
    kv: K,
    prefix: String,
    ttl_secs: Option<u64>,
}

impl<K: KvStore> KvStickyBucketService<K> {
    /// A service over `kv` with the default prefix and no expiry.
    pub fn new(kv: K) -> Self {
        Self {
            kv,
            prefix: DEFAULT_KV_PREFIX.to_owned(),
            ttl_secs: None,
        }
    }

    /// Uses another key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Expires documents `ttl_secs` after their last save (at least 60 on Workers KV).
    pub fn with_ttl_secs(mut self, ttl_secs: u64) -> Self {
        self.ttl_secs = Some(ttl_secs);
        self
    }

    fn storage_key(&self, attribute_name: &str, attribute_value: &str) -> String {
        format!("{}{attribute_name}||{attribute_value}", self.prefix)
    }
}

#[async_trait(?Send)]
impl<K: KvStore> StickyBucketService for KvStickyBucketService<K> {
    async fn get_assignments(
        &self,
        attribute_name: &str,
        attribute_value: &str,
    ) -> Result<Option<StickyAssignmentsDocument>, GrowthBookError> {
        let key = self.storage_key(attribute_name, attribute_value);
        let Some(bytes) = self.kv.get(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| GrowthBookError::InvalidStickyDoc {
                key,
                reason: e.to_string(),
            })
    }

    async fn save_assignments(
        &self,
        doc: &StickyAssignmentsDocument,
    ) -> Result<(), GrowthBookError> {
        let key = self.storage_key(&doc.attribute_name, &doc.attribute_value);
        let value = serde_json::to_vec(doc)?;
        let opts = PutOptions {
            expiration_ttl: self.ttl_secs,
            ..PutOptions::default()
        };
        self.kv.put(&key, value, opts).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_ports::testing::block_on;
    use edge_ports::{ManualClock, MemoryKv};

    fn doc(value: &str) -> StickyAssignmentsDocument {
        StickyAssignmentsDocument {
            attribute_name: "id".to_owned(),
            attribute_value: value.to_owned(),
            assignments: BTreeMap::from([("exp__0".to_owned(), "1".to_owned())]),
        }
    }

    #[test]
    fn kv_service_round_trips_and_expires() {
        let clock = ManualClock::new(0);
        let service = KvStickyBucketService::new(MemoryKv::new(clock.clone())).with_ttl_secs(60);
        block_on(async {
            service.save_assignments(&doc("u1")).await.unwrap();
            let attrs = BTreeMap::from([("id".to_owned(), "u1".to_owned())]);
            let all = service.get_all_assignments(&attrs).await.unwrap();
            assert_eq!(all.get("id||u1"), Some(&doc("u1")));
            clock.advance_secs(60);
            assert_eq!(service.get_assignments("id", "u1").await.unwrap(), None);
        });
    }

    #[test]
    fn kv_service_reports_corrupt_docs_and_long_keys() {
        let kv = MemoryKv::new(ManualClock::new(0));
        let service = KvStickyBucketService::new(kv.clone());
        block_on(async {
            kv.put(
                "gbStickyBuckets__id||bad",
                b"{".to_vec(),
                PutOptions::default(),
            )
            .await
            .unwrap();
            let err = service.get_assignments("id", "bad").await.unwrap_err();
            assert!(matches!(err, GrowthBookError::InvalidStickyDoc { .. }));
            let err = service
                .save_assignments(&doc(&"x".repeat(600)))
                .await
                .unwrap_err();
            assert!(matches!(err, GrowthBookError::Kv(_)));
        });
    }

    #[test]
    fn memory_service_stores_by_key() {
        let service = InMemoryStickyBucketService::new();
        block_on(save_sticky_bucket_docs(&service, [&doc("a"), &doc("b")])).unwrap();
        assert_eq!(service.len(), 2);
        let got = block_on(service.get_assignments("id", "b")).unwrap();
        assert_eq!(got, Some(doc("b")));
    }
}
