//! The stored entry: a versioned binary envelope.
//!
//! Layout: `b"EFC"`, a version byte, a 4-byte big-endian header length, the
//! header as JSON, then the body bytes unchanged (no base64 inflation).

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 3] = b"EFC";
const VERSION: u8 = 1;

/// Response headers kept with an entry; everything else (Set-Cookie above
/// all) is dropped.
pub const STORED_HEADERS: &[&str] = &[
    "content-type",
    "content-language",
    "content-encoding",
    "etag",
    "last-modified",
    "x-request-type",
];

/// Metadata of a stored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// HTTP status of the stored response.
    pub status: u16,
    /// Selected response headers.
    pub headers: Vec<(String, String)>,
    /// When it was stored, ms since the epoch.
    pub stored_at_ms: u64,
    /// The policy's base TTL in seconds (regional multipliers apply at read).
    pub ttl_secs: u64,
    /// Stale-while-revalidate window in seconds.
    pub swr_secs: u64,
    /// Stale-if-error window in seconds.
    pub sie_secs: u64,
    /// The entity tag, if the origin sent one.
    pub etag: Option<String>,
    /// Tags with the generation each had when the entry was written.
    pub tags: Vec<(String, u64)>,
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Metadata.
    pub meta: EntryMeta,
    /// The body.
    pub body: Vec<u8>,
}

/// Why stored bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt(pub &'static str);

impl Entry {
    /// Serialises the envelope.
    pub fn encode(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.meta).unwrap_or_default();
        let len = u32::try_from(header.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(8 + header.len() + self.body.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.body);
        out
    }

    /// Parses an envelope; anything malformed is [`Corrupt`].
    pub fn decode(mut bytes: Vec<u8>) -> Result<Self, Corrupt> {
        if bytes.len() < 8 || &bytes[..3] != MAGIC {
            return Err(Corrupt("bad magic"));
        }
        if bytes[3] != VERSION {
            return Err(Corrupt("unknown version"));
        }
        let len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let end = 8usize
            .checked_add(len)
            .filter(|e| *e <= bytes.len())
            .ok_or(Corrupt("truncated header"))?;
        let meta: EntryMeta =
            serde_json::from_slice(&bytes[8..end]).map_err(|_| Corrupt("bad header"))?;
        let body = bytes.split_off(end);
        Ok(Self { meta, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            meta: EntryMeta {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                stored_at_ms: 42,
                ttl_secs: 60,
                swr_secs: 10,
                sie_secs: 100,
                etag: Some("\"v1\"".into()),
                tags: vec![("t".into(), 7)],
            },
            body: vec![0, 1, 2, 255],
        }
    }

    #[test]
    fn round_trips_and_rejects_corruption() {
        let e = entry();
        let bytes = e.encode();
        assert_eq!(Entry::decode(bytes.clone()).unwrap(), e);
        assert!(Entry::decode(Vec::new()).is_err());
        assert!(Entry::decode(b"not an entry at all".to_vec()).is_err());
        let mut wrong_version = bytes.clone();
        wrong_version[3] = 9;
        assert!(Entry::decode(wrong_version).is_err());
        let mut truncated = bytes.clone();
        truncated.truncate(20);
        assert!(Entry::decode(truncated).is_err());
        let mut huge_len = bytes;
        huge_len[4] = 0xff;
        assert!(Entry::decode(huge_len).is_err());
    }
}
