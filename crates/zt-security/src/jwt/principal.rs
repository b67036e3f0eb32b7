//! The authenticated caller: [`Principal`] and its [`Tier`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user tier, from least to most privileged (ordering is meaningful).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// No valid credential.
    Anonymous,
    /// A valid token without a higher tier.
    Authenticated,
    /// A paying user.
    Premium,
    /// An operator.
    Admin,
}

impl Tier {
    /// Every tier, in order.
    pub const ALL: [Tier; 4] = [
        Tier::Anonymous,
        Tier::Authenticated,
        Tier::Premium,
        Tier::Admin,
    ];

    /// The lowercase name used in configs and claims.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::Authenticated => "authenticated",
            Tier::Premium => "premium",
            Tier::Admin => "admin",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier name that is not one of `anonymous`, `authenticated`, `premium`, `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier {0:?}; expected anonymous, authenticated, premium or admin")]
pub struct UnknownTier(pub String);

impl FromStr for Tier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTier(s.to_owned()))
    }
}

/// Who is calling, after a token was verified (or [`Principal::anonymous`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `sub` (or the service token's `common_name` when `sub` is empty).
    pub subject: String,
    /// `email`, when present.
    pub email: Option<String>,
    /// `iss`, when present.
    pub issuer: Option<String>,
    /// Roles from the configured roles claim.
    pub roles: Vec<String>,
    /// Scopes from the configured scopes claim (space-separated string or array).
    pub scopes: Vec<String>,
    /// The tier derived from the configured tier claim.
    pub tier: Tier,
    /// True for a Cloudflare Access service token (machine client).
    pub service_token: bool,
    /// True when the token was a verified Cloudflare Access assertion.
    pub via_access: bool,
    /// `country` (Access user tokens), when present.
    pub country: Option<String>,
    /// Every claim of the verified token.
    pub claims: Map<String, Value>,
}

impl Principal {
    /// The caller without any credential.
    pub fn anonymous() -> Self {
        Self {
            subject: String::new(),
            email: None,
            issuer: None,
            roles: Vec::new(),
            scopes: Vec::new(),
            tier: Tier::Anonymous,
            service_token: false,
            via_access: false,
            country: None,
            claims: Map::new(),
        }
    }

    /// True unless this is [`Principal::anonymous`].
    pub fn is_authenticated(&self) -> bool {
        self.tier != Tier::Anonymous
    }

    /// True if the principal has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// True if the principal has `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
