//! `fetch` adapter with per-call timeouts and streaming bodies.

use std::time::Duration;

use async_trait::async_trait;
use edge_ports::http::{Body, BodyStream, HttpClient, HttpError, SendOptions};
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use worker::{AbortController, ByteStream, Delay, Fetch, Headers, Method, Request, RequestInit};

/// An [`HttpClient`] over the Workers `fetch` API.
///
/// The per-call timeout races the response headers against a timer and aborts
/// the request through an `AbortSignal` when the timer wins. Bodies stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkersFetch;

struct WorkersBody(ByteStream);

#[async_trait(?Send)]
impl BodyStream for WorkersBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        self.0
            .next()
            .await
            .map(|r| r.map_err(|e| HttpError::Body(e.to_string())))
    }
}

fn to_worker_request(req: http::Request<Vec<u8>>) -> Result<Request, HttpError> {
    let (parts, body) = req.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().map_err(|_| {
            HttpError::InvalidRequest(format!("header {name} is not visible ASCII"))
        })?;
        headers
            .append(name.as_str(), value)
            .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(parts.method.as_str().to_owned()))
        .with_headers(headers);
    if !body.is_empty() {
        let array = worker::js_sys::Uint8Array::from(body.as_slice());
        init.with_body(Some(array.into()));
    }
    Request::new_with_init(&parts.uri.to_string(), &init)
        .map_err(|e| HttpError::InvalidRequest(e.to_string()))
}

#[async_trait(?Send)]
impl HttpClient for WorkersFetch {
    async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        opts: SendOptions,
    ) -> Result<http::Response<Body>, HttpError> {
        let request = to_worker_request(req)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(request);
        let sent = fetch.send_with_signal(&signal);
        let result = match opts.timeout {
            None => sent.await,
            Some(timeout) => {
                let timer = Delay::from(timeout);
                match select(Box::pin(sent), Box::pin(timer)).await {
                    Either::Left((r, _)) => r,
                    Either::Right(((), _)) => {
                        controller.abort();
                        return Err(HttpError::Timeout {
                            after_ms: millis(timeout),
                        });
                    }
                }
            }
        };
        let mut resp = result.map_err(|e| HttpError::Connect(e.to_string()))?;
        let mut builder = http::Response::builder().status(resp.status_code());
        for (name, value) in resp.headers().entries() {
            builder = builder.header(name, value);
        }
        let body = match resp.stream() {
            Ok(stream) => Body::from_stream(WorkersBody(stream)),
            // A response without a body (204, HEAD) has no stream.
            Err(_) => Body::empty(),
        };
        builder
            .body(body)
            .map_err(|e| HttpError::Connect(format!("bad upstream response: {e}")))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
