//! Canned responses: JSON bodies, OpenAI-style errors, injected faults.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use hyper::ext::ReasonPhrase;

use crate::body::MockBody;
use crate::openai;
use crate::server::MAX_BODY_BYTES;
use crate::stats::Stats;

/// 413 for bodies over [`MAX_BODY_BYTES`].
pub(crate) fn too_large() -> Response<MockBody> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("Request body is larger than the {MAX_BODY_BYTES} byte limit."),
        "invalid_request_error",
    )
}

/// An injected fault status (429 adds `Retry-After: 1`).
pub(crate) fn injected_error(status: u16) -> Response<MockBody> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (message, kind) = match status {
        429 => (
            "Rate limit reached (injected by mock-upstream).".to_owned(),
            "rate_limit_error",
        ),
        529 => (
            "Overloaded (injected by mock-upstream).".to_owned(),
            "server_error",
        ),
        _ => (
            format!(
                "The server had an error while processing your request (injected by mock-upstream, status {status})."
            ),
            "server_error",
        ),
    };
    let mut resp = error(code, &message, kind);
    if code.canonical_reason().is_none() {
        // hyper would print `<none>`; 529 is Anthropic's "overloaded".
        const OVERLOADED: ReasonPhrase = ReasonPhrase::from_static(b"Overloaded");
        const ERROR: ReasonPhrase = ReasonPhrase::from_static(b"Error");
        let reason = if status == 529 { OVERLOADED } else { ERROR };
        resp.extensions_mut().insert(reason);
    }
    if status == 429 {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

/// 500 when a reply cannot be rendered (should not happen).
pub(crate) fn internal_error() -> Response<MockBody> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "mock-upstream failed to render its reply.",
        "server_error",
    )
}

/// An OpenAI-style error JSON response.
pub(crate) fn error(status: StatusCode, message: &str, kind: &str) -> Response<MockBody> {
    json(status, openai::error_json(message, kind))
}

/// The `/__stats` snapshot as JSON.
pub(crate) fn stats_json(stats: &Stats) -> Response<MockBody> {
    match serde_json::to_vec(&stats.snapshot()) {
        Ok(body) => json(StatusCode::OK, Bytes::from(body)),
        Err(_) => internal_error(),
    }
}

/// A complete `application/json` response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
