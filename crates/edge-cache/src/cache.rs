//! The cache itself: lookups, `get_or_fetch`, coalescing and invalidation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use edge_ports::kv::limits::{MAX_VALUE_BYTES, MIN_TTL_SECS};
use edge_ports::{AnalyticsSink, Clock, DataPoint, KvError, KvStore, ListOptions, PutOptions};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::{CacheConfig, ConfigError, Policy, Scope};
use crate::entry::{Entry, EntryMeta, STORED_HEADERS};
use crate::headers::{self, BypassReason, CacheStatus, has_directive, scale, storable_ttl};
use crate::key::{CacheRequest, KeyError, build_key};

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
enum Fetched {
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

struct Inner {
    config: CacheConfig,
    kv: Box<dyn KvStore>,
    analytics: Box<dyn AnalyticsSink>,
    clock: Box<dyn Clock>,
    /// Generation counters read from KV: key → (value, read at ms).
    generations: RefCell<HashMap<String, (u64, u64)>>,
    /// Origin fetches in progress, by cache key (single-flight).
    inflight: RefCell<HashMap<String, Fetch>>,
}

/// An edge cache over the KV, analytics and clock ports.
///
/// Cheap to clone (clones share state). Not `Send`: like a Workers isolate,
/// one instance serves one thread, and coalescing is per instance.
#[derive(Clone)]
pub struct EdgeCache {
    inner: Rc<Inner>,
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
    /// A cache with a validated configuration.
    pub fn new(
        config: CacheConfig,
        kv: impl KvStore + 'static,
        analytics: impl AnalyticsSink + 'static,
        clock: impl Clock + 'static,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Rc::new(Inner {
                config,
                kv: Box::new(kv),
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
        self.lookup_inner(name, policy, req).await.0
    }

    async fn lookup_inner(
        &self,
        name: &str,
        policy: &Policy,
        req: &CacheRequest<'_>,
    ) -> (Lookup, Option<String>) {
        let inner = &self.inner;
        if let Some(reason) = bypass_reason(policy, req) {
            return (Lookup::Bypass(reason), None);
        }
        let generation = match inner.generation(&policy_gen_key(&inner.config, name)).await {
            Ok(g) => g,
            Err(_) => return (Lookup::Bypass(BypassReason::StoreUnavailable), None),
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
            Err(KeyError::NoUser) => return (Lookup::Bypass(BypassReason::NoUser), None),
        };
        if has_directive(req.headers, "no-cache") {
            // The client asks for a fresh answer: skip the read, store the result.
            return (
                Lookup::Miss {
                    expired: false,
                    corrupt: false,
                },
                Some(key),
            );
        }
        let bytes = match inner.kv.get(&key).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                return (
                    Lookup::Miss {
                        expired: false,
                        corrupt: false,
                    },
                    Some(key),
                );
            }
            Err(_) => return (Lookup::Bypass(BypassReason::StoreUnavailable), None),
        };
        let Ok(entry) = Entry::decode(bytes) else {
            return (
                Lookup::Miss {
                    expired: false,
                    corrupt: true,
                },
                Some(key),
            );
        };
        if !inner.tags_current(&entry).await {
            return (
                Lookup::Miss {
                    expired: true,
                    corrupt: false,
                },
                Some(key),
            );
        }
        let multiplier = inner.config.multiplier(req.country, req.continent);
        let age_ms = inner.clock.now_ms().saturating_sub(entry.meta.stored_at_ms);
        let age_secs = age_ms / 1000;
        let ttl_ms = scale(entry.meta.ttl_secs, multiplier).saturating_mul(1000);
        let swr_ms = entry.meta.swr_secs.saturating_mul(1000);
        let sie_ms = entry.meta.sie_secs.saturating_mul(1000);
        let lookup = if age_ms < ttl_ms {
            Lookup::Fresh { entry, age_secs }
        } else if age_ms < ttl_ms.saturating_add(swr_ms) {
            Lookup::Stale { entry, age_secs }
        } else if age_ms < ttl_ms.saturating_add(sie_ms) {
            Lookup::StaleIfError { entry, age_secs }
        } else {
            Lookup::Miss {
                expired: true,
                corrupt: false,
            }
        };
        (lookup, Some(key))
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
        let multiplier = self.inner.config.multiplier(req.country, req.continent);
        let head = *req.method == Method::HEAD;
        let (lookup, key) = self.lookup_inner(name, policy, req).await;
        let Some(key) = key.filter(|_| !matches!(lookup, Lookup::Bypass(_))) else {
            let reason = match lookup {
                Lookup::Bypass(r) => r,
                _ => BypassReason::StoreUnavailable,
            };
            let mut response = origin(Conditional::default()).await?;
            self.inner.record(
                name,
                CacheStatus::Bypass,
                Some(reason),
                response.body().len(),
                0,
            );
            headers::decorate(
                &mut response,
                CacheStatus::Bypass,
                Some(reason),
                None,
                policy,
                multiplier,
                false,
            );
            return Ok(CacheOutcome {
                response,
                status: CacheStatus::Bypass,
                bypass: Some(reason),
                revalidation: None,
            });
        };

        let (candidate, expired, corrupt) = match lookup {
            Lookup::Fresh { entry, age_secs } => {
                return Ok(self.serve(
                    name,
                    policy,
                    multiplier,
                    req,
                    &entry,
                    age_secs,
                    CacheStatus::Hit,
                    head,
                    None,
                ));
            }
            Lookup::Stale { entry, age_secs } => {
                let fetch = self.fetch(&key, name, Some(entry.clone()), false, origin);
                let revalidation = Revalidation(Box::pin(async move {
                    let _ = fetch.await;
                }));
                return Ok(self.serve(
                    name,
                    policy,
                    multiplier,
                    req,
                    &entry,
                    age_secs,
                    CacheStatus::Stale,
                    head,
                    Some(revalidation),
                ));
            }
            Lookup::StaleIfError { entry, age_secs } => (Some((entry, age_secs)), true, false),
            Lookup::Miss { expired, corrupt } => (None, expired, corrupt),
            Lookup::Bypass(_) => (None, false, false), // handled above
        };

        let fetched = self
            .fetch(
                &key,
                name,
                candidate.as_ref().map(|(e, _)| e.clone()),
                corrupt,
                origin,
            )
            .await;
        let stale_fallback = |this: &Self| {
            candidate.as_ref().map(|(entry, age)| {
                this.serve(
                    name,
                    policy,
                    multiplier,
                    req,
                    entry,
                    *age,
                    CacheStatus::Stale,
                    head,
                    None,
                )
            })
        };
        match &*fetched {
            Fetched::Failed(e) => stale_fallback(self).ok_or_else(|| e.clone()),
            Fetched::Response { status, .. } if status.is_server_error() && candidate.is_some() => {
                stale_fallback(self).ok_or_else(|| OriginError(format!("origin answered {status}")))
            }
            Fetched::Revalidated(entry) => Ok(self.serve(
                name,
                policy,
                multiplier,
                req,
                entry,
                0,
                CacheStatus::Revalidated,
                head,
                None,
            )),
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
                let mut response = Response::new(if head { Vec::new() } else { body.clone() });
                *response.status_mut() = *status;
                *response.headers_mut() = headers.clone();
                let stored_ok = stored.is_ok();
                headers::decorate(
                    &mut response,
                    cache_status,
                    None,
                    Some(0),
                    policy,
                    multiplier,
                    stored_ok,
                );
                self.inner
                    .record(name, cache_status, stored.err(), body.len(), 0);
                Ok(CacheOutcome {
                    response,
                    status: cache_status,
                    bypass: None,
                    revalidation: None,
                })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        name: &str,
        policy: &Policy,
        multiplier: f64,
        req: &CacheRequest<'_>,
        entry: &Entry,
        age_secs: u64,
        status: CacheStatus,
        head: bool,
        revalidation: Option<Revalidation>,
    ) -> CacheOutcome {
        let not_modified = entry.meta.etag.as_deref().is_some_and(|etag| {
            req.headers
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| {
                    let t = t.trim();
                    t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
                })
        });
        let mut response = Response::new(if head || not_modified {
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
            status,
            None,
            Some(age_secs),
            policy,
            multiplier,
            true,
        );
        self.inner
            .record(name, status, None, entry.body.len(), age_secs);
        CacheOutcome {
            response,
            status,
            bypass: None,
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

    /// Invalidates every entry of a request type in O(1): bumps its
    /// generation, so old keys become unreachable and expire on their own.
    /// Other isolates see it after `generation_cache_ms` plus KV propagation
    /// (up to ~60 s).
    pub async fn invalidate_request_type(&self, request_type: &str) -> Result<u64, CacheError> {
        let (name, _) = self.inner.config.policy(request_type);
        let key = policy_gen_key(&self.inner.config, name);
        self.inner.bump(&key).await
    }

    /// Invalidates every entry carrying `tag` in O(1) (entries record their
    /// tags' generations; a newer generation makes them a miss).
    pub async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let key = tag_gen_key(&self.inner.config, tag);
        self.inner.bump(&key).await
    }

    /// Deletes the entry for one request.
    pub async fn invalidate(
        &self,
        request_type: &str,
        req: &CacheRequest<'_>,
    ) -> Result<bool, CacheError> {
        match self.key_for(request_type, req).await? {
            Some(key) => {
                self.inner.kv.delete(&key).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Deletes up to `max_deletes` cache entries whose key starts with
    /// `prefix` (for example `cache:prompt-templates:`), paging through the
    /// listing. Only this cache's keys can be purged: the prefix must start
    /// with the namespace and `:` ([`CacheError::OutsideNamespace`]
    /// otherwise), so a purge cannot reach other data sharing the KV
    /// namespace (the security log, rollout state). Returns how many keys
    /// were deleted and whether the purge is complete; call again while it
    /// is not. Eventually consistent: on Workers KV, other locations may
    /// serve deleted entries for up to ~60 s.
    pub async fn purge_prefix(
        &self,
        prefix: &str,
        max_deletes: u64,
    ) -> Result<PrefixPurge, CacheError> {
        let own = format!("{}:", self.inner.config.namespace);
        if !prefix.starts_with(&own) {
            return Err(CacheError::OutsideNamespace {
                prefix: prefix.to_owned(),
                namespace: self.inner.config.namespace.clone(),
            });
        }
        let mut deleted = 0u64;
        let mut cursor = None;
        loop {
            let page = self
                .inner
                .kv
                .list(ListOptions::prefix(prefix).cursor(cursor.take()))
                .await?;
            for k in &page.keys {
                if deleted >= max_deletes {
                    return Ok(PrefixPurge {
                        deleted,
                        complete: false,
                    });
                }
                self.inner.kv.delete(&k.name).await?;
                deleted += 1;
            }
            if page.list_complete || page.cursor.is_none() {
                return Ok(PrefixPurge {
                    deleted,
                    complete: true,
                });
            }
            cursor = page.cursor;
        }
    }
}

/// The outcome of [`EdgeCache::purge_prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixPurge {
    /// Keys deleted by this call.
    pub deleted: u64,
    /// False when `max_deletes` stopped it before the end of the listing.
    pub complete: bool,
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

fn policy_gen_key(cfg: &CacheConfig, policy: &str) -> String {
    // '_' never appears in policy names, so these keys cannot collide with
    // entry keys (`{ns}:{policy}:…`).
    format!("{}:_gen:p:{policy}", cfg.namespace)
}

fn tag_gen_key(cfg: &CacheConfig, tag: &str) -> String {
    format!("{}:_gen:t:{tag}", cfg.namespace)
}

impl Inner {
    async fn generation(&self, key: &str) -> Result<u64, CacheError> {
        let now = self.clock.now_ms();
        let memo = self.generations.borrow().get(key).copied();
        if let Some((g, _)) =
            memo.filter(|&(_, at)| now.saturating_sub(at) < self.config.generation_cache_ms)
        {
            return Ok(g);
        }
        let g = match self.kv.get(key).await? {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| CacheError::CorruptGeneration(key.to_owned()))?,
        };
        self.generations
            .borrow_mut()
            .insert(key.to_owned(), (g, now));
        Ok(g)
    }

    /// Sets a generation to a new value without read-modify-write: the clock
    /// in ms, or one more than the last value seen here if that is larger.
    async fn bump(&self, key: &str) -> Result<u64, CacheError> {
        let now = self.clock.now_ms();
        let seen = self.generations.borrow().get(key).map_or(0, |&(g, _)| g);
        let next = now.max(seen.saturating_add(1));
        self.kv
            .put(key, next.to_string().into_bytes(), PutOptions::default())
            .await?;
        self.generations
            .borrow_mut()
            .insert(key.to_owned(), (next, now));
        Ok(next)
    }

    async fn tags_current(&self, entry: &Entry) -> bool {
        for (tag, gen_at_store) in &entry.meta.tags {
            match self.generation(&tag_gen_key(&self.config, tag)).await {
                Ok(g) if g <= *gen_at_store => {}
                // Invalidated, or unknown: refetch rather than risk serving
                // something that was purged.
                _ => return false,
            }
        }
        true
    }

    /// Processes an origin result: stores it when allowed.
    async fn complete(
        &self,
        key: &str,
        policy_name: &str,
        result: OriginResult,
        old: Option<Entry>,
        corrupt: bool,
    ) -> Fetched {
        let policy = self.config.policy(policy_name).1;
        let resp = match result {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(e),
        };
        let now = self.clock.now_ms();
        if let (StatusCode::NOT_MODIFIED, Some(mut entry)) = (resp.status(), old) {
            entry.meta.stored_at_ms = now;
            let expiry = self.expiry_secs(&entry.meta);
            // If the refresh cannot be stored the old entry still serves.
            let _ = self
                .kv
                .put(key, entry.encode(), PutOptions::ttl(expiry))
                .await;
            return Fetched::Revalidated(entry);
        }
        let (parts, body) = resp.into_parts();
        let stored = match storable_ttl(parts.status, &parts.headers, policy) {
            None => Err(BypassReason::NotStorable),
            Some(ttl) => {
                let negative = matches!(parts.status.as_u16(), 404 | 410);
                let mut tags = Vec::new();
                let response_tags = parts
                    .headers
                    .get_all("cache-tag")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && t.len() <= 64)
                    .map(str::to_owned);
                for tag in policy.tags.iter().cloned().chain(response_tags) {
                    match self.generation(&tag_gen_key(&self.config, &tag)).await {
                        Ok(g) => tags.push((tag, g)),
                        // Without the tag's generation the entry could never
                        // be invalidated by tag: do not store it.
                        Err(_) => {
                            return Fetched::Response {
                                status: parts.status,
                                headers: parts.headers,
                                body,
                                stored: Err(BypassReason::StoreUnavailable),
                            };
                        }
                    }
                }
                let meta = EntryMeta {
                    status: parts.status.as_u16(),
                    headers: STORED_HEADERS
                        .iter()
                        .filter_map(|name| {
                            let v = parts.headers.get(*name)?.to_str().ok()?;
                            Some(((*name).to_owned(), v.to_owned()))
                        })
                        .collect(),
                    stored_at_ms: now,
                    ttl_secs: ttl,
                    swr_secs: if negative {
                        0
                    } else {
                        policy.stale_while_revalidate_secs
                    },
                    sie_secs: if negative {
                        0
                    } else {
                        policy.stale_if_error_secs
                    },
                    etag: parts
                        .headers
                        .get(header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    tags,
                };
                let entry = Entry { meta, body };
                let bytes = entry.encode();
                let body = entry.body;
                if bytes.len() > MAX_VALUE_BYTES {
                    if corrupt {
                        let _ = self.kv.delete(key).await;
                    }
                    return Fetched::Response {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                        stored: Err(BypassReason::TooLarge),
                    };
                }
                let expiry = self.expiry_secs(&entry.meta);
                let put = self.kv.put(key, bytes, PutOptions::ttl(expiry)).await;
                return Fetched::Response {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                    stored: put.map_err(|_| BypassReason::StoreUnavailable),
                };
            }
        };
        if corrupt {
            // Never leave an unreadable entry behind.
            let _ = self.kv.delete(key).await;
        }
        Fetched::Response {
            status: parts.status,
            headers: parts.headers,
            body,
            stored,
        }
    }

    /// KV expiration: the TTL in the longest-lived region plus the larger
    /// stale window, and at least Workers KV's 60 s.
    fn expiry_secs(&self, meta: &EntryMeta) -> u64 {
        let ttl = scale(meta.ttl_secs, self.config.max_multiplier());
        ttl.saturating_add(meta.swr_secs.max(meta.sie_secs))
            .max(MIN_TTL_SECS)
    }

    fn record(
        &self,
        policy: &str,
        status: CacheStatus,
        reason: Option<BypassReason>,
        bytes: usize,
        age_secs: u64,
    ) {
        let point = DataPoint {
            indexes: vec![policy.to_owned()],
            blobs: vec![
                policy.to_owned(),
                status.as_str().to_owned(),
                reason.map_or("", BypassReason::as_str).to_owned(),
            ],
            doubles: vec![1.0, bytes as f64, age_secs as f64],
        };
        // Analytics is best effort and must never fail a request.
        let _ = self.analytics.write(point);
    }
}
