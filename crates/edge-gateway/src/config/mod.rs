//! The gateway's one config file (TOML or JSON), validated at start with
//! errors that name the bad field.

use std::collections::BTreeMap;

use edge_cache::CacheConfig;
use edge_waf::PromptMode;
use llm_router::RouterConfig;
use serde::{Deserialize, Serialize};
use slo_metrics::slo::SloSpec;
use traffic_split::canary::CanaryConfig;
use zt_security::authz::PolicyConfig;
use zt_security::bot::BotConfig;
use zt_security::geo::GeoConfig;
use zt_security::ratelimit::{Quota, RateLimitConfig};

mod experiments;
mod slo_alerts;
mod validate;
mod vars;

pub use experiments::{ActionBinding, ActionKind, BUILTIN_ATTRIBUTES, ExperimentsSection};
pub use slo_alerts::SloAlertsSection;

/// A config error: the field path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid gateway config at {field}: {message}")]
pub struct ConfigError {
    /// Dotted path of the bad field (`security.rate_limits`, `router.providers[1]`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn at(field: &str, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }
}

/// The whole config.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Server-level settings.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// Security stages.
    #[serde(default)]
    pub security: SecuritySection,
    /// The LLM router (providers, regions, ranking).
    pub router: RouterConfig,
    /// Cache policies.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Canary plan and experiments.
    #[serde(default)]
    pub traffic: TrafficSection,
    /// Prompt templates served by `GET /api/prompts/templates/{id}`.
    #[serde(default)]
    pub templates: BTreeMap<String, serde_json::Value>,
    /// SLO objectives (`[[slo.objectives]]`, the slo-metrics spec):
    /// evaluated by the SLO step and reported on `/status`, by
    /// `edgectl slo report` and the dashboard (default: availability
    /// 99.9%, 95% of requests under 200 ms, error rate under 1%).
    #[serde(default = "SloSpec::defaults")]
    pub slo: SloSpec,
    /// Where SLO pages and tickets go.
    #[serde(default)]
    pub slo_alerts: SloAlertsSection,
    /// LLM call tracing.
    #[serde(default)]
    pub tracing: Option<TracingSection>,
    /// Caps on what one LLM request may ask for, per route.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Flags and experiments evaluated on requests.
    #[serde(default)]
    pub experiments: ExperimentsSection,
}

/// `[limits]`: per-route caps, refused with 400 in OpenAI's error shape.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// `POST /v1/chat/completions`.
    pub chat: LlmLimits,
}

/// Caps on one LLM request.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LlmLimits {
    /// Messages in the conversation (default 4096).
    pub max_messages: usize,
    /// Choices asked for with `n` (default 16).
    pub max_choices: u32,
    /// `max_tokens` / `max_completion_tokens` (default 131 072).
    pub max_output_tokens: u32,
    /// Tool definitions (default 512).
    pub max_tools: usize,
    /// JSON values in the body (default 100 000): checked by a streaming
    /// count before the body is parsed into a tree, whose memory grows
    /// with the number of values.
    pub max_json_values: usize,
}

impl Default for LlmLimits {
    fn default() -> Self {
        Self {
            max_messages: 4096,
            max_choices: 16,
            max_output_tokens: 131_072,
            max_tools: 512,
            max_json_values: 100_000,
        }
    }
}

/// Which kind of deployment a config is for. Outside `dev`, settings that
/// only make sense on one machine are refused (a missing anonymous salt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine or a test.
    Dev,
    /// A pre-production deployment.
    Staging,
    /// Production (the default: a config must say it is for development).
    #[default]
    Production,
}

/// `[tracing]`: Langfuse ingestion of LLM calls (keys from the secrets
/// `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TracingSection {
    /// e.g. `https://cloud.langfuse.com`.
    pub langfuse_host: String,
}

/// `[gateway]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// Largest request body (default 1 MiB); larger gets 413.
    pub max_body_bytes: usize,
    /// The deployment name of this build when no rollout is running.
    pub deployment: String,
    /// Request deadline for LLM calls, ms (default 60 000).
    pub deadline_ms: u64,
    /// Origins allowed by CORS; empty = no CORS headers (same-origin only).
    pub cors_allowed_origins: Vec<String>,
    /// Local development and tests only: geo values used when the platform
    /// gives none. Never read from a request header.
    pub geo_override: Option<GeoOverride>,
    /// Rate-limit category per route group.
    pub categories: RouteCategories,
    /// The Analytics Engine dataset of request points. With the secrets
    /// `CF_ACCOUNT_ID` and `CF_ANALYTICS_TOKEN` set, the SLO step reads
    /// its windows (up to 3 days) through the SQL API instead of KV.
    pub analytics_dataset: Option<String>,
    /// What this config is for (default `production`).
    pub environment: Environment,
    /// The id of the Worker version serving this isolate, set by the
    /// Workers host from the `version_metadata` binding (never from a
    /// file). While a gradual deployment (`traffic.gradual`) splits traffic
    /// between versions, every request is labelled with the version that
    /// served it, not with a hash split of users.
    #[serde(skip)]
    pub version_id: Option<String>,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            deployment: "stable".into(),
            deadline_ms: 60_000,
            cors_allowed_origins: Vec::new(),
            geo_override: None,
            categories: RouteCategories::default(),
            analytics_dataset: None,
            environment: Environment::default(),
            version_id: None,
        }
    }
}

/// Rate-limit categories of the built-in routes; each must exist in
/// `security.rate_limits.categories`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RouteCategories {
    /// `POST /v1/chat/completions`.
    pub chat: String,
    /// `GET /v1/models`, templates, `/status`.
    pub read: String,
    /// `/admin/*`.
    pub admin: String,
}

impl Default for RouteCategories {
    fn default() -> Self {
        Self {
            chat: "chat".into(),
            read: "read".into(),
            admin: "admin".into(),
        }
    }
}

/// Geo values for local runs.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GeoOverride {
    /// Country code.
    pub country: Option<String>,
    /// Continent code.
    pub continent: Option<String>,
    /// Colo (IATA).
    pub colo: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// ASN.
    pub asn: Option<u32>,
}

/// `[security]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySection {
    /// Threat scanner.
    pub threat: ThreatSection,
    /// Bot thresholds.
    pub bot: BotConfig,
    /// Geo rules.
    pub geo: GeoConfig,
    /// Secret name of the consent HMAC key (needed when a rule requires consent).
    pub consent_secret: Option<String>,
    /// Bearer JWTs for API clients.
    pub jwt: Option<JwtSection>,
    /// Cloudflare Access (required by admin routes).
    pub access: Option<AccessSection>,
    /// Route authorization (default deny).
    pub policy: PolicyConfig,
    /// Rate-limit table.
    pub rate_limits: RateLimitConfig,
    /// Secret name of the salt for anonymous rate-limit keys and for the
    /// pseudonyms of users in traces (required outside `dev`).
    pub anonymous_salt_secret: Option<String>,
    /// Requests a client may have refused by the security stages (threat,
    /// bot, geo, authentication, authorization) before every request from
    /// its network gets 429 until the quota refills. Counted per isolate.
    pub rejections: Quota,
    /// What the per-request risk score (0–100) triggers.
    pub risk: RiskSection,
    /// Cloudflare Turnstile for challenges on browser routes.
    pub turnstile: Option<TurnstileSection>,
    /// Delivery of high-severity security events.
    pub alerts: AlertsSection,
    /// Envelope encryption of data at rest (cached private completions,
    /// security-event details).
    pub encryption: Option<EncryptionSection>,
}

/// `[security.risk]`: thresholds on the 0–100 risk score (0 turns one
/// off). At `log_at` the request is recorded with its reasons, at
/// `challenge_at` a browser gets a Turnstile challenge and an API client a
/// 403, at `block_at` everyone gets a 403.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskSection {
    /// Record the request and its reasons (default 50).
    pub log_at: u8,
    /// Challenge (default 75).
    pub challenge_at: u8,
    /// Refuse (default 90).
    pub block_at: u8,
}

impl Default for RiskSection {
    fn default() -> Self {
        Self {
            log_at: 50,
            challenge_at: 75,
            block_at: 90,
        }
    }
}

/// `[security.turnstile]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TurnstileSection {
    /// The widget's site key (public).
    pub site_key: String,
    /// Secret name of the widget's secret key.
    pub secret: String,
    /// Paths served to browsers (`/status`, a prefix with a trailing `*`):
    /// there a challenge is a Turnstile page; elsewhere it is a 403.
    pub browser_paths: Vec<String>,
    /// The siteverify endpoint (tests point it at a loopback server).
    #[serde(default = "siteverify_url")]
    pub siteverify_url: String,
    /// How long a solved challenge is honoured, seconds (default 1800).
    #[serde(default = "clearance_secs")]
    pub clearance_secs: u64,
}

fn siteverify_url() -> String {
    "https://challenges.cloudflare.com/turnstile/v0/siteverify".into()
}

fn clearance_secs() -> u64 {
    1800
}

/// `[security.alerts]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSection {
    /// Secret name of a Slack incoming-webhook URL that receives every
    /// high or critical security event (folded per client and minute like
    /// the log).
    pub slack_webhook_secret: Option<String>,
}

/// `[security.encryption]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSection {
    /// Secret name of the keyring: JSON `{"active": 2, "keys": {"1":
    /// "<base64 32 bytes>", "2": "…"}}`. The active key seals; every key
    /// in the ring opens (rotation: add a key, make it active, drop the old
    /// one once entries sealed with it have expired).
    pub keyring_secret: String,
}

impl Default for SecuritySection {
    fn default() -> Self {
        Self {
            threat: ThreatSection::default(),
            bot: BotConfig::default(),
            geo: GeoConfig::default(),
            consent_secret: None,
            jwt: None,
            access: None,
            policy: PolicyConfig::default(),
            rate_limits: RateLimitConfig::default(),
            anonymous_salt_secret: None,
            rejections: Quota {
                limit: 30,
                window_secs: 60,
                burst: None,
            },
            risk: RiskSection::default(),
            turnstile: None,
            alerts: AlertsSection::default(),
            encryption: None,
        }
    }
}

/// `[security.threat]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ThreatSection {
    /// Turn the scanner off (not recommended).
    pub enabled: bool,
    /// CRS paranoia level 1–4.
    pub paranoia: u8,
    /// Anomaly score that blocks.
    pub threshold: u32,
    /// Also scan JSON body string values.
    pub scan_json_body: bool,
    /// Bytes scanned per request (default 256 KiB); the rest is skipped
    /// and the request flagged `scan-truncated`.
    pub max_scan_bytes: usize,
    /// JSON levels walked (default 32).
    pub max_json_depth: usize,
    /// SQLi/XSS findings in the prompt content of LLM routes (messages,
    /// tool definitions): `off`, `log` (default: reported in the security
    /// log and `Server-Timing`, the request goes on) or `block`.
    pub prompt_content: PromptMode,
    /// The prompt-injection guardrail on user and tool messages: `off`,
    /// `log` (default) or `block`.
    pub prompt_injection: PromptMode,
    /// Per-route overrides of the two modes, by route name (`chat`).
    pub routes: BTreeMap<String, RouteThreat>,
}

/// `[security.threat.routes.<name>]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteThreat {
    /// Overrides `security.threat.prompt_content` on this route.
    pub prompt_content: Option<PromptMode>,
    /// Overrides `security.threat.prompt_injection` on this route.
    pub prompt_injection: Option<PromptMode>,
}

impl ThreatSection {
    /// The two modes on the LLM route `route`.
    pub fn modes(&self, route: &str) -> (PromptMode, PromptMode) {
        let over = self.routes.get(route);
        (
            over.and_then(|r| r.prompt_content)
                .unwrap_or(self.prompt_content),
            over.and_then(|r| r.prompt_injection)
                .unwrap_or(self.prompt_injection),
        )
    }
}

impl Default for ThreatSection {
    fn default() -> Self {
        Self {
            enabled: true,
            paranoia: 1,
            threshold: 5,
            scan_json_body: true,
            max_scan_bytes: 256 * 1024,
            max_json_depth: 32,
            prompt_content: PromptMode::Log,
            prompt_injection: PromptMode::Log,
            routes: BTreeMap::new(),
        }
    }
}

/// `[security.jwt]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JwtSection {
    /// Accepted issuer.
    pub issuer: String,
    /// Accepted audience.
    pub audience: String,
    /// Secret name of an HS256 key (e.g. `JWT_HS256_SECRET`).
    #[serde(default)]
    pub hs256_secret: Option<String>,
    /// A JWKS URL (RS256/ES256 keys).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Clock-skew allowance (default 60 s).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_leeway() -> u64 {
    60
}

/// `[security.access]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// Team name (`<team>.cloudflareaccess.com`).
    pub team: String,
    /// Application AUD tag.
    pub aud: String,
}

/// `[traffic]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficSection {
    /// The canary plan used by the controller.
    pub canary: CanaryConfig,
    /// The rollout whose state routes requests (by name), if any.
    pub rollout: Option<String>,
    /// The new version to roll out as that rollout's canary (against
    /// `gateway.deployment`): the controller starts the rollout when no
    /// state exists yet (rollouts declared in config, GitOps style).
    pub canary_deployment: Option<String>,
    /// Drive Cloudflare gradual deployments (Workers Versions) from the
    /// rollout: after each controller step the live version split is made to
    /// match the rollout's percentage.
    pub gradual: Option<GradualSection>,
    /// How often each isolate flushes per-deployment metrics to KV, ms
    /// (default 10 000; 0 flushes on every request, for tests).
    pub metrics_flush_ms: u64,
}

/// `[traffic.gradual]`: which Worker versions the rollout moves traffic between.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GradualSection {
    /// Cloudflare account id.
    pub account_id: String,
    /// The Worker script name (e.g. `edgeforge-api-production`).
    pub script: String,
    /// Secret name of an API token with Workers Scripts: Edit.
    pub api_token_secret: String,
    /// The version serving today.
    pub stable_version_id: String,
    /// The uploaded version being rolled out.
    pub canary_version_id: String,
}

impl Default for TrafficSection {
    fn default() -> Self {
        Self {
            canary: CanaryConfig::default(),
            rollout: None,
            canary_deployment: None,
            gradual: None,
            metrics_flush_ms: 10_000,
        }
    }
}

impl GatewayConfig {
    /// Parses TOML.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].lines().count().max(1);
                    format!("line {line}")
                })
                .unwrap_or_else(|| "(document)".into());
            ConfigError::at(&field, e.message())
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses JSON.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text)
            .map_err(|e| ConfigError::at(&format!("line {} column {}", e.line(), e.column()), e))?;
        cfg.validate()?;
        Ok(cfg)
    }
}
