//! The hyper HTTP/1.1 server: accept loop, per-connection service, routing.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::body::MockBody;
use crate::clock;
use crate::config::Config;
use crate::faults::{self, Outcome, Plan};
use crate::openai::{self, Reply};
use crate::responses::{error, injected_error, internal_error, json, stats_json, too_large};
use crate::rng::SplitMix64;
use crate::stats::Stats;

/// Largest accepted request body (1 MiB); larger bodies get a 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How long `serve` waits for open connections after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Serves until `shutdown` completes, with fresh [`Stats`] (readable at `GET /__stats`).
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_with_stats(listener, config, Arc::new(Stats::new()), shutdown).await
}

/// Serves until `shutdown` completes, counting into the caller's `stats`.
///
/// On shutdown the listener is closed, idle keep-alive connections are
/// closed, and in-flight responses get up to two seconds to finish (held
/// timeout-fault requests are released at once). Fails only if `config` does
/// not [validate](Config::validate).
pub async fn serve_with_stats(
    listener: TcpListener,
    config: Config,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut seeder = SplitMix64::new(config.seed.unwrap_or_else(clock_seed));
    let shared = Arc::new(Shared::new(config, stats));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Each connection gets its own PRNG, so a seed makes the
                    // faults on the n-th accepted connection reproducible.
                    let rng = SplitMix64::new(seeder.next_u64());
                    tokio::spawn(connection(stream, Arc::clone(&shared), rng, stop_rx.clone()));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
        }
    }
    drop(listener);
    // Tell connections to wind down; every connection task holds a receiver,
    // so `closed()` resolves once they have all finished.
    let _ = stop_tx.send(true);
    drop(stop_rx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, stop_tx.closed()).await;
    Ok(())
}

fn clock_seed() -> u64 {
    let nanos = clock::since_epoch().as_nanos() as u64;
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// State shared by all connections of one server.
struct Shared {
    config: Config,
    stats: Arc<Stats>,
    next_id: AtomicU64,
    chunk_delay: Duration,
    models_json: Bytes,
    http: http1::Builder,
}

impl Shared {
    fn new(config: Config, stats: Arc<Stats>) -> Self {
        #[derive(serde::Serialize)]
        struct Models<'a> {
            object: &'static str,
            data: [Model<'a>; 1],
        }
        #[derive(serde::Serialize)]
        struct Model<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            owned_by: &'static str,
        }
        let models = Models {
            object: "list",
            data: [Model {
                id: &config.model,
                object: "model",
                created: 0,
                owned_by: "mock",
            }],
        };
        let models_json = serde_json::to_vec(&models).unwrap_or_default();
        let mut http = http1::Builder::new();
        // The timer enables hyper's default 30 s header-read timeout.
        http.timer(TokioTimer::new()).keep_alive(true);
        Self {
            chunk_delay: Duration::from_millis(config.chunk_delay_ms),
            models_json: Bytes::from(models_json),
            config,
            stats,
            next_id: AtomicU64::new(1),
            http,
        }
    }
}

async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    rng: SplitMix64,
    mut stop: watch::Receiver<bool>,
) {
    // Small SSE frames and JSON bodies: don't let Nagle delay them.
    let _ = stream.set_nodelay(true);
    let service = ConnService {
        shared: Arc::clone(&shared),
        rng: Cell::new(rng),
        stop: stop.clone(),
    };
    let mut conn = pin!(shared.http.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        _ = conn.as_mut() => return,
        () = stopped(&mut stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Resolves once the server is shutting down (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        let is_stopped = *stop.borrow_and_update();
        if is_stopped || stop.changed().await.is_err() {
            return;
        }
    }
}

/// Error that makes hyper close the connection without a response.
#[derive(Debug, thiserror::Error)]
enum ServiceError {
    /// A timeout-fault request was released (hold limit or shutdown).
    #[error("held request released without an answer")]
    Released,
}

/// The per-connection hyper service; the PRNG lives here, so no locking.
struct ConnService {
    shared: Arc<Shared>,
    rng: Cell<SplitMix64>,
    stop: watch::Receiver<bool>,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<MockBody>, ServiceError>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Chat,
    Models,
    Health,
    Stats,
    StatsReset,
    NotAllowed(&'static str),
    NotFound,
}

fn route(method: &Method, path: &str) -> Route {
    match (path, method) {
        ("/v1/chat/completions", &Method::POST) => Route::Chat,
        ("/v1/chat/completions", _) => Route::NotAllowed("POST"),
        ("/v1/models", &Method::GET) => Route::Models,
        ("/health", &Method::GET) => Route::Health,
        ("/v1/models" | "/health", _) => Route::NotAllowed("GET"),
        ("/__stats", &Method::GET) => Route::Stats,
        ("/__stats", &Method::DELETE) => Route::StatsReset,
        ("/__stats", _) => Route::NotAllowed("GET, DELETE"),
        _ => Route::NotFound,
    }
}

impl Service<Request<Incoming>> for ConnService {
    type Response = Response<MockBody>;
    type Error = ServiceError;
    type Future = ResponseFuture;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let route = route(req.method(), req.uri().path());
        let counted = !matches!(route, Route::Stats | Route::StatsReset);
        if counted {
            shared.stats.count_request();
        }
        // Draw faults now, in request order, so a seed gives a reproducible
        // sequence on each connection.
        let mut rng = self.rng.get();
        let plan = match route {
            Route::Chat => faults::plan_chat(&shared.config, &mut rng),
            Route::Models => Plan {
                delay: faults::delay(&shared.config, &mut rng),
                outcome: Outcome::Normal,
            },
            _ => Plan {
                delay: Duration::ZERO,
                outcome: Outcome::Normal,
            },
        };
        self.rng.set(rng);
        let stop = (route == Route::Chat).then(|| self.stop.clone());
        Box::pin(async move {
            let response = match route {
                Route::Chat => chat(&shared, req, plan, stop).await?,
                Route::Models => {
                    delay(plan.delay).await;
                    json(StatusCode::OK, shared.models_json.clone())
                }
                Route::Health => json(StatusCode::OK, Bytes::from_static(br#"{"status":"ok"}"#)),
                Route::Stats => stats_json(&shared.stats),
                Route::StatsReset => {
                    shared.stats.reset();
                    stats_json(&shared.stats)
                }
                Route::NotAllowed(allow) => {
                    let message = format!(
                        "Method {} is not allowed on {} (allowed: {allow}).",
                        req.method(),
                        req.uri().path()
                    );
                    let mut resp = error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        &message,
                        "invalid_request_error",
                    );
                    resp.headers_mut()
                        .insert(ALLOW, HeaderValue::from_static(allow));
                    resp
                }
                Route::NotFound => {
                    let message = format!(
                        "Unknown request URL: {} {}.",
                        req.method(),
                        req.uri().path()
                    );
                    error(StatusCode::NOT_FOUND, &message, "invalid_request_error")
                }
            };
            if counted {
                shared.stats.count_status(response.status().as_u16());
            }
            Ok(response)
        })
    }
}

async fn delay(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

async fn chat(
    shared: &Shared,
    req: Request<Incoming>,
    plan: Plan,
    stop: Option<watch::Receiver<bool>>,
) -> Result<Response<MockBody>, ServiceError> {
    let stats = &shared.stats;
    stats.count_chat();
    let body = read_body(req).await;
    delay(plan.delay).await;
    let body = match body {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let request = match openai::parse_chat(&body) {
        Ok(request) => request,
        Err(message) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &message,
                "invalid_request_error",
            ));
        }
    };
    match plan.outcome {
        Outcome::Timeout => {
            stats.count_injected_timeout();
            hold(shared.config.timeout_hold, stop).await;
            return Err(ServiceError::Released);
        }
        Outcome::Error(status) => {
            stats.count_injected_error();
            return Ok(injected_error(status));
        }
        Outcome::Normal | Outcome::Truncate => {}
    }
    let truncate = plan.outcome == Outcome::Truncate;
    let id = format!(
        "chatcmpl-mock-{}",
        shared.next_id.fetch_add(1, Ordering::Relaxed)
    );
    let reply = Reply::new(&request, id, clock::unix_secs(), &shared.config.model);
    if request.stream {
        let Ok(mut frames) = reply.sse_frames(shared.config.stream_chunks, request.include_usage)
        else {
            return Ok(internal_error());
        };
        stats.count_streamed();
        let body = if truncate {
            stats.count_truncated();
            frames.truncate(2); // role chunk + first content chunk
            MockBody::truncated(frames, shared.chunk_delay)
        } else {
            MockBody::frames(frames, shared.chunk_delay)
        };
        let mut resp = Response::new(body);
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(resp);
    }
    let Ok(json_body) = reply.completion_json() else {
        return Ok(internal_error());
    };
    if !truncate {
        return Ok(json(StatusCode::OK, json_body));
    }
    stats.count_truncated();
    // Declare the full length, send half, then drop the connection.
    let full_len = HeaderValue::from(json_body.len());
    let half = json_body.slice(..json_body.len() / 2);
    let mut resp = Response::new(MockBody::truncated(vec![half], Duration::ZERO));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(CONTENT_LENGTH, full_len);
    Ok(resp)
}

/// Holds a timeout-fault request until `limit`, or until the server stops.
/// hyper drops this future (and the connection) if the client goes away.
async fn hold(limit: Duration, stop: Option<watch::Receiver<bool>>) {
    match stop {
        Some(mut stop) => {
            tokio::select! {
                () = tokio::time::sleep(limit) => {}
                () = stopped(&mut stop) => {}
            }
        }
        None => tokio::time::sleep(limit).await,
    }
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Response<MockBody>> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Could not read the request body: {e}."),
            "invalid_request_error",
        )),
    }
}
