//! Path patterns (`/exact`, `/users/{id}`, `/admin/*`) and safe path splitting.

use std::collections::BTreeMap;

use edge_ports::hex::digit as hex;

use super::AuthzError;

/// Longest path accepted, in bytes.
const MAX_PATH_BYTES: usize = 4096;
/// Most segments accepted.
const MAX_SEGMENTS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param(String),
}

/// A compiled path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    segs: Vec<Seg>,
    prefix: bool,
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = hex(*b.get(i + 1)?)?;
            let lo = hex(*b.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Splits a request path (query and fragment dropped) into percent-decoded
/// segments. `None` for paths that are not absolute, too long, or have empty,
/// `.`/`..`, or encoded `/`, `\` or NUL segments. One trailing `/` is ignored.
pub fn split_path(path: &str) -> Option<Vec<String>> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.len() > MAX_PATH_BYTES || !path.starts_with('/') {
        return None;
    }
    let body = &path[1..];
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.is_empty() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for raw in body.split('/') {
        if out.len() >= MAX_SEGMENTS {
            return None;
        }
        let seg = percent_decode(raw)?;
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['/', '\\', '\0']) {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

impl PathPattern {
    /// Parses a pattern.
    pub fn parse(pattern: &str) -> Result<Self, AuthzError> {
        let bad = |reason: &str| AuthzError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        };
        if !pattern.starts_with('/') {
            return Err(bad("must start with '/'"));
        }
        if pattern.len() > 1024 {
            return Err(bad("too long"));
        }
        let (body, prefix) = match pattern.strip_suffix("/*") {
            Some(b) => (b, true),
            None => (pattern, false),
        };
        let body = body.strip_prefix('/').unwrap_or(body);
        let mut segs = Vec::new();
        if !body.is_empty() {
            for s in body.split('/') {
                if s.is_empty() {
                    return Err(bad("empty segment (no '//' or trailing '/')"));
                }
                if let Some(name) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                    let ok = !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if !ok {
                        return Err(bad("parameter names are [A-Za-z0-9_]+"));
                    }
                    if segs.iter().any(|x| *x == Seg::Param(name.to_owned())) {
                        return Err(bad("duplicate parameter name"));
                    }
                    segs.push(Seg::Param(name.to_owned()));
                } else if s.contains(['{', '}', '*', '%', '?', '#']) {
                    return Err(bad(
                        "'*' only as a final '/*'; no braces, '%', '?' or '#' in literals",
                    ));
                } else if s == "." || s == ".." {
                    return Err(bad("'.' and '..' segments are not allowed"));
                } else {
                    segs.push(Seg::Lit(s.to_owned()));
                }
            }
        }
        Ok(Self {
            raw: pattern.to_owned(),
            segs,
            prefix,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Matches split segments; returns the parameters on a match.
    pub fn matches(&self, segments: &[String]) -> Option<BTreeMap<String, String>> {
        let len_ok = if self.prefix {
            segments.len() >= self.segs.len()
        } else {
            segments.len() == self.segs.len()
        };
        if !len_ok {
            return None;
        }
        let mut params = BTreeMap::new();
        for (pat, seg) in self.segs.iter().zip(segments) {
            match pat {
                Seg::Lit(l) if l == seg => {}
                Seg::Lit(_) => return None,
                Seg::Param(name) => {
                    params.insert(name.clone(), seg.clone());
                }
            }
        }
        Some(params)
    }

    /// Splits `path` and matches it (`None` also for malformed paths).
    pub fn matches_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        self.matches(&split_path(path)?)
    }

    /// True if both patterns match exactly the same paths.
    pub fn same_shape(&self, other: &Self) -> bool {
        self.prefix == other.prefix
            && self.segs.len() == other.segs.len()
            && self
                .segs
                .iter()
                .zip(&other.segs)
                .all(|(a, b)| match (a, b) {
                    (Seg::Lit(x), Seg::Lit(y)) => x == y,
                    (Seg::Param(_), Seg::Param(_)) => true,
                    _ => false,
                })
    }

    /// A sort key: greater is more specific (segment by segment, a literal
    /// beats a parameter, which beats the end of a prefix pattern).
    pub fn specificity(&self) -> Vec<u8> {
        let mut key: Vec<u8> = self
            .segs
            .iter()
            .map(|s| match s {
                Seg::Lit(_) => 2,
                Seg::Param(_) => 1,
            })
            .collect();
        key.push(if self.prefix { 0 } else { 3 });
        key
    }
}
