//! Native ports for the gateway: SQLite KV, analytics and rate limits, the
//! hyper client, the system clock, OS randomness, tokio sleeps and secrets
//! from environment variables.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use edge_gateway::GatewayPorts;
use edge_ports::{OsRandom, SystemClock, Timer};
use rusqlite::{Connection, TransactionBehavior, params};
use zt_security::ratelimit::{Decision, Gcra, Quota, RateLimitError, RateLimitStore};

use crate::client::HyperClient;
use crate::sqlite::{AnalyticsWriter, SqliteAnalytics, SqliteKv, open};

/// `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

#[async_trait(?Send)]
impl Timer for TokioSleep {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Secrets from environment variables (`OPENAI_API_KEY`, `JWT_HS256_SECRET`, …).
#[derive(Debug, Clone, Default)]
pub struct EnvSecrets {
    overrides: std::collections::HashMap<String, String>,
}

impl EnvSecrets {
    /// With values that win over the environment (the embedded default's
    /// generated dev secret).
    pub fn with(overrides: std::collections::HashMap<String, String>) -> Self {
        Self { overrides }
    }
}

impl llm_router::Secrets for EnvSecrets {
    fn get(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
    }
}

/// Exact GCRA limits for the whole process, surviving restarts.
///
/// Decisions run in memory under one mutex shared by every thread (a
/// decision is ~100 ns; no read-modify-write race, no per-request disk
/// write). Changed keys are persisted to SQLite in one transaction by
/// [`SharedRateLimits::persist`] (the server calls it every second and on
/// shutdown), and loaded on start: after a crash at most the last second of
/// spending is forgotten, in the client's favour by at most one second of
/// quota. Entries whose TAT is in the past carry no state and are dropped.
#[derive(Debug, Default)]
pub struct SharedRateLimits {
    state: Mutex<LimitState>,
}

#[derive(Debug, Default)]
struct LimitState {
    tat: std::collections::HashMap<String, u64>,
    dirty: std::collections::HashSet<String>,
}

impl SharedRateLimits {
    /// Loads the persisted state from `conn` (creating its table).
    pub fn load(conn: &Connection) -> Result<Self, String> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS ratelimit (key TEXT PRIMARY KEY NOT NULL, tat INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .map_err(|e| e.to_string())?;
        let now = edge_ports::Clock::now_ms(&SystemClock::new());
        let mut stmt = conn
            .prepare("SELECT key, tat FROM ratelimit WHERE tat > ?1")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![i64::try_from(now).unwrap_or(i64::MAX)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(|e| e.to_string())?;
        let mut tat = std::collections::HashMap::new();
        for row in rows {
            let (k, t) = row.map_err(|e| e.to_string())?;
            tat.insert(k, u64::try_from(t).unwrap_or(0));
        }
        Ok(Self {
            state: Mutex::new(LimitState {
                tat,
                dirty: Default::default(),
            }),
        })
    }

    /// One decision.
    pub fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
        now_ms: u64,
    ) -> Result<Decision, RateLimitError> {
        quota.validate()?;
        let mut st = self.state.lock().map_err(|_| store_err("poisoned"))?;
        let (decision, next) = Gcra::new(*quota).decide(st.tat.get(key).copied(), now_ms, cost);
        if let Some(t) = next {
            st.tat.insert(key.to_owned(), t);
            st.dirty.insert(key.to_owned());
        }
        Ok(decision)
    }

    /// Writes changed keys to `conn` in one transaction and forgets keys
    /// whose TAT has passed. Returns how many keys were written.
    pub fn persist(&self, conn: &mut Connection, now_ms: u64) -> Result<usize, String> {
        let (changed, expired): (Vec<(String, u64)>, Vec<String>) = {
            let mut st = self.state.lock().map_err(|_| "poisoned".to_string())?;
            let dirty: Vec<String> = st.dirty.drain().collect();
            let changed = dirty
                .iter()
                .filter_map(|k| st.tat.get(k).map(|t| (k.clone(), *t)))
                .collect();
            let expired: Vec<String> = st
                .tat
                .iter()
                .filter(|(_, t)| **t <= now_ms)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &expired {
                st.tat.remove(k);
            }
            (changed, expired)
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        for (k, t) in &changed {
            tx.execute(
                "INSERT INTO ratelimit (key, tat) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                params![k, i64::try_from(*t).unwrap_or(i64::MAX)],
            )
            .map_err(|e| e.to_string())?;
        }
        for k in &expired {
            tx.execute("DELETE FROM ratelimit WHERE key = ?1", params![k])
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(changed.len())
    }
}

fn store_err(e: impl std::fmt::Display) -> RateLimitError {
    RateLimitError::Store(e.to_string())
}

/// The per-thread `RateLimitStore` view of the shared limits.
struct LimitsPort(Arc<SharedRateLimits>);

#[async_trait(?Send)]
impl RateLimitStore for LimitsPort {
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        let now = edge_ports::Clock::now_ms(&SystemClock::new());
        self.0.decide(key, quota, cost, now)
    }
}

/// Handles a thread needs besides the gateway (the dashboard reads these).
pub struct ThreadStores {
    /// Request and cache data points.
    pub analytics: Arc<SqliteAnalytics>,
    /// Security event data points.
    pub security: Arc<SqliteAnalytics>,
}

/// Builds one thread's ports over the database at `db`, sharing `limits`
/// and the analytics `writer`.
#[allow(clippy::arc_with_non_send_sync)] // one gateway per thread by design
pub fn ports(
    db: &Path,
    secrets: EnvSecrets,
    limits: Arc<SharedRateLimits>,
    writer: &AnalyticsWriter,
) -> Result<(GatewayPorts, ThreadStores), String> {
    let clock: Arc<dyn edge_ports::Clock> = Arc::new(SystemClock::new());
    let kv = SqliteKv::new(open(db)?, clock.clone());
    let analytics = Arc::new(writer.sink(open(db)?, clock.clone(), "requests"));
    let security = Arc::new(writer.sink(open(db)?, clock.clone(), "security"));
    let ports = GatewayPorts {
        kv: Arc::new(kv),
        cache_kv: None,
        security_kv: None,
        analytics: analytics.clone(),
        security_analytics: security.clone(),
        http: Arc::new(HyperClient::new()?),
        clock,
        timer: Arc::new(TokioSleep),
        random: Arc::new(OsRandom),
        secrets: Arc::new(secrets),
        rate_limits: Arc::new(LimitsPort(limits)),
        breakers: Box::new(llm_router::LocalOnly),
    };
    Ok((
        ports,
        ThreadStores {
            analytics,
            security,
        },
    ))
}
