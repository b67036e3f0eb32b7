//! LLM call tracing to Langfuse (`POST /api/public/ingestion`, HTTP Basic
//! public:secret, a batch of `trace-create`, `generation-create` and
//! `score-create` events). The prompt and completion are redacted by
//! zt-security's classifier before they leave: e-mails, phone numbers, card
//! numbers, secrets and the like become `[REDACTED:<type>]`.

use base64::Engine;
use edge_ports::http::{HttpClient, SendOptions};
use serde_json::{Value, json};

/// One LLM call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmCall {
    /// Trace id (the request id).
    pub trace_id: String,
    /// Route or feature name.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Start, unix ms.
    pub start_ms: u64,
    /// End, unix ms.
    pub end_ms: u64,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Cost, USD.
    pub cost_usd: f64,
    /// Served from the cache.
    pub cache_hit: bool,
    /// The messages (redacted before sending).
    pub prompt: Value,
    /// The completion text (redacted before sending).
    pub completion: String,
    /// User id (pseudonymous), if any.
    pub user_id: Option<String>,
}

/// RFC 3339 UTC with milliseconds from unix ms.
pub fn iso8601(ms: u64) -> String {
    let (secs, ms) = (ms / 1000, ms % 1000);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The ingestion batch for one call (redacted).
pub fn langfuse_batch(call: &LlmCall) -> Value {
    let prompt = zt_security::classify::redact_json(&call.prompt);
    let completion = zt_security::classify::redact_json(&Value::String(call.completion.clone()));
    let ts = iso8601(call.end_ms);
    let gen_id = format!("{}-gen", call.trace_id);
    json!({
        "batch": [
            {
                "id": format!("{}-t", call.trace_id),
                "type": "trace-create",
                "timestamp": ts,
                "body": {
                    "id": call.trace_id,
                    "name": call.name,
                    "userId": call.user_id,
                    "input": prompt,
                    "output": completion,
                    "metadata": {"provider": call.provider, "cache_hit": call.cache_hit},
                },
            },
            {
                "id": format!("{}-g", call.trace_id),
                "type": "generation-create",
                "timestamp": ts,
                "body": {
                    "id": gen_id,
                    "traceId": call.trace_id,
                    "name": format!("chat {}", call.model),
                    "startTime": iso8601(call.start_ms),
                    "endTime": ts,
                    "model": call.model,
                    "input": prompt,
                    "output": completion,
                    "usage": {"input": call.tokens_in, "output": call.tokens_out, "total": call.tokens_in + call.tokens_out, "unit": "TOKENS"},
                    "costDetails": {"total": call.cost_usd},
                    "metadata": {"provider": call.provider, "cache_hit": call.cache_hit, "latency_ms": call.end_ms.saturating_sub(call.start_ms)},
                },
            },
            {
                "id": format!("{}-s", call.trace_id),
                "type": "score-create",
                "timestamp": ts,
                "body": {
                    "traceId": call.trace_id,
                    "observationId": gen_id,
                    "name": "cache_hit",
                    "value": if call.cache_hit { 1 } else { 0 },
                    "dataType": "BOOLEAN",
                },
            },
        ],
    })
}

/// Sends a batch; `Ok` when Langfuse answered 2xx (207 carries per-event
/// results, which are returned).
pub async fn send_langfuse(
    http: &dyn HttpClient,
    host: &str,
    public_key: &str,
    secret_key: &str,
    batch: &Value,
) -> Result<Value, String> {
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{public_key}:{secret_key}"));
    let req = http::Request::post(format!(
        "{}/api/public/ingestion",
        host.trim_end_matches('/')
    ))
    .header("authorization", format!("Basic {auth}"))
    .header("content-type", "application/json")
    .body(batch.to_string().into_bytes())
    .map_err(|e| e.to_string())?;
    let resp = http
        .send(
            req,
            SendOptions::timeout(std::time::Duration::from_secs(10)),
        )
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect(1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        return Err(format!("langfuse answered {status}"));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}
