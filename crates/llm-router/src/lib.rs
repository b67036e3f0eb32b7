//! An LLM gateway core over the edgeforge ports.
//!
//! - **Registry** of providers (OpenAI, Anthropic, Gemini, Cohere, Mistral,
//!   Azure OpenAI, HuggingFace, any OpenAI-compatible endpoint, and an
//!   in-process mock) from TOML or JSON, validated. Keys are referenced by
//!   secret name, never stored in config.
//! - **Selection**: region pools from the client's geo, GDPR residency, and a
//!   ranking that is a weighted *sum* of latency (peak-EWMA), model
//!   compatibility, reliability and cost, with an explanation per decision.
//! - **Execution**: circuit breakers (closed/open/half-open, shareable),
//!   retries with full-jitter backoff honouring `Retry-After`, key rotation on
//!   429/401, header / first-token / total timeouts and a request deadline,
//!   and fallback through the ranked list. Every attempt is recorded.
//! - **Translation** of OpenAI chat completions to and from each provider,
//!   including SSE streams, tool calls and finish reasons.
//! - **Cost and usage**, and the **health prober** logic.
//!
//! ```
//! use llm_router::{ChatRequest, Message, MockProvider, OutcomeBody, Ports, RequestContext, Router, RouterConfig};
//! use edge_ports::{ManualClock, ManualTimer, SeededRandom};
//!
//! # edge_ports::testing::block_on(async {
//! let cfg = RouterConfig::from_toml(r#"
//!     [regions]
//!     default = "local"
//!     [[providers]]
//!     name = "mock"
//!     kind = "mock"
//!     base_url = "http://mock.invalid/v1"
//!     regions = ["local"]
//!     models = [{ name = "mock-1" }]
//! "#)?;
//! let clock = ManualClock::new(1_700_000_000_000);
//! let router = Router::new(cfg, Ports {
//!     http: Box::new(MockProvider),
//!     clock: Box::new(clock.clone()),
//!     timer: Box::new(ManualTimer::new(clock)),
//!     random: Box::new(SeededRandom::new(1)),
//!     secrets: Box::new(std::collections::HashMap::new()),
//!     kv: None,
//!     breakers: Box::new(llm_router::LocalOnly),
//! })?;
//! let req = ChatRequest { model: "mock-1".into(), messages: vec![Message::text("user", "hi")], ..Default::default() };
//! let out = router.chat(req, &RequestContext::default()).await?;
//! let OutcomeBody::Complete { response, .. } = out.body else { unreachable!() };
//! assert_eq!(response.choices[0].message.text_content(), "mock reply to: hi");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod breaker;
mod config;
mod error;
mod mock;
mod openai;
pub mod prober;
pub mod providers;
mod router;
mod select;
pub mod sse;
mod stats;

pub use breaker::{
    Breaker, BreakerState, BreakerStore, KvBreakerStore, LocalOnly, SharedBreaker, Transition,
};
pub use config::{
    BreakerConfig, ModelConfig, ProviderConfig, ProviderKind, RegionMap, RetryConfig, RouterConfig,
    RoutingPolicy, ScoreWeights, Strategy,
};
pub use error::{Attempt, ConfigError, ErrorClass, RouterError};
pub use mock::MockProvider;
pub use openai::*;
pub use router::{ChatOutcome, ChatStream, OutcomeBody, Ports, RequestContext, Router, Secrets};
pub use select::{Candidate, Components, Observed, rank};
pub use stats::ProviderStats;
