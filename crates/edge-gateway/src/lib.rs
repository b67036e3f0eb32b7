//! edgeforge's platform-neutral request pipeline.
//!
//! An `http::Request` plus the ports goes in, an `http::Response` comes out;
//! the Worker shells and the native host only convert their platform's types
//! and call it. Today it serves the walking-skeleton routes (health and a KV
//! round trip); the full pipeline (security, traffic split, cache, LLM router,
//! metrics) is built on the same shape.
//!
//! ```
//! use edge_gateway::Gateway;
//! use edge_ports::{ManualClock, MemoryKv};
//!
//! # edge_ports::testing::block_on(async {
//! let gateway = Gateway::new(MemoryKv::new(ManualClock::new(0)), "1.2.3");
//! let req = http::Request::get("/health").body(Vec::new()).unwrap();
//! let resp = gateway.handle(req).await;
//! assert_eq!(resp.status(), 200);
//! # });
//! ```

mod error;
mod path;

pub use error::ApiError;

use edge_ports::{AnalyticsSink, Clock, DataPoint, KvStore, PutOptions};
use http::{Method, Request, Response, StatusCode, header};
use serde_json::json;

/// The path prefix of the KV round-trip route.
pub const KV_ECHO_PREFIX: &str = "/v1/kv-echo/";

/// The request pipeline over its ports.
pub struct Gateway<K> {
    kv: K,
    version: String,
    metrics: Option<Metrics>,
}

struct Metrics {
    sink: Box<dyn AnalyticsSink>,
    clock: Box<dyn Clock>,
}

impl<K> std::fmt::Debug for Gateway<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("version", &self.version)
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl<K: KvStore> Gateway<K> {
    /// A gateway storing through `kv`, reporting `version` on `/health`.
    pub fn new(kv: K, version: impl Into<String>) -> Self {
        Self {
            kv,
            version: version.into(),
            metrics: None,
        }
    }

    /// Records one data point per request (route, method, status, duration)
    /// to `sink`, timed by `clock`.
    pub fn with_analytics(
        mut self,
        sink: impl AnalyticsSink + 'static,
        clock: impl Clock + 'static,
    ) -> Self {
        self.metrics = Some(Metrics {
            sink: Box::new(sink),
            clock: Box::new(clock),
        });
        self
    }

    /// Handles one request. Never panics; every failure is a JSON error.
    pub async fn handle(&self, req: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let started = self.metrics.as_ref().map(|m| m.clock.now_ms());
        let route = route_name(req.uri().path());
        let method = req.method().clone();
        let resp = match self.route(req).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        };
        if let (Some(m), Some(started)) = (&self.metrics, started) {
            let elapsed = m.clock.now_ms().saturating_sub(started);
            let point = DataPoint {
                indexes: vec![route.to_owned()],
                blobs: vec![route.to_owned(), method.as_str().chars().take(16).collect()],
                doubles: vec![f64::from(resp.status().as_u16()), elapsed as f64],
            };
            // Analytics must never fail a request; the point is well within
            // limits by construction, so an error here is a platform fault.
            let _ = m.sink.write(point);
        }
        resp
    }

    async fn route(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, ApiError> {
        let path = req.uri().path().to_owned();
        if path == "/health" {
            return match *req.method() {
                Method::GET | Method::HEAD => Ok(json_response(
                    StatusCode::OK,
                    &json!({"status": "ok", "version": self.version}),
                )),
                _ => Err(ApiError::method_not_allowed("GET, HEAD")),
            };
        }
        if let Some(raw_key) = path.strip_prefix(KV_ECHO_PREFIX) {
            let key = path::percent_decode(raw_key)?;
            return match *req.method() {
                Method::GET => self.kv_get(&key).await,
                Method::PUT => self.kv_put(&key, req.into_body()).await,
                _ => Err(ApiError::method_not_allowed("GET, PUT")),
            };
        }
        Err(ApiError::not_found(format!("no route for {path}")))
    }

    async fn kv_get(&self, key: &str) -> Result<Response<Vec<u8>>, ApiError> {
        match self.kv.get(key).await? {
            Some(value) => Ok(bytes_response(StatusCode::OK, value)),
            None => Err(ApiError::not_found(format!("key {key:?} not found"))),
        }
    }

    async fn kv_put(&self, key: &str, value: Vec<u8>) -> Result<Response<Vec<u8>>, ApiError> {
        let bytes = value.len();
        self.kv.put(key, value, PutOptions::default()).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"key": key, "bytes": bytes}),
        ))
    }
}

/// A low-cardinality route label for metrics (never the raw path: keys and
/// ids would explode the index).
fn route_name(path: &str) -> &'static str {
    if path == "/health" {
        "health"
    } else if path.starts_with(KV_ECHO_PREFIX) {
        "kv-echo"
    } else {
        "unmatched"
    }
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Vec<u8>> {
    let mut resp = Response::new(body.to_string().into_bytes());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    resp
}
