//! The upstream HTTP client: hyper with keep-alive connection pooling, and
//! TLS through rustls (ring) with the system's root certificates.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use edge_ports::HttpError;
use edge_ports::http::{Body, BodyStream, HttpClient, SendOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Default per-request timeout when the caller gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A pooled hyper client (one per thread).
#[derive(Clone)]
pub struct HyperClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperClient").finish_non_exhaustive()
    }
}

impl HyperClient {
    /// A client keeping up to 64 idle connections per host for 90 s, with
    /// TLS trusting the system's roots (with none readable, https upstreams
    /// fail their handshake with a clear error while http keeps working).
    pub fn new() -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        http.enforce_http(false);
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(b) => b,
            Err(_) => {
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config_without_roots()?)
            }
        };
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        Ok(Self { inner })
    }
}

struct IncomingStream(Incoming);

#[async_trait(?Send)]
impl BodyStream for IncomingStream {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        loop {
            match self.0.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        return Some(Ok(data.to_vec()));
                    }
                    // Trailers: skip.
                }
                Err(e) => return Some(Err(HttpError::Body(e.to_string()))),
            }
        }
    }
}

#[async_trait(?Send)]
impl HttpClient for HyperClient {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let (parts, body) = req.into_parts();
        let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let timeout = opts.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let resp = match tokio::time::timeout(timeout, self.inner.request(req)).await {
            Err(_) => {
                return Err(HttpError::Timeout {
                    after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                });
            }
            Ok(Err(e)) => return Err(HttpError::Connect(e.to_string())),
            Ok(Ok(r)) => r,
        };
        let (parts, incoming) = resp.into_parts();
        Ok(http::Response::from_parts(
            parts,
            Body::from_stream(IncomingStream(incoming)),
        ))
    }
}

fn config_without_roots() -> Result<rustls::ClientConfig, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}
