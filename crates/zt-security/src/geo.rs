//! Geo rules: per path, allowed/blocked countries, allowed regions and a GDPR
//! consent requirement; explicit handling of `XX` (unknown) and `T1` (Tor);
//! an ASN block list. Consent is a signed token
//! `v1.<unix_ts>.<scope>.<base64url HMAC-SHA256>` bound to the user id,
//! verified in constant time with a maximum age.
//!
//! Order: blocked ASN → `XX`/`T1` action → the most specific matching rule's
//! blocked countries → allowed countries → allowed regions → consent. A path no
//! rule matches is allowed (geo rules restrict; authorization is default-deny).
//!
//! ```
//! use zt_security::geo::{ConsentKey, GeoConfig, GeoPolicy, GeoRequest, GeoVerdict};
//!
//! let config: GeoConfig = serde_json::from_value(serde_json::json!({
//!     "rules": [{ "pattern": "/v1/*", "blocked_countries": ["KP"], "consent_required": true }],
//!     "tor": "block",
//! })).unwrap();
//! let key = ConsentKey::new(b"a-consent-secret-of-32-bytes-or-more!").unwrap();
//! let policy = GeoPolicy::new(config, key.clone()).unwrap();
//! let now = 1_700_000_000;
//! let mut req = GeoRequest { path: "/v1/chat", country: Some("DE"), user_id: Some("u1"), ..GeoRequest::default() };
//! assert!(matches!(policy.evaluate(&req, now), GeoVerdict::RequireConsent(_)));
//! let token = key.issue("u1", "gdpr", now - 10);
//! req.consent = Some(&token);
//! assert_eq!(policy.evaluate(&req, now), GeoVerdict::Allow);
//! req.country = Some("T1");
//! assert!(matches!(policy.evaluate(&req, now), GeoVerdict::Block(_)));
//! ```

mod consent;

use serde::{Deserialize, Serialize};

pub use consent::{ConsentError, ConsentKey};

use crate::authz::{PathPattern, split_path};
use consent::valid_scope;

/// Why a geo config or consent key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// A path pattern is invalid.
    #[error("invalid geo pattern: {0}")]
    Pattern(String),
    /// A country code is not two ASCII letters/digits.
    #[error("invalid country code {0:?} (use ISO 3166-1 alpha-2, e.g. DE)")]
    Country(String),
    /// A consent scope is not `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid consent scope {0:?}")]
    Scope(String),
    /// The consent secret is shorter than 32 bytes.
    #[error("consent secret must be at least 32 bytes")]
    SecretTooShort,
}

/// What to do with `XX` (unknown country) or `T1` (Tor) traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialAction {
    /// Let it through, exempt from the country lists.
    Allow,
    /// Block it.
    Block,
    /// Ask for a challenge (e.g. Turnstile).
    Challenge,
}

/// One path rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoRule {
    /// Path pattern (same syntax as [`crate::authz`]).
    pub pattern: String,
    /// If non-empty, only these countries.
    #[serde(default)]
    pub allowed_countries: Vec<String>,
    /// Never these countries.
    #[serde(default)]
    pub blocked_countries: Vec<String>,
    /// If non-empty, only these regions (`request.cf.region`, case-insensitive).
    #[serde(default)]
    pub allowed_regions: Vec<String>,
    /// A valid consent token is required.
    #[serde(default)]
    pub consent_required: bool,
    /// The consent scope (default `gdpr`).
    #[serde(default)]
    pub consent_scope: Option<String>,
}

fn default_unknown() -> SpecialAction {
    SpecialAction::Challenge
}
fn default_tor() -> SpecialAction {
    SpecialAction::Block
}
fn default_max_age() -> u64 {
    365 * 24 * 3600
}

/// The geo configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoConfig {
    /// Path rules; the most specific match applies.
    #[serde(default)]
    pub rules: Vec<GeoRule>,
    /// Action for `XX` or a missing country (default challenge).
    #[serde(default = "default_unknown")]
    pub unknown_country: SpecialAction,
    /// Action for `T1` (default block).
    #[serde(default = "default_tor")]
    pub tor: SpecialAction,
    /// Blocked autonomous systems.
    #[serde(default)]
    pub blocked_asns: Vec<u32>,
    /// Maximum consent age in seconds (default one year).
    #[serde(default = "default_max_age")]
    pub consent_max_age_secs: u64,
}

impl Default for GeoConfig {
    /// No rules, challenge `XX`, block Tor, no ASN list, one-year consent.
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            unknown_country: default_unknown(),
            tor: default_tor(),
            blocked_asns: Vec::new(),
            consent_max_age_secs: default_max_age(),
        }
    }
}

/// The request attributes geo rules look at (from `request.cf`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeoRequest<'a> {
    /// Request path.
    pub path: &'a str,
    /// `cf.country` (`XX` unknown, `T1` Tor).
    pub country: Option<&'a str>,
    /// `cf.region`.
    pub region: Option<&'a str>,
    /// `cf.asn`.
    pub asn: Option<u32>,
    /// The authenticated user id the consent token must be bound to.
    pub user_id: Option<&'a str>,
    /// The consent token (cookie or header value).
    pub consent: Option<&'a str>,
}

/// Why a request was blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockReason {
    /// The ASN is on the block list.
    Asn(u32),
    /// `T1` with the block action.
    Tor,
    /// `XX`/missing with the block action.
    UnknownCountry,
    /// The country is blocked for this path.
    CountryBlocked(String),
    /// The country is not in this path's allow list.
    CountryNotAllowed(String),
    /// The region is not in this path's allow list.
    RegionNotAllowed,
}

/// The geo decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoVerdict {
    /// Proceed.
    Allow,
    /// Refuse (403 / 451).
    Block(BlockReason),
    /// Serve a challenge (`XX` or `T1` configured to challenge).
    Challenge,
    /// Ask for consent first; the reason the presented token (if any) failed.
    RequireConsent(ConsentError),
}

#[derive(Debug, Clone)]
struct Compiled {
    pattern: PathPattern,
    allowed: Vec<String>,
    blocked: Vec<String>,
    regions: Vec<String>,
    consent: Option<String>,
}

/// A validated geo policy.
#[derive(Debug, Clone)]
pub struct GeoPolicy {
    rules: Vec<Compiled>,
    config: GeoConfig,
    key: ConsentKey,
}

fn country_list(list: &[String]) -> Result<Vec<String>, GeoError> {
    list.iter()
        .map(|c| {
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(c.to_ascii_uppercase())
            } else {
                Err(GeoError::Country(c.clone()))
            }
        })
        .collect()
}

impl GeoPolicy {
    /// Validates `config`.
    pub fn new(config: GeoConfig, key: ConsentKey) -> Result<Self, GeoError> {
        let mut rules = Vec::with_capacity(config.rules.len());
        for r in &config.rules {
            let pattern =
                PathPattern::parse(&r.pattern).map_err(|e| GeoError::Pattern(e.to_string()))?;
            let consent = if r.consent_required {
                let scope = r.consent_scope.clone().unwrap_or_else(|| "gdpr".into());
                if !valid_scope(&scope) {
                    return Err(GeoError::Scope(scope));
                }
                Some(scope)
            } else {
                None
            };
            rules.push(Compiled {
                pattern,
                allowed: country_list(&r.allowed_countries)?,
                blocked: country_list(&r.blocked_countries)?,
                regions: r.allowed_regions.iter().map(|x| x.to_lowercase()).collect(),
                consent,
            });
        }
        rules.sort_by_key(|r| std::cmp::Reverse(r.pattern.specificity()));
        Ok(Self { rules, config, key })
    }

    /// Decides `req` at `now_secs` (from the Clock port).
    pub fn evaluate(&self, req: &GeoRequest<'_>, now_secs: u64) -> GeoVerdict {
        if let Some(asn) = req.asn.filter(|a| self.config.blocked_asns.contains(a)) {
            return GeoVerdict::Block(BlockReason::Asn(asn));
        }
        let country = req
            .country
            .map(str::trim)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map_or_else(|| "XX".to_owned(), str::to_ascii_uppercase);
        let special = match country.as_str() {
            "XX" => Some((self.config.unknown_country, BlockReason::UnknownCountry)),
            "T1" => Some((self.config.tor, BlockReason::Tor)),
            _ => None,
        };
        let exempt = match special {
            Some((SpecialAction::Block, reason)) => return GeoVerdict::Block(reason),
            Some((SpecialAction::Challenge, _)) => return GeoVerdict::Challenge,
            Some((SpecialAction::Allow, _)) => true,
            None => false,
        };
        let Some(segments) = split_path(req.path) else {
            // Malformed paths are refused by authorization; geo has no opinion.
            return GeoVerdict::Allow;
        };
        let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.pattern.matches(&segments).is_some())
        else {
            return GeoVerdict::Allow;
        };
        if !exempt {
            if rule.blocked.contains(&country) {
                return GeoVerdict::Block(BlockReason::CountryBlocked(country));
            }
            if !rule.allowed.is_empty() && !rule.allowed.contains(&country) {
                return GeoVerdict::Block(BlockReason::CountryNotAllowed(country));
            }
        }
        if !rule.regions.is_empty() {
            let ok = req
                .region
                .is_some_and(|r| rule.regions.contains(&r.trim().to_lowercase()));
            if !ok {
                return GeoVerdict::Block(BlockReason::RegionNotAllowed);
            }
        }
        if let Some(scope) = &rule.consent {
            let (Some(user), Some(token)) = (req.user_id, req.consent) else {
                return GeoVerdict::RequireConsent(ConsentError::Missing);
            };
            let max_age = self.config.consent_max_age_secs;
            if let Err(e) = self.key.verify(token, user, scope, now_secs, max_age) {
                return GeoVerdict::RequireConsent(e);
            }
        }
        GeoVerdict::Allow
    }
}
