//! Cache policies and their validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who an entry is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One entry shared by everyone.
    #[default]
    Public,
    /// One entry per user: the user id is part of the key.
    Private,
}

/// How one request type is cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// How long an entry is fresh in the edge store, in seconds. 0 disables
    /// caching for the request type.
    pub ttl_secs: u64,
    /// `max-age` sent to the CDN and browsers (`Cache-Control`,
    /// `CDN-Cache-Control`).
    #[serde(default)]
    pub edge_ttl_secs: u64,
    /// After the TTL, serve stale for this long while revalidating in the
    /// background (RFC 5861).
    #[serde(default)]
    pub stale_while_revalidate_secs: u64,
    /// After the TTL, serve stale for this long when the origin fails.
    #[serde(default)]
    pub stale_if_error_secs: u64,
    /// Request headers whose values select different entries.
    #[serde(default)]
    pub vary: Vec<String>,
    /// Public (shared) or private (per user).
    #[serde(default)]
    pub scope: Scope,
    /// Cache 404/410 responses for this many seconds (negative caching).
    #[serde(default)]
    pub negative_ttl_secs: Option<u64>,
    /// Serve requests that carry `Authorization` from this public policy.
    /// Only for routes whose responses do not depend on who asks.
    #[serde(default)]
    pub allow_authorized: bool,
    /// Tags written into every entry of this policy, for tag invalidation.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Policy {
    /// A public policy with a TTL and no stale windows.
    pub fn ttl(ttl_secs: u64) -> Self {
        Self {
            ttl_secs,
            edge_ttl_secs: 0,
            stale_while_revalidate_secs: 0,
            stale_if_error_secs: 0,
            vary: Vec::new(),
            scope: Scope::Public,
            negative_ttl_secs: None,
            allow_authorized: false,
            tags: Vec::new(),
        }
    }
}

/// The whole cache configuration, as loaded from TOML or JSON.
///
/// ```
/// let cfg = edge_cache::CacheConfig::from_toml(r#"
///     [default]
///     ttl_secs = 300
///     stale_while_revalidate_secs = 60
///
///     [policies.prompt-templates]
///     ttl_secs = 86400
///     vary = ["accept-language"]
///
///     [regional_ttl_multipliers]
///     JP = 1.5
/// "#).unwrap();
/// assert_eq!(cfg.policy("prompt-templates").1.ttl_secs, 86400);
/// assert_eq!(cfg.policy("unknown-type").0, "default");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Key namespace (`{namespace}:{policy}:{generation}:{hash}`).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The policy for request types without one of their own.
    pub default: Policy,
    /// Policies by request type.
    #[serde(default)]
    pub policies: BTreeMap<String, Policy>,
    /// TTL multipliers by country code (`JP`) or continent code (`EU`).
    /// The country wins over its continent; absent means 1.0.
    #[serde(default)]
    pub regional_ttl_multipliers: BTreeMap<String, f64>,
    /// Query parameters dropped from keys; a trailing `*` matches a prefix.
    #[serde(default = "default_dropped_params")]
    pub drop_query_params: Vec<String>,
    /// How long a generation counter read from KV is reused in memory, in
    /// milliseconds. Bounds how stale an invalidation can be in another
    /// isolate (on top of KV's own propagation delay).
    #[serde(default = "default_generation_cache_ms")]
    pub generation_cache_ms: u64,
}

fn default_namespace() -> String {
    "cache".to_owned()
}

fn default_dropped_params() -> Vec<String> {
    [
        "utm_*", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "ref_src",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn default_generation_cache_ms() -> u64 {
    5_000
}

impl Default for CacheConfig {
    /// The defaults for edgeforge's request types.
    fn default() -> Self {
        let policy = |ttl, edge, swr, sie| Policy {
            edge_ttl_secs: edge,
            stale_while_revalidate_secs: swr,
            stale_if_error_secs: sie,
            ..Policy::ttl(ttl)
        };
        let mut policies = BTreeMap::new();
        policies.insert(
            "prompt-evaluation".to_owned(),
            Policy {
                vary: vec!["accept-language".into()],
                ..policy(3_600, 300, 600, 86_400)
            },
        );
        policies.insert("llm-provider-meta".to_owned(), policy(300, 60, 60, 3_600));
        policies.insert(
            "user-preferences".to_owned(),
            Policy {
                scope: Scope::Private,
                ..policy(900, 0, 300, 3_600)
            },
        );
        policies.insert(
            "prompt-templates".to_owned(),
            Policy {
                vary: vec!["accept-language".into()],
                negative_ttl_secs: Some(60),
                ..policy(86_400, 3_600, 3_600, 604_800)
            },
        );
        let regional_ttl_multipliers = [("JP", 1.5), ("US", 1.2), ("EU", 1.0), ("AU", 1.3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self {
            namespace: default_namespace(),
            default: policy(300, 60, 60, 600),
            policies,
            regional_ttl_multipliers,
            drop_query_params: default_dropped_params(),
            generation_cache_ms: default_generation_cache_ms(),
        }
    }
}

/// A configuration that failed validation. The message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cache config: {field}: {message}")]
pub struct ConfigError {
    /// The offending field, as a dotted path (`policies.x.vary[0]`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// The longest TTL or window accepted (one year), so arithmetic cannot overflow.
pub const MAX_SECS: u64 = 365 * 24 * 3600;

/// Standard request headers a policy may vary on. Any `x-` header is also
/// accepted. Anything else is most likely a typo, or a header (cookie,
/// authorization) that must be handled by the private scope instead.
pub const KNOWN_VARY_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "content-language",
    "content-type",
    "origin",
    "user-agent",
];

impl CacheConfig {
    /// Parses and validates TOML.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| err("(toml)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses and validates JSON.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| err("(json)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The policy for a request type, falling back to the default: never a
    /// missing value. Returns the policy's name too (`"default"` for the
    /// fallback).
    pub fn policy<'a>(&'a self, request_type: &'a str) -> (&'a str, &'a Policy) {
        match self.policies.get_key_value(request_type) {
            Some((name, p)) => (name.as_str(), p),
            None => ("default", &self.default),
        }
    }

    /// The TTL multiplier for a country (checked first) or continent.
    pub fn multiplier(&self, country: Option<&str>, continent: Option<&str>) -> f64 {
        let lookup = |code: Option<&str>| {
            code.and_then(|c| self.regional_ttl_multipliers.get(&c.to_ascii_uppercase()))
        };
        lookup(country)
            .or_else(|| lookup(continent))
            .copied()
            .unwrap_or(1.0)
    }

    /// The largest multiplier, used to size KV expirations so an entry lives
    /// long enough for the region that keeps it longest.
    pub fn max_multiplier(&self) -> f64 {
        self.regional_ttl_multipliers
            .values()
            .copied()
            .fold(1.0, f64::max)
    }

    /// Checks every rule; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ns = &self.namespace;
        if ns.is_empty()
            || ns.len() > 32
            || !ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(err(
                "namespace",
                "use 1-32 characters of a-z, 0-9, '-' and '_'",
            ));
        }
        validate_policy("default", &self.default)?;
        for (name, p) in &self.policies {
            let field = format!("policies.{name}");
            if name == "default" {
                return Err(err(
                    field,
                    "'default' is reserved; set the top-level [default] policy",
                ));
            }
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(err(
                    field,
                    "request type names use 1-64 characters of a-z, 0-9 and '-'",
                ));
            }
            validate_policy(&field, p)?;
        }
        for (code, m) in &self.regional_ttl_multipliers {
            let field = format!("regional_ttl_multipliers.{code}");
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(err(
                    field,
                    "use a two-letter upper-case country (JP) or continent (EU) code",
                ));
            }
            if !m.is_finite() || *m <= 0.0 {
                return Err(err(
                    field,
                    format!("multiplier must be a positive number, got {m}"),
                ));
            }
            if *m > 100.0 {
                return Err(err(
                    field,
                    format!("multiplier {m} is implausibly large (max 100)"),
                ));
            }
        }
        for (i, p) in self.drop_query_params.iter().enumerate() {
            let field = format!("drop_query_params[{i}]");
            let stem = p.strip_suffix('*').unwrap_or(p);
            if stem.is_empty() || stem.contains('*') || stem.contains('&') || stem.contains('=') {
                return Err(err(
                    field,
                    "use a parameter name, optionally ending in '*' for a prefix",
                ));
            }
        }
        Ok(())
    }
}

fn validate_policy(field: &str, p: &Policy) -> Result<(), ConfigError> {
    for (name, v) in [
        ("ttl_secs", p.ttl_secs),
        ("edge_ttl_secs", p.edge_ttl_secs),
        ("stale_while_revalidate_secs", p.stale_while_revalidate_secs),
        ("stale_if_error_secs", p.stale_if_error_secs),
        ("negative_ttl_secs", p.negative_ttl_secs.unwrap_or(0)),
    ] {
        if v > MAX_SECS {
            return Err(err(
                format!("{field}.{name}"),
                format!("{v} s is over the one-year maximum"),
            ));
        }
    }
    if p.ttl_secs == 0 && p.stale_while_revalidate_secs > 0 {
        return Err(err(
            format!("{field}.stale_while_revalidate_secs"),
            "stale-while-revalidate needs a TTL above 0 (TTL 0 means the type is not cached)",
        ));
    }
    if p.ttl_secs == 0 && p.stale_if_error_secs > 0 {
        return Err(err(
            format!("{field}.stale_if_error_secs"),
            "stale-if-error needs a TTL above 0 (TTL 0 means the type is not cached)",
        ));
    }
    if p.negative_ttl_secs == Some(0) {
        return Err(err(
            format!("{field}.negative_ttl_secs"),
            "use a positive number of seconds, or leave it out to not cache 404s",
        ));
    }
    for (i, h) in p.vary.iter().enumerate() {
        let lower = h.to_ascii_lowercase();
        let ok = KNOWN_VARY_HEADERS.contains(&lower.as_str())
            || (lower.starts_with("x-")
                && lower.len() > 2
                && lower
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !ok {
            let hint = match lower.as_str() {
                "cookie" | "authorization" => " (use scope = \"private\" to key per user)",
                "*" => " (Vary: * never matches; set ttl_secs = 0 instead)",
                _ => "",
            };
            return Err(err(
                format!("{field}.vary[{i}]"),
                format!(
                    "unknown Vary header {h:?}; use one of {KNOWN_VARY_HEADERS:?} or an x- header{hint}"
                ),
            ));
        }
    }
    for (i, t) in p.tags.iter().enumerate() {
        if t.is_empty() || t.len() > 64 || t.contains(':') {
            return Err(err(
                format!("{field}.tags[{i}]"),
                "tags are 1-64 characters without ':'",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_fall_back() {
        let cfg = CacheConfig::default();
        cfg.validate().unwrap();
        for t in [
            "prompt-evaluation",
            "llm-provider-meta",
            "user-preferences",
            "prompt-templates",
        ] {
            assert_eq!(cfg.policy(t).0, t);
        }
        assert_eq!(cfg.policy("nope"), ("default", &cfg.default));
        assert_eq!(cfg.policy("user-preferences").1.scope, Scope::Private);
    }

    #[test]
    fn multipliers_country_then_continent() {
        let cfg = CacheConfig::default();
        assert_eq!(cfg.multiplier(Some("jp"), Some("AS")), 1.5);
        assert_eq!(cfg.multiplier(Some("DE"), Some("EU")), 1.0);
        assert_eq!(cfg.multiplier(Some("BR"), Some("SA")), 1.0);
        assert_eq!(cfg.multiplier(None, None), 1.0);
        assert_eq!(cfg.max_multiplier(), 1.5);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |toml: &str| CacheConfig::from_toml(toml).unwrap_err();
        let e = bad("[default]\nttl_secs = 0\nstale_while_revalidate_secs = 10");
        assert_eq!(e.field, "default.stale_while_revalidate_secs");
        let e = bad(
            "[default]\nttl_secs = 10\n[policies.a]\nttl_secs = 5\nvary = [\"accept-languag\"]",
        );
        assert_eq!(e.field, "policies.a.vary[0]");
        assert!(e.message.contains("unknown Vary header"));
        let e = bad("[default]\nttl_secs = 10\n[policies.a]\nttl_secs = 5\nvary = [\"Cookie\"]");
        assert!(e.message.contains("private"), "{e}");
        let e = bad("[default]\nttl_secs = 10\n[regional_ttl_multipliers]\nJP = 0.0");
        assert_eq!(e.field, "regional_ttl_multipliers.JP");
        let e = bad("[default]\nttl_secs = 10\n[regional_ttl_multipliers]\nJP = -1.5");
        assert!(e.message.contains("positive"));
        let e = bad("[default]\nttl_secs = 10\n[regional_ttl_multipliers]\njapan = 1.5");
        assert_eq!(e.field, "regional_ttl_multipliers.japan");
        let e = bad("[default]\nttl_secs = 10\nnegative_ttl_secs = 0");
        assert_eq!(e.field, "default.negative_ttl_secs");
        let e = bad("[default]\nttl_secs = 10\n[policies.Bad_Name]\nttl_secs = 1");
        assert_eq!(e.field, "policies.Bad_Name");
        let e = bad("[default]\nttl_secs = 10\nbogus = 1");
        assert_eq!(e.field, "(toml)");
        assert!(e.message.contains("bogus"));
        let e = bad("[default]\nttl_secs = 10\n[policies.default]\nttl_secs = 1");
        assert!(e.message.contains("reserved"));
        let e = bad("drop_query_params = [\"*\"]\n[default]\nttl_secs = 10");
        assert_eq!(e.field, "drop_query_params[0]");
        // X- headers are fine; JSON works too.
        CacheConfig::from_json(r#"{"default":{"ttl_secs":10,"vary":["X-Tenant"]}}"#).unwrap();
    }
}
