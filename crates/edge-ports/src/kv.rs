//! The KV store port, with Workers KV's limits and semantics.
//!
//! Every adapter (in-memory, SQLite, Workers KV) calls the same validation
//! functions in [`limits`], so a key or value that one backend rejects is
//! rejected by all of them with the same typed [`KvError`].

use async_trait::async_trait;
use serde_json::Value;

mod memory;
pub use memory::MemoryKv;

/// Workers KV limits, enforced by every adapter.
pub mod limits {
    use super::{KvError, ListOptions, PutOptions};

    /// Maximum key length in bytes.
    pub const MAX_KEY_BYTES: usize = 512;
    /// Maximum value size in bytes (25 MiB).
    pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
    /// Maximum serialised metadata size in bytes.
    pub const MAX_METADATA_BYTES: usize = 1024;
    /// Minimum `expiration_ttl` in seconds, and the minimum distance of an
    /// absolute `expiration` into the future.
    pub const MIN_TTL_SECS: u64 = 60;
    /// Maximum (and default) number of keys in one list page.
    pub const MAX_LIST_LIMIT: u32 = 1000;

    /// Checks a key: non-empty, not `.` or `..`, at most 512 bytes.
    pub fn validate_key(key: &str) -> Result<(), KvError> {
        if key.is_empty() {
            return Err(KvError::EmptyKey);
        }
        if key == "." || key == ".." {
            return Err(KvError::ReservedKey(key.to_owned()));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(KvError::KeyTooLong {
                len: key.len(),
                max: MAX_KEY_BYTES,
            });
        }
        Ok(())
    }

    /// Checks a put: key, value size, metadata size and expiry.
    ///
    /// `now_secs` is the adapter's clock reading, used to check an absolute
    /// `expiration`.
    pub fn validate_put(
        key: &str,
        value_len: usize,
        opts: &PutOptions,
        now_secs: u64,
    ) -> Result<(), KvError> {
        validate_key(key)?;
        if value_len > MAX_VALUE_BYTES {
            return Err(KvError::ValueTooLarge {
                len: value_len,
                max: MAX_VALUE_BYTES,
            });
        }
        if let Some(meta) = &opts.metadata {
            let len = metadata_len(meta);
            if len > MAX_METADATA_BYTES {
                return Err(KvError::MetadataTooLarge {
                    len,
                    max: MAX_METADATA_BYTES,
                });
            }
        }
        match (opts.expiration_ttl, opts.expiration) {
            (Some(_), Some(_)) => return Err(KvError::ConflictingExpiry),
            (Some(ttl), None) if ttl < MIN_TTL_SECS => {
                return Err(KvError::TtlTooShort {
                    ttl,
                    min: MIN_TTL_SECS,
                });
            }
            (None, Some(at)) if at < now_secs.saturating_add(MIN_TTL_SECS) => {
                return Err(KvError::ExpirationTooSoon {
                    expiration: at,
                    earliest: now_secs.saturating_add(MIN_TTL_SECS),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks list options: the limit must be 1..=1000 and the prefix a
    /// valid-length key fragment.
    pub fn validate_list(opts: &ListOptions) -> Result<(), KvError> {
        if opts.limit == 0 || opts.limit > MAX_LIST_LIMIT {
            return Err(KvError::InvalidListLimit {
                limit: opts.limit,
                max: MAX_LIST_LIMIT,
            });
        }
        if let Some(p) = opts.prefix.as_ref().filter(|p| p.len() > MAX_KEY_BYTES) {
            return Err(KvError::KeyTooLong {
                len: p.len(),
                max: MAX_KEY_BYTES,
            });
        }
        Ok(())
    }

    /// The serialised size of a metadata value.
    pub fn metadata_len(meta: &serde_json::Value) -> usize {
        serde_json::to_vec(meta)
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
    }

    /// The absolute expiry (seconds since the epoch) a put asks for, if any.
    pub fn expiry_secs(opts: &PutOptions, now_secs: u64) -> Option<u64> {
        match (opts.expiration_ttl, opts.expiration) {
            (Some(ttl), _) => Some(now_secs.saturating_add(ttl)),
            (None, Some(at)) => Some(at),
            (None, None) => None,
        }
    }
}

/// Why a KV operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The key was empty.
    #[error("KV key must not be empty")]
    EmptyKey,
    /// `.` and `..` are not allowed as keys (Workers KV rejects them).
    #[error("KV key {0:?} is reserved; use another key")]
    ReservedKey(String),
    /// The key was longer than 512 bytes.
    #[error("KV key is {len} bytes; the limit is {max} bytes (hash long keys first)")]
    KeyTooLong {
        /// Actual length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value was larger than 25 MiB.
    #[error("KV value is {len} bytes; the limit is {max} bytes")]
    ValueTooLarge {
        /// Actual size in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Serialised metadata was larger than 1024 bytes.
    #[error("KV metadata is {len} bytes serialised; the limit is {max} bytes")]
    MetadataTooLarge {
        /// Actual size in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `expiration_ttl` below 60 seconds.
    #[error("KV expiration_ttl is {ttl} s; Workers KV requires at least {min} s")]
    TtlTooShort {
        /// Requested TTL in seconds.
        ttl: u64,
        /// The minimum.
        min: u64,
    },
    /// An absolute `expiration` less than 60 seconds in the future.
    #[error(
        "KV expiration {expiration} is too soon; the earliest allowed is {earliest} (now + 60 s)"
    )]
    ExpirationTooSoon {
        /// Requested expiry, seconds since the epoch.
        expiration: u64,
        /// The earliest allowed expiry.
        earliest: u64,
    },
    /// Both `expiration_ttl` and `expiration` were given.
    #[error("set either expiration_ttl or expiration, not both")]
    ConflictingExpiry,
    /// A list limit outside 1..=1000.
    #[error("KV list limit {limit} is out of range; use 1..={max}")]
    InvalidListLimit {
        /// Requested limit.
        limit: u32,
        /// The maximum.
        max: u32,
    },
    /// A list cursor this store did not issue.
    #[error("KV list cursor is not valid for this store; start again without a cursor")]
    InvalidCursor,
    /// Stored metadata could not be decoded.
    #[error("KV metadata could not be decoded: {0}")]
    InvalidMetadata(String),
    /// The backend failed (network, storage, binding missing).
    #[error("KV backend error: {0}")]
    Backend(String),
}

/// Options for [`KvStore::put`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutOptions {
    /// Seconds until the entry expires (at least 60).
    pub expiration_ttl: Option<u64>,
    /// Absolute expiry in seconds since the epoch (at least now + 60).
    pub expiration: Option<u64>,
    /// Arbitrary JSON metadata, at most 1024 bytes serialised.
    pub metadata: Option<Value>,
}

impl PutOptions {
    /// Options with a TTL in seconds.
    pub fn ttl(secs: u64) -> Self {
        Self {
            expiration_ttl: Some(secs),
            ..Self::default()
        }
    }

    /// Adds metadata.
    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

/// A value together with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct KvValue {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The metadata stored with the value, if any.
    pub metadata: Option<Value>,
}

/// Options for [`KvStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys starting with this prefix.
    pub prefix: Option<String>,
    /// Page size, 1..=1000 (default 1000).
    pub limit: u32,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            prefix: None,
            limit: limits::MAX_LIST_LIMIT,
            cursor: None,
        }
    }
}

impl ListOptions {
    /// List keys with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Continues from a cursor.
    pub fn cursor(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// One key in a list page.
#[derive(Debug, Clone, PartialEq)]
pub struct ListKey {
    /// The key.
    pub name: String,
    /// Absolute expiry in seconds since the epoch, if any.
    pub expiration: Option<u64>,
    /// The key's metadata, if any.
    pub metadata: Option<Value>,
}

/// One page of a listing, in lexicographic key order.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// The keys on this page.
    pub keys: Vec<ListKey>,
    /// True when there are no more pages.
    pub list_complete: bool,
    /// Pass this to the next call when `list_complete` is false.
    pub cursor: Option<String>,
}

/// A key-value store with Workers KV semantics: TTLs in seconds (minimum 60),
/// JSON metadata, and prefix listing with cursors.
///
/// Futures are not `Send`, because Workers' JS-backed futures are not; the
/// native host runs one current-thread runtime per core.
///
/// KV is eventually consistent on Workers: never use it for counters that need
/// read-modify-write (rate limits, contended state).
#[async_trait(?Send)]
pub trait KvStore {
    /// Reads a value and its metadata; `None` if missing or expired.
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError>;

    /// Reads a value; `None` if missing or expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.get_with_metadata(key).await?.map(|v| v.value))
    }

    /// Writes a value, replacing any existing one (and its metadata).
    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError>;

    /// Deletes a key. Deleting a missing key succeeds.
    async fn delete(&self, key: &str) -> Result<(), KvError>;

    /// Lists keys in lexicographic order, one page at a time.
    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError>;
}

#[async_trait(?Send)]
impl<K: KvStore + ?Sized> KvStore for std::sync::Arc<K> {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        (**self).get_with_metadata(key).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        (**self).put(key, value, opts).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        (**self).delete(key).await
    }
    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        (**self).list(opts).await
    }
}

#[async_trait(?Send)]
impl<K: KvStore + ?Sized> KvStore for std::rc::Rc<K> {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        (**self).get_with_metadata(key).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        (**self).put(key, value, opts).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        (**self).delete(key).await
    }
    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        (**self).list(opts).await
    }
}

/// Encodes a list cursor (the last key returned) as lowercase hex, so callers
/// treat it as opaque. Shared by adapters that page by "keys after X".
pub fn encode_cursor(last_key: &str) -> String {
    crate::hex::encode(last_key.as_bytes())
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<String, KvError> {
    let bytes = cursor.as_bytes();
    if !bytes.len().is_multiple_of(2) || bytes.len() > limits::MAX_KEY_BYTES * 2 {
        return Err(KvError::InvalidCursor);
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let hi = crate::hex::digit(pair[0]).ok_or(KvError::InvalidCursor)?;
        let lo = crate::hex::digit(pair[1]).ok_or(KvError::InvalidCursor)?;
        out.push((hi << 4) | lo);
    }
    String::from_utf8(out).map_err(|_| KvError::InvalidCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for k in ["", "a", "user:42/é", "日本"] {
            assert_eq!(decode_cursor(&encode_cursor(k)).unwrap(), k);
        }
        assert_eq!(decode_cursor("abc"), Err(KvError::InvalidCursor));
        assert_eq!(decode_cursor("zz"), Err(KvError::InvalidCursor));
        assert_eq!(decode_cursor("ff"), Err(KvError::InvalidCursor)); // not UTF-8
    }

    #[test]
    fn validate_put_checks_every_limit() {
        use limits::*;
        let ok = PutOptions::default();
        assert!(validate_put("k", 0, &ok, 0).is_ok());
        assert_eq!(validate_put("", 0, &ok, 0), Err(KvError::EmptyKey));
        assert!(matches!(
            validate_put("..", 0, &ok, 0),
            Err(KvError::ReservedKey(_))
        ));
        assert!(validate_put(&"k".repeat(512), 0, &ok, 0).is_ok());
        assert!(matches!(
            validate_put(&"k".repeat(513), 0, &ok, 0),
            Err(KvError::KeyTooLong { len: 513, max: 512 })
        ));
        assert!(validate_put("k", MAX_VALUE_BYTES, &ok, 0).is_ok());
        assert!(matches!(
            validate_put("k", MAX_VALUE_BYTES + 1, &ok, 0),
            Err(KvError::ValueTooLarge { .. })
        ));
        assert!(validate_put("k", 0, &PutOptions::ttl(60), 0).is_ok());
        assert_eq!(
            validate_put("k", 0, &PutOptions::ttl(59), 0),
            Err(KvError::TtlTooShort { ttl: 59, min: 60 })
        );
        let abs = PutOptions {
            expiration: Some(1_059),
            ..PutOptions::default()
        };
        assert!(matches!(
            validate_put("k", 0, &abs, 1_000),
            Err(KvError::ExpirationTooSoon { .. })
        ));
        let both = PutOptions {
            expiration: Some(10_000),
            expiration_ttl: Some(100),
            ..PutOptions::default()
        };
        assert_eq!(
            validate_put("k", 0, &both, 0),
            Err(KvError::ConflictingExpiry)
        );
        let big = PutOptions::default().with_metadata(Value::String("x".repeat(1023)));
        assert!(matches!(
            validate_put("k", 0, &big, 0),
            Err(KvError::MetadataTooLarge { len: 1025, .. })
        ));
    }
}
