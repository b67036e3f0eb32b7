//! Caps on what one LLM request may ask for (`[limits.<route>]`), refused
//! with 400 in OpenAI's error shape before any provider is called.

use llm_router::ChatRequest;

use crate::ApiError;
use crate::config::LlmLimits;

/// Refuses a body with more JSON values than the route allows, counted by
/// a streaming walk before the body is parsed into a tree (whose memory
/// grows with the number of values).
pub(crate) fn check_json_values(limits: &LlmLimits, body: &[u8]) -> Result<(), ApiError> {
    let max = limits.max_json_values;
    if edge_waf::json::count_values(body, max) > max {
        return Err(ApiError::bad_request(
            "json_too_complex",
            format!("the body holds more than {max} JSON values"),
        ));
    }
    Ok(())
}

/// Refuses requests past the route's caps (400, OpenAI's shape).
pub(crate) fn check_chat(limits: &LlmLimits, chat: &ChatRequest) -> Result<(), ApiError> {
    let over = |code: &'static str, what: &str, max: u64| {
        Err(ApiError::bad_request(
            code,
            format!("{what} is limited to {max} on this gateway"),
        ))
    };
    if chat.messages.len() > limits.max_messages {
        return over(
            "too_many_messages",
            "`messages`",
            limits.max_messages as u64,
        );
    }
    if chat
        .tools
        .as_ref()
        .is_some_and(|t| t.len() > limits.max_tools)
    {
        return over("too_many_tools", "`tools`", limits.max_tools as u64);
    }
    if let Some(n) = chat.extra.get("n").filter(|n| !n.is_null()) {
        match n.as_u64() {
            Some(n) if (1..=u64::from(limits.max_choices)).contains(&n) => {}
            _ => {
                return over(
                    "invalid_n",
                    "`n` (a whole number from 1)",
                    limits.max_choices.into(),
                );
            }
        }
    }
    if chat
        .output_limit()
        .is_some_and(|t| t > limits.max_output_tokens)
    {
        return over(
            "max_tokens_too_large",
            "`max_tokens` / `max_completion_tokens`",
            limits.max_output_tokens.into(),
        );
    }
    Ok(())
}
