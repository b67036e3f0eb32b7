//! The cache itself: lookups, `get_or_fetch` and coalescing. Invalidation
//! is in `invalidate.rs`, storing in `store.rs`, the local tier in `tier.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use edge_ports::{AnalyticsSink, Clock, KvError, KvStore, LocalCache};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::{CacheConfig, ConfigError, Policy, Scope};
use crate::entry::Entry;
use crate::headers::{self, BypassReason, CacheStatus, has_directive, scale};
use crate::invalidate::policy_gen_key;
use crate::key::{CacheRequest, KeyError, build_key};
use crate::tier::{CacheTier, Read};

/// The origin failed (connection, timeout, or any error the caller maps).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("origin failed: {0}")]
pub struct OriginError(pub String);

/// What the origin closure returns.
pub type OriginResult = Result<Response<Vec<u8>>, OriginError>;

/// Passed to the origin closure: when `if_none_match` is set, the origin may
/// answer `304 Not Modified` and the cached entry is reused
/// (`X-Cache-Status: REVALIDATED`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditional {
    /// The cached entity tag.
    pub if_none_match: Option<String>,
}

/// Errors of cache administration (invalidation, purge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The KV store failed.
    #[error(transparent)]
    Store(#[from] KvError),
    /// A generation counter in KV is not a number.
    #[error("generation counter {0} is corrupt; delete it to reset")]
    CorruptGeneration(String),
    /// A purge prefix outside the cache's own keys.
    #[error("purge prefix {prefix:?} is outside the cache; it must start with \"{namespace}:\"")]
    OutsideNamespace {
        /// The prefix asked for.
        prefix: String,
        /// The cache's key namespace.
        namespace: String,
    },
}

/// The result of [`EdgeCache::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Within the TTL.
    Fresh {
        /// The entry.
        entry: Entry,
        /// Seconds since it was stored.
        age_secs: u64,
    },
    /// Past the TTL but within stale-while-revalidate: serve it and refresh.
    Stale {
        /// The entry.
        entry: Entry,
        /// Seconds since it was stored.
        age_secs: u64,
    },
    /// Past stale-while-revalidate but within stale-if-error: serve it only
    /// if the origin fails.
    StaleIfError {
        /// The entry.
        entry: Entry,
        /// Seconds since it was stored.
        age_secs: u64,
    },
    /// Nothing usable. `expired` is true when an entry existed but was past
    /// every window or invalidated by tag; `corrupt` when it did not parse.
    Miss {
        /// An old entry existed.
        expired: bool,
        /// The stored bytes were not a valid entry (it will be overwritten).
        corrupt: bool,
    },
    /// The cache does not apply to this request.
    Bypass(BypassReason),
}

/// The answer to a request through the cache.
pub struct CacheOutcome {
    /// The response, with `X-Cache-Status` and cache headers set.
    pub response: Response<Vec<u8>>,
    /// What happened.
    pub status: CacheStatus,
    /// Why the cache was bypassed, if it was.
    pub bypass: Option<BypassReason>,
    /// The store that answered a hit (`None` when the origin answered).
    pub tier: Option<CacheTier>,
    /// For a stale hit: the background refresh. Hand it to `ctx.wait_until`
    /// on Workers or spawn it locally natively; dropping it cancels the
    /// refresh (the entry stays stale until the next request).
    pub revalidation: Option<Revalidation>,
}

impl std::fmt::Debug for CacheOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheOutcome")
            .field("status", &self.status)
            .field("bypass", &self.bypass)
            .field("tier", &self.tier)
            .field("response_status", &self.response.status())
            .field("revalidation", &self.revalidation.is_some())
            .finish()
    }
}

/// A background refresh of a stale entry.
pub struct Revalidation(LocalBoxFuture<'static, ()>);

impl Future for Revalidation {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_unpin(cx)
    }
}

/// What one origin fetch produced; shared by every coalesced caller.
pub(crate) enum Fetched {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
        stored: Result<(), BypassReason>,
    },
    Revalidated(Entry),
    Failed(OriginError),
}

type Fetch = Shared<LocalBoxFuture<'static, Rc<Fetched>>>;

pub(crate) struct Inner {
    pub(crate) config: CacheConfig,
    pub(crate) kv: Box<dyn KvStore>,
    /// The per-location tier in front of KV, for public policies.
    pub(crate) local: Option<Box<dyn LocalCache>>,
    pub(crate) analytics: Box<dyn AnalyticsSink>,
    pub(crate) clock: Box<dyn Clock>,
    /// Generation counters read from KV: key → (value, read at ms).
    pub(crate) generations: RefCell<HashMap<String, (u64, u64)>>,
    /// Origin fetches in progress, by cache key (single-flight).
    inflight: RefCell<HashMap<String, Fetch>>,
}

/// One request through [`EdgeCache::get_or_fetch`]: what every step needs.
struct Pass<'r, 'a> {
    name: &'r str,
    policy: &'r Policy,
    multiplier: f64,
    req: &'r CacheRequest<'a>,
    head: bool,
}

/// A stored entry about to be served.
struct Hit<'e> {
    entry: &'e Entry,
    age_secs: u64,
    status: CacheStatus,
    tier: Option<CacheTier>,
}

/// A lookup, its key, and the store that answered.
struct Found {
    lookup: Lookup,
    key: Option<String>,
    tier: Option<CacheTier>,
}

impl Found {
    fn bypass(reason: BypassReason) -> Self {
        Self {
            lookup: Lookup::Bypass(reason),
            key: None,
            tier: None,
        }
    }

    fn miss(key: String, expired: bool, corrupt: bool) -> Self {
        Self {
            lookup: Lookup::Miss { expired, corrupt },
            key: Some(key),
            tier: None,
        }
    }
}

/// An edge cache over the KV, analytics and clock ports.
///
/// Cheap to clone (clones share state). Not `Send`: like a Workers isolate,
/// one instance serves one thread, and coalescing is per instance.
#[derive(Clone)]
pub struct EdgeCache {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for EdgeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeCache")
            .field("namespace", &self.inner.config.namespace)
            .field("inflight", &self.inner.inflight.borrow().len())
            .finish_non_exhaustive()
    }
}

impl EdgeCache {
    /// A cache with a validated configuration, over KV alone.
    pub fn new(
        config: CacheConfig,
        kv: impl KvStore + 'static,
        analytics: impl AnalyticsSink + 'static,
        clock: impl Clock + 'static,
    ) -> Result<Self, ConfigError> {
        Self::build(config, kv, None, analytics, clock)
    }

    /// A cache with a per-location tier (the Workers Cache API) in front of
    /// KV for public policies: reads try it first, KV hits fill it, stores
    /// write both. Private entries stay in KV only. Invalidations reach
    /// both tiers in every location (see `invalidate.rs`).
    pub fn tiered(
        config: CacheConfig,
        local: impl LocalCache + 'static,
        kv: impl KvStore + 'static,
        analytics: impl AnalyticsSink + 'static,
        clock: impl Clock + 'static,
    ) -> Result<Self, ConfigError> {
        Self::build(config, kv, Some(Box::new(local)), analytics, clock)
    }

    fn build(
        config: CacheConfig,
        kv: impl KvStore + 'static,
        local: Option<Box<dyn LocalCache>>,
        analytics: impl AnalyticsSink + 'static,
        clock: impl Clock + 'static,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Rc::new(Inner {
                config,
                kv: Box::new(kv),
                local,
                analytics: Box::new(analytics),
                clock: Box::new(clock),
                generations: RefCell::new(HashMap::new()),
                inflight: RefCell::new(HashMap::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.inner.config
    }

    /// The number of origin fetches in progress.
    pub fn inflight(&self) -> usize {
        self.inner.inflight.borrow().len()
    }

    /// The cache key for a request (reads the policy's generation).
    pub async fn key_for(
        &self,
        request_type: &str,
        req: &CacheRequest<'_>,
    ) -> Result<Option<String>, CacheError> {
        let (name, policy) = self.inner.config.policy(request_type);
        let generation = self
            .inner
            .generation(&policy_gen_key(&self.inner.config, name))
            .await?;
        match build_key(
            &self.inner.config.namespace,
            name,
            generation,
            policy,
            &self.inner.config.drop_query_params,
            req,
        ) {
            Ok(k) => Ok(Some(k)),
            Err(KeyError::NoUser) => Ok(None),
        }
    }

    /// Looks a request up without calling the origin.
    pub async fn lookup(&self, request_type: &str, req: &CacheRequest<'_>) -> Lookup {
        let (name, policy) = self.inner.config.policy(request_type);
        self.lookup_inner(name, policy, req).await.lookup
    }

    async fn lookup_inner(&self, name: &str, policy: &Policy, req: &CacheRequest<'_>) -> Found {
        let inner = &self.inner;
        if let Some(reason) = bypass_reason(policy, req) {
            return Found::bypass(reason);
        }
        let Ok(generation) = inner.generation(&policy_gen_key(&inner.config, name)).await else {
            return Found::bypass(BypassReason::StoreUnavailable);
        };
        let key = match build_key(
            &inner.config.namespace,
            name,
            generation,
            policy,
            &inner.config.drop_query_params,
            req,
        ) {
            Ok(k) => k,
            Err(KeyError::NoUser) => return Found::bypass(BypassReason::NoUser),
        };
        if has_directive(req.headers, "no-cache") {
            // The client asks for a fresh answer: skip the read, store the result.
            return Found::miss(key, false, false);
        }
        let multiplier = inner.config.multiplier(req.country, req.continent);
        let (entry, tier, fill) = match inner.read(&key, policy.scope, multiplier).await {
            Ok(Read::Found { entry, tier, fill }) => (entry, tier, fill),
            Ok(Read::Absent) => return Found::miss(key, false, false),
            Ok(Read::Corrupt) => return Found::miss(key, false, true),
            Err(_) => return Found::bypass(BypassReason::StoreUnavailable),
        };
        if !inner.tags_current(&entry).await {
            return Found::miss(key, true, false);
        }
        let age_ms = inner.clock.now_ms().saturating_sub(entry.meta.stored_at_ms);
        let age_secs = age_ms / 1000;
        let ttl_ms = scale(entry.meta.ttl_secs, multiplier).saturating_mul(1000);
        let swr_ms = entry.meta.swr_secs.saturating_mul(1000);
        let sie_ms = entry.meta.sie_secs.saturating_mul(1000);
        if age_ms >= ttl_ms.saturating_add(swr_ms.max(sie_ms)) {
            return Found::miss(key, true, false);
        }
        if let Some(local_key) = &fill {
            inner.fill_local(local_key, &entry).await;
        }
        let lookup = if age_ms < ttl_ms {
            Lookup::Fresh { entry, age_secs }
        } else if age_ms < ttl_ms.saturating_add(swr_ms) {
            Lookup::Stale { entry, age_secs }
        } else {
            Lookup::StaleIfError { entry, age_secs }
        };
        Found {
            lookup,
            key: Some(key),
            tier: Some(tier),
        }
    }

    /// Answers a request from the cache or the origin.
    ///
    /// - Fresh: served at once (`HIT`); the origin closure is not called.
    /// - Stale within stale-while-revalidate: served at once (`STALE`) with
    ///   a [`Revalidation`] to run in the background.
    /// - Otherwise the origin is called once per key however many callers
    ///   miss concurrently (single-flight), and the response is stored when
    ///   the policy and the response allow it (`MISS`, or `EXPIRED` when an
    ///   old entry existed). If the origin fails or answers 5xx and an entry
    ///   is within stale-if-error, the stale entry is served (`STALE`).
    /// - Bypassed requests go straight to the origin (`BYPASS`).
    ///
    /// Errors only when the origin fails and nothing stale may be served.
    /// Cache (KV) failures never fail a request: they bypass.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        request_type: &str,
        req: &CacheRequest<'_>,
        origin: F,
    ) -> Result<CacheOutcome, OriginError>
    where
        F: FnOnce(Conditional) -> Fut + 'static,
        Fut: Future<Output = OriginResult> + 'static,
    {
        let (name, policy) = self.inner.config.policy(request_type);
        let pass = Pass {
            name,
            policy,
            multiplier: self.inner.config.multiplier(req.country, req.continent),
            req,
            head: *req.method == Method::HEAD,
        };
        let found = self.lookup_inner(name, policy, req).await;
        let tier = found.tier;
        let key = match (found.key, found.lookup) {
            (Some(key), lookup) if !matches!(lookup, Lookup::Bypass(_)) => (key, lookup),
            (_, lookup) => {
                let reason = match lookup {
                    Lookup::Bypass(r) => r,
                    _ => BypassReason::StoreUnavailable,
                };
                return self.bypass(&pass, reason, origin).await;
            }
        };
        let (key, lookup) = key;
        let hit = |entry, age_secs, status| Hit {
            entry,
            age_secs,
            status,
            tier,
        };
        let (candidate, expired, corrupt) = match lookup {
            Lookup::Fresh { entry, age_secs } => {
                return Ok(self.serve(&pass, hit(&entry, age_secs, CacheStatus::Hit), None));
            }
            Lookup::Stale { entry, age_secs } => {
                let fetch = self.fetch(&key, name, Some(entry.clone()), false, origin);
                let revalidation = Revalidation(Box::pin(async move {
                    let _ = fetch.await;
                }));
                let served = hit(&entry, age_secs, CacheStatus::Stale);
                return Ok(self.serve(&pass, served, Some(revalidation)));
            }
            Lookup::StaleIfError { entry, age_secs } => (Some((entry, age_secs)), true, false),
            Lookup::Miss { expired, corrupt } => (None, expired, corrupt),
            Lookup::Bypass(_) => (None, false, false), // handled above
        };
        let old = candidate.as_ref().map(|(e, _)| e.clone());
        let fetched = self.fetch(&key, name, old, corrupt, origin).await;
        let stale_fallback = || {
            candidate
                .as_ref()
                .map(|(entry, age)| self.serve(&pass, hit(entry, *age, CacheStatus::Stale), None))
        };
        match &*fetched {
            Fetched::Failed(e) => stale_fallback().ok_or_else(|| e.clone()),
            Fetched::Response { status, .. } if status.is_server_error() && candidate.is_some() => {
                stale_fallback().ok_or_else(|| OriginError(format!("origin answered {status}")))
            }
            Fetched::Revalidated(entry) => {
                let served = Hit {
                    tier: None,
                    ..hit(entry, 0, CacheStatus::Revalidated)
                };
                Ok(self.serve(&pass, served, None))
            }
            Fetched::Response {
                status,
                headers,
                body,
                stored,
            } => {
                let cache_status = if expired {
                    CacheStatus::Expired
                } else {
                    CacheStatus::Miss
                };
                let mut response = Response::new(if pass.head { Vec::new() } else { body.clone() });
                *response.status_mut() = *status;
                *response.headers_mut() = headers.clone();
                let stored_ok = stored.is_ok();
                headers::decorate(
                    &mut response,
                    cache_status,
                    None,
                    Some(0),
                    policy,
                    pass.multiplier,
                    stored_ok,
                );
                self.inner
                    .record(name, cache_status, stored.err(), None, body.len(), 0);
                Ok(CacheOutcome {
                    response,
                    status: cache_status,
                    bypass: None,
                    tier: None,
                    revalidation: None,
                })
            }
        }
    }

    /// Straight to the origin, recorded and labelled `BYPASS`.
    async fn bypass<F, Fut>(
        &self,
        pass: &Pass<'_, '_>,
        reason: BypassReason,
        origin: F,
    ) -> Result<CacheOutcome, OriginError>
    where
        F: FnOnce(Conditional) -> Fut + 'static,
        Fut: Future<Output = OriginResult> + 'static,
    {
        let mut response = origin(Conditional::default()).await?;
        let status = CacheStatus::Bypass;
        let len = response.body().len();
        self.inner
            .record(pass.name, status, Some(reason), None, len, 0);
        headers::decorate(
            &mut response,
            status,
            Some(reason),
            None,
            pass.policy,
            pass.multiplier,
            false,
        );
        Ok(CacheOutcome {
            response,
            status,
            bypass: Some(reason),
            tier: None,
            revalidation: None,
        })
    }

    fn serve(
        &self,
        pass: &Pass<'_, '_>,
        hit: Hit<'_>,
        revalidation: Option<Revalidation>,
    ) -> CacheOutcome {
        let entry = hit.entry;
        let not_modified = entry.meta.etag.as_deref().is_some_and(|etag| {
            pass.req
                .headers
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| {
                    let t = t.trim();
                    t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
                })
        });
        let mut response = Response::new(if pass.head || not_modified {
            Vec::new()
        } else {
            entry.body.clone()
        });
        *response.status_mut() = if not_modified {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::from_u16(entry.meta.status).unwrap_or(StatusCode::OK)
        };
        for (k, v) in &entry.meta.headers {
            if let (Ok(k), Ok(v)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                response.headers_mut().append(k, v);
            }
        }
        headers::decorate(
            &mut response,
            hit.status,
            None,
            Some(hit.age_secs),
            pass.policy,
            pass.multiplier,
            true,
        );
        if let Some(tier) = hit.tier {
            response
                .headers_mut()
                .insert("x-cache-tier", HeaderValue::from_static(tier.as_str()));
        }
        self.inner.record(
            pass.name,
            hit.status,
            None,
            hit.tier,
            entry.body.len(),
            hit.age_secs,
        );
        CacheOutcome {
            response,
            status: hit.status,
            bypass: None,
            tier: hit.tier,
            revalidation,
        }
    }

    /// Stores a response produced outside [`EdgeCache::get_or_fetch`], such
    /// as a streamed LLM completion assembled after its last chunk, under
    /// the same key and rules (storability, tags, size) as a fetched one.
    pub async fn store(
        &self,
        request_type: &str,
        req: &CacheRequest<'_>,
        response: Response<Vec<u8>>,
    ) -> Result<(), BypassReason> {
        let (name, policy) = self.inner.config.policy(request_type);
        if let Some(reason) = bypass_reason(policy, req) {
            return Err(reason);
        }
        let key = match self.key_for(request_type, req).await {
            Ok(Some(k)) => k,
            Ok(None) => return Err(BypassReason::NoUser),
            Err(_) => return Err(BypassReason::StoreUnavailable),
        };
        match self
            .inner
            .complete(&key, name, Ok(response), None, false)
            .await
        {
            Fetched::Response { stored, .. } => stored,
            _ => Err(BypassReason::NotStorable),
        }
    }

    /// Joins the fetch in progress for `key`, or starts one.
    fn fetch<F, Fut>(
        &self,
        key: &str,
        policy_name: &str,
        old: Option<Entry>,
        corrupt: bool,
        origin: F,
    ) -> Fetch
    where
        F: FnOnce(Conditional) -> Fut + 'static,
        Fut: Future<Output = OriginResult> + 'static,
    {
        if let Some(f) = self.inner.inflight.borrow().get(key) {
            return f.clone();
        }
        let inner = Rc::clone(&self.inner);
        let key_owned = key.to_owned();
        let policy_name = policy_name.to_owned();
        let conditional = Conditional {
            if_none_match: old.as_ref().and_then(|e| e.meta.etag.clone()),
        };
        let fut = async move {
            let result = origin(conditional).await;
            let fetched = inner
                .complete(&key_owned, &policy_name, result, old, corrupt)
                .await;
            inner.inflight.borrow_mut().remove(&key_owned);
            Rc::new(fetched)
        }
        .boxed_local()
        .shared();
        self.inner
            .inflight
            .borrow_mut()
            .insert(key.to_owned(), fut.clone());
        fut
    }
}

fn bypass_reason(policy: &Policy, req: &CacheRequest<'_>) -> Option<BypassReason> {
    if policy.ttl_secs == 0 {
        return Some(BypassReason::Disabled);
    }
    let safe = *req.method == Method::GET || *req.method == Method::HEAD;
    if !safe && req.body.is_none() {
        return Some(BypassReason::Method);
    }
    if has_directive(req.headers, "no-store") {
        return Some(BypassReason::ClientNoStore);
    }
    match policy.scope {
        Scope::Public
            if !policy.allow_authorized && req.headers.contains_key(header::AUTHORIZATION) =>
        {
            Some(BypassReason::Authorization)
        }
        Scope::Private if req.user_id.is_none_or(str::is_empty) => Some(BypassReason::NoUser),
        _ => None,
    }
}
