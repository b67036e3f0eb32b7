//! Field-aware data classification: PII (email, phone, US SSN, credit card,
//! IP addresses) and secrets (known token formats, or a secret-like key name
//! with a high-entropy value), reported by JSON path without the value.
//!
//! ```
//! use serde_json::json;
//! use zt_security::classify::{FindingKind, classify_json, redact_json};
//!
//! let doc = json!({"user": {"email": "ann@example.com"}, "tokens_generated": 42});
//! let found = classify_json(&doc);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, FindingKind::Email);
//! assert_eq!(found[0].path, "$.user.email");
//! assert_eq!(redact_json(&doc)["user"]["email"], "[REDACTED:email]");
//! ```

mod pii;
mod secret;

use serde::Serialize;
use serde_json::Value;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// US social security number.
    UsSsn,
    /// Payment card number (Luhn + IIN).
    CreditCard,
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// OpenAI API key (`sk-`).
    OpenAiKey,
    /// Anthropic API key (`sk-ant-`).
    AnthropicKey,
    /// AWS access key id (`AKIA`/`ASIA`).
    AwsAccessKey,
    /// GitHub token (`ghp_`, `gho_`, `github_pat_`...).
    GithubToken,
    /// Slack token (`xoxb-`, `xoxp-`...).
    SlackToken,
    /// PEM private key.
    PrivateKey,
    /// JWT-shaped token (`eyJ...`).
    Jwt,
    /// High-entropy value under a secret-like key name.
    GenericSecret,
}

impl FindingKind {
    /// Short label used in redactions (`[REDACTED:<label>]`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::UsSsn => "us_ssn",
            Self::CreditCard => "credit_card",
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::OpenAiKey => "openai_key",
            Self::AnthropicKey => "anthropic_key",
            Self::AwsAccessKey => "aws_access_key",
            Self::GithubToken => "github_token",
            Self::SlackToken => "slack_token",
            Self::PrivateKey => "private_key",
            Self::Jwt => "jwt",
            Self::GenericSecret => "secret",
        }
    }

    /// True for credentials, false for personal data.
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            Self::Email | Self::Phone | Self::UsSsn | Self::CreditCard | Self::Ipv4 | Self::Ipv6
        )
    }
}

/// One finding. Never contains the value itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// JSON path of the field (`$.user.contacts[2].email`), or the field name.
    pub path: String,
    /// Confidence in `0.0..=1.0`.
    pub confidence: f32,
    /// Why it matched.
    pub reason: &'static str,
}

/// A raw match before the path is attached.
pub(crate) struct Hit {
    pub kind: FindingKind,
    pub confidence: f32,
    pub reason: &'static str,
}

/// Classifies one value; `field_name` is its key (used as context).
pub fn classify_text(field_name: Option<&str>, value: &str) -> Vec<Finding> {
    let path = field_name.map_or_else(
        || "$".to_string(),
        |f| {
            let mut p = "$".to_string();
            push_key(&mut p, f);
            p
        },
    );
    to_findings(detect(field_name, value), &path)
}

/// Classifies every string (and number) in a JSON document, by path.
pub fn classify_json(doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(doc, None, &mut "$".to_string(), &mut out, 0);
    out
}

/// A keyed pseudonym of `value`: 24 hex digits of HMAC-SHA256(`key`,
/// `value`). Stable for one key, not reversible without it (with an empty
/// key it is only a hash: dictionary attacks work; configure a key).
///
/// ```
/// use zt_security::classify::pseudonym;
/// let p = pseudonym(b"server-secret", "alice@example.com");
/// assert_eq!(p.len(), 24);
/// assert_eq!(p, pseudonym(b"server-secret", "alice@example.com"));
/// assert_ne!(p, pseudonym(b"other-secret", "alice@example.com"));
/// ```
pub fn pseudonym(key: &[u8], value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return "0".repeat(24),
    };
    mac.update(value.as_bytes());
    edge_ports::hex::encode(&mac.finalize().into_bytes()[..12])
}

/// A copy of `doc` with each classified value replaced by `"[REDACTED:<type>]"`.
pub fn redact_json(doc: &Value) -> Value {
    fn go(v: &Value, key: Option<&str>, depth: usize) -> Value {
        match v {
            Value::Object(m) if depth < 64 => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), go(x, Some(k), depth + 1)))
                    .collect(),
            ),
            Value::Array(a) if depth < 64 => {
                Value::Array(a.iter().map(|x| go(x, key, depth + 1)).collect())
            }
            Value::String(s) => redacted(detect(key, s)).unwrap_or_else(|| v.clone()),
            Value::Number(n) => {
                redacted(detect_number(key, &n.to_string())).unwrap_or_else(|| v.clone())
            }
            _ => v.clone(),
        }
    }
    go(doc, None, 0)
}

fn redacted(hits: Vec<Hit>) -> Option<Value> {
    let best = hits
        .iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))?;
    Some(Value::String(format!("[REDACTED:{}]", best.kind.label())))
}

fn to_findings(hits: Vec<Hit>, path: &str) -> Vec<Finding> {
    hits.into_iter()
        .map(|h| Finding {
            kind: h.kind,
            path: path.to_string(),
            confidence: h.confidence,
            reason: h.reason,
        })
        .collect()
}

fn walk(v: &Value, key: Option<&str>, path: &mut String, out: &mut Vec<Finding>, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::String(s) => out.extend(to_findings(detect(key, s), path)),
        Value::Number(n) => out.extend(to_findings(detect_number(key, &n.to_string()), path)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, key, path, out, depth + 1);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                push_key(path, k);
                walk(item, Some(k), path, out, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn push_key(path: &mut String, k: &str) {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        path.push('.');
        path.push_str(k);
    } else {
        path.push_str("[\"");
        path.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
        path.push_str("\"]");
    }
}

/// All detectors over a string value.
fn detect(key: Option<&str>, value: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    secret::detect(key, value, &mut hits);
    pii::detect(key, value, &mut hits);
    hits
}

/// Numbers only carry PII when the key says so (cards, phones, SSNs).
fn detect_number(key: Option<&str>, text: &str) -> Vec<Hit> {
    if key.is_none_or(|k| !pii::key_has_context(k)) {
        return Vec::new();
    }
    let mut hits = Vec::new();
    pii::detect(key, text, &mut hits);
    hits
}
