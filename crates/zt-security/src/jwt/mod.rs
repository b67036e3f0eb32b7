//! JWT validation: static keys, JWKS with a cooldown-limited refresh, and
//! Cloudflare Access assertions.
//!
//! - Each [`VerificationKey`] carries an algorithm allow-list of its own key
//!   family, so an RSA key never verifies an HS token and an HMAC secret never
//!   verifies an RS token; `alg: none` (any spelling) is rejected before any
//!   cryptography, from a header this module decodes itself.
//! - `exp`, `nbf` and `iat` are checked against the [`Clock`](edge_ports::Clock)
//!   port with a leeway (default 60 s); jsonwebtoken only checks signatures
//!   (its own time checks are off, so it never reads the system clock).
//! - `iss` and `aud` are required by default; tokens over 8 KiB are refused
//!   unread. Every failure is a typed [`JwtError`]; nothing panics on input.
//!
//! ```
//! use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
//! use zt_security::jwt::{JwtConfig, Tier, VerificationKey, Verifier};
//!
//! let secret = b"an-hs256-secret-of-at-least-32-bytes!";
//! let now = 1_700_000_000;
//! let claims = serde_json::json!({
//!     "sub": "u1", "iss": "https://issuer.example", "aud": "api",
//!     "exp": now + 300, "iat": now, "tier": "premium", "scope": "chat:write",
//! });
//! let token = encode(&Header::new(Algorithm::HS256), &claims,
//!     &EncodingKey::from_secret(secret).unwrap()).unwrap();
//!
//! let config = JwtConfig::new(["https://issuer.example"], ["api"]);
//! let key = VerificationKey::hmac(None, secret, &[Algorithm::HS256]).unwrap();
//! let verifier = Verifier::new(config, vec![key]).unwrap();
//! let principal = verifier.verify(&token, now).unwrap();
//! assert_eq!(principal.subject, "u1");
//! assert_eq!(principal.tier, Tier::Premium);
//! assert!(principal.has_scope("chat:write"));
//! assert!(verifier.verify(&token, now + 400).is_err()); // expired (60 s leeway)
//! ```

mod access;
mod jwks;
mod keys;
mod principal;
mod verify;

pub use access::{ACCESS_HEADER, AccessConfig, AccessValidator};
pub use jwks::{JwksCache, JwksConfig, JwksVerifier, validate_jwks_url};
pub use keys::VerificationKey;
pub use principal::{Principal, Tier, UnknownTier};
pub use verify::{JwtConfig, TokenHeader, Verifier, parse_header, verify_with_key};

pub use jsonwebtoken::Algorithm;

/// The largest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token (or a key, or a JWKS) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than the limit; it was not parsed.
    #[error("token is {len} bytes; the limit is {max}")]
    TokenTooLarge {
        /// Actual length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No token was presented.
    #[error("no token presented")]
    MissingToken,
    /// Not a compact JWS, or a part is not valid base64url/JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg: none` (in any letter case): unsigned tokens are never accepted.
    #[error("unsigned token (alg none) rejected")]
    AlgorithmNone,
    /// The header's algorithm is unknown or not allowed for the selected key.
    #[error("algorithm {0:?} is not allowed")]
    AlgorithmNotAllowed(String),
    /// The token names a key id that is not known (after any allowed refresh).
    #[error("unknown key id {0:?}")]
    UnknownKid(String),
    /// The key set needs a `kid` in the header to pick a key.
    #[error("token has no kid and the key set needs one")]
    MissingKid,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is not an accepted issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain an accepted audience.
    #[error("wrong audience")]
    WrongAudience,
    /// A required claim is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// A key could not be built or used.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The JWKS could not be fetched or parsed, and no keys are cached.
    #[error("JWKS unavailable: {0}")]
    Jwks(String),
    /// The validator's configuration is invalid.
    #[error("invalid JWT configuration: {0}")]
    Config(String),
}
