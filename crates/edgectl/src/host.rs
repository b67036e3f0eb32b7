//! Native ports for the gateway: SQLite KV, analytics and rate limits, the
//! hyper client, the system clock, OS randomness, tokio sleeps and secrets
//! from environment variables.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use edge_gateway::GatewayPorts;
use edge_ports::{OsRandom, SystemClock, Timer};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use zt_security::ratelimit::{Decision, Gcra, Quota, RateLimitError, RateLimitStore};

use crate::client::HyperClient;
use crate::sqlite::{SqliteAnalytics, SqliteKv, open};

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

/// Exact GCRA limits shared by every thread and surviving restarts: the
/// theoretical arrival time per key lives in SQLite and each decision is one
/// `BEGIN IMMEDIATE` transaction (no read-modify-write race between threads
/// or processes).
pub struct SqliteRateLimits {
    conn: Mutex<Connection>,
    clock: SystemClock,
}

impl std::fmt::Debug for SqliteRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteRateLimits").finish_non_exhaustive()
    }
}

impl SqliteRateLimits {
    /// Over `conn` (creates its table).
    pub fn new(conn: Connection) -> Result<Self, String> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS ratelimit (key TEXT PRIMARY KEY NOT NULL, tat INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            conn: Mutex::new(conn),
            clock: SystemClock::new(),
        })
    }
}

fn store_err(e: impl std::fmt::Display) -> RateLimitError {
    RateLimitError::Store(e.to_string())
}

#[async_trait(?Send)]
impl RateLimitStore for SqliteRateLimits {
    async fn decide(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        use edge_ports::Clock;
        quota.validate()?;
        let mut conn = self.conn.lock().map_err(|_| store_err("poisoned"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(store_err)?;
        let tat: Option<i64> = tx
            .query_row(
                "SELECT tat FROM ratelimit WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(store_err)?;
        let (decision, next) = Gcra::new(*quota).decide(
            tat.and_then(|t| u64::try_from(t).ok()),
            self.clock.now_ms(),
            cost,
        );
        if let Some(t) = next {
            tx.execute(
                "INSERT INTO ratelimit (key, tat) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                params![key, i64::try_from(t).unwrap_or(i64::MAX)],
            )
            .map_err(store_err)?;
        }
        tx.commit().map_err(store_err)?;
        Ok(decision)
    }
}

/// Handles a thread needs besides the gateway (the dashboard reads these).
pub struct ThreadStores {
    /// Request and cache data points.
    pub analytics: Arc<SqliteAnalytics>,
}

/// Builds one thread's ports over the database at `db`.
#[allow(clippy::arc_with_non_send_sync)] // one gateway per thread by design
pub fn ports(db: &Path, secrets: EnvSecrets) -> Result<(GatewayPorts, ThreadStores), String> {
    let clock: Arc<dyn edge_ports::Clock> = Arc::new(SystemClock::new());
    let kv = SqliteKv::new(open(db)?, clock.clone());
    let analytics = Arc::new(SqliteAnalytics::new(open(db)?, clock.clone(), "requests"));
    let security = Arc::new(SqliteAnalytics::new(open(db)?, clock.clone(), "security"));
    let limits = SqliteRateLimits::new(open(db)?)?;
    let ports = GatewayPorts {
        kv: Arc::new(kv),
        analytics: analytics.clone(),
        security_analytics: security,
        http: Arc::new(HyperClient::new()),
        clock,
        timer: Arc::new(TokioSleep),
        random: Arc::new(OsRandom),
        secrets: Arc::new(secrets),
        rate_limits: Arc::new(limits),
        breakers: Box::new(llm_router::LocalOnly),
    };
    Ok((ports, ThreadStores { analytics }))
}
