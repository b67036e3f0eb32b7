//! Signed consent tokens: `v1.<unix_ts>.<scope>.<base64url HMAC-SHA256>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::GeoError;

/// Why a consent token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// No token (or no user id to bind it to).
    #[error("no consent token")]
    Missing,
    /// Not `v1.<ts>.<scope>.<sig>`.
    #[error("malformed consent token")]
    Malformed,
    /// The token is for another scope.
    #[error("consent token is for another scope")]
    WrongScope,
    /// The signature does not verify (forged, or for another user).
    #[error("bad consent signature")]
    BadSignature,
    /// Older than the maximum age.
    #[error("consent expired")]
    Expired,
    /// Issued in the future (beyond 60 s of skew).
    #[error("consent issued in the future")]
    FromTheFuture,
}

/// True for `[A-Za-z0-9_-]{1,64}`.
pub(crate) fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The HMAC key for consent tokens (zeroized on drop).
#[derive(Clone)]
pub struct ConsentKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for ConsentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsentKey(..)")
    }
}

impl ConsentKey {
    /// A key from a server secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, GeoError> {
        if secret.len() < 32 {
            return Err(GeoError::SecretTooShort);
        }
        Ok(Self(Zeroizing::new(secret.to_vec())))
    }

    fn mac(&self, user_id: &str, ts: u64, scope: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).ok()?;
        // Unambiguous: ts is digits and scope has no '\n', so the user id is
        // everything before the last two separators.
        mac.update(format!("v1\n{user_id}\n{ts}\n{scope}").as_bytes());
        Some(mac)
    }

    /// Issues `v1.<ts>.<scope>.<sig>` for `user_id` at `ts` (an invalid scope
    /// yields a token that never verifies).
    pub fn issue(&self, user_id: &str, scope: &str, ts: u64) -> String {
        let sig = self
            .mac(user_id, ts, scope)
            .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!("v1.{ts}.{scope}.{sig}")
    }

    /// Verifies `token` for `user_id` and `scope` at `now_secs`; returns its ts.
    pub fn verify(
        &self,
        token: &str,
        user_id: &str,
        scope: &str,
        now_secs: u64,
        max_age_secs: u64,
    ) -> Result<u64, ConsentError> {
        if token.len() > 256 {
            return Err(ConsentError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some("v1"), Some(ts), Some(tok_scope), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(ConsentError::Malformed);
        };
        if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConsentError::Malformed);
        }
        let ts: u64 = ts.parse().map_err(|_| ConsentError::Malformed)?;
        if !valid_scope(tok_scope) {
            return Err(ConsentError::Malformed);
        }
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| ConsentError::Malformed)?;
        if sig.len() != 32 {
            return Err(ConsentError::Malformed);
        }
        let mac = self
            .mac(user_id, ts, tok_scope)
            .ok_or(ConsentError::BadSignature)?;
        mac.verify_slice(&sig)
            .map_err(|_| ConsentError::BadSignature)?;
        if tok_scope != scope {
            return Err(ConsentError::WrongScope);
        }
        if ts > now_secs.saturating_add(60) {
            return Err(ConsentError::FromTheFuture);
        }
        if now_secs.saturating_sub(ts) > max_age_secs {
            return Err(ConsentError::Expired);
        }
        Ok(ts)
    }
}
