//! Secret detectors: known token formats anywhere, plus a key-name gate
//! (`password`, `api_key`, `token` as a last key segment...) combined with
//! an assignment-shaped, high-entropy value (≥ 3.5 bits/char, ≥ 8 chars).

use super::{FindingKind, Hit};

/// Minimum Shannon entropy (bits/char) of a gated secret value.
pub const MIN_ENTROPY: f64 = 3.5;
const MIN_LEN: usize = 8;

/// Lowercase segments of a key: `apiKey` → `api`,`key`; `max_tokens` → `max`,`tokens`.
pub(crate) fn key_segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Does the key name a credential?
pub(crate) fn secret_key(key: &str) -> bool {
    let s = key_segments(key);
    let has = |w: &str| s.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| s.windows(2).any(|w| w[0] == a && w[1] == b);
    let joined = s.concat();
    if has("password")
        || has("passwd")
        || has("pwd")
        || has("passphrase")
        || has("secret")
        || has("apikey")
    {
        return true;
    }
    if pair("api", "key")
        || pair("private", "key")
        || pair("client", "secret")
        || pair("access", "key")
    {
        return true;
    }
    if joined.contains("accesstoken")
        || joined.contains("authtoken")
        || joined.contains("refreshtoken")
    {
        return true;
    }
    // `token` only as the last segment, and not a count/limit.
    const COUNTY: &[&str] = &[
        "max",
        "min",
        "count",
        "num",
        "total",
        "limit",
        "usage",
        "prompt",
        "completion",
        "generated",
        "input",
        "output",
        "used",
    ];
    s.last().is_some_and(|l| l == "token") && !s.iter().any(|x| COUNTY.contains(&x.as_str()))
}

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for &b in s.as_bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn tok_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'+' | b'/' | b'=')
}

fn known_format(t: &str) -> Option<(FindingKind, &'static str)> {
    let b = t.as_bytes();
    let alnum_tail = |p: usize| {
        b[p..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
    };
    if t.starts_with("sk-ant-") && b.len() >= 24 && alnum_tail(7) {
        return Some((FindingKind::AnthropicKey, "Anthropic key prefix sk-ant-"));
    }
    if t.starts_with("sk-") && b.len() >= 20 && alnum_tail(3) {
        return Some((FindingKind::OpenAiKey, "OpenAI key prefix sk-"));
    }
    if (t.starts_with("AKIA") || t.starts_with("ASIA"))
        && b.len() == 20
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some((
            FindingKind::AwsAccessKey,
            "AWS access key id (AKIA/ASIA + 16)",
        ));
    }
    let gh = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| t.starts_with(p))
        && b.len() >= 30;
    if (gh || (t.starts_with("github_pat_") && b.len() >= 30)) && alnum_tail(4) {
        return Some((FindingKind::GithubToken, "GitHub token prefix"));
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"]
        .iter()
        .any(|p| t.starts_with(p))
        && b.len() >= 15
    {
        return Some((FindingKind::SlackToken, "Slack token prefix"));
    }
    if t.starts_with("eyJ") {
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() == 3
            && parts[..2].iter().all(|p| p.len() >= 10)
            && parts.iter().all(|p| {
                p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            })
        {
            return Some((
                FindingKind::Jwt,
                "JWT-shaped token (eyJ header.payload.signature)",
            ));
        }
    }
    None
}

fn push(out: &mut Vec<Hit>, kind: FindingKind, confidence: f32, reason: &'static str) {
    if !out.iter().any(|h| h.kind == kind) {
        out.push(Hit {
            kind,
            confidence,
            reason,
        });
    }
}

fn gated_value(v: &str) -> bool {
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    v.len() >= MIN_LEN
        && !v.bytes().any(|c| c.is_ascii_whitespace())
        && shannon_entropy(v) >= MIN_ENTROPY
}

pub(crate) fn detect(key: Option<&str>, value: &str, out: &mut Vec<Hit>) {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        push(out, FindingKind::PrivateKey, 0.99, "PEM private key block");
    }
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !tok_char(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && tok_char(b[i]) {
            i += 1;
        }
        // Token boundaries are ASCII, so these are char boundaries.
        if let Some((kind, reason)) = value.get(s..i).and_then(known_format) {
            push(out, kind, 0.95, reason);
        }
    }
    let kind_found = out.iter().any(|h| h.kind.is_secret());
    if !kind_found && key.is_some_and(secret_key) && gated_value(value) {
        push(
            out,
            FindingKind::GenericSecret,
            0.8,
            "secret-like key name with a high-entropy value",
        );
    }
    // `password=...` / `api_key: ...` inside free text.
    if !out.iter().any(|h| h.kind.is_secret()) && (value.contains('=') || value.contains(':')) {
        for (k, v) in assignments(value) {
            if secret_key(k) && gated_value(v) {
                push(
                    out,
                    FindingKind::GenericSecret,
                    0.75,
                    "secret-like assignment in text",
                );
                break;
            }
        }
    }
}

/// `key=value` / `key: value` pairs in free text.
fn assignments(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for part in text.split(|c: char| c.is_whitespace() || c == '&' || c == ',' || c == ';') {
        if let Some((k, v)) = part.split_once('=').or_else(|| part.split_once(':'))
            && !k.is_empty()
            && !v.is_empty()
        {
            out.push((
                k.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'),
                v,
            ));
        }
    }
    // `api_key: value` with a space after the colon.
    let words: Vec<&str> = text.split_whitespace().collect();
    for w in words.windows(2) {
        if let Some(k) = w[0].strip_suffix(':').or_else(|| w[0].strip_suffix('=')) {
            out.push((
                k.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'),
                w[1],
            ));
        }
    }
    out
}
