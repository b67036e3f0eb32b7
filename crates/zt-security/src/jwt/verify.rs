//! Header parsing, signature verification and claim checks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{JwtError, MAX_TOKEN_BYTES, Principal, Tier, VerificationKey};

/// What a validator accepts and how claims map onto a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// Accepted `iss` values (exact match).
    pub issuers: Vec<String>,
    /// Accepted `aud` values; the token's `aud` must contain one.
    pub audiences: Vec<String>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`, in seconds (default 60).
    pub leeway_secs: u64,
    /// Require `iss` (default true).
    pub require_iss: bool,
    /// Require `aud` (default true).
    pub require_aud: bool,
    /// Require `exp` (default true).
    pub require_exp: bool,
    /// Largest token accepted (default [`MAX_TOKEN_BYTES`]).
    pub max_token_bytes: usize,
    /// Claim holding the tier name (default `tier`); absent or unknown → authenticated.
    pub tier_claim: String,
    /// Claim holding roles, a string or an array (default `roles`).
    pub roles_claim: String,
    /// Claim holding scopes, space-separated or an array (default `scope`).
    pub scopes_claim: String,
}

impl JwtConfig {
    /// A config accepting these issuers and audiences, with the defaults.
    pub fn new<I, A>(issuers: I, audiences: A) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
        A: IntoIterator,
        A::Item: Into<String>,
    {
        Self {
            issuers: issuers.into_iter().map(Into::into).collect(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            leeway_secs: 60,
            require_iss: true,
            require_aud: true,
            require_exp: true,
            max_token_bytes: MAX_TOKEN_BYTES,
            tier_claim: "tier".into(),
            roles_claim: "roles".into(),
            scopes_claim: "scope".into(),
        }
    }

    /// Checks that required claims have accepted values configured.
    pub fn validate(&self) -> Result<(), JwtError> {
        if self.require_iss && self.issuers.is_empty() {
            return Err(JwtError::Config(
                "iss is required but no issuer is configured".into(),
            ));
        }
        if self.require_aud && self.audiences.is_empty() {
            return Err(JwtError::Config(
                "aud is required but no audience is configured".into(),
            ));
        }
        if self.max_token_bytes == 0 || self.max_token_bytes > MAX_TOKEN_BYTES {
            return Err(JwtError::Config(format!(
                "max_token_bytes must be 1..={MAX_TOKEN_BYTES}"
            )));
        }
        Ok(())
    }
}

/// The parts of a JOSE header this module reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    /// The algorithm (never `none`).
    pub alg: Algorithm,
    /// The key id, if any.
    pub kid: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<Value>,
    kid: Option<Value>,
    crit: Option<Value>,
}

fn b64_json(part: &str, what: &'static str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed(what))
}

/// Splits a compact JWS and decodes its header, rejecting oversize tokens,
/// wrong shapes, `alg: none` in any case, unknown algorithms and `crit`.
pub fn parse_header(token: &str, max_bytes: usize) -> Result<TokenHeader, JwtError> {
    if token.len() > max_bytes {
        return Err(JwtError::TokenTooLarge {
            len: token.len(),
            max: max_bytes,
        });
    }
    if token.is_empty() {
        return Err(JwtError::MissingToken);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("expected three dot-separated parts"));
    };
    if h.is_empty() || p.is_empty() {
        return Err(JwtError::Malformed("empty header or payload"));
    }
    let value = b64_json(h, "header is not base64url JSON")?;
    let raw: RawHeader = serde_json::from_value(value)
        .map_err(|_| JwtError::Malformed("header is not an object"))?;
    let alg = match raw.alg {
        Some(Value::String(a)) => a,
        Some(_) => return Err(JwtError::Malformed("alg is not a string")),
        None => return Err(JwtError::Malformed("header has no alg")),
    };
    if alg.trim().eq_ignore_ascii_case("none") {
        return Err(JwtError::AlgorithmNone);
    }
    if s.is_empty() {
        return Err(JwtError::Malformed("empty signature"));
    }
    if raw.crit.is_some() {
        return Err(JwtError::Malformed(
            "crit header extensions are not supported",
        ));
    }
    let alg = alg
        .parse::<Algorithm>()
        .map_err(|_| JwtError::AlgorithmNotAllowed(alg.chars().take(32).collect()))?;
    let kid = match raw.kid {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if k.len() <= 256 => Some(k),
        Some(_) => return Err(JwtError::Malformed("kid is not a short string")),
    };
    Ok(TokenHeader { alg, kid })
}

fn map_jwt_err(e: &jsonwebtoken::errors::Error) -> JwtError {
    match e.kind() {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            JwtError::AlgorithmNotAllowed("mismatch".into())
        }
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => JwtError::BadSignature,
        _ => JwtError::Malformed("token could not be decoded"),
    }
}

/// Verifies the signature of `token` (whose header is `header`) with `key`,
/// then checks the claims against `config` at `now_secs`.
pub fn verify_with_key(
    token: &str,
    header: &TokenHeader,
    key: &VerificationKey,
    config: &JwtConfig,
    now_secs: u64,
) -> Result<Map<String, Value>, JwtError> {
    if !key.allows(header.alg) {
        return Err(JwtError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
    }
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false; // time comes from the Clock port, below
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(token, key.decoding_key(), &validation)
        .map_err(|e| map_jwt_err(&e))?;
    let Value::Object(claims) = data.claims else {
        return Err(JwtError::Malformed("claims are not a JSON object"));
    };
    check_claims(&claims, config, now_secs)?;
    Ok(claims)
}

fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else {
                match n.as_f64() {
                    Some(f) if (0.0..1e15).contains(&f) => Ok(Some(f.floor() as u64)),
                    _ => Err(JwtError::InvalidClaim(name)),
                }
            }
        }
        Some(_) => Err(JwtError::InvalidClaim(name)),
    }
}

fn check_claims(claims: &Map<String, Value>, cfg: &JwtConfig, now: u64) -> Result<(), JwtError> {
    let leeway = cfg.leeway_secs;
    match numeric_date(claims, "exp")? {
        Some(exp) if now >= exp.saturating_add(leeway) => return Err(JwtError::Expired),
        None if cfg.require_exp => return Err(JwtError::MissingClaim("exp")),
        _ => {}
    }
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(JwtError::NotYetValid);
    }
    if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(JwtError::IssuedInFuture);
    }
    match claims.get("iss") {
        Some(Value::String(iss)) => {
            if !cfg.issuers.is_empty() && !cfg.issuers.iter().any(|i| i == iss) {
                return Err(JwtError::WrongIssuer);
            }
        }
        None if !cfg.require_iss => {}
        None => return Err(JwtError::MissingClaim("iss")),
        Some(_) => return Err(JwtError::InvalidClaim("iss")),
    }
    let ok = match claims.get("aud") {
        Some(Value::String(a)) => cfg.audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) => list.iter().any(|v| {
            v.as_str()
                .is_some_and(|a| cfg.audiences.iter().any(|x| x == a))
        }),
        None if !cfg.require_aud => true,
        None => return Err(JwtError::MissingClaim("aud")),
        Some(_) => return Err(JwtError::InvalidClaim("aud")),
    };
    let checking = cfg.require_aud || !cfg.audiences.is_empty();
    if !ok && checking {
        return Err(JwtError::WrongAudience);
    }
    Ok(())
}

fn string_list(v: Option<&Value>, split_spaces: bool) -> Vec<String> {
    match v {
        Some(Value::String(s)) if split_spaces => {
            s.split_ascii_whitespace().map(str::to_owned).collect()
        }
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn opt_str(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// Builds a [`Principal`] from verified claims.
pub(crate) fn principal_from(claims: Map<String, Value>, cfg: &JwtConfig) -> Principal {
    let tier = claims
        .get(&cfg.tier_claim)
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Tier>().ok())
        .map_or(Tier::Authenticated, |t| t.max(Tier::Authenticated));
    Principal {
        subject: opt_str(&claims, "sub").unwrap_or_default(),
        email: opt_str(&claims, "email"),
        issuer: opt_str(&claims, "iss"),
        roles: string_list(claims.get(&cfg.roles_claim), false),
        scopes: string_list(claims.get(&cfg.scopes_claim), true),
        tier,
        service_token: false,
        via_access: false,
        country: opt_str(&claims, "country"),
        claims,
    }
}

/// A validator over a fixed set of keys (no network).
#[derive(Debug, Clone)]
pub struct Verifier {
    config: JwtConfig,
    keys: Vec<VerificationKey>,
}

impl Verifier {
    /// A verifier; fails if the config is invalid or there are no keys.
    pub fn new(config: JwtConfig, keys: Vec<VerificationKey>) -> Result<Self, JwtError> {
        config.validate()?;
        if keys.is_empty() {
            return Err(JwtError::Config("no verification keys".into()));
        }
        Ok(Self { config, keys })
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verifies `token` at `now_secs` (take it from the Clock port).
    ///
    /// A `kid` naming one of the keys selects that key only. Otherwise (no
    /// `kid`, or a `kid` no key has) every key *without* a kid whose
    /// allow-list contains the header's algorithm is tried; if there is none,
    /// the error is [`JwtError::UnknownKid`] or [`JwtError::AlgorithmNotAllowed`].
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Principal, JwtError> {
        let header = parse_header(token, self.config.max_token_bytes)?;
        let named = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.iter().find(|k| k.kid() == Some(kid)));
        let claims = if let Some(key) = named {
            verify_with_key(token, &header, key, &self.config, now_secs)?
        } else {
            let mut last = match &header.kid {
                Some(kid) => JwtError::UnknownKid(kid.chars().take(64).collect()),
                None => JwtError::AlgorithmNotAllowed(format!("{:?}", header.alg)),
            };
            let mut found = None;
            let candidates = self
                .keys
                .iter()
                .filter(|k| k.kid().is_none() && k.allows(header.alg));
            for key in candidates {
                match verify_with_key(token, &header, key, &self.config, now_secs) {
                    Ok(c) => {
                        found = Some(c);
                        break;
                    }
                    Err(JwtError::BadSignature) => last = JwtError::BadSignature,
                    Err(e) => return Err(e),
                }
            }
            found.ok_or(last)?
        };
        Ok(principal_from(claims, &self.config))
    }
}
