//! Errors as HTTP responses: a status and an OpenAI-shaped JSON body
//! `{"error":{"type","message","code"}}`.

use edge_ports::KvError;
use http::{Response, StatusCode, header};
use serde_json::json;

/// An error that becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
    allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        Self {
            status,
            kind,
            code,
            message,
            allow: None,
        }
    }

    /// 400 with a machine-readable `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message.into(),
        )
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "not_found",
            message.into(),
        )
    }

    /// 500: the deployment is broken (a binding is missing, say).
    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            code,
            message.into(),
        )
    }

    /// 405 with an `Allow` header.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            format!("method not allowed; use {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON error response.
    pub fn into_response(self) -> Response<Vec<u8>> {
        let body =
            json!({"error": {"type": self.kind, "message": self.message, "code": self.code}});
        let mut resp = crate::json_response(self.status, &body);
        if let Some(allow) = self.allow {
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        resp
    }
}

impl From<KvError> for ApiError {
    fn from(e: KvError) -> Self {
        let (status, code) = match &e {
            KvError::EmptyKey => (StatusCode::BAD_REQUEST, "empty_key"),
            KvError::ReservedKey(_) => (StatusCode::BAD_REQUEST, "reserved_key"),
            KvError::KeyTooLong { .. } => (StatusCode::BAD_REQUEST, "key_too_long"),
            KvError::ValueTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "value_too_large"),
            KvError::MetadataTooLarge { .. } => (StatusCode::BAD_REQUEST, "metadata_too_large"),
            KvError::TtlTooShort { .. }
            | KvError::ExpirationTooSoon { .. }
            | KvError::ConflictingExpiry => (StatusCode::BAD_REQUEST, "invalid_expiry"),
            KvError::InvalidListLimit { .. } => (StatusCode::BAD_REQUEST, "invalid_limit"),
            KvError::InvalidCursor => (StatusCode::BAD_REQUEST, "invalid_cursor"),
            _ => {
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "api_error",
                    "kv_unavailable",
                    format!("storage is unavailable: {e}"),
                );
            }
        };
        Self::new(status, "invalid_request_error", code, e.to_string())
    }
}
