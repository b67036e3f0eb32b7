//! The ports the pipeline runs on.

use std::sync::Arc;

use edge_ports::{
    AnalyticsSink, Clock, HttpClient, KvStore, LocalCache, ManualClock, ManualTimer,
    MemoryAnalytics, MemoryKv, MemoryLocalCache, Random, SeededRandom, Timer,
};
use llm_router::{BreakerStore, LocalOnly, Secrets};
use zt_security::ratelimit::{MemoryStore, RateLimitStore};

/// Everything platform-specific the gateway needs.
pub struct GatewayPorts {
    /// Workers KV (or SQLite natively): routing state, health, features,
    /// deployment metrics — and cache entries and security events when the
    /// two namespaces below are not given.
    pub kv: Arc<dyn KvStore>,
    /// A separate namespace for cache entries (`CACHE_KV`).
    pub cache_kv: Option<Arc<dyn KvStore>>,
    /// A separate namespace for the security event log (`SECURITY_KV`).
    pub security_kv: Option<Arc<dyn KvStore>>,
    /// The per-location cache in front of KV for public cache policies
    /// (`caches.default` on Workers, one in-process cache per thread
    /// natively). `None`: KV alone.
    pub local_cache: Option<Arc<dyn LocalCache>>,
    /// Request data points (one per request: what the SLOs, `/status`
    /// and the dashboards count).
    pub analytics: Arc<dyn AnalyticsSink>,
    /// Cache lookup data points, a stream of their own so they are never
    /// counted as requests (`EDGE_CACHE_ANALYTICS` on Workers).
    pub cache_analytics: Arc<dyn AnalyticsSink>,
    /// Experiment exposure data points: one per (user, experiment,
    /// variant) per isolate (`EDGE_EXPERIMENT_ANALYTICS` on Workers).
    pub experiment_analytics: Arc<dyn AnalyticsSink>,
    /// Security event data points (a separate dataset).
    pub security_analytics: Arc<dyn AnalyticsSink>,
    /// Outbound HTTP (providers, JWKS).
    pub http: Arc<dyn HttpClient>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Sleeps (retry backoff).
    pub timer: Arc<dyn Timer>,
    /// Randomness (request ids, jitter, event keys).
    pub random: Arc<dyn Random>,
    /// Provider API keys and signing secrets, by name.
    pub secrets: Arc<dyn Secrets>,
    /// Rate-limit state (a Durable Object on Workers for exact limits).
    pub rate_limits: Arc<dyn RateLimitStore>,
    /// Shared breaker state.
    pub breakers: Box<dyn BreakerStore>,
}

impl std::fmt::Debug for GatewayPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayPorts").finish_non_exhaustive()
    }
}

struct SharedSecrets(Arc<dyn Secrets>);

impl Secrets for SharedSecrets {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name)
    }
}

impl GatewayPorts {
    /// In-memory ports at `now_ms` with the in-process mock provider as the
    /// HTTP client (docs, tests, the embedded default).
    #[allow(clippy::arc_with_non_send_sync)] // single-threaded by design
    pub fn in_memory(now_ms: u64) -> Self {
        let clock = ManualClock::new(now_ms);
        let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
        Self {
            kv: Arc::new(MemoryKv::new(clock.clone())),
            cache_kv: None,
            security_kv: None,
            local_cache: Some(Arc::new(MemoryLocalCache::new(clock.clone(), 8 << 20))),
            analytics: Arc::new(MemoryAnalytics::new()),
            cache_analytics: Arc::new(MemoryAnalytics::new()),
            experiment_analytics: Arc::new(MemoryAnalytics::new()),
            security_analytics: Arc::new(MemoryAnalytics::new()),
            http: Arc::new(llm_router::MockProvider),
            rate_limits: Arc::new(MemoryStore::new(clock_arc.clone())),
            clock: clock_arc,
            timer: Arc::new(ManualTimer::new(clock)),
            random: Arc::new(SeededRandom::new(1)),
            secrets: Arc::new(std::collections::HashMap::<String, String>::new()),
            breakers: Box::new(LocalOnly),
        }
    }

    /// The router's ports; moves the breaker store out (the router owns it).
    pub(crate) fn router_ports(&mut self) -> llm_router::Ports {
        let breakers = std::mem::replace(&mut self.breakers, Box::new(LocalOnly));
        llm_router::Ports {
            http: Box::new(self.http.clone()),
            clock: Box::new(self.clock.clone()),
            timer: Box::new(self.timer.clone()),
            random: Box::new(self.random.clone()),
            secrets: Box::new(SharedSecrets(self.secrets.clone())),
            kv: Some(Box::new(self.kv.clone())),
            breakers,
        }
    }
}
