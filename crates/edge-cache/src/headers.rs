//! Cache statuses, storability rules and response headers.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::config::{Policy, Scope};

/// `X-Cache-Status`: what really happened to this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    /// Served a fresh entry.
    Hit,
    /// No usable entry; the origin answered.
    Miss,
    /// Served a stale entry: within stale-while-revalidate (a refresh runs in
    /// the background) or within stale-if-error after the origin failed.
    Stale,
    /// The entry was stale; the origin confirmed it unchanged (304) and it
    /// was served with a new lifetime.
    Revalidated,
    /// The cache was not used (see the bypass reason).
    Bypass,
    /// An entry existed but was past every window (or invalidated by tag);
    /// the origin answered.
    Expired,
}

impl CacheStatus {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Stale => "STALE",
            Self::Revalidated => "REVALIDATED",
            Self::Bypass => "BYPASS",
            Self::Expired => "EXPIRED",
        }
    }
}

/// Why the cache was bypassed or a response was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BypassReason {
    /// The policy's TTL is 0.
    Disabled,
    /// A method other than GET/HEAD without an opt-in body key.
    Method,
    /// `Authorization` on a public policy that does not allow it.
    Authorization,
    /// A private policy without a user id.
    NoUser,
    /// The client sent `Cache-Control: no-store`.
    ClientNoStore,
    /// KV could not be read; the origin answered directly.
    StoreUnavailable,
    /// The origin's response may not be stored (Set-Cookie, no-store,
    /// private, status).
    NotStorable,
    /// The response is larger than a KV value may be.
    TooLarge,
}

impl BypassReason {
    /// A short label (`X-Cache-Bypass` header and analytics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Method => "method",
            Self::Authorization => "authorization",
            Self::NoUser => "no-user",
            Self::ClientNoStore => "client-no-store",
            Self::StoreUnavailable => "store-unavailable",
            Self::NotStorable => "not-storable",
            Self::TooLarge => "too-large",
        }
    }
}

/// The `Cache-Control` directives of a header map, lower-cased.
fn directives(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect()
}

/// True when the request's `Cache-Control` has `directive` (e.g. `no-store`).
pub fn has_directive(headers: &HeaderMap, directive: &str) -> bool {
    directives(headers)
        .iter()
        .any(|d| d == directive || d.split('=').next() == Some(directive))
}

/// The TTL to store an origin response with, or `None` if it must not be
/// stored: status ≥ 500 never; `Set-Cookie`, `no-store` never; `private`
/// only under a private policy; 404/410 only with negative caching.
pub fn storable_ttl(status: StatusCode, headers: &HeaderMap, policy: &Policy) -> Option<u64> {
    if headers.contains_key(header::SET_COOKIE) {
        return None;
    }
    let cc = directives(headers);
    if cc.iter().any(|d| d == "no-store") {
        return None;
    }
    if policy.scope == Scope::Public
        && cc
            .iter()
            .any(|d| d == "private" || d.starts_with("private="))
    {
        return None;
    }
    match status.as_u16() {
        200 | 203 | 204 | 300 | 301 | 308 => Some(policy.ttl_secs),
        404 | 410 => policy.negative_ttl_secs,
        _ => None,
    }
}

/// `Cache-Control` and `CDN-Cache-Control` for a policy (edge TTL scaled by
/// the client's region).
pub fn cache_control(policy: &Policy, multiplier: f64) -> (String, String) {
    let edge = scale(policy.edge_ttl_secs, multiplier);
    let swr = policy.stale_while_revalidate_secs;
    let sie = policy.stale_if_error_secs;
    let mut windows = String::new();
    if swr > 0 {
        windows.push_str(&format!(", stale-while-revalidate={swr}"));
    }
    if sie > 0 {
        windows.push_str(&format!(", stale-if-error={sie}"));
    }
    match policy.scope {
        Scope::Public => (
            format!("public, max-age={edge}{windows}"),
            format!("max-age={edge}{windows}"),
        ),
        // Browsers may keep a private copy; shared caches never.
        Scope::Private => (format!("private, max-age={edge}"), "no-store".to_owned()),
    }
}

/// Scales seconds by a regional multiplier, rounding to the nearest second.
pub fn scale(secs: u64, multiplier: f64) -> u64 {
    let v = (secs as f64 * multiplier).round();
    if v.is_finite() && v >= 0.0 {
        v.min(u64::MAX as f64) as u64
    } else {
        secs
    }
}

/// Sets a header, skipping values that are not valid header text.
pub fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Adds the cache headers to a response.
pub fn decorate(
    resp: &mut Response<Vec<u8>>,
    status: CacheStatus,
    bypass: Option<BypassReason>,
    age_secs: Option<u64>,
    policy: &Policy,
    multiplier: f64,
    cacheable: bool,
) {
    let h = resp.headers_mut();
    set(h, "x-cache-status", status.as_str());
    if let Some(reason) = bypass {
        set(h, "x-cache-bypass", reason.as_str());
    }
    if cacheable {
        let (cc, cdn) = cache_control(policy, multiplier);
        set(h, "cache-control", &cc);
        set(h, "cdn-cache-control", &cdn);
        if !policy.vary.is_empty() {
            let vary: Vec<String> = policy.vary.iter().map(|v| v.to_ascii_lowercase()).collect();
            set(h, "vary", &vary.join(", "));
        }
        set(h, "age", &age_secs.unwrap_or(0).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn storability_rules() {
        let public = Policy::ttl(60);
        let private = Policy {
            scope: Scope::Private,
            ..Policy::ttl(60)
        };
        let negative = Policy {
            negative_ttl_secs: Some(30),
            ..Policy::ttl(60)
        };
        let ok = StatusCode::OK;
        assert_eq!(storable_ttl(ok, &hm(&[]), &public), Some(60));
        assert_eq!(
            storable_ttl(ok, &hm(&[("set-cookie", "a=b")]), &public),
            None
        );
        assert_eq!(
            storable_ttl(
                ok,
                &hm(&[("cache-control", "max-age=5, No-Store")]),
                &public
            ),
            None
        );
        assert_eq!(
            storable_ttl(ok, &hm(&[("cache-control", "private")]), &public),
            None
        );
        assert_eq!(
            storable_ttl(ok, &hm(&[("cache-control", "private")]), &private),
            Some(60)
        );
        assert_eq!(
            storable_ttl(StatusCode::INTERNAL_SERVER_ERROR, &hm(&[]), &public),
            None
        );
        assert_eq!(
            storable_ttl(StatusCode::BAD_GATEWAY, &hm(&[]), &negative),
            None
        );
        assert_eq!(storable_ttl(StatusCode::NOT_FOUND, &hm(&[]), &public), None);
        assert_eq!(
            storable_ttl(StatusCode::NOT_FOUND, &hm(&[]), &negative),
            Some(30)
        );
        assert_eq!(
            storable_ttl(StatusCode::UNAUTHORIZED, &hm(&[]), &negative),
            None
        );
    }

    #[test]
    fn cache_control_from_policy() {
        let p = Policy {
            edge_ttl_secs: 100,
            stale_while_revalidate_secs: 30,
            stale_if_error_secs: 600,
            ..Policy::ttl(300)
        };
        let (cc, cdn) = cache_control(&p, 1.5);
        assert_eq!(
            cc,
            "public, max-age=150, stale-while-revalidate=30, stale-if-error=600"
        );
        assert_eq!(
            cdn,
            "max-age=150, stale-while-revalidate=30, stale-if-error=600"
        );
        let private = Policy {
            scope: Scope::Private,
            ..p
        };
        assert_eq!(
            cache_control(&private, 1.0),
            ("private, max-age=100".into(), "no-store".into())
        );
        assert!(has_directive(
            &hm(&[("cache-control", "no-cache, max-age=0")]),
            "no-cache"
        ));
        assert!(has_directive(
            &hm(&[("cache-control", "max-age=0")]),
            "max-age"
        ));
        assert!(!has_directive(&hm(&[]), "no-store"));
    }
}
