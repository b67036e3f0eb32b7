//! Request normalisation and cache keys.
//!
//! A key is `{namespace}:{policy}:{generation}:{sha256 hex}`. The hash covers
//! the method, path, sorted query (tracking parameters dropped), the
//! normalised values of the policy's Vary headers, the user id for private
//! policies and, for opt-in POST caching, a hash of the body. The colo is
//! never part of the key: the KV store is global, and keying by colo would
//! split every entry across hundreds of locations.

use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use crate::config::{Policy, Scope};

/// The parts of a request the cache looks at.
#[derive(Debug, Clone, Copy)]
pub struct CacheRequest<'a> {
    /// The method. `HEAD` shares `GET`'s entries.
    pub method: &'a Method,
    /// The path, without query.
    pub path: &'a str,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The authenticated user, for private policies.
    pub user_id: Option<&'a str>,
    /// ISO country code of the client (for regional TTLs).
    pub country: Option<&'a str>,
    /// Continent code of the client (for regional TTLs).
    pub continent: Option<&'a str>,
    /// For opt-in caching of deterministic POSTs (an LLM call with
    /// temperature 0): the canonical request body, hashed into the key.
    pub body: Option<&'a [u8]>,
    /// What the answer depends on besides the request (a fingerprint of
    /// the config that produces it), hashed into the key: a new config
    /// never reads an entry made by the old one.
    pub variant: Option<&'a str>,
}

impl<'a> CacheRequest<'a> {
    /// The cacheable view of an `http::Request`.
    pub fn from_http<B>(req: &'a http::Request<B>) -> Self {
        Self {
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
            user_id: None,
            country: None,
            continent: None,
            body: None,
            variant: None,
        }
    }

    /// Sets the variant (see [`CacheRequest::variant`]).
    pub fn variant(mut self, variant: &'a str) -> Self {
        self.variant = Some(variant);
        self
    }

    /// Sets the user id (required by private policies).
    pub fn user(mut self, user_id: &'a str) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// Sets the client's country and continent codes.
    pub fn geo(mut self, country: Option<&'a str>, continent: Option<&'a str>) -> Self {
        self.country = country;
        self.continent = continent;
        self
    }

    /// Opts a non-GET request into caching, keyed by its body.
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }
}

/// Drops tracking parameters and sorts the rest by name, then value.
pub fn normalize_query(query: &str, drop: &[String]) -> String {
    let mut params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .filter(|(name, _)| !is_dropped(name, drop))
        .collect();
    params.sort_unstable();
    let mut out = String::with_capacity(query.len());
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn is_dropped(name: &str, drop: &[String]) -> bool {
    drop.iter().any(|d| match d.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == d,
    })
}

/// Normalises one Vary header value. `Accept-Language` is reduced to the
/// primary tag of its first range (`en-US,en;q=0.9` → `en`); other values are
/// trimmed, lower-cased and have inner whitespace collapsed.
pub fn normalize_vary_value(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("accept-language") {
        let first = value.split(',').next().unwrap_or("");
        let range = first.split(';').next().unwrap_or("").trim();
        let primary = range.split(['-', '_']).next().unwrap_or("");
        return primary.to_ascii_lowercase();
    }
    value
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Why a request cannot be keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// A private policy needs a user id.
    NoUser,
}

/// Feeds one length-prefixed field into the hash, so field boundaries can
/// never be confused (`a` + `bc` ≠ `ab` + `c`).
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// Builds the key for `req` under `policy`.
pub fn build_key(
    namespace: &str,
    policy_name: &str,
    generation: u64,
    policy: &Policy,
    drop_params: &[String],
    req: &CacheRequest<'_>,
) -> Result<String, KeyError> {
    let mut h = Sha256::new();
    field(&mut h, b"edgeforge-cache-v1");
    let method = if *req.method == Method::HEAD {
        "GET"
    } else {
        req.method.as_str()
    };
    field(&mut h, method.as_bytes());
    field(&mut h, req.path.as_bytes());
    field(
        &mut h,
        normalize_query(req.query.unwrap_or(""), drop_params).as_bytes(),
    );
    let mut vary: Vec<String> = policy.vary.iter().map(|v| v.to_ascii_lowercase()).collect();
    vary.sort_unstable();
    vary.dedup();
    for name in &vary {
        field(&mut h, name.as_bytes());
        let values: Vec<&str> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            // Absent differs from present-but-empty.
            h.update([0u8]);
        } else {
            h.update([1u8]);
            field(
                &mut h,
                normalize_vary_value(name, &values.join(",")).as_bytes(),
            );
        }
    }
    if policy.scope == Scope::Private {
        let user = req
            .user_id
            .filter(|u| !u.is_empty())
            .ok_or(KeyError::NoUser)?;
        field(&mut h, b"user");
        field(&mut h, user.as_bytes());
    }
    if let Some(body) = req.body {
        field(&mut h, b"body");
        field(&mut h, &Sha256::digest(body));
    }
    if let Some(variant) = req.variant {
        field(&mut h, b"variant");
        field(&mut h, variant.as_bytes());
    }
    let digest = h.finalize();
    let mut key = String::with_capacity(namespace.len() + policy_name.len() + 16 + 66);
    key.push_str(namespace);
    key.push(':');
    key.push_str(policy_name);
    key.push(':');
    push_base36(&mut key, generation);
    key.push(':');
    edge_ports::hex::push(&mut key, &digest);
    Ok(key)
}

fn push_base36(out: &mut String, mut n: u64) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut buf = [0u8; 13];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(policy: &Policy, req: &CacheRequest<'_>) -> String {
        build_key("cache", "p", 0, policy, &["utm_*".to_owned()], req).unwrap()
    }

    fn req<'a>(path: &'a str, query: Option<&'a str>, headers: &'a HeaderMap) -> CacheRequest<'a> {
        CacheRequest {
            method: &Method::GET,
            path,
            query,
            headers,
            user_id: None,
            country: None,
            continent: None,
            body: None,
            variant: None,
        }
    }

    #[test]
    fn query_is_sorted_and_tracking_dropped() {
        let drop = vec!["utm_*".to_owned(), "fbclid".to_owned()];
        assert_eq!(
            normalize_query("b=2&a=1&utm_source=x&fbclid=y&&c", &drop),
            "a=1&b=2&c="
        );
        let h = HeaderMap::new();
        let p = Policy::ttl(60);
        assert_eq!(
            key(&p, &req("/x", Some("b=2&a=1"), &h)),
            key(&p, &req("/x", Some("a=1&b=2&utm_medium=z"), &h))
        );
        assert_ne!(
            key(&p, &req("/x", Some("a=1"), &h)),
            key(&p, &req("/x", Some("a=2"), &h))
        );
    }

    #[test]
    fn accept_language_is_reduced_to_primary_tag() {
        assert_eq!(
            normalize_vary_value("accept-language", "en-US,en;q=0.9"),
            "en"
        );
        assert_eq!(normalize_vary_value("Accept-Language", " FR-ca "), "fr");
        assert_eq!(
            normalize_vary_value("accept", "Text/HTML,  application/json"),
            "text/html, application/json"
        );
        let p = Policy {
            vary: vec!["Accept-Language".into()],
            ..Policy::ttl(60)
        };
        let mut en_us = HeaderMap::new();
        en_us.insert("accept-language", "en-US".parse().unwrap());
        let mut en_gb = HeaderMap::new();
        en_gb.insert("accept-language", "en-GB,fr;q=0.5".parse().unwrap());
        let mut fr = HeaderMap::new();
        fr.insert("accept-language", "fr".parse().unwrap());
        let none = HeaderMap::new();
        let mut empty = HeaderMap::new();
        empty.insert("accept-language", "".parse().unwrap());
        assert_eq!(
            key(&p, &req("/", None, &en_us)),
            key(&p, &req("/", None, &en_gb))
        );
        assert_ne!(
            key(&p, &req("/", None, &en_us)),
            key(&p, &req("/", None, &fr))
        );
        assert_ne!(
            key(&p, &req("/", None, &none)),
            key(&p, &req("/", None, &empty))
        );
    }

    #[test]
    fn private_needs_user_and_separates_users_head_shares_get() {
        let p = Policy {
            scope: Scope::Private,
            ..Policy::ttl(60)
        };
        let h = HeaderMap::new();
        let anon = req("/prefs", None, &h);
        assert_eq!(
            build_key("cache", "p", 0, &p, &[], &anon),
            Err(KeyError::NoUser)
        );
        assert_ne!(key(&p, &anon.user("alice")), key(&p, &anon.user("bob")));
        let head = CacheRequest {
            method: &Method::HEAD,
            ..anon.user("alice")
        };
        assert_eq!(key(&p, &head), key(&p, &anon.user("alice")));
        let post = CacheRequest {
            method: &Method::POST,
            ..anon.user("alice")
        };
        assert_ne!(
            key(&p, &post.body(b"{\"a\":1}")),
            key(&p, &post.body(b"{\"a\":2}"))
        );
        let anon_alice = anon.user("alice");
        assert_ne!(
            key(&p, &anon_alice.variant("config-1")),
            key(&p, &anon_alice.variant("config-2"))
        );
        assert_ne!(key(&p, &anon_alice.variant("")), key(&p, &anon_alice));
    }

    #[test]
    fn format_is_namespaced_and_readable() {
        let h = HeaderMap::new();
        let k = build_key(
            "cache",
            "prompt-templates",
            1_700_000_000_000,
            &Policy::ttl(1),
            &[],
            &req("/", None, &h),
        )
        .unwrap();
        let parts: Vec<&str> = k.split(':').collect();
        assert_eq!(parts[0], "cache");
        assert_eq!(parts[1], "prompt-templates");
        assert_eq!(
            u64::from_str_radix(parts[2], 36).ok(),
            Some(1_700_000_000_000)
        );
        assert_eq!(parts[3].len(), 64);
        let mut s = String::new();
        push_base36(&mut s, 0);
        assert_eq!(s, "0");
    }
}
