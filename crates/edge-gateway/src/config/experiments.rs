//! `[experiments]`: feature flags and A/B tests evaluated on every request.
//!
//! ```toml
//! [experiments]
//! # Request headers offered to targeting, as attribute names.
//! attributes = { "x-app-version" = "appVersion" }
//!
//! # Which GrowthBook features the gateway acts on, and how: each feature's
//! # value is read as one typed override (a string for `model`, a number
//! # for `temperature`, ...). Anything else in the payload only reaches
//! # the `x-edgeforge-features` header.
//! [[experiments.actions]]
//! feature = "chat-model"
//! action = "model"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use traffic_split::growthbook::HashEncoding;

use super::ConfigError;

/// What a feature's value changes on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// The requested model (a string the router serves).
    Model,
    /// The provider tried first (a configured provider name); the others
    /// stay as fallbacks.
    Provider,
    /// The prompt template version: `GET /api/prompts/templates/{id}`
    /// serves `{id}@{version}` when the config has it.
    TemplateVersion,
    /// `temperature` (a number in 0–2).
    Temperature,
    /// `top_p` (a number in 0–1).
    TopP,
    /// `max_tokens` (a positive integer, within `[limits.chat]`).
    MaxTokens,
    /// Response caching for the request: `"bypass"` or `"default"`.
    CachePolicy,
}

impl ActionKind {
    /// The snake-case name (as in config and reports).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Provider => "provider",
            Self::TemplateVersion => "template_version",
            Self::Temperature => "temperature",
            Self::TopP => "top_p",
            Self::MaxTokens => "max_tokens",
            Self::CachePolicy => "cache_policy",
        }
    }
}

/// One feature the gateway acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBinding {
    /// The GrowthBook feature key.
    pub feature: String,
    /// What its value overrides.
    pub action: ActionKind,
}

/// `[experiments]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentsSection {
    /// Evaluate flags and experiments on requests (default on; nothing
    /// happens until a payload or an experiment is stored).
    pub enabled: bool,
    /// How ids are hashed into buckets: `utf16` (GrowthBook's JavaScript
    /// and Python SDKs; the default) or `utf8` (differs from them on
    /// non-ASCII ids: a browser and the edge would disagree).
    pub hash_encoding: HashEncoding,
    /// Request header → attribute name, offered to targeting conditions
    /// (values cut to 128 bytes).
    pub attributes: BTreeMap<String, String>,
    /// Features acted on.
    pub actions: Vec<ActionBinding>,
    /// Secret holding the SDK connection's decryption key, for encrypted
    /// payloads (`encryptedFeatures`).
    pub decryption_key_secret: Option<String>,
    /// How long an isolate reuses the payload before checking its version
    /// in KV, ms.
    pub refresh_ms: u64,
    /// How often each isolate flushes per-arm metrics to KV, ms (0: every
    /// request, for tests).
    pub metrics_flush_ms: u64,
}

impl Default for ExperimentsSection {
    fn default() -> Self {
        Self {
            enabled: true,
            hash_encoding: HashEncoding::default(),
            attributes: BTreeMap::new(),
            actions: Vec::new(),
            decryption_key_secret: None,
            refresh_ms: 5_000,
            metrics_flush_ms: 10_000,
        }
    }
}

/// Attribute names the gateway sets itself.
pub const BUILTIN_ATTRIBUTES: &[&str] = &[
    "id",
    "country",
    "region",
    "tier",
    "device",
    "route",
    "deployment",
];

impl ExperimentsSection {
    /// The action bound to `feature`, if any.
    pub fn action(&self, feature: &str) -> Option<ActionKind> {
        self.actions
            .iter()
            .find(|b| b.feature == feature)
            .map(|b| b.action)
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = BTreeMap::new();
        for (i, b) in self.actions.iter().enumerate() {
            let field = format!("experiments.actions[{i}]");
            if b.feature.is_empty() || b.feature.len() > 64 {
                return Err(ConfigError::at(&field, "feature must be 1-64 characters"));
            }
            if let Some(prev) = seen.insert(b.feature.as_str(), i) {
                return Err(ConfigError::at(
                    &field,
                    format!(
                        "feature {:?} is already bound by experiments.actions[{prev}]",
                        b.feature
                    ),
                ));
            }
        }
        if self.attributes.len() > 32 {
            return Err(ConfigError::at(
                "experiments.attributes",
                "at most 32 headers",
            ));
        }
        for (header, attr) in &self.attributes {
            if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(ConfigError::at(
                    "experiments.attributes",
                    format!("{header:?} is not a header name"),
                ));
            }
            if BUILTIN_ATTRIBUTES.contains(&attr.as_str()) || attr.is_empty() {
                return Err(ConfigError::at(
                    "experiments.attributes",
                    format!("{attr:?} is empty or a built-in attribute"),
                ));
            }
        }
        if self.refresh_ms > 300_000 {
            return Err(ConfigError::at(
                "experiments.refresh_ms",
                "at most 300000 (a stopped experiment must reach every isolate within minutes)",
            ));
        }
        Ok(())
    }

    /// A warning to log at start, if the settings deserve one.
    pub fn warning(&self) -> Option<&'static str> {
        (self.hash_encoding == HashEncoding::Utf8).then_some(
            "experiments.hash_encoding = \"utf8\" buckets non-ASCII ids differently from GrowthBook's JavaScript and Python SDKs",
        )
    }
}
