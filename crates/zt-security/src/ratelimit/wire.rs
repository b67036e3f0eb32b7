//! What crosses the wire: rate-limit keys derived from request identity, and
//! the IETF `RateLimit-Policy` / `RateLimit` headers
//! (draft-ietf-httpapi-ratelimit-headers) with `Retry-After`.
//!
//! Raw identifiers never become keys: user ids and API keys are SHA-256
//! hashed, anonymous clients are keyed by a hash of their network (the IPv4
//! address or the IPv6 /64).

use edge_ports::hex::encode as hex;
use sha2::{Digest, Sha256};

use super::{Decision, Quota};

fn hash_parts(domain: &[u8], parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    for p in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex(&h.finalize())
}

/// `u:<sha256 hex>` for an authenticated user id (emails are PII, so hashed too).
pub fn user_key(user_id: &str) -> String {
    format!("u:{}", hash_parts(b"zt-rl-user", &[user_id.as_bytes()]))
}

/// `k:<sha256 hex>` for an API key; the key itself is never stored.
pub fn api_key_key(api_key: &str) -> String {
    format!("k:{}", hash_parts(b"zt-rl-apikey", &[api_key.as_bytes()]))
}

/// `a:<sha256 hex>` of the client's network for anonymous clients (never
/// the raw IP): the IPv4 address, or the /64 of an IPv6 address, which is
/// one subscriber's prefix (rotating the low 64 bits must not buy quota).
/// The User-Agent is not part of the key: rotating it must not either; it
/// is a bot signal only.
///
/// An unsalted hash of an IPv4 address can be reversed by enumeration; use
/// [`anonymous_key_salted`] with a server secret where keys are persisted.
pub fn anonymous_key(ip: &str) -> String {
    anonymous_key_salted(b"", ip)
}

/// Like [`anonymous_key`], with a server-side salt mixed into the hash.
///
/// ```
/// use zt_security::ratelimit::anonymous_key_salted;
/// let k = |ip| anonymous_key_salted(b"salt", ip);
/// assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
/// assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
/// assert_ne!(k("203.0.113.9"), k("203.0.113.10"));
/// ```
pub fn anonymous_key_salted(salt: &[u8], ip: &str) -> String {
    let network = client_network(ip);
    format!(
        "a:{}",
        hash_parts(b"zt-rl-anon", &[salt, network.as_bytes()])
    )
}

/// The network an anonymous client is limited by: an IPv4 address as is
/// (IPv4-mapped IPv6 too), an IPv6 address's /64; anything unparseable, its
/// first 64 bytes.
pub fn client_network(ip: &str) -> String {
    use std::net::IpAddr;
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.chars().take(64).collect(),
    }
}

/// The policy name as an sf-string body: printable ASCII without `"` or `\`.
fn sanitize(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `"chat";q=60;w=60`.
pub fn policy_header(name: &str, quota: &Quota) -> String {
    format!(
        "\"{}\";q={};w={}",
        sanitize(name),
        quota.limit,
        quota.window_secs
    )
}

/// `"chat";r=12;t=5` (`t` in whole seconds, rounded up).
pub fn ratelimit_header(name: &str, decision: &Decision) -> String {
    format!(
        "\"{}\";r={};t={}",
        sanitize(name),
        decision.remaining,
        decision.reset_after_ms.div_ceil(1000)
    )
}

/// The header pairs for a response: `RateLimit-Policy`, `RateLimit`, and
/// `Retry-After` (whole seconds, at least 1) when denied.
///
/// ```
/// use zt_security::ratelimit::{headers, Decision, Quota};
/// let q = Quota::new(60, 60).unwrap();
/// let d = Decision { allowed: false, limit: 60, remaining: 0, reset_after_ms: 4_200, retry_after_ms: 800 };
/// let h = headers("chat", &q, &d);
/// assert_eq!(h[0], ("RateLimit-Policy", "\"chat\";q=60;w=60".to_string()));
/// assert_eq!(h[1], ("RateLimit", "\"chat\";r=0;t=5".to_string()));
/// assert_eq!(h[2], ("Retry-After", "1".to_string()));
/// ```
pub fn headers(name: &str, quota: &Quota, decision: &Decision) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("RateLimit-Policy", policy_header(name, quota)),
        ("RateLimit", ratelimit_header(name, decision)),
    ];
    if !decision.allowed {
        let secs = decision.retry_after_ms.div_ceil(1000).max(1);
        out.push(("Retry-After", secs.to_string()));
    }
    out
}
