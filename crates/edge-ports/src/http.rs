//! The HTTP client port: an `http::Request` with a body goes in, an
//! `http::Response` with a (possibly streaming) [`Body`] comes out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::ManualClock;

/// Why an HTTP call failed before or while reading the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request could not be sent as built (bad URI, no host, bad header).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No response headers within the per-call timeout.
    #[error("no response within {after_ms} ms")]
    Timeout {
        /// The timeout that elapsed, in milliseconds.
        after_ms: u64,
    },
    /// The connection could not be made or broke before a response.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The response body failed mid-stream (truncated, reset).
    #[error("response body failed: {0}")]
    Body(String),
    /// The response body was larger than the caller allows.
    #[error("response body exceeds {max} bytes")]
    BodyTooLarge {
        /// The caller's limit.
        max: usize,
    },
}

impl HttpError {
    /// True for failures where retrying the same request elsewhere can help
    /// (timeouts, connection and mid-body failures).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Connect(_) | Self::Body(_)
        )
    }
}

/// Per-call options for [`HttpClient::send`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Give up if response headers have not arrived within this time.
    /// Reading the body is not covered: stream it and apply your own
    /// per-chunk deadline where it matters (time to first token).
    pub timeout: Option<Duration>,
}

impl SendOptions {
    /// Options with a timeout.
    pub fn timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
        }
    }
}

/// A source of body chunks, implemented by adapters that stream.
#[async_trait(?Send)]
pub trait BodyStream {
    /// The next chunk; `None` at the end of the body.
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>>;
}

enum Inner {
    Full(Option<Vec<u8>>),
    Stream(Box<dyn BodyStream>),
}

/// A response body: either already in memory or streamed chunk by chunk.
///
/// ```
/// use edge_ports::http::Body;
/// # edge_ports::testing::block_on(async {
/// let body = Body::from(b"hello".to_vec());
/// assert_eq!(body.collect(1024).await.unwrap(), b"hello");
/// # });
/// ```
pub struct Body {
    inner: Inner,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Full(b) => f
                .debug_struct("Body")
                .field("len", &b.as_ref().map_or(0, Vec::len))
                .finish(),
            Inner::Stream(_) => f.debug_struct("Body").field("stream", &true).finish(),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Self {
            inner: Inner::Full(Some(v)),
        }
    }
}

impl From<&str> for Body {
    fn from(s: &str) -> Self {
        Self::from(s.as_bytes().to_vec())
    }
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self {
            inner: Inner::Full(None),
        }
    }

    /// A streaming body.
    pub fn from_stream(stream: impl BodyStream + 'static) -> Self {
        Self {
            inner: Inner::Stream(Box::new(stream)),
        }
    }

    /// The bytes of an in-memory body, or the body back if it streams
    /// (hosts send in-memory bodies in one piece).
    pub fn try_into_bytes(self) -> Result<Vec<u8>, Self> {
        match self.inner {
            Inner::Full(b) => Ok(b.unwrap_or_default()),
            inner @ Inner::Stream(_) => Err(Self { inner }),
        }
    }

    /// The next chunk; `None` at the end. Empty chunks are skipped.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        match &mut self.inner {
            Inner::Full(b) => b.take().filter(|v| !v.is_empty()).map(Ok),
            Inner::Stream(s) => loop {
                match s.next_chunk().await {
                    Some(Ok(c)) if c.is_empty() => continue,
                    other => return other,
                }
            },
        }
    }

    /// Reads the whole body, failing with [`HttpError::BodyTooLarge`] past
    /// `max_bytes` (a hostile upstream must not exhaust memory).
    pub async fn collect(mut self, max_bytes: usize) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            let chunk = chunk?;
            if out.len().saturating_add(chunk.len()) > max_bytes {
                return Err(HttpError::BodyTooLarge { max: max_bytes });
            }
            if out.is_empty() {
                out = chunk;
            } else {
                out.extend_from_slice(&chunk);
            }
        }
        Ok(out)
    }
}

/// An outbound HTTP client.
///
/// Futures are not `Send` (Workers' `fetch` is JS-backed).
#[async_trait(?Send)]
pub trait HttpClient {
    /// Sends `req` and returns the response once its headers arrive.
    /// Non-2xx statuses are responses, not errors.
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError>;
}

#[async_trait(?Send)]
impl<C: HttpClient + ?Sized> HttpClient for Arc<C> {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        (**self).send(req, opts).await
    }
}

#[async_trait(?Send)]
impl<C: HttpClient + ?Sized> HttpClient for std::rc::Rc<C> {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        (**self).send(req, opts).await
    }
}

/// A canned response for [`ScriptedHttpClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedResponse {
    status: u16,
    headers: Vec<(String, String)>,
    /// Each chunk with the virtual delay before it arrives.
    chunks: Vec<(u64, Result<Vec<u8>, HttpError>)>,
}

impl ScriptedResponse {
    /// A response with `status` and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            chunks: Vec::new(),
        }
    }

    /// A 200 response with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Appends body bytes as one chunk.
    pub fn body(self, body: impl Into<Vec<u8>>) -> Self {
        self.chunk(body)
    }

    /// Appends one streamed chunk.
    pub fn chunk(self, chunk: impl Into<Vec<u8>>) -> Self {
        self.chunk_after(0, chunk)
    }

    /// Appends one streamed chunk that arrives `ms` (virtual) milliseconds
    /// after the previous one: a stalled or slow stream.
    pub fn chunk_after(mut self, ms: u64, chunk: impl Into<Vec<u8>>) -> Self {
        self.chunks.push((ms, Ok(chunk.into())));
        self
    }

    /// Makes the body fail after the chunks so far (a truncated stream).
    pub fn fail_body(mut self, message: &str) -> Self {
        self.chunks
            .push((0, Err(HttpError::Body(message.to_owned()))));
        self
    }
}

/// What a scripted host does for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// Answer with this response.
    Respond(ScriptedResponse),
    /// Fail with this error.
    Fail(HttpError),
    /// Take `ms` milliseconds (virtual time), then do `then`. If the call's
    /// timeout is shorter, the call fails with [`HttpError::Timeout`].
    Delay {
        /// Virtual latency in milliseconds.
        ms: u64,
        /// What happens after the delay.
        then: Box<Scripted>,
    },
}

/// A request seen by [`ScriptedHttpClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: http::Method,
    /// The full URI.
    pub uri: String,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The timeout the caller asked for.
    pub timeout: Option<Duration>,
}

#[derive(Default)]
struct ScriptState {
    queues: HashMap<String, VecDeque<Scripted>>,
    fallbacks: HashMap<String, Scripted>,
    requests: Vec<RecordedRequest>,
}

/// An [`HttpClient`] that returns queued responses, errors or delays per host.
///
/// Delays are virtual: when built [`with_clock`](Self::with_clock) the
/// [`ManualClock`] advances by the delay (or by the timeout, when the timeout
/// is shorter), so latency-dependent logic is tested without sleeping.
/// Clones share the script.
///
/// ```
/// use edge_ports::http::{HttpClient, ScriptedHttpClient, ScriptedResponse, SendOptions};
/// # edge_ports::testing::block_on(async {
/// let client = ScriptedHttpClient::new();
/// client.push("api.example.com", ScriptedResponse::new(200).body("ok"));
/// let req = http::Request::get("https://api.example.com/x").body(Vec::new()).unwrap();
/// let resp = client.send(req, SendOptions::default()).await.unwrap();
/// assert_eq!(resp.status(), 200);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct ScriptedHttpClient {
    state: Arc<Mutex<ScriptState>>,
    clock: Option<ManualClock>,
}

impl std::fmt::Debug for ScriptedHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedHttpClient").finish_non_exhaustive()
    }
}

impl ScriptedHttpClient {
    /// A client with an empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// A client whose delays advance `clock`.
    pub fn with_clock(clock: ManualClock) -> Self {
        Self {
            clock: Some(clock),
            ..Self::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScriptState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `step` for the next request to `host`.
    pub fn script(&self, host: &str, step: Scripted) -> &Self {
        self.lock()
            .queues
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push_back(step);
        self
    }

    /// Queues a response for `host`.
    pub fn push(&self, host: &str, resp: ScriptedResponse) -> &Self {
        self.script(host, Scripted::Respond(resp))
    }

    /// Queues a failure for `host`.
    pub fn fail(&self, host: &str, err: HttpError) -> &Self {
        self.script(host, Scripted::Fail(err))
    }

    /// Queues a delayed response for `host`.
    pub fn delay(&self, host: &str, ms: u64, resp: ScriptedResponse) -> &Self {
        self.script(
            host,
            Scripted::Delay {
                ms,
                then: Box::new(Scripted::Respond(resp)),
            },
        )
    }

    /// What `host` does once its queue is empty (by default: a connect error).
    pub fn fallback(&self, host: &str, step: Scripted) -> &Self {
        self.lock()
            .fallbacks
            .insert(host.to_ascii_lowercase(), step);
        self
    }

    /// Every request sent so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The number of queued steps not yet used for `host`.
    pub fn remaining(&self, host: &str) -> usize {
        self.lock()
            .queues
            .get(&host.to_ascii_lowercase())
            .map_or(0, VecDeque::len)
    }

    fn advance(&self, ms: u64) {
        if let Some(c) = &self.clock {
            c.advance_ms(ms);
        }
    }
}

struct ScriptedBody {
    chunks: VecDeque<(u64, Result<Vec<u8>, HttpError>)>,
    clock: Option<ManualClock>,
}

#[async_trait(?Send)]
impl BodyStream for ScriptedBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        let (delay, chunk) = self.chunks.pop_front()?;
        if let Some(c) = &self.clock {
            c.advance_ms(delay);
        }
        Some(chunk)
    }
}

#[async_trait(?Send)]
impl HttpClient for ScriptedHttpClient {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let host = req
            .uri()
            .host()
            .ok_or_else(|| HttpError::InvalidRequest(format!("URI {} has no host", req.uri())))?
            .to_ascii_lowercase();
        let (parts, body) = req.into_parts();
        let step = {
            let mut st = self.lock();
            st.requests.push(RecordedRequest {
                method: parts.method,
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body,
                timeout: opts.timeout,
            });
            let queued = st.queues.get_mut(&host).and_then(VecDeque::pop_front);
            queued.or_else(|| st.fallbacks.get(&host).cloned())
        };
        let mut step = step.ok_or_else(|| {
            HttpError::Connect(format!("no scripted response left for host {host}"))
        })?;
        let timeout_ms = opts
            .timeout
            .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let mut elapsed = 0u64;
        loop {
            match step {
                Scripted::Delay { ms, then } => {
                    elapsed = elapsed.saturating_add(ms);
                    if let Some(limit) = timeout_ms.filter(|l| elapsed > *l) {
                        self.advance(limit.saturating_sub(elapsed.saturating_sub(ms)));
                        return Err(HttpError::Timeout { after_ms: limit });
                    }
                    self.advance(ms);
                    step = *then;
                }
                Scripted::Fail(e) => return Err(e),
                Scripted::Respond(r) => {
                    let mut builder = http::Response::builder().status(r.status);
                    for (k, v) in &r.headers {
                        builder = builder.header(k, v);
                    }
                    let body = Body::from_stream(ScriptedBody {
                        chunks: r.chunks.into(),
                        clock: self.clock.clone(),
                    });
                    return builder.body(body).map_err(|e| {
                        HttpError::InvalidRequest(format!("bad scripted response: {e}"))
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;
    use crate::testing::block_on;

    fn get(uri: &str) -> http::Request<Vec<u8>> {
        http::Request::get(uri).body(Vec::new()).unwrap()
    }

    #[test]
    fn per_host_queues_in_order_then_connect_error() {
        block_on(async {
            let c = ScriptedHttpClient::new();
            c.push("a.test", ScriptedResponse::new(200).body("one"));
            c.push("a.test", ScriptedResponse::new(503));
            c.push("b.test", ScriptedResponse::new(201));
            let r = c
                .send(get("https://b.test/"), SendOptions::default())
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let r = c
                .send(get("https://A.test/x"), SendOptions::default())
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.into_body().collect(100).await.unwrap(), b"one");
            let r = c
                .send(get("https://a.test/"), SendOptions::default())
                .await
                .unwrap();
            assert_eq!(r.status(), 503);
            let e = c
                .send(get("https://a.test/"), SendOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(e, HttpError::Connect(_)));
            assert_eq!(c.requests().len(), 4);
            assert_eq!(c.requests()[1].uri, "https://A.test/x");
        });
    }

    #[test]
    fn delays_advance_the_clock_and_time_out() {
        block_on(async {
            let clock = ManualClock::new(0);
            let c = ScriptedHttpClient::with_clock(clock.clone());
            c.delay("slow.test", 300, ScriptedResponse::new(200));
            c.delay("slow.test", 300, ScriptedResponse::new(200));
            let opts = SendOptions::timeout(Duration::from_millis(500));
            assert!(c.send(get("http://slow.test/"), opts).await.is_ok());
            assert_eq!(clock.now_ms(), 300);
            let opts = SendOptions::timeout(Duration::from_millis(100));
            let e = c.send(get("http://slow.test/"), opts).await.unwrap_err();
            assert_eq!(e, HttpError::Timeout { after_ms: 100 });
            assert!(e.is_transient());
            assert_eq!(clock.now_ms(), 400);
        });
    }

    #[test]
    fn streams_chunks_and_truncation_and_limits() {
        block_on(async {
            let c = ScriptedHttpClient::new();
            c.push(
                "s.test",
                ScriptedResponse::new(200).chunk("ab").chunk("").chunk("cd"),
            );
            c.push(
                "s.test",
                ScriptedResponse::new(200).chunk("ab").fail_body("reset"),
            );
            c.push("s.test", ScriptedResponse::new(200).body("0123456789"));
            let mut body = c
                .send(get("http://s.test/"), SendOptions::default())
                .await
                .unwrap()
                .into_body();
            assert_eq!(body.next_chunk().await.unwrap().unwrap(), b"ab");
            assert_eq!(body.next_chunk().await.unwrap().unwrap(), b"cd");
            assert!(body.next_chunk().await.is_none());
            let body = c
                .send(get("http://s.test/"), SendOptions::default())
                .await
                .unwrap()
                .into_body();
            assert_eq!(
                body.collect(100).await,
                Err(HttpError::Body("reset".into()))
            );
            let body = c
                .send(get("http://s.test/"), SendOptions::default())
                .await
                .unwrap()
                .into_body();
            assert_eq!(
                body.collect(9).await,
                Err(HttpError::BodyTooLarge { max: 9 })
            );
        });
    }

    #[test]
    fn fallback_repeats_and_missing_host_is_invalid() {
        block_on(async {
            let c = ScriptedHttpClient::new();
            c.fallback("f.test", Scripted::Fail(HttpError::Connect("down".into())));
            for _ in 0..3 {
                let e = c
                    .send(get("http://f.test/"), SendOptions::default())
                    .await
                    .unwrap_err();
                assert_eq!(e, HttpError::Connect("down".into()));
            }
            let e = c
                .send(get("/relative"), SendOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(e, HttpError::InvalidRequest(_)));
        });
    }
}
