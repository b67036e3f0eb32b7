//! Router errors, each with an HTTP status and an OpenAI-shaped body.

use serde::Serialize;

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 429.
    RateLimited,
    /// 5xx or 529.
    Server,
    /// 401/403: the key or account is rejected.
    Auth,
    /// 400/404/422: the request itself is wrong.
    Client,
    /// No response headers (or first token) in time.
    Timeout,
    /// Connection failed.
    Connect,
    /// The response could not be parsed, or an error arrived in the stream.
    Protocol,
    /// Skipped: breaker open.
    BreakerOpen,
    /// Skipped: no API key is configured.
    NoKey,
    /// Skipped: the deadline left no time.
    Deadline,
}

/// One attempt at one provider, as reported to clients and metrics.
/// Never contains an API key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// Provider name.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Which of the provider's keys (index, never the key).
    pub key_index: usize,
    /// HTTP status, when one arrived.
    pub status: Option<u16>,
    /// Milliseconds spent.
    pub latency_ms: u64,
    /// The failure class; `None` on success.
    pub error: Option<ErrorClass>,
    /// Short detail (provider's error message, truncated).
    pub detail: Option<String>,
}

/// Why a chat request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// The client's request is invalid (400).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The offending field.
        param: Option<String>,
    },
    /// No provider serves the model (404).
    #[error("model {0:?} is not served by any configured provider")]
    UnknownModel(String),
    /// The provider rejected the request as invalid (400-class, not retried).
    #[error("provider {provider} rejected the request: {message}")]
    Upstream {
        /// HTTP status from the provider.
        status: u16,
        /// Provider name.
        provider: String,
        /// Provider's message.
        message: String,
        /// Attempts so far.
        attempts: Vec<Attempt>,
    },
    /// Every candidate failed or was skipped (502, or 503 when nothing could
    /// be tried at all).
    #[error("all providers failed ({} attempts)", attempts.len())]
    AllFailed {
        /// Every attempt, in order.
        attempts: Vec<Attempt>,
    },
}

impl RouterError {
    /// The HTTP status for the client.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest { .. } => 400,
            Self::UnknownModel(_) => 404,
            Self::Upstream { status, .. } => *status,
            Self::AllFailed { attempts } => {
                if attempts.iter().any(|a| {
                    a.status.is_some()
                        || matches!(
                            a.error,
                            Some(ErrorClass::Timeout | ErrorClass::Connect | ErrorClass::Protocol)
                        )
                }) {
                    502
                } else {
                    503
                }
            }
        }
    }

    /// The OpenAI-shaped JSON error body (with the attempts, never keys).
    pub fn to_json(&self) -> serde_json::Value {
        let (kind, code, param) = match self {
            Self::InvalidRequest { param, .. } => {
                ("invalid_request_error", "invalid_request", param.clone())
            }
            Self::UnknownModel(_) => (
                "invalid_request_error",
                "model_not_found",
                Some("model".to_owned()),
            ),
            Self::Upstream { .. } => ("invalid_request_error", "upstream_rejected", None),
            Self::AllFailed { .. } => ("api_error", "all_providers_failed", None),
        };
        let mut err = serde_json::json!({
            "message": self.to_string(),
            "type": kind,
            "param": param,
            "code": code,
        });
        let attempts = match self {
            Self::Upstream { attempts, .. } | Self::AllFailed { attempts } => Some(attempts),
            _ => None,
        };
        if let (Some(a), Some(obj)) = (attempts, err.as_object_mut()) {
            obj.insert(
                "attempts".to_owned(),
                serde_json::to_value(a).unwrap_or_default(),
            );
        }
        serde_json::json!({ "error": err })
    }
}

/// A config file that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid router config: {field}: {message}")]
pub struct ConfigError {
    /// The offending field (dotted path).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn cfg_err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}
