//! `POST /v1/chat/completions`: OpenAI-compatible, streamed or not, with
//! opt-in exact-match caching of deterministic requests, including streams
//! (the assembled completion is stored once and replayed as SSE on a hit).

use std::collections::BTreeMap;

use async_trait::async_trait;
use edge_cache::{CacheRequest, Lookup};
use edge_ports::HttpError;
use edge_ports::http::{Body, BodyStream};
use http::{Request, Response, StatusCode};
use llm_router::{
    ChatChunk, ChatRequest, ChatResponse, ChatStream, Choice, Delta, FunctionCall, Message,
    OutcomeBody, RouterError, SSE_DONE, ToolCall, ToolCallDelta, Usage,
};

use crate::context::{RequestContext, WaitUntil};
use crate::{ApiError, Caller, Gateway, set};

/// The cache policy (request type) of chat completions.
pub const CHAT_CACHE_POLICY: &str = "chat-completions";
/// Request header that opts in (`on`) or out (`off`) of response caching.
pub const CACHE_HEADER: &str = "x-edge-cache";

pub(crate) async fn chat(
    gw: &Gateway,
    req: Request<Vec<u8>>,
    ctx: &RequestContext,
    caller: &Caller,
    bg: &dyn WaitUntil,
) -> Result<Response<Body>, ApiError> {
    let started = gw.inner.clock.now_ms();
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    crate::llm_limits::check_json_values(&gw.inner.cfg.limits.chat, req.body())?;
    let mut chat: ChatRequest = serde_json::from_slice(req.body())
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid request body: {e}")))?;
    caller.choice.overrides.apply_to(&mut chat);
    if chat.model.trim().is_empty() {
        return Err(ApiError::bad_request(
            "missing_model",
            "`model` is required",
        ));
    }
    if chat.messages.is_empty() {
        return Err(ApiError::bad_request(
            "missing_messages",
            "`messages` must not be empty",
        ));
    }
    if let Some(t) = chat.temperature
        && !(t.is_finite() && (0.0..=2.0).contains(&t))
    {
        return Err(ApiError::bad_request(
            "invalid_temperature",
            "`temperature` must be between 0 and 2",
        ));
    }
    crate::llm_limits::check_chat(&gw.inner.cfg.limits.chat, &chat)?;

    let cache_key_body = if caller.choice.overrides.bypass_cache {
        None
    } else {
        cache_body(gw, &req, &chat)
    };
    let include_usage = chat
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    let streaming = chat.is_stream();

    if let Some(body) = &cache_key_body {
        let creq = cache_request(&req, ctx, caller, body);
        let user = creq.user_id.unwrap_or("");
        if let Lookup::Fresh { entry, age_secs } =
            gw.inner.cache.lookup(CHAT_CACHE_POLICY, &creq).await
            && let Some(plain) = open_cached(gw, user, &entry.body)
            && let Ok(cached) = serde_json::from_slice::<ChatResponse>(&plain)
        {
            let mut resp = if streaming {
                sse_response(Body::from(replay_sse(&cached, include_usage)))
            } else {
                // The stored bytes, as the miss answered them (field order too).
                let mut r = Response::new(Body::from(plain));
                set(r.headers_mut(), "content-type", "application/json");
                r
            };
            let h = resp.headers_mut();
            set(h, "x-cache-status", "HIT");
            set(h, "age", &age_secs.to_string());
            return Ok(resp);
        }
    }

    let rctx = llm_router::RequestContext {
        continent: ctx.continent.clone(),
        country: ctx.country.clone(),
        deadline_ms: Some(gw.inner.cfg.gateway.deadline_ms),
        prefer_provider: caller.choice.overrides.provider.clone(),
    };
    let prompt = serde_json::to_value(&chat.messages).unwrap_or_default();
    let outcome = gw
        .inner
        .router
        .chat(chat, &rctx)
        .await
        .map_err(router_error)?;
    let cacheable = cache_key_body.is_some();
    let attempts = outcome.attempts.len();
    let provider = outcome.provider.clone();
    let model = outcome.model.clone();
    let mut resp = match outcome.body {
        OutcomeBody::Complete { response, cost_usd } => {
            let bytes = serde_json::to_vec(&response).unwrap_or_default();
            if let Some(body) = &cache_key_body {
                let creq = cache_request(&req, ctx, caller, body);
                let sealed = seal_for_cache(gw, creq.user_id.unwrap_or(""), &bytes);
                let stored = http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(sealed)
                    .map_err(|e| ApiError::internal("response", e.to_string()))?;
                // Stored before answering: a second identical request from
                // this client must hit.
                let _ = gw.inner.cache.store(CHAT_CACHE_POLICY, &creq, stored).await;
            }
            let mut r = Response::new(Body::from(bytes));
            set(r.headers_mut(), "content-type", "application/json");
            set(
                r.headers_mut(),
                "x-edge-cost-usd",
                &format!("{cost_usd:.8}"),
            );
            if let Some(t) = ChatTrace::new(gw, ctx, caller, started, prompt) {
                bg.wait_until(Box::pin(t.send(&response, cost_usd)));
            }
            if let Some(u) = response.usage {
                set(
                    r.headers_mut(),
                    "x-edge-usage",
                    &format!("{},{}", u.prompt_tokens, u.completion_tokens),
                );
            }
            r
        }
        OutcomeBody::Stream(stream) => {
            let store = cache_key_body.map(|body| StoreOnEnd {
                gateway: gw.clone(),
                method: req.method().clone(),
                path: req.uri().path().to_owned(),
                headers: req.headers().clone(),
                user: caller
                    .principal
                    .is_authenticated()
                    .then(|| caller.principal.subject.clone()),
                country: ctx.country.clone(),
                continent: ctx.continent.clone(),
                body,
            });
            sse_response(Body::from_stream(Tee {
                stream,
                assembler: Assembler::default(),
                store,
                trace: ChatTrace::new(gw, ctx, caller, started, prompt),
                done: false,
            }))
        }
    };
    let h = resp.headers_mut();
    set(h, "x-edge-provider", &provider);
    set(h, "x-edge-model", &model);
    set(h, "x-edge-attempts", &attempts.to_string());
    set(
        h,
        "x-cache-status",
        if cacheable { "MISS" } else { "BYPASS" },
    );
    Ok(resp)
}

/// The canonical cache body, when caching applies: deterministic request,
/// a `chat-completions` policy (always per-principal, validated), not opted
/// out. Without that policy nothing is cached, whatever `x-edge-cache` says:
/// the default policy may be public. Stream flags and the end-user id are
/// not part of the key, so a streamed and a non-streamed request share an
/// entry.
fn cache_body(gw: &Gateway, req: &Request<Vec<u8>>, chat: &ChatRequest) -> Option<Vec<u8>> {
    let header = req
        .headers()
        .get(CACHE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let policy = gw.inner.cfg.cache.policies.get(CHAT_CACHE_POLICY)?;
    if policy.scope != edge_cache::Scope::Private {
        return None;
    }
    let wanted = !matches!(header.as_deref(), Some("off" | "no" | "false"));
    if !wanted || !chat.is_deterministic() {
        return None;
    }
    let mut canon = chat.clone();
    canon.stream = None;
    canon.stream_options = None;
    canon.user = None;
    serde_json::to_vec(&canon).ok()
}

fn cache_request<'a>(
    req: &'a Request<Vec<u8>>,
    ctx: &'a RequestContext,
    caller: &'a Caller,
    body: &'a [u8],
) -> CacheRequest<'a> {
    let mut creq = CacheRequest::from_http(req);
    creq.body = Some(body);
    creq.country = ctx.country.as_deref();
    creq.continent = ctx.continent.as_deref();
    if caller.principal.is_authenticated() {
        creq.user_id = Some(caller.principal.subject.as_str());
    }
    creq
}

/// A cached completion's body as stored: sealed with the keyring
/// (`[security.encryption]`), bound to its principal, or plain without one.
/// A completion that cannot be sealed is not cached (empty body: a miss).
fn seal_for_cache(gw: &Gateway, user: &str, plain: &[u8]) -> Vec<u8> {
    let Some(ring) = &gw.inner.keyring else {
        return plain.to_vec();
    };
    let ctx =
        zt_security::envelope::Context::new(format!("chat-cache:{user}"), "private-completion");
    ring.seal(gw.inner.random.as_ref(), plain, &ctx)
        .map(String::into_bytes)
        .unwrap_or_default()
}

/// A stored body opened again (`None`: sealed with a key that is gone, or
/// for another principal: a miss).
fn open_cached(gw: &Gateway, user: &str, stored: &[u8]) -> Option<Vec<u8>> {
    let Some(ring) = &gw.inner.keyring else {
        return Some(stored.to_vec());
    };
    let ctx =
        zt_security::envelope::Context::new(format!("chat-cache:{user}"), "private-completion");
    ring.open(std::str::from_utf8(stored).ok()?, &ctx).ok()
}

fn sse_response(body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    set(h, "content-type", "text/event-stream; charset=utf-8");
    set(h, "cache-control", "no-cache");
    r
}

/// Maps router errors to OpenAI-shaped responses with the router's status.
fn router_error(e: RouterError) -> ApiError {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = e.to_json();
    let msg = body["error"]["message"]
        .as_str()
        .map_or_else(|| e.to_string(), str::to_owned);
    let (kind, code) = match &e {
        RouterError::InvalidRequest { .. } => ("invalid_request_error", "invalid_request"),
        RouterError::UnknownModel(_) => ("invalid_request_error", "model_not_found"),
        RouterError::Upstream { .. } => ("invalid_request_error", "upstream_rejected"),
        RouterError::AllFailed { .. } => ("api_error", "upstream_unavailable"),
        _ => ("api_error", "router_error"),
    };
    ApiError::new(status, kind, code, msg)
}

/// Replays a stored completion as an OpenAI SSE stream.
pub(crate) fn replay_sse(resp: &ChatResponse, include_usage: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for choice in &resp.choices {
        let tool_calls = choice.message.tool_calls.as_ref().map(|calls| {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| ToolCallDelta {
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    id: Some(c.id.clone()),
                    kind: Some("function".into()),
                    function: llm_router::FunctionDelta {
                        name: Some(c.function.name.clone()),
                        arguments: Some(c.function.arguments.clone()),
                    },
                })
                .collect()
        });
        let text = choice.message.text_content();
        let delta = Delta {
            role: Some("assistant".into()),
            content: (!text.is_empty() || tool_calls.is_none()).then_some(text),
            tool_calls,
        };
        let mut first = ChatChunk::new(&resp.id, &resp.model, resp.created, delta, None);
        first.choices[0].index = choice.index;
        out.extend_from_slice(&first.to_sse());
        let mut last = ChatChunk::new(
            &resp.id,
            &resp.model,
            resp.created,
            Delta::default(),
            choice.finish_reason.clone(),
        );
        last.choices[0].index = choice.index;
        out.extend_from_slice(&last.to_sse());
    }
    if include_usage && let Some(u) = resp.usage {
        let mut c = ChatChunk::new(&resp.id, &resp.model, resp.created, Delta::default(), None);
        c.choices.clear();
        c.usage = Some(u);
        out.extend_from_slice(&c.to_sse());
    }
    out.extend_from_slice(SSE_DONE);
    out
}

/// Text, finish reason and tool calls (by index) of one choice so far.
type PartialChoice = (String, Option<String>, BTreeMap<u32, ToolCall>);

/// Rebuilds a completion from the SSE frames that passed through.
#[derive(Default)]
struct Assembler {
    id: String,
    model: String,
    created: u64,
    choices: BTreeMap<u32, PartialChoice>,
    usage: Option<Usage>,
    failed: bool,
    done: bool,
}

impl Assembler {
    fn feed(&mut self, frame: &[u8]) {
        let Ok(text) = std::str::from_utf8(frame) else {
            self.failed = true;
            return;
        };
        for line in text.lines() {
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                self.done = true;
                continue;
            }
            let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
                // An error event (or anything unexpected): never cache.
                self.failed = true;
                continue;
            };
            self.id = chunk.id;
            self.model = chunk.model;
            self.created = chunk.created;
            if chunk.usage.is_some() {
                self.usage = chunk.usage;
            }
            for c in chunk.choices {
                let entry = self.choices.entry(c.index).or_default();
                if let Some(t) = c.delta.content {
                    entry.0.push_str(&t);
                }
                if c.finish_reason.is_some() {
                    entry.1 = c.finish_reason;
                }
                for tc in c.delta.tool_calls.unwrap_or_default() {
                    let call = entry.2.entry(tc.index).or_insert_with(|| ToolCall {
                        id: String::new(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: String::new(),
                            arguments: String::new(),
                        },
                    });
                    if let Some(id) = tc.id {
                        call.id = id;
                    }
                    if let Some(n) = tc.function.name {
                        call.function.name.push_str(&n);
                    }
                    if let Some(a) = tc.function.arguments {
                        call.function.arguments.push_str(&a);
                    }
                }
            }
        }
    }

    fn finish(self) -> Option<ChatResponse> {
        if self.failed || !self.done || self.choices.is_empty() {
            return None;
        }
        let choices = self
            .choices
            .into_iter()
            .map(|(index, (text, finish, calls))| {
                let tool_calls = (!calls.is_empty()).then(|| calls.into_values().collect());
                let mut message = Message::text("assistant", &text);
                if tool_calls.is_some() && text.is_empty() {
                    message.content = None;
                }
                message.tool_calls = tool_calls;
                Choice {
                    index,
                    message,
                    finish_reason: finish,
                }
            })
            .collect();
        Some(ChatResponse {
            id: self.id,
            object: "chat.completion".into(),
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
        })
    }
}

/// What is needed to store the assembled stream under the request's key.
struct StoreOnEnd {
    gateway: Gateway,
    method: http::Method,
    path: String,
    headers: http::HeaderMap,
    user: Option<String>,
    country: Option<String>,
    continent: Option<String>,
    body: Vec<u8>,
}

impl StoreOnEnd {
    async fn store(self, resp: ChatResponse) {
        let Ok(bytes) = serde_json::to_vec(&resp) else {
            return;
        };
        let creq = CacheRequest {
            method: &self.method,
            path: &self.path,
            query: None,
            headers: &self.headers,
            user_id: self.user.as_deref(),
            country: self.country.as_deref(),
            continent: self.continent.as_deref(),
            body: Some(&self.body),
            variant: None,
        };
        let sealed = seal_for_cache(&self.gateway, self.user.as_deref().unwrap_or(""), &bytes);
        let Ok(stored) = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(sealed)
        else {
            return;
        };
        let _ = self
            .gateway
            .inner
            .cache
            .store(CHAT_CACHE_POLICY, &creq, stored)
            .await;
    }
}

/// Passes SSE frames to the client while assembling them for the cache
/// and the trace. Both are written once the last frame has gone out, before
/// the body ends (the client already holds `[DONE]`), so no background task
/// is needed after the response.
struct Tee {
    stream: ChatStream,
    assembler: Assembler,
    store: Option<StoreOnEnd>,
    trace: Option<ChatTrace>,
    done: bool,
}

#[async_trait(?Send)]
impl BodyStream for Tee {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, HttpError>> {
        if self.done {
            return None;
        }
        match self.stream.next_frame().await {
            Some(frame) => {
                if self.store.is_some() || self.trace.is_some() {
                    self.assembler.feed(&frame);
                }
                Some(Ok(frame))
            }
            None => {
                self.done = true;
                // A failed or cut-off stream is neither cached nor traced.
                let mut resp = std::mem::take(&mut self.assembler).finish()?;
                if let Some(store) = self.store.take() {
                    store.store(resp.clone()).await;
                }
                if let Some(trace) = self.trace.take() {
                    // Usage the client did not ask to see still counts.
                    resp.usage = resp.usage.or(self.stream.usage());
                    trace
                        .send(&resp, self.stream.cost_usd().unwrap_or(0.0))
                        .await;
                }
                None
            }
        }
    }
}

/// A Langfuse trace of one chat call, when `[tracing]` is set and the keys
/// are present; the prompt is redacted inside `langfuse_batch`.
struct ChatTrace {
    http: std::sync::Arc<dyn edge_ports::HttpClient>,
    clock: std::sync::Arc<dyn edge_ports::Clock>,
    host: String,
    public_key: String,
    secret_key: String,
    trace_id: String,
    started: u64,
    prompt: serde_json::Value,
    user_id: Option<String>,
}

impl ChatTrace {
    fn new(
        gw: &Gateway,
        ctx: &RequestContext,
        caller: &Caller,
        started: u64,
        prompt: serde_json::Value,
    ) -> Option<Self> {
        let inner = &gw.inner;
        let t = inner.cfg.tracing.as_ref()?;
        Some(Self {
            http: inner.http.clone(),
            clock: inner.clock.clone(),
            host: t.langfuse_host.clone(),
            public_key: inner.secrets.get("LANGFUSE_PUBLIC_KEY")?,
            secret_key: inner.secrets.get("LANGFUSE_SECRET_KEY")?,
            trace_id: ctx.request_id.clone(),
            started,
            prompt,
            // Langfuse's userId is documented as a pseudonym: never the raw `sub`.
            user_id: caller
                .principal
                .is_authenticated()
                .then(|| inner.security.pseudonym(&caller.principal.subject)),
        })
    }

    /// The ingestion request for `response`; a failed trace is not retried,
    /// the request already succeeded.
    fn send(self, response: &ChatResponse, cost_usd: f64) -> impl Future<Output = ()> + 'static {
        let usage = response.usage.unwrap_or_default();
        let call = slo_metrics::trace::LlmCall {
            trace_id: self.trace_id,
            name: "chat".into(),
            provider: String::new(),
            model: response.model.clone(),
            start_ms: self.started,
            end_ms: self.clock.now_ms(),
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            cost_usd,
            cache_hit: false,
            prompt: self.prompt,
            completion: response
                .choices
                .first()
                .map(|c| c.message.text_content())
                .unwrap_or_default(),
            user_id: self.user_id,
        };
        let batch = slo_metrics::trace::langfuse_batch(&call);
        async move {
            let _ = slo_metrics::trace::send_langfuse(
                self.http.as_ref(),
                &self.host,
                &self.public_key,
                &self.secret_key,
                &batch,
            )
            .await;
        }
    }
}
