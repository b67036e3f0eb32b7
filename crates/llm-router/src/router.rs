//! Execution: ranked candidates, retries with backoff, breakers, key
//! rotation, deadlines, time-to-first-token, and streaming.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use edge_ports::http::{Body, HttpClient, SendOptions};
use edge_ports::{Clock, HttpError, KvStore, ListOptions, Random, Timer};
use futures_util::future::{Either, select};

use crate::breaker::{Breaker, BreakerStore, SharedBreaker, Transition};
use crate::config::{ProviderConfig, ProviderKind, RouterConfig};
use crate::error::{Attempt, ErrorClass, RouterError};
use crate::openai::{ChatChunk, ChatRequest, ChatResponse, SSE_DONE, Usage};
use crate::providers::{self, StreamOut, StreamTranslator, Target, truncate};
use crate::select::{self, Observed};
use crate::sse::SseParser;
use crate::stats::ProviderStats;

/// Largest non-streamed provider response read into memory.
const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// How often health records and shared breaker state are re-read from KV.
const REFRESH_MS: u64 = 10_000;

/// Where API keys come from (environment variables natively, Worker secrets
/// on Workers). Keys are looked up by the names in the config.
pub trait Secrets {
    /// The secret named `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

impl Secrets for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// Who is asking, from where, and by when.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Client continent code.
    pub continent: Option<String>,
    /// Client country code.
    pub country: Option<String>,
    /// Budget for the whole request in ms (default: the config's deadline).
    pub deadline_ms: Option<u64>,
    /// A provider to try first when it can serve the model (an experiment
    /// arm's route); the rest of the ranking stays as fallbacks.
    pub prefer_provider: Option<String>,
}

/// A successful answer.
pub struct ChatOutcome {
    /// The provider that answered.
    pub provider: String,
    /// The upstream model that answered.
    pub model: String,
    /// Every attempt, including the successful one.
    pub attempts: Vec<Attempt>,
    /// The ranking, best first, with the score components.
    pub decision: Vec<String>,
    /// Translation notes (e.g. a clamped temperature).
    pub notes: Vec<String>,
    /// The answer.
    pub body: OutcomeBody,
}

impl std::fmt::Debug for ChatOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatOutcome")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("attempts", &self.attempts)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

/// A complete response or a stream.
// One value per request, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum OutcomeBody {
    /// Non-streamed.
    Complete {
        /// The OpenAI-format response.
        response: ChatResponse,
        /// Cost in USD from the price table.
        cost_usd: f64,
    },
    /// Streamed: OpenAI SSE bytes.
    Stream(ChatStream),
}

struct State {
    stats: HashMap<String, ProviderStats>,
    breakers: HashMap<String, Breaker>,
    key_cursor: HashMap<String, usize>,
    refreshed_at: Option<u64>,
    seq: u64,
}

struct Inner {
    cfg: RouterConfig,
    http: Box<dyn HttpClient>,
    clock: Box<dyn Clock>,
    timer: Box<dyn Timer>,
    random: Box<dyn Random>,
    secrets: Box<dyn Secrets>,
    kv: Option<Box<dyn KvStore>>,
    breakers: Box<dyn BreakerStore>,
    state: RefCell<State>,
}

/// The LLM router. Cheap to clone; not `Send` (one per isolate or thread).
#[derive(Clone)]
pub struct Router {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("providers", &self.inner.cfg.providers.len())
            .finish_non_exhaustive()
    }
}

/// The ports a router needs.
pub struct Ports {
    /// Outbound HTTP.
    pub http: Box<dyn HttpClient>,
    /// Time.
    pub clock: Box<dyn Clock>,
    /// Sleeping (backoff, timeouts).
    pub timer: Box<dyn Timer>,
    /// Jitter and weighted-random.
    pub random: Box<dyn Random>,
    /// API keys by secret name.
    pub secrets: Box<dyn Secrets>,
    /// Health records and reliability counters written by the prober.
    pub kv: Option<Box<dyn KvStore>>,
    /// Shared breaker state.
    pub breakers: Box<dyn BreakerStore>,
}

enum Fail {
    /// Try again (same provider after backoff, then the next).
    Retry {
        class: ErrorClass,
        status: Option<u16>,
        retry_after_ms: Option<u64>,
        detail: String,
    },
    /// Rotate to the provider's next key, else mark unhealthy and move on.
    Auth { status: u16, detail: String },
    /// 429: rotate key first, then retry with Retry-After.
    RateLimited {
        retry_after_ms: Option<u64>,
        detail: String,
    },
    /// The request is wrong: return to the client.
    Client { status: u16, detail: String },
    /// Move to the next provider without retrying here.
    Next {
        class: ErrorClass,
        status: Option<u16>,
        detail: String,
    },
}

impl Router {
    /// A router over a validated config.
    pub fn new(cfg: RouterConfig, ports: Ports) -> Result<Self, crate::ConfigError> {
        cfg.validate()?;
        Ok(Self {
            inner: Rc::new(Inner {
                cfg,
                http: ports.http,
                clock: ports.clock,
                timer: ports.timer,
                random: ports.random,
                secrets: ports.secrets,
                kv: ports.kv,
                breakers: ports.breakers,
                state: RefCell::new(State {
                    stats: HashMap::new(),
                    breakers: HashMap::new(),
                    key_cursor: HashMap::new(),
                    refreshed_at: None,
                    seq: 0,
                }),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.inner.cfg
    }

    /// Every model name served, for `GET /v1/models`.
    pub fn models(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for p in &self.inner.cfg.providers {
            for m in &p.models {
                if !out.iter().any(|(n, _)| n == &m.name) {
                    out.push((m.name.clone(), p.name.clone()));
                }
            }
        }
        out
    }

    /// Answers a chat request: the ranked regional pool, then fallbacks,
    /// each with retries; the first success wins.
    pub async fn chat(
        &self,
        req: ChatRequest,
        ctx: &RequestContext,
    ) -> Result<ChatOutcome, RouterError> {
        validate(&req)?;
        let inner = &self.inner;
        inner.refresh().await;
        let start = inner.clock.now_ms();
        let deadline = start.saturating_add(ctx.deadline_ms.unwrap_or(inner.cfg.retry.deadline_ms));
        let region = inner
            .cfg
            .regions
            .region_for(ctx.continent.as_deref(), ctx.country.as_deref())
            .to_owned();
        let residency = inner.cfg.policy.data_residency
            && inner.cfg.regions.residency_regions.contains(&region);
        let now = start;
        let observe = |name: &str| inner.observe(name, now);
        let mut ranked = select::rank(
            &inner.cfg,
            &req.model,
            &region,
            residency,
            &observe,
            inner.random.as_ref(),
        );
        // Panic mode (as in Envoy): when every candidate is marked down,
        // trying them beats failing every request until a breaker resets.
        let mut panic_mode = false;
        if ranked.is_empty() {
            let everyone = |name: &str| Observed {
                available: true,
                ..inner.observe(name, now)
            };
            ranked = select::rank(
                &inner.cfg,
                &req.model,
                &region,
                residency,
                &everyone,
                inner.random.as_ref(),
            );
            panic_mode = true;
        }
        if ranked.is_empty() {
            return Err(RouterError::UnknownModel(req.model.clone()));
        }
        if let Some(first) = ctx.prefer_provider.as_deref()
            && let Some(i) = ranked.iter().position(|c| c.provider.name == first)
        {
            let preferred = ranked.remove(i);
            ranked.insert(0, preferred);
        }
        let decision: Vec<String> = ranked.iter().map(select::Candidate::reason).collect();
        let mut attempts = Vec::new();
        for cand in &ranked {
            if let Some(done) = self
                .try_provider(
                    cand.provider,
                    cand.model,
                    &req,
                    deadline,
                    panic_mode,
                    &mut attempts,
                )
                .await?
            {
                let (body, notes) = done;
                return Ok(ChatOutcome {
                    provider: cand.provider.name.clone(),
                    model: cand.model.upstream_name().to_owned(),
                    attempts,
                    decision,
                    notes,
                    body,
                });
            }
            if inner.clock.now_ms() >= deadline {
                attempts.push(skipped(
                    cand.provider,
                    cand.model,
                    ErrorClass::Deadline,
                    "request deadline reached",
                ));
                break;
            }
        }
        Err(RouterError::AllFailed { attempts })
    }

    /// Tries one provider with retries and key rotation. `Ok(None)` means
    /// "move on to the next candidate".
    async fn try_provider(
        &self,
        p: &ProviderConfig,
        m: &crate::config::ModelConfig,
        req: &ChatRequest,
        deadline: u64,
        force: bool,
        attempts: &mut Vec<Attempt>,
    ) -> Result<Option<(OutcomeBody, Vec<String>)>, RouterError> {
        let inner = &self.inner;
        let keys: Vec<String> = p
            .api_key_secrets
            .iter()
            .filter_map(|s| inner.secrets.get(s))
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() && p.kind != ProviderKind::Mock {
            attempts.push(skipped(
                p,
                m,
                ErrorClass::NoKey,
                "no API key is set for this provider",
            ));
            return Ok(None);
        }
        let key_count = keys.len().max(1);
        let mut key_index = {
            let mut st = inner.state.borrow_mut();
            let c = st.key_cursor.entry(p.name.clone()).or_insert(0);
            let k = *c % key_count;
            *c = c.wrapping_add(1);
            k
        };
        let mut keys_tried = 1;
        let mut retries = 0;
        loop {
            let now = inner.clock.now_ms();
            if now >= deadline {
                return Ok(None);
            }
            let acquired = inner
                .state
                .borrow_mut()
                .breakers
                .entry(p.name.clone())
                .or_insert_with(|| Breaker::new(inner.cfg.breaker))
                .try_acquire(now);
            if !acquired && !force {
                attempts.push(skipped(
                    p,
                    m,
                    ErrorClass::BreakerOpen,
                    "circuit breaker open",
                ));
                return Ok(None);
            }
            let key = keys.get(key_index).map_or("", String::as_str);
            let started = now;
            let result = self.attempt(p, m, key, req, deadline).await;
            let latency = inner.clock.now_ms().saturating_sub(started);
            let (class, status, detail, ok) = match &result {
                Ok(_) => (None, Some(200), None, true),
                Err(f) => {
                    let (c, s, d) = describe(f);
                    (Some(c), s, Some(d), false)
                }
            };
            attempts.push(Attempt {
                provider: p.name.clone(),
                model: m.upstream_name().to_owned(),
                key_index,
                status,
                latency_ms: latency,
                error: class,
                detail,
            });
            // Client errors and rate limits say nothing about the provider's health.
            let judged = !matches!(
                result,
                Err(Fail::Client { .. } | Fail::RateLimited { .. } | Fail::Auth { .. })
            );
            self.record(p, latency, ok, judged).await;
            let fail = match result {
                Ok(done) => return Ok(Some(done)),
                Err(f) => f,
            };
            match fail {
                Fail::Client { status, detail } => {
                    return Err(RouterError::Upstream {
                        status,
                        provider: p.name.clone(),
                        message: detail,
                        attempts: std::mem::take(attempts),
                    });
                }
                Fail::Auth { .. } => {
                    if keys_tried < key_count {
                        keys_tried += 1;
                        key_index = (key_index + 1) % key_count;
                        continue;
                    }
                    let until = inner
                        .clock
                        .now_ms()
                        .saturating_add(inner.cfg.retry.auth_failure_cooldown_ms);
                    inner
                        .state
                        .borrow_mut()
                        .stats
                        .entry(p.name.clone())
                        .or_default()
                        .unhealthy_until_ms = until;
                    return Ok(None);
                }
                Fail::RateLimited { retry_after_ms, .. } => {
                    if keys_tried < key_count {
                        keys_tried += 1;
                        key_index = (key_index + 1) % key_count;
                        continue;
                    }
                    if !self.backoff(retries, retry_after_ms, deadline).await {
                        return Ok(None);
                    }
                    retries += 1;
                }
                Fail::Retry { retry_after_ms, .. } => {
                    if !self.backoff(retries, retry_after_ms, deadline).await {
                        return Ok(None);
                    }
                    retries += 1;
                }
                Fail::Next { .. } => return Ok(None),
            }
        }
    }

    /// Sleeps before retry number `retries + 1`; false when no retry is left
    /// or the wait would pass the deadline.
    async fn backoff(&self, retries: u32, retry_after_ms: Option<u64>, deadline: u64) -> bool {
        let r = &self.inner.cfg.retry;
        if retries >= r.max_retries {
            return false;
        }
        if retry_after_ms.is_some_and(|ms| ms > r.max_retry_after_ms) {
            return false; // a long Retry-After: fall back instead of waiting
        }
        // Full jitter: uniform in [0, min(cap, base * 2^n)).
        let ceiling = r
            .backoff_base_ms
            .saturating_mul(1u64 << retries.min(20))
            .min(r.backoff_cap_ms);
        let jitter = (self.inner.random.next_f64().unwrap_or(0.5) * ceiling as f64) as u64;
        let wait = jitter.max(retry_after_ms.unwrap_or(0));
        let now = self.inner.clock.now_ms();
        if now.saturating_add(wait) >= deadline {
            return false;
        }
        if wait > 0 {
            self.inner.timer.sleep(Duration::from_millis(wait)).await;
        }
        true
    }

    async fn record(&self, p: &ProviderConfig, latency: u64, ok: bool, judged: bool) {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let transition = {
            let mut st = inner.state.borrow_mut();
            let stats = st.stats.entry(p.name.clone()).or_default();
            if judged {
                stats.observe_outcome(ok);
                if ok {
                    stats.observe_latency(now, latency as f64);
                }
            }
            let b = st
                .breakers
                .entry(p.name.clone())
                .or_insert_with(|| Breaker::new(inner.cfg.breaker));
            if judged {
                b.record(now, ok)
            } else {
                b.release();
                None
            }
        };
        match transition {
            Some(Transition::Opened(until)) => {
                inner
                    .breakers
                    .publish(
                        &p.name,
                        SharedBreaker {
                            open_until_ms: Some(until),
                        },
                    )
                    .await
            }
            Some(Transition::Closed) => {
                inner
                    .breakers
                    .publish(
                        &p.name,
                        SharedBreaker {
                            open_until_ms: None,
                        },
                    )
                    .await
            }
            None => {}
        }
    }

    /// One attempt at one provider with one key.
    async fn attempt(
        &self,
        p: &ProviderConfig,
        m: &crate::config::ModelConfig,
        key: &str,
        req: &ChatRequest,
        deadline: u64,
    ) -> Result<(OutcomeBody, Vec<String>), Fail> {
        let inner = &self.inner;
        let r = &inner.cfg.retry;
        let stream = req.is_stream();
        let target = Target {
            provider: p,
            model: m,
            api_key: key,
        };
        let built =
            providers::build_request(target, req, stream, r.default_max_tokens).map_err(|e| {
                Fail::Client {
                    status: 400,
                    detail: e.to_string(),
                }
            })?;
        let start = inner.clock.now_ms();
        let remaining = |now: u64| deadline.saturating_sub(now);
        let header_timeout = r.connect_timeout_ms.min(remaining(start)).max(1);
        // `mock` providers are answered in-process on every platform (the
        // embedded default needs no network); everything else goes out.
        let http: &dyn HttpClient = if p.kind == ProviderKind::Mock {
            &crate::mock::MockProvider
        } else {
            inner.http.as_ref()
        };
        let resp = http
            .send(
                built.request,
                SendOptions::timeout(Duration::from_millis(header_timeout)),
            )
            .await
            .map_err(|e| match e {
                HttpError::Timeout { .. } => Fail::Retry {
                    class: ErrorClass::Timeout,
                    status: None,
                    retry_after_ms: None,
                    detail: "no response headers in time".into(),
                },
                HttpError::InvalidRequest(d) => Fail::Next {
                    class: ErrorClass::Protocol,
                    status: None,
                    detail: d,
                },
                other => Fail::Retry {
                    class: ErrorClass::Connect,
                    status: None,
                    retry_after_ms: None,
                    detail: other.to_string(),
                },
            })?;
        let status = resp.status().as_u16();
        let retry_after_ms = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0) as u64);
        if !(200..300).contains(&status) {
            let body = self
                .read_body(
                    resp.into_body(),
                    64 * 1024,
                    r.connect_timeout_ms
                        .min(remaining(inner.clock.now_ms()))
                        .max(1),
                )
                .await
                .unwrap_or_default();
            let detail = providers::error_message(&body);
            return Err(match status {
                429 => Fail::RateLimited {
                    retry_after_ms,
                    detail,
                },
                401 | 403 => Fail::Auth { status, detail },
                s if r.fallback_statuses.contains(&s) => Fail::Retry {
                    class: if s == 429 {
                        ErrorClass::RateLimited
                    } else {
                        ErrorClass::Server
                    },
                    status: Some(s),
                    retry_after_ms,
                    detail,
                },
                s if s >= 500 => Fail::Next {
                    class: ErrorClass::Server,
                    status: Some(s),
                    detail,
                },
                s if (400..500).contains(&s) => Fail::Client { status: s, detail },
                s => Fail::Next {
                    class: ErrorClass::Protocol,
                    status: Some(s),
                    detail,
                },
            });
        }
        let created = inner.clock.now_secs();
        if !stream {
            let budget = r
                .total_timeout_ms
                .min(remaining(start))
                .saturating_sub(inner.clock.now_ms().saturating_sub(start))
                .max(1);
            let body = self
                .read_body(resp.into_body(), MAX_RESPONSE_BYTES, budget)
                .await
                .map_err(|class| Fail::Retry {
                    class,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: "response body incomplete".into(),
                })?;
            let mut response = providers::parse_response(p.kind, &body, m.upstream_name(), created)
                .map_err(|d| Fail::Retry {
                    class: ErrorClass::Protocol,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: truncate(&d, 300),
                })?;
            if response.id.is_empty() {
                response.id = self.next_id();
            }
            let usage = response.usage.unwrap_or_default();
            let cost_usd = m.cost_usd(usage.prompt_tokens, usage.completion_tokens);
            return Ok((OutcomeBody::Complete { response, cost_usd }, built.notes));
        }

        // Streaming: hold the response until the first event parses, so an
        // error that arrives as the first event still falls back.
        let id = self.next_id();
        let mut s = ChatStream {
            router: self.clone(),
            body: resp.into_body(),
            parser: SseParser::new(),
            translator: StreamTranslator::new(p.kind, &id, m.upstream_name(), created),
            pending: VecDeque::new(),
            include_usage: req.stream_options.as_ref().is_some_and(|o| o.include_usage),
            finished: false,
            usage: None,
            cost_per: (m.input_per_mtok, m.output_per_mtok),
            idle_timeout_ms: r.first_token_timeout_ms,
        };
        let ttft = r.first_token_timeout_ms.min(remaining(start)).max(1);
        loop {
            let waited = inner.clock.now_ms().saturating_sub(start);
            if waited >= ttft {
                return Err(Fail::Retry {
                    class: ErrorClass::Timeout,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: "no first token in time".into(),
                });
            }
            let Some(chunk) = self.race(s.body.next_chunk(), ttft - waited).await else {
                return Err(Fail::Retry {
                    class: ErrorClass::Timeout,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: "no first token in time".into(),
                });
            };
            // Scripted and real clocks agree: a chunk that arrived past the
            // budget is a timeout too.
            if inner.clock.now_ms().saturating_sub(start) > ttft {
                return Err(Fail::Retry {
                    class: ErrorClass::Timeout,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: "no first token in time".into(),
                });
            }
            let events = match chunk {
                Some(Ok(bytes)) => s
                    .parser
                    .feed(&bytes)
                    .map_err(|_| protocol(status, "stream line too long"))?,
                Some(Err(e)) => {
                    return Err(Fail::Retry {
                        class: ErrorClass::Protocol,
                        status: Some(status),
                        retry_after_ms: None,
                        detail: e.to_string(),
                    });
                }
                None => {
                    let mut evs: Vec<_> = s.parser.finish().into_iter().collect();
                    if evs.is_empty() && s.pending.is_empty() {
                        return Err(protocol(status, "the stream ended before any event"));
                    }
                    evs.shrink_to_fit();
                    evs
                }
            };
            for ev in &events {
                let out = s.translator.event(ev).map_err(|d| Fail::Retry {
                    class: ErrorClass::Protocol,
                    status: Some(status),
                    retry_after_ms: None,
                    detail: truncate(&d, 300),
                })?;
                s.pending.extend(out);
            }
            if s.pending
                .iter()
                .any(|o| matches!(o, StreamOut::Chunk(_) | StreamOut::Done))
            {
                return Ok((OutcomeBody::Stream(s), built.notes));
            }
        }
    }

    async fn read_body(
        &self,
        body: Body,
        max: usize,
        budget_ms: u64,
    ) -> Result<Vec<u8>, ErrorClass> {
        match self.race(body.collect(max), budget_ms).await {
            Some(Ok(b)) => Ok(b),
            Some(Err(_)) => Err(ErrorClass::Protocol),
            None => Err(ErrorClass::Timeout),
        }
    }

    /// `fut`, or `None` if `ms` pass first.
    async fn race<T>(&self, fut: impl Future<Output = T>, ms: u64) -> Option<T> {
        let sleep = self.inner.timer.sleep(Duration::from_millis(ms));
        match select(pin!(fut), sleep).await {
            Either::Left((v, _)) => Some(v),
            Either::Right(_) => None,
        }
    }

    fn next_id(&self) -> String {
        let mut st = self.inner.state.borrow_mut();
        st.seq += 1;
        let mut r = [0u8; 6];
        let _ = self.inner.random.fill(&mut r);
        let hex = edge_ports::hex::encode(&r);
        format!("chatcmpl-{hex}{:x}", st.seq)
    }

    /// Probes every provider's cheap endpoint (its model list), writes a
    /// health record (`router:health:{provider}`, TTL 5 min) and a per-run
    /// reliability record (`router:stats:{provider}:{run}`: one key per run,
    /// never read-modify-write, so concurrent probers lose nothing).
    pub async fn probe(&self, kv: &dyn KvStore) -> Vec<crate::prober::HealthRecord> {
        crate::prober::probe_all(self, kv).await
    }

    pub(crate) fn parts(&self) -> (&RouterConfig, &dyn HttpClient, &dyn Clock, &dyn Secrets) {
        (
            &self.inner.cfg,
            self.inner.http.as_ref(),
            self.inner.clock.as_ref(),
            self.inner.secrets.as_ref(),
        )
    }

    /// The breaker state of a provider now.
    pub fn breaker_state(&self, provider: &str) -> crate::BreakerState {
        let now = self.inner.clock.now_ms();
        self.inner
            .state
            .borrow()
            .breakers
            .get(provider)
            .map_or(crate::BreakerState::Closed, |b| b.state(now))
    }
}

fn protocol(status: u16, detail: &str) -> Fail {
    Fail::Retry {
        class: ErrorClass::Protocol,
        status: Some(status),
        retry_after_ms: None,
        detail: detail.to_owned(),
    }
}

fn describe(f: &Fail) -> (ErrorClass, Option<u16>, String) {
    match f {
        Fail::Retry {
            class,
            status,
            detail,
            ..
        }
        | Fail::Next {
            class,
            status,
            detail,
        } => (*class, *status, detail.clone()),
        Fail::Auth { status, detail } => (ErrorClass::Auth, Some(*status), detail.clone()),
        Fail::RateLimited { detail, .. } => (ErrorClass::RateLimited, Some(429), detail.clone()),
        Fail::Client { status, detail } => (ErrorClass::Client, Some(*status), detail.clone()),
    }
}

fn skipped(
    p: &ProviderConfig,
    m: &crate::config::ModelConfig,
    class: ErrorClass,
    detail: &str,
) -> Attempt {
    Attempt {
        provider: p.name.clone(),
        model: m.upstream_name().to_owned(),
        key_index: 0,
        status: None,
        latency_ms: 0,
        error: Some(class),
        detail: Some(detail.to_owned()),
    }
}

fn validate(req: &ChatRequest) -> Result<(), RouterError> {
    let bad = |message: &str, param: &str| RouterError::InvalidRequest {
        message: message.to_owned(),
        param: Some(param.to_owned()),
    };
    if req.model.trim().is_empty() {
        return Err(bad("model is required", "model"));
    }
    if req.messages.is_empty() {
        return Err(bad("messages must not be empty", "messages"));
    }
    if let Some(t) = req.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(bad("temperature must be between 0 and 2", "temperature"));
    }
    if let Some(p) = req.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return Err(bad("top_p must be between 0 and 1", "top_p"));
    }
    if req.output_limit() == Some(0) {
        return Err(bad("max_tokens must be at least 1", "max_tokens"));
    }
    for m in &req.messages {
        if !matches!(
            m.role.as_str(),
            "system" | "developer" | "user" | "assistant" | "tool"
        ) {
            return Err(bad(&format!("unknown role {:?}", m.role), "messages"));
        }
    }
    Ok(())
}

impl Inner {
    fn observe(&self, name: &str, now: u64) -> Observed {
        let st = self.state.borrow();
        let stats = st.stats.get(name);
        let breaker_open = st
            .breakers
            .get(name)
            .is_some_and(|b| matches!(b.state(now), crate::BreakerState::Open { .. }));
        Observed {
            latency_ms: stats.and_then(ProviderStats::latency_ms),
            reliability: stats.map_or(0.5, ProviderStats::reliability),
            available: !breaker_open && stats.is_none_or(|s| s.unhealthy_until_ms <= now),
        }
    }

    /// Re-reads prober records and shared breaker state, at most every 10 s.
    async fn refresh(&self) {
        let now = self.clock.now_ms();
        if self
            .state
            .borrow()
            .refreshed_at
            .is_some_and(|at| now.saturating_sub(at) < REFRESH_MS)
        {
            return;
        }
        self.state.borrow_mut().refreshed_at = Some(now);
        for p in &self.cfg.providers {
            if let Some(shared) = self.breakers.load(&p.name).await
                && let Some(until) = shared.open_until_ms.filter(|u| *u > now)
            {
                self.state
                    .borrow_mut()
                    .breakers
                    .entry(p.name.clone())
                    .or_insert_with(|| Breaker::new(self.cfg.breaker))
                    .force_open(until);
            }
            let Some(kv) = &self.kv else { continue };
            if let Ok(Some(bytes)) = kv.get(&crate::prober::health_key(&p.name)).await
                && let Ok(h) = serde_json::from_slice::<crate::prober::HealthRecord>(&bytes)
            {
                let mut st = self.state.borrow_mut();
                let s = st.stats.entry(p.name.clone()).or_default();
                if h.ok {
                    s.seed_latency(now, h.latency_ms as f64);
                } else if now.saturating_sub(h.checked_at_ms) < 5 * 60_000 {
                    s.unhealthy_until_ms = s.unhealthy_until_ms.max(h.checked_at_ms + 60_000);
                }
            }
            // Reliability: the sum of the per-run records still alive (1 h TTL).
            if let Ok(page) = kv
                .list(ListOptions::prefix(crate::prober::stats_prefix(&p.name)))
                .await
            {
                let (mut ok, mut total) = (0u64, 0u64);
                for k in page.keys {
                    if let Some(run) = k
                        .metadata
                        .and_then(|m| serde_json::from_value::<crate::prober::RunCounts>(m).ok())
                    {
                        ok += run.ok;
                        total += run.total;
                    }
                }
                self.state
                    .borrow_mut()
                    .stats
                    .entry(p.name.clone())
                    .or_default()
                    .seed_outcomes(ok, total);
            }
        }
    }
}

/// An OpenAI SSE stream translated from a provider's stream.
///
/// Yields complete SSE frames. An error after content has streamed ends the
/// stream with an OpenAI-style error event, never a silent cut.
pub struct ChatStream {
    router: Router,
    body: Body,
    parser: SseParser,
    translator: StreamTranslator,
    pending: VecDeque<StreamOut>,
    include_usage: bool,
    finished: bool,
    usage: Option<Usage>,
    cost_per: (f64, f64),
    idle_timeout_ms: u64,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// The next SSE frame; `None` at the end.
    pub async fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(out) = self.pending.pop_front() {
                match out {
                    StreamOut::Chunk(c) => return Some(c.to_sse()),
                    StreamOut::Usage(u) => {
                        self.usage = Some(u);
                        if self.include_usage {
                            let (id, model, created) = self.translator.labels();
                            let mut c =
                                ChatChunk::new(id, model, created, Default::default(), None);
                            c.choices.clear();
                            c.usage = Some(u);
                            return Some(c.to_sse());
                        }
                    }
                    StreamOut::Done => {
                        self.finished = true;
                        self.pending.clear();
                        return Some(SSE_DONE.to_vec());
                    }
                }
                continue;
            }
            if self.finished {
                return None;
            }
            let next = self
                .router
                .race(self.body.next_chunk(), self.idle_timeout_ms)
                .await;
            let result: Result<(), String> = match next {
                None => Err("the provider stopped sending".into()),
                Some(Some(Ok(bytes))) => match self.parser.feed(&bytes) {
                    Ok(evs) => self.translate(evs),
                    Err(_) => Err("stream line too long".into()),
                },
                Some(Some(Err(e))) => Err(e.to_string()),
                Some(None) => {
                    let evs: Vec<_> = self.parser.finish().into_iter().collect();
                    self.translate(evs)
                        .and_then(|()| match self.translator.finish() {
                            Ok(out) => {
                                self.pending.extend(out);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        })
                }
            };
            if let Err(msg) = result {
                self.finished = true;
                let err = serde_json::json!({"error": {"message": format!("upstream stream failed: {msg}"), "type": "server_error", "param": null, "code": "upstream_stream_error"}});
                let mut frame = b"data: ".to_vec();
                frame.extend_from_slice(err.to_string().as_bytes());
                frame.extend_from_slice(b"\n\n");
                return Some(frame);
            }
        }
    }

    fn translate(&mut self, evs: Vec<crate::sse::SseEvent>) -> Result<(), String> {
        for ev in &evs {
            let out = self.translator.event(ev)?;
            self.pending.extend(out);
        }
        Ok(())
    }

    /// Usage, once the stream has completed.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// Cost in USD, once the stream has completed.
    pub fn cost_usd(&self) -> Option<f64> {
        self.usage.map(|u| {
            (u.prompt_tokens as f64 * self.cost_per.0
                + u.completion_tokens as f64 * self.cost_per.1)
                / 1_000_000.0
        })
    }

    /// Reads the whole stream into one buffer (tests, non-streaming clients).
    pub async fn collect(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(f) = self.next_frame().await {
            out.extend_from_slice(&f);
        }
        out
    }
}
