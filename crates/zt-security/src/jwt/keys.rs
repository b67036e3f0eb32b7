//! Verification keys, each with an algorithm allow-list of its own family.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::JwtError;
use jsonwebtoken::AlgorithmFamily;

/// The shortest HMAC secret accepted, in bytes (RFC 7518 §3.2 for HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// A public key or shared secret with the algorithms it may verify.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("family", &self.key.family())
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

fn family_of(alg: Algorithm) -> AlgorithmFamily {
    alg.family()
}

fn key_err(e: &jsonwebtoken::errors::Error) -> JwtError {
    JwtError::InvalidKey(e.to_string())
}

impl VerificationKey {
    fn build(
        kid: Option<&str>,
        key: DecodingKey,
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        if algorithms.is_empty() {
            return Err(JwtError::Config(
                "a key needs at least one algorithm".into(),
            ));
        }
        if let Some(bad) = algorithms.iter().find(|a| family_of(**a) != key.family()) {
            return Err(JwtError::Config(format!(
                "algorithm {bad:?} does not belong to the key's family {:?}",
                key.family()
            )));
        }
        Ok(Self {
            kid: kid.map(str::to_owned),
            key,
            algorithms: algorithms.to_vec(),
        })
    }

    /// An HMAC secret (at least 32 bytes) for HS256/384/512.
    pub fn hmac(
        kid: Option<&str>,
        secret: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(JwtError::InvalidKey(format!(
                "HMAC secret is {} bytes; use at least {MIN_HMAC_SECRET_BYTES}",
                secret.len()
            )));
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| key_err(&e))?;
        Self::build(kid, key, algorithms)
    }

    /// An RSA public key in PEM for RS256/384/512 and PS256/384/512.
    pub fn rsa_pem(
        kid: Option<&str>,
        pem: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| key_err(&e))?;
        Self::build(kid, key, algorithms)
    }

    /// An EC (P-256 / P-384) public key in PEM for ES256/ES384.
    pub fn ec_pem(
        kid: Option<&str>,
        pem: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(|e| key_err(&e))?;
        Self::build(kid, key, algorithms)
    }

    /// An Ed25519 public key in PEM for EdDSA.
    pub fn ed_pem(kid: Option<&str>, pem: &[u8]) -> Result<Self, JwtError> {
        let key = DecodingKey::from_ed_pem(pem).map_err(|e| key_err(&e))?;
        Self::build(kid, key, &[Algorithm::EdDSA])
    }

    /// A public JWK (RSA, EC or OKP) restricted to `allowed` and to the JWK's
    /// own `alg`, if it names one. Symmetric (`oct`) and `use: enc` keys are
    /// refused: a published key set must never carry a shared secret.
    pub fn from_jwk(jwk: &Jwk, allowed: &[Algorithm]) -> Result<Self, JwtError> {
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(JwtError::InvalidKey("symmetric JWK refused".into()));
        }
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err(JwtError::InvalidKey("encryption JWK refused".into()));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| key_err(&e))?;
        let own = match jwk.common.key_algorithm {
            Some(ka) => Some(
                ka.to_string()
                    .parse::<Algorithm>()
                    .map_err(|_| JwtError::InvalidKey("JWK alg not supported".into()))?,
            ),
            None => None,
        };
        let algs: Vec<Algorithm> = allowed
            .iter()
            .copied()
            .filter(|a| family_of(*a) == key.family() && own.is_none_or(|o| o == *a))
            .collect();
        if algs.is_empty() {
            return Err(JwtError::InvalidKey(
                "JWK allows none of the configured algorithms".into(),
            ));
        }
        Self::build(jwk.common.key_id.as_deref(), key, &algs)
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// True if this key may verify `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}
