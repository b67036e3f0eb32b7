//! Cloudflare Access application tokens (`Cf-Access-Jwt-Assertion`).
//!
//! Checks, per Cloudflare's "Validate JWTs": RS256 only; `iss` exactly
//! `https://<team>.cloudflareaccess.com` (no trailing slash); `aud` an array
//! containing the application's AUD tag; `exp`; `type == "app"`. User tokens
//! (`email`, `sub`, `nbf`, `country`) and service tokens (`common_name`,
//! `sub == ""`, no `nbf`, no `email`) are both accepted.

use std::sync::Arc;

use edge_ports::{Clock, HttpClient, KvStore};
use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::jwks::JwksVerifier;
use super::{JwksCache, JwksConfig, JwtConfig, JwtError, Principal};

/// The request header carrying the Access assertion.
pub const ACCESS_HEADER: &str = "Cf-Access-Jwt-Assertion";

/// One Access application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// The team name (`<team>.cloudflareaccess.com`).
    pub team: String,
    /// The application's AUD tag.
    pub aud: String,
    /// Clock-skew allowance in seconds (default 60).
    pub leeway_secs: u64,
}

impl AccessConfig {
    /// A config for `team` and `aud`.
    pub fn new(team: impl Into<String>, aud: impl Into<String>) -> Self {
        Self {
            team: team.into(),
            aud: aud.into(),
            leeway_secs: 60,
        }
    }

    /// `https://<team>.cloudflareaccess.com`.
    pub fn issuer(&self) -> String {
        format!("https://{}.cloudflareaccess.com", self.team)
    }

    /// `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`.
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.issuer())
    }
}

/// Validates Access assertions against the team's key set.
#[derive(Debug)]
pub struct AccessValidator {
    aud: String,
    inner: JwksVerifier,
}

impl AccessValidator {
    /// A validator fetching keys through `http`, sharing them through `kv`.
    pub fn new(
        config: AccessConfig,
        http: Arc<dyn HttpClient>,
        kv: Option<Arc<dyn KvStore>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JwtError> {
        let team_ok = !config.team.is_empty()
            && config.team.len() <= 63
            && config
                .team
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !team_ok {
            return Err(JwtError::Config(
                "team must be the bare team name (lowercase letters, digits, '-')".into(),
            ));
        }
        if config.aud.is_empty() {
            return Err(JwtError::Config("AUD tag is empty".into()));
        }
        let mut jwks = JwksConfig::new(config.certs_url());
        jwks.algorithms = vec![Algorithm::RS256];
        let mut jwt = JwtConfig::new([config.issuer()], [config.aud.clone()]);
        jwt.leeway_secs = config.leeway_secs;
        let cache = JwksCache::new(jwks, http, kv, clock.clone());
        Ok(Self {
            aud: config.aud,
            inner: JwksVerifier::new(jwt, cache, clock)?,
        })
    }

    /// The key cache (for warming or inspection).
    pub fn cache(&self) -> &JwksCache {
        self.inner.cache()
    }

    /// Validates the assertion in `headers` ([`ACCESS_HEADER`]).
    pub async fn validate_headers(&self, headers: &http::HeaderMap) -> Result<Principal, JwtError> {
        let value = headers.get(ACCESS_HEADER).ok_or(JwtError::MissingToken)?;
        let token = value
            .to_str()
            .map_err(|_| JwtError::Malformed("header is not visible ASCII"))?;
        self.validate(token.trim()).await
    }

    /// Validates one assertion.
    pub async fn validate(&self, token: &str) -> Result<Principal, JwtError> {
        let claims = self.inner.verify_claims(token).await?;
        match claims.get("aud") {
            Some(Value::Array(list)) if list.iter().any(|a| a.as_str() == Some(&self.aud)) => {}
            Some(Value::Array(_) | Value::String(_)) => return Err(JwtError::WrongAudience),
            None => return Err(JwtError::MissingClaim("aud")),
            Some(_) => return Err(JwtError::InvalidClaim("aud")),
        }
        match claims.get("type") {
            Some(Value::String(t)) if t == "app" => {}
            None => return Err(JwtError::MissingClaim("type")),
            Some(_) => return Err(JwtError::InvalidClaim("type")),
        }
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
        let common_name = claims
            .get("common_name")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let service = sub.is_empty() && common_name.is_some();
        if sub.is_empty() && !service {
            return Err(JwtError::MissingClaim("sub"));
        }
        let mut cfg = JwtConfig::new(Vec::<String>::new(), Vec::<String>::new());
        cfg.require_iss = false;
        cfg.require_aud = false;
        let mut p = super::verify::principal_from(claims, &cfg);
        if let Some(cn) = common_name.filter(|_| service) {
            p.subject = cn;
        }
        p.service_token = service;
        p.via_access = true;
        Ok(p)
    }
}
