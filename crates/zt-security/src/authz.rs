//! Route authorization: a policy table of path patterns × methods → who may call.
//!
//! Patterns are exact (`/v1/models`), with `{param}` segments
//! (`/v1/users/{id}/keys`) or prefixes (`/v1/admin/*`, which also matches
//! `/v1/admin`). The most specific pattern that matches the path decides
//! (segment by segment, a literal beats a parameter, which beats a prefix);
//! a method it does not list is refused (405), never passed on to a broader
//! rule. Anything not covered is denied
//! (default deny) with a typed [`DenyReason`]. Paths with `.`/`..` or empty
//! segments, or encoded `/`, are denied as malformed so routers that normalise
//! differently cannot be used to bypass a rule.
//!
//! ```
//! use zt_security::authz::{DenyReason, Policy, PolicyConfig};
//! use zt_security::jwt::{Principal, Tier};
//!
//! let config: PolicyConfig = serde_json::from_value(serde_json::json!({ "routes": [
//!     { "pattern": "/v1/chat", "methods": ["POST"], "tiers": ["authenticated", "premium", "admin"] },
//!     { "pattern": "/v1/admin/*", "roles": ["ops"], "require_access": true },
//!     { "pattern": "/health", "public": true },
//! ]})).unwrap();
//! let policy = Policy::new(config).unwrap();
//! let mut user = Principal::anonymous();
//! assert!(policy.authorize("GET", "/health", &user).is_ok());
//! assert_eq!(policy.authorize("POST", "/v1/chat", &user).unwrap_err(),
//!            DenyReason::AuthenticationRequired);
//! user.tier = Tier::Premium;
//! assert!(policy.authorize("POST", "/v1/chat", &user).is_ok());
//! assert_eq!(policy.authorize("GET", "/v1/secret", &user).unwrap_err(), DenyReason::NoRoute);
//! ```

mod pattern;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use pattern::{PathPattern, split_path};

use crate::jwt::{Principal, Tier};

/// Why a policy config was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzError {
    /// A pattern is not valid.
    #[error("invalid pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        reason: String,
    },
    /// Two rules match the same paths with overlapping methods.
    #[error("patterns {first:?} and {second:?} overlap for the same methods")]
    Overlap {
        /// The earlier rule's pattern.
        first: String,
        /// The later rule's pattern.
        second: String,
    },
    /// A tier name is not known.
    #[error("rule {pattern:?}: unknown tier {tier:?} (anonymous, authenticated, premium, admin)")]
    UnknownTier {
        /// The rule's pattern.
        pattern: String,
        /// The unknown name.
        tier: String,
    },
    /// A method is not an HTTP token.
    #[error("rule {pattern:?}: invalid method {method:?}")]
    InvalidMethod {
        /// The rule's pattern.
        pattern: String,
        /// The method.
        method: String,
    },
    /// A public rule also lists requirements.
    #[error("rule {0:?} is public but lists roles, tiers, scopes or require_access")]
    PublicWithRequirements(String),
}

/// One rule as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// The path pattern.
    pub pattern: String,
    /// Methods (uppercase); empty means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The caller needs at least one of these roles (if any are listed).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The caller's tier must be one of these (if any are listed).
    #[serde(default)]
    pub tiers: Vec<String>,
    /// The caller needs all of these scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The caller must have come through Cloudflare Access.
    #[serde(default)]
    pub require_access: bool,
    /// Anyone, including anonymous callers, may call.
    #[serde(default)]
    pub public: bool,
}

/// The policy table as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The rules, in any order.
    pub routes: Vec<RouteRule>,
}

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenyReason {
    /// No rule covers the path (default deny).
    #[error("no route policy covers this path")]
    NoRoute,
    /// A rule covers the path but not the method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The path has `.`/`..`/empty segments or invalid encoding.
    #[error("malformed path")]
    MalformedPath,
    /// The route needs a verified credential.
    #[error("authentication required")]
    AuthenticationRequired,
    /// The route needs a Cloudflare Access identity.
    #[error("Cloudflare Access required")]
    AccessRequired,
    /// The caller's tier is not allowed.
    #[error("tier {0} not allowed")]
    TierNotAllowed(Tier),
    /// The caller has none of the required roles.
    #[error("missing role")]
    MissingRole,
    /// The caller lacks a required scope.
    #[error("missing scope {0}")]
    MissingScope(String),
}

impl DenyReason {
    /// The HTTP status to answer with (401, 403, 404 or 405).
    pub fn status(&self) -> u16 {
        match self {
            DenyReason::NoRoute => 404,
            DenyReason::MethodNotAllowed => 405,
            DenyReason::AuthenticationRequired => 401,
            _ => 403,
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledRule {
    pattern: PathPattern,
    methods: Vec<String>,
    roles: Vec<String>,
    tiers: Vec<Tier>,
    scopes: Vec<String>,
    require_access: bool,
    public: bool,
}

/// An allowed request: the matched pattern and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The pattern of the rule that allowed the request.
    pub pattern: String,
    /// Values of `{param}` segments (percent-decoded).
    pub params: BTreeMap<String, String>,
}

/// A validated policy table.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<CompiledRule>,
}

fn valid_method(m: &str) -> bool {
    !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_uppercase())
}

fn methods_overlap(a: &[String], b: &[String]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|m| b.contains(m))
}

impl Policy {
    /// Validates and compiles `config`.
    pub fn new(config: PolicyConfig) -> Result<Self, AuthzError> {
        let mut rules: Vec<CompiledRule> = Vec::with_capacity(config.routes.len());
        for r in config.routes {
            let pattern = PathPattern::parse(&r.pattern)?;
            for m in &r.methods {
                if !valid_method(m) {
                    return Err(AuthzError::InvalidMethod {
                        pattern: r.pattern.clone(),
                        method: m.clone(),
                    });
                }
            }
            let mut tiers = Vec::with_capacity(r.tiers.len());
            for t in &r.tiers {
                tiers.push(t.parse::<Tier>().map_err(|_| AuthzError::UnknownTier {
                    pattern: r.pattern.clone(),
                    tier: t.clone(),
                })?);
            }
            let has_req = !r.roles.is_empty()
                || !tiers.is_empty()
                || !r.scopes.is_empty()
                || r.require_access;
            if r.public && has_req {
                return Err(AuthzError::PublicWithRequirements(r.pattern));
            }
            if let Some(prev) = rules
                .iter()
                .find(|p| p.pattern.same_shape(&pattern) && methods_overlap(&p.methods, &r.methods))
            {
                return Err(AuthzError::Overlap {
                    first: prev.pattern.as_str().to_owned(),
                    second: r.pattern,
                });
            }
            rules.push(CompiledRule {
                pattern,
                methods: r.methods,
                roles: r.roles,
                tiers,
                scopes: r.scopes,
                require_access: r.require_access,
                public: r.public,
            });
        }
        // Most specific first, so the first match wins.
        rules.sort_by_key(|r| std::cmp::Reverse(r.pattern.specificity()));
        Ok(Self { rules })
    }

    /// Decides whether `principal` may call `method path` (query string ignored).
    pub fn authorize(
        &self,
        method: &str,
        path: &str,
        principal: &Principal,
    ) -> Result<Allowed, DenyReason> {
        let segments = split_path(path).ok_or(DenyReason::MalformedPath)?;
        // The most specific pattern that matches the path decides; rules of
        // the same shape differ only by method. A method it does not list
        // is refused, never handed to a broader rule.
        let mut matching = self
            .rules
            .iter()
            .filter_map(|rule| rule.pattern.matches(&segments).map(|p| (rule, p)));
        let Some((first, first_params)) = matching.next() else {
            return Err(DenyReason::NoRoute);
        };
        let same_shape = std::iter::once((first, first_params))
            .chain(matching.filter(|(rule, _)| rule.pattern.same_shape(&first.pattern)));
        for (rule, params) in same_shape {
            if rule.methods.is_empty() || rule.methods.iter().any(|m| m == method) {
                check(rule, principal)?;
                return Ok(Allowed {
                    pattern: rule.pattern.as_str().to_owned(),
                    params,
                });
            }
        }
        Err(DenyReason::MethodNotAllowed)
    }
}

fn check(rule: &CompiledRule, p: &Principal) -> Result<(), DenyReason> {
    if rule.public {
        return Ok(());
    }
    let anonymous_ok = rule.tiers.contains(&Tier::Anonymous);
    if !p.is_authenticated() && !anonymous_ok {
        return Err(DenyReason::AuthenticationRequired);
    }
    if rule.require_access && !p.via_access {
        return Err(DenyReason::AccessRequired);
    }
    if !rule.tiers.is_empty() && !rule.tiers.contains(&p.tier) {
        return Err(DenyReason::TierNotAllowed(p.tier));
    }
    if !rule.roles.is_empty() && !rule.roles.iter().any(|r| p.has_role(r)) {
        return Err(DenyReason::MissingRole);
    }
    if let Some(missing) = rule.scopes.iter().find(|s| !p.has_scope(s)) {
        return Err(DenyReason::MissingScope(missing.clone()));
    }
    Ok(())
}
