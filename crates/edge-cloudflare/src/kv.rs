//! Workers KV adapter.

use async_trait::async_trait;
use edge_ports::kv::limits;
use edge_ports::{Clock, KvError, KvStore, KvValue, ListKey, ListOptions, ListPage, PutOptions};
use serde_json::Value;

/// A [`KvStore`] over a Workers KV namespace binding.
///
/// Limits are checked before any call leaves the isolate, with the same typed
/// errors as every other adapter. Workers KV is eventually consistent: never
/// use it for read-modify-write counters.
pub struct WorkersKv<C> {
    inner: worker::KvStore,
    clock: C,
}

impl<C> std::fmt::Debug for WorkersKv<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkersKv").finish_non_exhaustive()
    }
}

impl<C: Clock> WorkersKv<C> {
    /// Wraps a binding (`env.kv("NAME")?`). The clock checks absolute
    /// expirations before sending them.
    pub fn new(inner: worker::KvStore, clock: C) -> Self {
        Self { inner, clock }
    }
}

fn backend(e: worker::KvError) -> KvError {
    KvError::Backend(e.to_string())
}

#[async_trait(?Send)]
impl<C: Clock> KvStore for WorkersKv<C> {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        limits::validate_key(key)?;
        let (value, metadata) = self
            .inner
            .get(key)
            .bytes_with_metadata::<Value>()
            .await
            .map_err(backend)?;
        Ok(value.map(|value| KvValue {
            value,
            metadata: metadata.filter(|m| !m.is_null()),
        }))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        limits::validate_key(key)?;
        self.inner.get(key).bytes().await.map_err(backend)
    }

    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        limits::validate_put(key, value.len(), &opts, self.clock.now_secs())?;
        let mut builder = self.inner.put_bytes(key, &value).map_err(backend)?;
        if let Some(ttl) = opts.expiration_ttl {
            builder = builder.expiration_ttl(ttl);
        }
        if let Some(at) = opts.expiration {
            builder = builder.expiration(at);
        }
        if let Some(meta) = opts.metadata {
            builder = builder.metadata(meta).map_err(backend)?;
        }
        builder.execute().await.map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        limits::validate_key(key)?;
        self.inner.delete(key).await.map_err(backend)
    }

    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        limits::validate_list(&opts)?;
        let mut builder = self.inner.list().limit(u64::from(opts.limit));
        if let Some(p) = opts.prefix {
            builder = builder.prefix(p);
        }
        if let Some(c) = opts.cursor {
            builder = builder.cursor(c);
        }
        let resp = builder.execute().await.map_err(backend)?;
        Ok(ListPage {
            keys: resp
                .keys
                .into_iter()
                .map(|k| ListKey {
                    name: k.name,
                    expiration: k.expiration,
                    metadata: k.metadata.filter(|m| !m.is_null()),
                })
                .collect(),
            // The platform may return a cursor on the last page; normalise.
            cursor: if resp.list_complete {
                None
            } else {
                resp.cursor
            },
            list_complete: resp.list_complete,
        })
    }
}
