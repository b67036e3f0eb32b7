//! A JWKS key cache: memory, then KV, then the issuer over the HTTP port, with
//! a refresh cooldown so forged `kid`s cannot flood the issuer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_ports::{Clock, HttpClient, KvStore, PutOptions, SendOptions};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JwtError, VerificationKey};

/// Where the key set lives and how long it is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    /// The JWKS URL (`https://…`).
    pub url: String,
    /// How long a fetched set is used before it is refetched (default 1 h).
    pub ttl_secs: u64,
    /// Minimum time between two refresh attempts (default 60 s). Within it an
    /// unknown `kid` is rejected without any I/O.
    pub refresh_cooldown_secs: u64,
    /// How long past its TTL a key set stays in use while refreshes fail
    /// (default 24 h). After that the keys are dropped and verification
    /// fails closed with [`JwtError::Jwks`] until the issuer answers again,
    /// so a key the issuer has revoked cannot be trusted indefinitely.
    pub max_stale_secs: u64,
    /// KV key for the shared copy (default `jwks:` + URL).
    pub kv_key: String,
    /// Algorithms keys from this set may verify (default RS256 only).
    pub algorithms: Vec<Algorithm>,
    /// Largest JWKS body read (default 64 KiB).
    pub max_body_bytes: usize,
    /// Fetch timeout (default 5 s).
    pub timeout: Duration,
}

impl JwksConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            kv_key: format!("jwks:{url}"),
            url,
            ttl_secs: 3600,
            refresh_cooldown_secs: 60,
            max_stale_secs: 24 * 3600,
            algorithms: vec![Algorithm::RS256],
            max_body_bytes: 64 * 1024,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Checks a JWKS URL: `https://` with a host, or plain `http://` only to a
/// loopback host (`localhost`, `127.0.0.0/8`, `::1`) for local issuers. The
/// URL is parsed, so `http://localhost.evil.com` and `http://127.0.0.1@evil`
/// are refused.
///
/// ```
/// use zt_security::jwt::validate_jwks_url;
/// assert!(validate_jwks_url("https://issuer.example.com/.well-known/jwks.json").is_ok());
/// assert!(validate_jwks_url("http://127.0.0.1:9000/jwks").is_ok());
/// assert!(validate_jwks_url("http://localhost.evil.com/jwks").is_err());
/// assert!(validate_jwks_url("http://example.com/jwks").is_err());
/// ```
pub fn validate_jwks_url(url: &str) -> Result<(), JwtError> {
    let bad = |why: &str| JwtError::Config(format!("JWKS URL {url:?}: {why}"));
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("user info is not allowed"));
    }
    let host = authority.host();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if is_loopback_host(host) => Ok(()),
        Some("http") => Err(bad("plain http is allowed only to a loopback host")),
        _ => Err(bad("must be https")),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Default)]
struct State {
    keys: Vec<VerificationKey>,
    fetched_at_ms: Option<u64>,
    last_attempt_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct KvEntry {
    fetched_at_ms: u64,
    jwks: Value,
}

/// A cached key set. Share one per isolate; lookups are cheap after the first.
///
/// Order of lookups: memory (within TTL) → KV (within TTL) → HTTP. An unknown
/// `kid` triggers one refresh (KV, then HTTP) unless a refresh was attempted
/// within the cooldown; then it is [`JwtError::UnknownKid`] with no I/O. When a
/// refresh fails, keys already held stay in use for at most
/// [`JwksConfig::max_stale_secs`] past their TTL; then they are dropped.
pub struct JwksCache {
    config: JwksConfig,
    http: Arc<dyn HttpClient>,
    kv: Option<Arc<dyn KvStore>>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache fetching through `http`, sharing through `kv` (optional).
    pub fn new(
        config: JwksConfig,
        http: Arc<dyn HttpClient>,
        kv: Option<Arc<dyn KvStore>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            http,
            kv,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh(&self, fetched_at_ms: Option<u64>, now: u64) -> bool {
        fetched_at_ms
            .is_some_and(|t| now.saturating_sub(t) < self.config.ttl_secs.saturating_mul(1000))
    }

    fn find(&self, kid: &str) -> Option<VerificationKey> {
        self.lock()
            .keys
            .iter()
            .find(|k| k.kid() == Some(kid))
            .cloned()
    }

    /// The key for `kid`, refreshing the set if it is stale or lacks `kid`
    /// (at most once per cooldown).
    pub async fn key(&self, kid: &str) -> Result<VerificationKey, JwtError> {
        let now = self.clock.now_ms();
        let (fresh, empty) = {
            let st = self.lock();
            (self.fresh(st.fetched_at_ms, now), st.keys.is_empty())
        };
        if !fresh {
            self.refresh(now, !empty).await?;
        } else if self.find(kid).is_none() {
            self.refresh(now, true).await?;
        }
        self.drop_if_too_stale(now)?;
        self.find(kid)
            .ok_or_else(|| JwtError::UnknownKid(kid.chars().take(64).collect()))
    }

    /// Fails closed once the held set is older than TTL + `max_stale_secs`
    /// (every refresh since has failed): the keys are forgotten, so the next
    /// call after the cooldown fetches again.
    fn drop_if_too_stale(&self, now: u64) -> Result<(), JwtError> {
        let limit = self
            .config
            .ttl_secs
            .saturating_add(self.config.max_stale_secs)
            .saturating_mul(1000);
        let mut st = self.lock();
        match st.fetched_at_ms {
            Some(t) if now.saturating_sub(t) >= limit => {
                let age_secs = now.saturating_sub(t) / 1000;
                st.keys.clear();
                st.fetched_at_ms = None;
                Err(JwtError::Jwks(format!(
                    "key set is {age_secs} s old and the issuer cannot be reached; keys dropped"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Refreshes unless within the cooldown. `have_keys`: errors are swallowed
    /// when keys are already held.
    async fn refresh(&self, now: u64, have_keys: bool) -> Result<(), JwtError> {
        {
            let mut st = self.lock();
            let cooling = st.last_attempt_ms.is_some_and(|t| {
                now.saturating_sub(t) < self.config.refresh_cooldown_secs.saturating_mul(1000)
            });
            if cooling {
                return if have_keys || !st.keys.is_empty() {
                    Ok(())
                } else {
                    Err(JwtError::Jwks(
                        "no keys yet: a fetch is in flight or failed within the cooldown".into(),
                    ))
                };
            }
            st.last_attempt_ms = Some(now);
        }
        let local = self.lock().fetched_at_ms;
        // Another isolate may already have refreshed the shared copy.
        if let Some(entry) = self.read_kv().await
            && self.fresh(Some(entry.fetched_at_ms), now)
            && local.is_none_or(|l| entry.fetched_at_ms > l)
            && self.install(&entry.jwks, entry.fetched_at_ms).is_ok()
        {
            return Ok(());
        }
        match self.fetch().await {
            Ok(jwks) => {
                self.install(&jwks, now)?;
                self.write_kv(&jwks, now).await;
                Ok(())
            }
            Err(_) if have_keys => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read_kv(&self) -> Option<KvEntry> {
        let kv = self.kv.as_ref()?;
        let bytes = kv.get(&self.config.kv_key).await.ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    async fn write_kv(&self, jwks: &Value, now: u64) {
        let Some(kv) = &self.kv else { return };
        let entry = KvEntry {
            fetched_at_ms: now,
            jwks: jwks.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            let ttl = self.config.ttl_secs.max(60);
            // Best effort: the memory copy already serves this isolate.
            let _ = kv
                .put(&self.config.kv_key, bytes, PutOptions::ttl(ttl))
                .await;
        }
    }

    async fn fetch(&self) -> Result<Value, JwtError> {
        let req = http::Request::get(&self.config.url)
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|e| JwtError::Jwks(e.to_string()))?;
        let resp = self
            .http
            .send(req, SendOptions::timeout(self.config.timeout))
            .await
            .map_err(|e| JwtError::Jwks(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(JwtError::Jwks(format!("status {}", resp.status())));
        }
        let body = resp
            .into_body()
            .collect(self.config.max_body_bytes)
            .await
            .map_err(|e| JwtError::Jwks(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|_| JwtError::Jwks("body is not JSON".into()))
    }

    /// Parses a JWKS document; keys that are unsupported, symmetric, without
    /// `kid` or outside the allowed algorithms are skipped.
    fn install(&self, jwks: &Value, fetched_at_ms: u64) -> Result<(), JwtError> {
        let keys = parse_jwks(jwks, &self.config.algorithms)?;
        let mut st = self.lock();
        st.keys = keys;
        st.fetched_at_ms = Some(fetched_at_ms);
        Ok(())
    }
}

fn parse_jwks(jwks: &Value, algorithms: &[Algorithm]) -> Result<Vec<VerificationKey>, JwtError> {
    let list = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JwtError::Jwks("no keys array".into()))?;
    let keys: Vec<VerificationKey> = list
        .iter()
        .take(100)
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter(|jwk| jwk.common.key_id.is_some())
        .filter_map(|jwk| VerificationKey::from_jwk(&jwk, algorithms).ok())
        .collect();
    if keys.is_empty() {
        return Err(JwtError::Jwks("no usable keys".into()));
    }
    Ok(keys)
}

/// A validator whose keys come from a [`JwksCache`] (tokens must carry `kid`).
pub struct JwksVerifier {
    config: super::JwtConfig,
    cache: JwksCache,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("config", &self.config)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl JwksVerifier {
    /// A verifier over `cache`; fails if `config` is invalid.
    pub fn new(
        config: super::JwtConfig,
        cache: JwksCache,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JwtError> {
        config.validate()?;
        validate_jwks_url(&cache.config.url)?;
        Ok(Self {
            config,
            cache,
            clock,
        })
    }

    /// The key cache.
    pub fn cache(&self) -> &JwksCache {
        &self.cache
    }

    /// Verifies `token` and returns its claims.
    pub(crate) async fn verify_claims(
        &self,
        token: &str,
    ) -> Result<serde_json::Map<String, Value>, JwtError> {
        let header = super::parse_header(token, self.config.max_token_bytes)?;
        if !self.cache.config.algorithms.contains(&header.alg) {
            return Err(JwtError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let kid = header.kid.clone().ok_or(JwtError::MissingKid)?;
        let key = self.cache.key(&kid).await?;
        super::verify_with_key(token, &header, &key, &self.config, self.clock.now_secs())
    }

    /// Verifies `token` and builds its [`Principal`](super::Principal).
    pub async fn verify(&self, token: &str) -> Result<super::Principal, JwtError> {
        let claims = self.verify_claims(token).await?;
        Ok(super::verify::principal_from(claims, &self.config))
    }
}
