//! Envelope encryption: AES-256-GCM with a versioned, key-id-tagged header,
//! a rotating [`Keyring`] and optional per-record data keys.
//!
//! Wire format (then base64url without padding):
//! `0x01 | key id (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag`.
//! The AAD is the 5 header bytes followed by the caller's [`Context`]
//! (length-prefixed fields), so a ciphertext cannot be moved to another
//! record or classification. Decryption uses only the key the header names
//! (GCM is not key-committing).
//!
//! **Nonce limit:** nonces are 96 random bits from the [`Random`] port, so a
//! key must encrypt at most 2^32 messages (NIST SP 800-38D); rotate before.
//!
//! ```
//! use edge_ports::SeededRandom;
//! use zt_security::envelope::{Context, Key, Keyring};
//!
//! let key = Key::from_base64(1, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap();
//! let ring = Keyring::new(key);
//! let ctx = Context::new("user:42", "pii");
//! let rng = SeededRandom::new(7); // use OsRandom / WorkersRandom in production
//! let ct = ring.seal(&rng, b"secret", &ctx).unwrap();
//! assert_eq!(ring.open(&ct, &ctx).unwrap(), b"secret");
//! assert!(ring.open(&ct, &Context::new("user:43", "pii")).is_err());
//! ```

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use edge_ports::Random;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Format version byte.
pub const VERSION: u8 = 0x01;
const HEADER: usize = 5;
const NONCE: usize = 12;
const TAG: usize = 16;

/// Envelope errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The key text is not base64 of exactly 32 bytes.
    #[error("invalid key: supply base64 of exactly 32 random bytes")]
    InvalidKey,
    /// The ciphertext is not valid base64url.
    #[error("ciphertext is not base64url")]
    Encoding,
    /// Too short to hold a header, nonce and tag.
    #[error("ciphertext truncated")]
    Truncated,
    /// Unknown format version.
    #[error("unsupported ciphertext version {0:#04x}")]
    Version(u8),
    /// The header names a key that is not in the keyring (retired or foreign).
    #[error("unknown key id {0}")]
    UnknownKey(u32),
    /// Authentication failed: tampered data, wrong key or wrong context.
    #[error("decryption failed: ciphertext or context does not authenticate")]
    Decrypt,
    /// A key id is already present.
    #[error("key id {0} already in the keyring")]
    DuplicateKey(u32),
    /// The active key cannot be retired.
    #[error("key id {0} is active; rotate before retiring it")]
    ActiveKey(u32),
    /// The random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

/// A 256-bit key with its id. Zeroized on drop; `Debug` hides the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    #[zeroize(skip)]
    id: u32,
    bytes: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

impl Key {
    /// Builds a key from base64 (standard or url-safe, padded or not) of 32 bytes.
    pub fn from_base64(id: u32, text: &str) -> Result<Self, EnvelopeError> {
        let t = text.trim();
        let raw = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(t.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(t))
                .map_err(|_| EnvelopeError::InvalidKey)?,
        );
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| EnvelopeError::InvalidKey)?;
        Ok(Self { id, bytes })
    }

    /// Generates a fresh random key.
    pub fn generate(id: u32, rng: &dyn Random) -> Result<Self, EnvelopeError> {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes)
            .map_err(|e| EnvelopeError::Random(e.0))?;
        Ok(Self { id, bytes })
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn cipher(&self) -> Result<Aes256Gcm, EnvelopeError> {
        Aes256Gcm::new_from_slice(&self.bytes).map_err(|_| EnvelopeError::InvalidKey)
    }
}

/// Caller context bound into the AAD (not encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// Record id (e.g. `user:42`).
    pub record_id: String,
    /// Data classification (e.g. `pii`).
    pub classification: String,
}

impl Context {
    /// A context for `record_id` with `classification`.
    pub fn new(record_id: impl Into<String>, classification: impl Into<String>) -> Self {
        Self {
            record_id: record_id.into(),
            classification: classification.into(),
        }
    }

    /// Canonical bytes: each field as a 4-byte big-endian length then bytes.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.record_id.len() + self.classification.len());
        for f in [&self.record_id, &self.classification] {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }
}

/// One active key plus decrypt-only older keys.
#[derive(Debug, Clone)]
pub struct Keyring {
    active: Key,
    old: Vec<Key>,
}

/// A sealed record with its wrapped data key (both base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// The data key encrypted under the keyring's active key.
    pub wrapped_key: String,
    /// The record encrypted under the data key.
    pub ciphertext: String,
}

impl Keyring {
    /// A keyring whose active key is `active`.
    pub fn new(active: Key) -> Self {
        Self {
            active,
            old: Vec::new(),
        }
    }

    /// The active key id.
    pub fn active_id(&self) -> u32 {
        self.active.id
    }

    /// Makes `new_key` active; the previous key stays for decryption.
    pub fn rotate(&mut self, new_key: Key) -> Result<(), EnvelopeError> {
        if self.find(new_key.id).is_some() {
            return Err(EnvelopeError::DuplicateKey(new_key.id));
        }
        let prev = std::mem::replace(&mut self.active, new_key);
        self.old.push(prev);
        Ok(())
    }

    /// Removes a decrypt-only key; its ciphertexts no longer open.
    pub fn retire(&mut self, key_id: u32) -> Result<(), EnvelopeError> {
        if key_id == self.active.id {
            return Err(EnvelopeError::ActiveKey(key_id));
        }
        let before = self.old.len();
        self.old.retain(|k| k.id != key_id);
        if self.old.len() == before {
            return Err(EnvelopeError::UnknownKey(key_id));
        }
        Ok(())
    }

    /// A keyring from its JSON form, `{"active": 2, "keys": {"1": "<base64
    /// 32 bytes>", "2": "…"}}`: the active key seals, every key opens.
    /// Errors are one readable line.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: KeyringFile =
            serde_json::from_str(text).map_err(|e| format!("keyring is not valid: {e}"))?;
        let active = file.active;
        let mut parsed = std::collections::BTreeMap::new();
        for (id, b64) in &file.keys {
            let id: u32 = id
                .parse()
                .map_err(|_| format!("key id {id:?} is not an integer"))?;
            parsed.insert(
                id,
                Key::from_base64(id, b64).map_err(|e| format!("key {id}: {e}"))?,
            );
        }
        let active_key = parsed
            .remove(&active)
            .ok_or_else(|| format!("active key {active} is not in \"keys\""))?;
        // Older keys decrypt only: start from them and rotate the active one in last.
        let mut older = parsed.into_values();
        let mut ring = match older.next() {
            Some(first) => Self::new(first),
            None => return Ok(Self::new(active_key)),
        };
        for k in older {
            ring.rotate(k).map_err(|e| e.to_string())?;
        }
        ring.rotate(active_key).map_err(|e| e.to_string())?;
        Ok(ring)
    }

    fn find(&self, id: u32) -> Option<&Key> {
        std::iter::once(&self.active)
            .chain(&self.old)
            .find(|k| k.id == id)
    }

    /// Encrypts with the active key; returns base64url text.
    pub fn seal(
        &self,
        rng: &dyn Random,
        plaintext: &[u8],
        ctx: &Context,
    ) -> Result<String, EnvelopeError> {
        seal_with(&self.active, rng, plaintext, ctx).map(|b| URL_SAFE_NO_PAD.encode(b))
    }

    /// Decrypts base64url text produced by [`Keyring::seal`].
    pub fn open(&self, ciphertext: &str, ctx: &Context) -> Result<Vec<u8>, EnvelopeError> {
        let raw = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| EnvelopeError::Encoding)?;
        self.open_bytes(&raw, ctx)
    }

    /// Decrypts raw (decoded) ciphertext bytes.
    pub fn open_bytes(&self, raw: &[u8], ctx: &Context) -> Result<Vec<u8>, EnvelopeError> {
        let id = parse_header(raw)?;
        let key = self.find(id).ok_or(EnvelopeError::UnknownKey(id))?;
        open_with(key, raw, ctx)
    }

    /// Encrypts `plaintext` under a fresh random data key, wrapped by the active key.
    pub fn seal_with_data_key(
        &self,
        rng: &dyn Random,
        plaintext: &[u8],
        ctx: &Context,
    ) -> Result<SealedRecord, EnvelopeError> {
        let dek = Key::generate(0, rng)?;
        let ciphertext = URL_SAFE_NO_PAD.encode(seal_with(&dek, rng, plaintext, ctx)?);
        let wrapped_key = self.seal(rng, &dek.bytes, ctx)?;
        Ok(SealedRecord {
            wrapped_key,
            ciphertext,
        })
    }

    /// Unwraps the data key, then decrypts the record.
    pub fn open_with_data_key(
        &self,
        sealed: &SealedRecord,
        ctx: &Context,
    ) -> Result<Vec<u8>, EnvelopeError> {
        let dek_bytes = Zeroizing::new(self.open(&sealed.wrapped_key, ctx)?);
        let bytes: [u8; 32] = dek_bytes
            .as_slice()
            .try_into()
            .map_err(|_| EnvelopeError::Decrypt)?;
        let dek = Key { id: 0, bytes };
        let raw = URL_SAFE_NO_PAD
            .decode(&sealed.ciphertext)
            .map_err(|_| EnvelopeError::Encoding)?;
        if parse_header(&raw)? != 0 {
            return Err(EnvelopeError::Decrypt);
        }
        open_with(&dek, &raw, ctx)
    }
}

fn aad(header: &[u8], ctx: &Context) -> Vec<u8> {
    let mut a = header.to_vec();
    a.extend_from_slice(&ctx.canonical());
    a
}

fn seal_with(
    key: &Key,
    rng: &dyn Random,
    plaintext: &[u8],
    ctx: &Context,
) -> Result<Vec<u8>, EnvelopeError> {
    let mut nonce = [0u8; NONCE];
    rng.fill(&mut nonce)
        .map_err(|e| EnvelopeError::Random(e.0))?;
    let mut out = Vec::with_capacity(HEADER + NONCE + plaintext.len() + TAG);
    out.push(VERSION);
    out.extend_from_slice(&key.id.to_be_bytes());
    out.extend_from_slice(&nonce);
    let aad = aad(&out[..HEADER], ctx);
    let ct = key
        .cipher()?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| EnvelopeError::Decrypt)?;
    out.extend_from_slice(&ct);
    Ok(out)
}

fn parse_header(raw: &[u8]) -> Result<u32, EnvelopeError> {
    if raw.len() < HEADER + NONCE + TAG {
        return Err(EnvelopeError::Truncated);
    }
    if raw[0] != VERSION {
        return Err(EnvelopeError::Version(raw[0]));
    }
    Ok(u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]))
}

fn open_with(key: &Key, raw: &[u8], ctx: &Context) -> Result<Vec<u8>, EnvelopeError> {
    let mut nonce = [0u8; NONCE];
    nonce.copy_from_slice(&raw[HEADER..HEADER + NONCE]);
    let aad = aad(&raw[..HEADER], ctx);
    key.cipher()?
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &raw[HEADER + NONCE..],
                aad: &aad,
            },
        )
        .map_err(|_| EnvelopeError::Decrypt)
}

/// The JSON form of a keyring secret: `{"active": 2, "keys": {"1": "…"}}`.
///
/// ```
/// use zt_security::envelope::KeyringFile;
///
/// let rng = edge_ports::SeededRandom::new(7);
/// let ring = KeyringFile::generate(&rng).unwrap();
/// let next = ring.clone().rotated(&rng).unwrap();
/// assert_eq!((ring.active, next.active, next.keys.len()), (1, 2, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringFile {
    /// The key id that seals; every key opens.
    pub active: u32,
    /// Key id (decimal text) → base64 of 32 bytes.
    pub keys: std::collections::BTreeMap<String, String>,
}

impl KeyringFile {
    /// A ring of one fresh key, id 1.
    pub fn generate(rng: &dyn Random) -> Result<Self, EnvelopeError> {
        Self {
            active: 0,
            keys: std::collections::BTreeMap::new(),
        }
        .rotated(rng)
    }

    /// This ring with a fresh key, one id above the highest, made active.
    /// The old keys stay to open what they sealed.
    pub fn rotated(mut self, rng: &dyn Random) -> Result<Self, EnvelopeError> {
        let next = self
            .keys
            .keys()
            .filter_map(|id| id.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(EnvelopeError::DuplicateKey(u32::MAX))?;
        let key = Key::generate(next, rng)?;
        self.keys
            .insert(next.to_string(), STANDARD.encode(key.bytes));
        self.active = next;
        Ok(self)
    }
}
