//! `edgectl serve`: the gateway on hyper, one current-thread runtime per
//! core, all accepting on one socket (the kernel spreads connections).
//! Each thread owns its gateway (not `Send`, like a Workers isolate) and its
//! SQLite connections; they share the database file, so KV, analytics and
//! rate limits are process-wide (and survive restarts).
//!
//! Limits: request bodies (413 JSON past `gateway.max_body_bytes`), the
//! header read timeout (also the idle keep-alive timeout), a whole-body
//! deadline (408), and a connection cap per process. The dashboard is open
//! on a loopback listener and asks for the admin routes' credentials
//! otherwise. A background loop deletes data points past the retention and
//! expired KV rows. Shutdown (Ctrl-C
//! or SIGTERM) stops accepting, lets in-flight requests finish (up to 10 s)
//! and closes idle keep-alive connections.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use edge_gateway::{ApiError, Gateway, GatewayConfig, RequestContext, Task, WaitUntil};
use edge_ports::http::Body;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use std::sync::Arc;

use crate::host::{self, EnvSecrets, SharedRateLimits, ThreadStores};
use crate::sqlite::AnalyticsWriter;

/// A response body that may stream from a non-`Send` gateway stream
/// (hyper's HTTP/1 connections on a `LocalSet` do not need `Send`).
pub(crate) enum OutBody {
    Full(Option<Bytes>),
    Stream(Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>>>>),
}

impl hyper::body::Body for OutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            OutBody::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            OutBody::Stream(s) => s
                .as_mut()
                .poll_next(cx)
                .map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, OutBody::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            OutBody::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            OutBody::Full(None) => hyper::body::SizeHint::with_exact(0),
            OutBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Worker threads (default: the number of cores).
    pub threads: usize,
    /// The SQLite database file.
    pub db: PathBuf,
    /// The gateway config.
    pub gateway: GatewayConfig,
    /// Bytes of the in-process cache tier each thread keeps in front of
    /// SQLite for public cache policies (0: SQLite alone).
    pub local_cache_bytes: usize,
    /// Secrets (environment plus overrides).
    pub secrets: EnvSecrets,
    /// Open connections allowed in total.
    pub max_connections: usize,
    /// Time allowed to read request headers (also how long an idle
    /// keep-alive connection is kept: hyper starts the timer when it waits
    /// for the next request's head).
    pub header_timeout: Duration,
    /// Time allowed to read a whole request body; past it, 408 and the
    /// connection closes (a slow body cannot pin a connection).
    pub body_timeout: Duration,
    /// How long analytics data points are kept (expired KV rows are
    /// deleted by the same loop).
    pub retention: Duration,
    /// Version reported by `/health`.
    pub version: String,
    /// Run the prober and canary controller loops (every `loop_interval`).
    pub background_loops: bool,
    /// Interval of the background loops.
    pub loop_interval: Duration,
}

/// `tokio::task::spawn_local` as the gateway's background hook.
struct LocalSpawn;

impl WaitUntil for LocalSpawn {
    fn wait_until(&self, task: Task) {
        tokio::task::spawn_local(task);
    }
}

/// Runs until `shutdown` completes. `ready` gets the bound address once
/// every thread serves.
pub fn run(
    cfg: ServeConfig,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let listener = std::net::TcpListener::bind(cfg.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let limits = Arc::new(SharedRateLimits::load(&crate::sqlite::open(&cfg.db)?)?);
    let writer = Arc::new(AnalyticsWriter::start(&cfg.db)?);
    // Fail fast on a bad config or database, before any thread starts.
    {
        let (ports, _) = host::ports(&cfg, limits.clone(), &writer)?;
        Gateway::new(cfg.gateway.clone(), ports, cfg.version.clone()).map_err(|e| e.to_string())?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let threads = cfg.threads.max(1);
    let mut handles = Vec::new();
    for i in 0..threads {
        let l = listener.try_clone().map_err(|e| e.to_string())?;
        let cfg = cfg.clone();
        let stop = stop_rx.clone();
        let ready = ready_tx.clone();
        let limits = limits.clone();
        let writer = writer.clone();
        let h = std::thread::Builder::new()
            .name(format!("edgectl-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(
                    &rt,
                    thread_main(i, l, cfg, threads, limits, writer, stop, ready),
                );
            })
            .map_err(|e| e.to_string())?;
        handles.push(h);
    }
    drop(ready_tx);
    for _ in 0..threads {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = stop_tx.send(true);
                return Err(e);
            }
            Err(_) => return Err("a server thread exited during start-up".into()),
        }
    }
    ready(addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(shutdown);
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.join();
    }
    // Nothing is lost on a clean stop: queued analytics are written and the
    // last rate-limit changes persist.
    if let Ok(writer) = Arc::try_unwrap(writer) {
        writer.join();
    }
    let mut conn = crate::sqlite::open(&cfg.db)?;
    limits.persist(&mut conn, now_ms())?;
    Ok(())
}

fn now_ms() -> u64 {
    use edge_ports::Clock;
    edge_ports::SystemClock::new().now_ms()
}

/// Persists rate-limit changes every second (thread 0) until stopped.
async fn persister(
    limits: Arc<SharedRateLimits>,
    db: std::path::PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(mut conn) = crate::sqlite::open(&db) else {
        crate::log::warn(
            "rate limits cannot be persisted",
            &[("db", db.display().to_string())],
        );
        return;
    };
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if let Err(e) = limits.persist(&mut conn, now_ms()) {
            crate::log::warn(
                "rate-limit persist failed, retried next second",
                &[("error", e)],
            );
        }
    }
}

/// Deletes data points older than `keep` and expired KV rows, every
/// `every` (thread 0), so the database does not grow without bound.
async fn retention(
    db: std::path::PathBuf,
    keep: Duration,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(conn) = crate::sqlite::open(&db) else {
        crate::log::warn(
            "retention cannot open the database",
            &[("db", db.display().to_string())],
        );
        return;
    };
    loop {
        let now = now_ms();
        let cutoff = now.saturating_sub(u64::try_from(keep.as_millis()).unwrap_or(u64::MAX));
        match crate::sqlite::apply_retention(&conn, cutoff, now / 1000, 20) {
            Ok(r) if r.datapoints + r.kv_rows > 0 => crate::log::info(
                "retention",
                &[
                    ("datapoints_deleted", r.datapoints.to_string()),
                    ("kv_rows_deleted", r.kv_rows.to_string()),
                ],
            ),
            Ok(_) => {}
            Err(e) => crate::log::warn("retention failed, retried next loop", &[("error", e)]),
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn thread_main(
    index: usize,
    listener: std::net::TcpListener,
    cfg: ServeConfig,
    threads: usize,
    limits: Arc<SharedRateLimits>,
    writer: Arc<AnalyticsWriter>,
    mut stop: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let built = host::ports(&cfg, limits.clone(), &writer).and_then(|(ports, stores)| {
        Gateway::new(cfg.gateway.clone(), ports, cfg.version.clone())
            .map(|g| (g, stores))
            .map_err(|e| e.to_string())
    });
    let (gateway, stores) = match built {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    if index == 0 && cfg.background_loops {
        tokio::task::spawn_local(background(gateway.clone(), cfg.loop_interval, stop.clone()));
    }
    let stores = Rc::new(stores);
    if index == 0 {
        tokio::task::spawn_local(persister(limits.clone(), cfg.db.clone(), stop.clone()));
        tokio::task::spawn_local(retention(
            cfg.db.clone(),
            cfg.retention,
            cfg.loop_interval,
            stop.clone(),
        ));
    }
    let active = Rc::new(Cell::new(0usize));
    let max = (cfg.max_connections / threads).max(1);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(_) => {
                        // Out of descriptors or similar: back off briefly.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if active.get() >= max {
                    drop(stream); // over the connection cap
                    continue;
                }
                let _ = stream.set_nodelay(true);
                active.set(active.get() + 1);
                let (gw, stores, active, mut stop) = (gateway.clone(), stores.clone(), active.clone(), stop.clone());
                let header_timeout = cfg.header_timeout;
                let conn_cfg = ConnConfig {
                    body_timeout: cfg.body_timeout,
                    dashboard_open: cfg.listen.ip().is_loopback(),
                };
                tokio::task::spawn_local(async move {
                    let svc = service_fn(move |req| {
                        let (gw, stores) = (gw.clone(), stores.clone());
                        async move {
                            Ok::<_, Infallible>(handle(&gw, &stores, req, peer, conn_cfg).await)
                        }
                    });
                    let mut http = http1::Builder::new();
                    http.timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .keep_alive(true);
                    let conn = http.serve_connection(TokioIo::new(stream), svc);
                    let mut conn = pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(10), conn.as_mut()).await;
                        }
                    }
                    active.set(active.get() - 1);
                });
            }
        }
    }
    // Drain: in-flight connections finish (each has its own 10 s bound).
    for _ in 0..1100 {
        if active.get() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn background(gw: Gateway, every: Duration, mut stop: watch::Receiver<bool>) {
    if let Some(w) = gw.config().experiments.warning() {
        crate::log::warn(w, &[]);
    }
    loop {
        let _ = gw.probe_providers().await;
        match gw.slo_tick().await {
            Ok(t) if !t.events.is_empty() => crate::log::warn(
                "slo alert changes",
                &[(
                    "events",
                    serde_json::to_string(&t.events).unwrap_or_default(),
                )],
            ),
            Ok(_) => {}
            Err(e) => crate::log::warn("slo step failed", &[("error", e)]),
        }
        if gw.config().traffic.rollout.is_some()
            && let Err(e) = gw.canary_tick().await
        {
            crate::log::warn("canary step failed", &[("error", e.to_string())]);
        }
        match gw.experiment_tick().await {
            Ok(steps) => {
                for step in steps.iter().filter(|s| s.action.is_some()) {
                    crate::log::warn(
                        "experiment action",
                        &[
                            ("experiment", step.experiment.clone()),
                            ("step", serde_json::to_string(step).unwrap_or_default()),
                        ],
                    );
                }
            }
            Err(e) => crate::log::warn("experiment step failed", &[("error", e.to_string())]),
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

fn full(status: u16, content_type: &str, body: Vec<u8>) -> hyper::Response<OutBody> {
    let mut r = hyper::Response::new(OutBody::Full(Some(Bytes::from(body))));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn convert(resp: http::Response<Body>) -> hyper::Response<OutBody> {
    let (parts, body) = resp.into_parts();
    let body = match body.try_into_bytes() {
        Ok(bytes) => OutBody::Full(Some(Bytes::from(bytes))),
        Err(stream) => {
            let s = futures_util::stream::unfold(stream, |mut b| async move {
                let chunk = b.next_chunk().await?;
                Some((chunk, b))
            })
            .map(|c| {
                c.map(Bytes::from)
                    .map_err(|e| std::io::Error::other(e.to_string()))
            });
            OutBody::Stream(Box::pin(s))
        }
    };
    hyper::Response::from_parts(parts, body)
}

/// What each request of a connection needs from the server's settings.
#[derive(Debug, Clone, Copy)]
struct ConnConfig {
    body_timeout: Duration,
    /// The server listens on loopback only: the dashboard needs no login.
    dashboard_open: bool,
}

/// The whole body within the size limit and the body deadline, or the
/// error response (413, 408 with `connection: close`, 400).
async fn read_body(
    incoming: Incoming,
    max: usize,
    deadline: Duration,
) -> Result<Vec<u8>, hyper::Response<OutBody>> {
    let collected = tokio::time::timeout(deadline, Limited::new(incoming, max).collect()).await;
    match collected {
        Ok(Ok(b)) => Ok(b.to_bytes().to_vec()),
        Ok(Err(e)) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let err = if too_large {
                ApiError::too_large(max)
            } else {
                ApiError::bad_request("invalid_body", format!("could not read the body: {e}"))
            };
            Err(convert(err.into_response()))
        }
        Err(_) => {
            let err = ApiError::new(
                http::StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                "request_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    deadline.as_secs_f64()
                ),
            )
            .with_header("connection", "close");
            Err(convert(err.into_response()))
        }
    }
}

async fn handle(
    gw: &Gateway,
    stores: &ThreadStores,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    conn: ConnConfig,
) -> hyper::Response<OutBody> {
    let max = gw.config().gateway.max_body_bytes;
    let (parts, incoming) = req.into_parts();
    let body = match read_body(incoming, max, conn.body_timeout).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let req = http::Request::from_parts(parts, body);
    let ctx = RequestContext {
        client_ip: Some(peer.ip().to_string()),
        ..RequestContext::default()
    };
    let path = req.uri().path();
    if path == "/dashboard" || path == "/dashboard/data" {
        if !conn.dashboard_open
            && let Err(refused) = gw.admit_as_admin(&req, &ctx, &LocalSpawn).await
        {
            return convert(refused);
        }
        let path = path.to_owned();
        return crate::dashboard::serve(gw, stores, &path).await;
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let resp = gw.handle(req, ctx, &LocalSpawn).await;
    if crate::log::access_enabled() {
        let h = resp.headers();
        let get = |n: &str| {
            h.get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        crate::log::info(
            "request",
            &[
                ("method", method),
                ("path", path),
                ("status", resp.status().as_u16().to_string()),
                ("request_id", get("x-request-id")),
                ("cache", get("x-cache-status")),
                ("timing", get("server-timing")),
            ],
        );
    }
    convert(resp)
}

pub(crate) fn json(status: u16, v: &serde_json::Value) -> hyper::Response<OutBody> {
    full(status, "application/json", v.to_string().into_bytes())
}

pub(crate) fn html(body: String) -> hyper::Response<OutBody> {
    full(200, "text/html; charset=utf-8", body.into_bytes())
}

/// The response body type (used by the dashboard).
pub(crate) type Out = hyper::Response<OutBody>;
