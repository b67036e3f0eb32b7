//! Provider registry, region map and routing policy, from TOML or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, cfg_err};

/// Which wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI.
    Openai,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
    /// Cohere chat v2.
    Cohere,
    /// Mistral (OpenAI-compatible).
    Mistral,
    /// Azure OpenAI (deployment URLs, `api-key` header).
    AzureOpenai,
    /// HuggingFace router (OpenAI-compatible).
    Huggingface,
    /// Any other OpenAI-compatible endpoint.
    OpenaiCompatible,
    /// The in-process deterministic mock (OpenAI-compatible).
    Mock,
}

impl ProviderKind {
    /// True for kinds that speak OpenAI's chat-completions format.
    pub fn is_openai_like(self) -> bool {
        matches!(
            self,
            Self::Openai
                | Self::Mistral
                | Self::Huggingface
                | Self::OpenaiCompatible
                | Self::Mock
                | Self::AzureOpenai
        )
    }
}

/// One model a provider serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The public model name clients ask for.
    pub name: String,
    /// The provider's own name for it (Azure: the deployment); defaults to `name`.
    #[serde(default)]
    pub upstream: Option<String>,
    /// USD per 1M input tokens.
    #[serde(default)]
    pub input_per_mtok: f64,
    /// USD per 1M output tokens.
    #[serde(default)]
    pub output_per_mtok: f64,
    /// Context window in tokens.
    #[serde(default = "default_context")]
    pub context_window: u32,
}

fn default_context() -> u32 {
    128_000
}

impl ModelConfig {
    /// The name sent upstream.
    pub fn upstream_name(&self) -> &str {
        self.upstream.as_deref().unwrap_or(&self.name)
    }

    /// Cost in USD of a call.
    pub fn cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_mtok + output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// One provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Unique name.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL including the version path (`https://api.openai.com/v1`).
    pub base_url: String,
    /// Names of the secrets (environment variables, Worker secrets) holding
    /// API keys. Never the keys themselves.
    #[serde(default)]
    pub api_key_secrets: Vec<String>,
    /// Regions served (`us`, `eu`, `apac`, …).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Processes data in line with GDPR (eligible for EU data residency).
    #[serde(default)]
    pub gdpr_compliant: bool,
    /// Relative weight for `weighted-random`, and priority order tie-breaker.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Models served.
    pub models: Vec<ModelConfig>,
    /// Azure OpenAI `api-version`.
    #[serde(default)]
    pub api_version: Option<String>,
}

fn default_weight() -> f64 {
    1.0
}

/// Continent and country codes to region names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionMap {
    /// Region when nothing matches.
    pub default: String,
    /// By continent code (`EU`, `NA`, `AS`, …).
    #[serde(default)]
    pub continents: BTreeMap<String, String>,
    /// By country code; wins over the continent.
    #[serde(default)]
    pub countries: BTreeMap<String, String>,
    /// Regions where data-residency rules apply (GDPR).
    #[serde(default = "default_residency")]
    pub residency_regions: Vec<String>,
}

fn default_residency() -> Vec<String> {
    vec!["eu".to_owned()]
}

impl RegionMap {
    /// The region of a client.
    pub fn region_for(&self, continent: Option<&str>, country: Option<&str>) -> &str {
        fn by<'m>(map: &'m BTreeMap<String, String>, code: Option<&str>) -> Option<&'m str> {
            code.and_then(|c| map.get(&c.to_ascii_uppercase()))
                .map(String::as_str)
        }
        by(&self.countries, country)
            .or_else(|| by(&self.continents, continent))
            .unwrap_or(&self.default)
    }
}

/// How candidates are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Weighted sum of latency, compatibility, reliability and cost.
    #[default]
    Score,
    /// Lowest observed latency first.
    LowestLatency,
    /// Cheapest first.
    LowestCost,
    /// Random by provider weight.
    WeightedRandom,
    /// Config order.
    Priority,
}

/// Weights of the score's components (a weighted **sum**).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreWeights {
    /// Lower latency is better.
    pub latency: f64,
    /// Exact model match is better than an equivalent model.
    pub compatibility: f64,
    /// Higher success rate is better.
    pub reliability: f64,
    /// Cheaper is better (0 to ignore cost).
    pub cost: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            latency: 0.35,
            compatibility: 0.2,
            reliability: 0.35,
            cost: 0.1,
        }
    }
}

/// Routing policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingPolicy {
    /// Ordering strategy.
    #[serde(default)]
    pub strategy: Strategy,
    /// Score weights.
    #[serde(default)]
    pub weights: ScoreWeights,
    /// Requests from residency regions go only to GDPR-compliant providers.
    #[serde(default)]
    pub data_residency: bool,
    /// Equivalent models to fall back to, by requested model.
    #[serde(default)]
    pub model_fallbacks: BTreeMap<String, Vec<String>>,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        Self {
            strategy: Strategy::Score,
            weights: ScoreWeights::default(),
            data_residency: false,
            model_fallbacks: BTreeMap::new(),
        }
    }
}

/// Circuit-breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Open after this many consecutive failures.
    pub consecutive_failures: u32,
    /// Or when the error ratio over the window reaches this (0–1)…
    pub error_ratio: f64,
    /// …over the last this-many calls…
    pub window: u32,
    /// …once at least this many calls are in the window.
    pub min_calls: u32,
    /// How long an open breaker stays open before probing, in ms.
    pub reset_timeout_ms: u64,
    /// Concurrent probes allowed while half-open.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        // Tuned so that a provider failing 20% of calls at random is not
        // declared down (P(8 straight failures) = 0.2^8 ≈ 2.6e-6), while a
        // real outage opens the breaker within 8 calls.
        Self {
            consecutive_failures: 8,
            error_ratio: 0.6,
            window: 30,
            min_calls: 20,
            reset_timeout_ms: 30_000,
            half_open_probes: 1,
        }
    }
}

/// Retry and timeout settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries per provider after the first attempt.
    pub max_retries: u32,
    /// Backoff base in ms (full jitter: random in [0, min(cap, base·2^n))).
    pub backoff_base_ms: u64,
    /// Backoff cap in ms.
    pub backoff_cap_ms: u64,
    /// Statuses that are retried and then fall back to the next provider.
    pub fallback_statuses: Vec<u16>,
    /// Time to response headers, per attempt, in ms.
    pub connect_timeout_ms: u64,
    /// Time to the first streamed event, per attempt, in ms.
    pub first_token_timeout_ms: u64,
    /// Whole attempt, including the body, in ms.
    pub total_timeout_ms: u64,
    /// Default deadline for the whole request, in ms.
    pub deadline_ms: u64,
    /// Largest `Retry-After` honoured before falling back, in ms.
    pub max_retry_after_ms: u64,
    /// `max_tokens` for providers that require it when the client sent none.
    pub default_max_tokens: u32,
    /// How long a provider that answered 401/403 is skipped, in ms.
    pub auth_failure_cooldown_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 1,
            backoff_base_ms: 100,
            backoff_cap_ms: 2_000,
            fallback_statuses: vec![408, 409, 429, 500, 502, 503, 504, 529],
            connect_timeout_ms: 10_000,
            first_token_timeout_ms: 15_000,
            total_timeout_ms: 120_000,
            deadline_ms: 180_000,
            max_retry_after_ms: 10_000,
            default_max_tokens: 4_096,
            auth_failure_cooldown_ms: 300_000,
        }
    }
}

/// The whole router configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Providers, in priority order.
    pub providers: Vec<ProviderConfig>,
    /// Region map.
    pub regions: RegionMap,
    /// Routing policy.
    #[serde(default)]
    pub policy: RoutingPolicy,
    /// Breaker settings.
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// Retries and timeouts.
    #[serde(default)]
    pub retry: RetryConfig,
}

impl RouterConfig {
    /// Parses and validates TOML.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| cfg_err("(toml)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses and validates JSON.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| cfg_err("(json)", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// A provider by name.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Checks every rule; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.providers.is_empty() {
            return Err(cfg_err("providers", "configure at least one provider"));
        }
        let mut names = BTreeSet::new();
        let mut regions_served = BTreeSet::new();
        let mut models = BTreeSet::new();
        for (i, p) in self.providers.iter().enumerate() {
            let f = format!("providers[{i}]");
            if p.name.is_empty()
                || !p
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(cfg_err(
                    format!("{f}.name"),
                    "use letters, digits, '-' and '_'",
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(cfg_err(
                    format!("{f}.name"),
                    format!("duplicate provider name {:?}", p.name),
                ));
            }
            if !(p.base_url.starts_with("https://") || p.base_url.starts_with("http://")) {
                return Err(cfg_err(format!("{f}.base_url"), "must be an http(s) URL"));
            }
            if p.base_url.parse::<http::Uri>().is_err() {
                return Err(cfg_err(format!("{f}.base_url"), "is not a valid URL"));
            }
            if p.kind != ProviderKind::Mock && p.api_key_secrets.is_empty() {
                return Err(cfg_err(
                    format!("{f}.api_key_secrets"),
                    "name at least one secret holding an API key",
                ));
            }
            for (j, s) in p.api_key_secrets.iter().enumerate() {
                if s.is_empty()
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    || looks_like_key(s)
                {
                    return Err(cfg_err(
                        format!("{f}.api_key_secrets[{j}]"),
                        "must be the NAME of a secret (A-Z, 0-9, _), never a key",
                    ));
                }
            }
            if p.regions.is_empty() {
                return Err(cfg_err(format!("{f}.regions"), "list at least one region"));
            }
            if !p.weight.is_finite() || p.weight <= 0.0 {
                return Err(cfg_err(format!("{f}.weight"), "must be a positive number"));
            }
            if p.models.is_empty() {
                return Err(cfg_err(format!("{f}.models"), "list at least one model"));
            }
            for (j, m) in p.models.iter().enumerate() {
                let mf = format!("{f}.models[{j}]");
                if m.name.is_empty() {
                    return Err(cfg_err(format!("{mf}.name"), "must not be empty"));
                }
                if !(m.input_per_mtok.is_finite()
                    && m.input_per_mtok >= 0.0
                    && m.output_per_mtok.is_finite()
                    && m.output_per_mtok >= 0.0)
                {
                    return Err(cfg_err(mf, "prices must be non-negative numbers"));
                }
                models.insert(m.name.as_str());
            }
            regions_served.extend(p.regions.iter().map(String::as_str));
        }
        let all_regions = std::iter::once(&self.regions.default)
            .chain(self.regions.continents.values())
            .chain(self.regions.countries.values());
        for r in all_regions {
            if !regions_served.contains(r.as_str()) {
                return Err(cfg_err("regions", format!("region {r:?} has no provider")));
            }
        }
        for (model, fallbacks) in &self.policy.model_fallbacks {
            for m in std::iter::once(model).chain(fallbacks) {
                if !models.contains(m.as_str()) {
                    return Err(cfg_err(
                        format!("policy.model_fallbacks.{model}"),
                        format!("model {m:?} has no provider"),
                    ));
                }
            }
        }
        let w = self.policy.weights;
        if [w.latency, w.compatibility, w.reliability, w.cost]
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0)
        {
            return Err(cfg_err(
                "policy.weights",
                "weights must be non-negative numbers",
            ));
        }
        let b = self.breaker;
        if b.consecutive_failures == 0
            || b.window == 0
            || b.half_open_probes == 0
            || !(0.0..=1.0).contains(&b.error_ratio)
            || b.error_ratio == 0.0
        {
            return Err(cfg_err(
                "breaker",
                "thresholds must be positive; error_ratio in (0, 1]",
            ));
        }
        let r = &self.retry;
        if r.connect_timeout_ms == 0
            || r.first_token_timeout_ms == 0
            || r.total_timeout_ms == 0
            || r.deadline_ms == 0
        {
            return Err(cfg_err(
                "retry",
                "timeouts and the deadline must be positive",
            ));
        }
        Ok(())
    }
}

/// Catches a key pasted where a secret name belongs.
fn looks_like_key(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("sk_") || lower.starts_with("sk-") || (s.len() > 40 && !s.contains('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [regions]
        default = "us"
        continents = { EU = "eu" }

        [[providers]]
        name = "openai"
        kind = "openai"
        base_url = "https://api.openai.com/v1"
        api_key_secrets = ["OPENAI_API_KEY"]
        regions = ["us", "eu"]
        models = [{ name = "gpt-4o-mini", input_per_mtok = 0.15, output_per_mtok = 0.6 }]
    "#;

    #[test]
    fn valid_config_parses() {
        let cfg = RouterConfig::from_toml(BASE).unwrap();
        assert_eq!(cfg.regions.region_for(Some("EU"), Some("DE")), "eu");
        assert_eq!(cfg.regions.region_for(Some("NA"), None), "us");
        let m = &cfg.providers[0].models[0];
        assert!((m.cost_usd(1_000_000, 1_000_000) - 0.75).abs() < 1e-9);
    }

    #[test]
    fn errors_name_the_field() {
        let e = RouterConfig::from_toml(&BASE.replace("kind = \"openai\"", "kind = \"openia\""))
            .unwrap_err();
        assert_eq!(e.field, "(toml)");
        assert!(e.message.contains("openia"), "{e}");
        let dup = format!(
            "{BASE}\n[[providers]]\nname = \"openai\"\nkind = \"mock\"\nbase_url = \"http://127.0.0.1:1/v1\"\nregions = [\"us\"]\nmodels = [{{ name = \"m\" }}]\n"
        );
        let e = RouterConfig::from_toml(&dup).unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        let e = RouterConfig::from_toml(&BASE.replace(
            "continents = { EU = \"eu\" }",
            "continents = { EU = \"eu\", AS = \"apac\" }",
        ))
        .unwrap_err();
        assert!(e.message.contains("\"apac\" has no provider"), "{e}");
        let e = RouterConfig::from_toml(&format!(
            "{BASE}\n[policy.model_fallbacks]\ngpt-4o-mini = [\"claude\"]\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("\"claude\" has no provider"), "{e}");
        let e =
            RouterConfig::from_toml(&BASE.replace("[\"OPENAI_API_KEY\"]", "[\"sk-proj-abcdef\"]"))
                .unwrap_err();
        assert!(e.message.contains("never a key"), "{e}");
    }
}
