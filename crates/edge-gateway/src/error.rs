//! Errors as HTTP responses: a status and an OpenAI-shaped JSON body
//! `{"error":{"type","message","code"}}`.

use edge_ports::KvError;
use edge_ports::http::Body;
use http::{Response, StatusCode, header};
use serde_json::json;

/// An error that becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
    headers: Vec<(&'static str, String)>,
    /// A page for browsers instead of the JSON body (a challenge page).
    html: Option<String>,
}

impl ApiError {
    /// An error with any status. `kind` is the OpenAI error `type`
    /// (`invalid_request_error`, `authentication_error`, `permission_error`,
    /// `rate_limit_error`, `api_error`, …); `code` is machine-readable.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: String,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message,
            headers: Vec::new(),
            html: None,
        }
    }

    /// Answers with `page` (HTML) instead of the JSON body: a challenge
    /// page for a browser.
    pub fn with_html(mut self, page: String) -> Self {
        self.html = Some(page);
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            code,
            message.into(),
        )
        .with_header("www-authenticate", format!("Bearer error=\"{code}\""))
    }

    /// 403.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            code,
            message.into(),
        )
    }

    /// 413.
    pub fn too_large(max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            format!("request body exceeds {max} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            "unsupported_media_type",
            format!("content-type must be {expected}"),
        )
    }

    /// 503.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            code,
            message.into(),
        )
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
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
        e.headers.push(("allow", allow.to_owned()));
        e
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON error response (`{"error":{"message","type","param","code"}}`,
    /// the shape OpenAI SDKs parse).
    pub fn into_response(self) -> Response<Body> {
        let mut resp = match self.html {
            Some(page) => {
                let mut r = Response::new(Body::from(page.into_bytes()));
                *r.status_mut() = self.status;
                crate::set(r.headers_mut(), "content-type", "text/html; charset=utf-8");
                crate::set(r.headers_mut(), "cache-control", "no-store");
                r
            }
            None => {
                let body = json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": self.code}});
                crate::json_response(self.status, &body)
            }
        };
        for (name, value) in self.headers {
            if let Ok(v) = header::HeaderValue::from_str(&value) {
                resp.headers_mut().append(name, v);
            }
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
