//! Request conversion and binding wiring.

use edge_cloudflare::{AnalyticsEngine, WorkersClock, WorkersKv};
use edge_gateway::{ApiError, Gateway};
use worker::{Context, Env, Headers, Request, Response, event};

/// The version reported by `/health`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let kv = match env.kv("EDGE_KV") {
        Ok(kv) => WorkersKv::new(kv, WorkersClock::new()),
        Err(e) => {
            let msg = format!("KV binding EDGE_KV is missing: {e}");
            return to_worker(ApiError::internal("misconfigured", msg).into_response());
        }
    };
    let mut gateway = Gateway::new(kv, VERSION);
    if let Ok(dataset) = env.analytics_engine("EDGE_ANALYTICS") {
        gateway = gateway.with_analytics(AnalyticsEngine::new(dataset), WorkersClock::new());
    }
    let req = match to_http(req).await {
        Ok(r) => r,
        Err(e) => return to_worker(e.into_response()),
    };
    to_worker(gateway.handle(req).await)
}

async fn to_http(mut req: Request) -> Result<http::Request<Vec<u8>>, ApiError> {
    let url = req
        .url()
        .map_err(|e| ApiError::bad_request("invalid_url", e.to_string()))?;
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        .uri(path_and_query);
    for (name, value) in req.headers().entries() {
        builder = builder.header(name, value);
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    builder
        .body(body)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

fn to_worker(resp: http::Response<Vec<u8>>) -> worker::Result<Response> {
    let (parts, body) = resp.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            headers.append(name.as_str(), v)?;
        }
    }
    Ok(Response::from_bytes(body)?
        .with_status(parts.status.as_u16())
        .with_headers(headers))
}
