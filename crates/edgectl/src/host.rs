//! Native ports for the gateway: SQLite KV, analytics and rate limits, the
//! hyper client, the system clock, OS randomness, tokio sleeps and secrets
//! from environment variables.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use edge_gateway::GatewayPorts;
use edge_ports::{MemoryLocalCache, OsRandom, SystemClock, Timer};
use rusqlite::{Connection, TransactionBehavior, params};
use zt_security::ratelimit::{Decision, Gcra, Quota, RateLimitError, RateLimitStore, Tat};

use crate::client::HyperClient;
use crate::server::ServeConfig;
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
/// quota. Entries whose TAT has passed carry no state: `persist` forgets
/// them in memory and deletes their rows. At most [`MAX_LIMIT_KEYS`] keys
/// are held; when full, a new key's state is not kept (it is limited by its
/// burst alone) rather than evicting live keys.
#[derive(Debug, Default)]
pub struct SharedRateLimits {
    state: Mutex<LimitState>,
}

/// Keys [`SharedRateLimits`] holds at most (about 100 bytes each).
pub const MAX_LIMIT_KEYS: usize = 500_000;

#[derive(Debug, Default)]
struct LimitState {
    tat: std::collections::HashMap<String, Tat>,
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
        // Rows are TATs in microseconds: compare with now in the same unit.
        // Rows whose TAT has passed (left by a crash) go now.
        let now_us = i64::try_from(Tat::at_ms(now).micros()).unwrap_or(i64::MAX);
        conn.execute("DELETE FROM ratelimit WHERE tat <= ?1", params![now_us])
            .map_err(|e| e.to_string())?;
        let mut stmt = conn
            .prepare("SELECT key, tat FROM ratelimit WHERE tat > ?1 LIMIT ?2")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![now_us, MAX_LIMIT_KEYS as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(|e| e.to_string())?;
        let mut tat = std::collections::HashMap::new();
        for row in rows {
            let (k, t) = row.map_err(|e| e.to_string())?;
            tat.insert(k, Tat::from_micros(u64::try_from(t).unwrap_or(0)));
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
            if !st.tat.contains_key(key) && st.tat.len() >= MAX_LIMIT_KEYS {
                st.tat.retain(|_, t| !t.has_passed(now_ms));
            }
            if st.tat.len() < MAX_LIMIT_KEYS || st.tat.contains_key(key) {
                st.tat.insert(key.to_owned(), t);
                st.dirty.insert(key.to_owned());
            }
        }
        Ok(decision)
    }

    /// Writes changed keys to `conn` in one transaction, and forgets keys
    /// whose TAT has passed, in memory and on disk. Returns how many keys
    /// were written.
    pub fn persist(&self, conn: &mut Connection, now_ms: u64) -> Result<usize, String> {
        let (changed, expired): (Vec<(String, Tat)>, Vec<String>) = {
            let mut st = self.state.lock().map_err(|_| "poisoned".to_string())?;
            let dirty: Vec<String> = st.dirty.drain().collect();
            let changed = dirty
                .iter()
                .filter_map(|k| st.tat.get(k).map(|t| (k.clone(), *t)))
                .collect();
            let expired: Vec<String> = st
                .tat
                .iter()
                .filter(|(_, t)| t.has_passed(now_ms))
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
                params![k, i64::try_from(t.micros()).unwrap_or(i64::MAX)],
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

    /// Keys held in memory.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |st| st.tat.len())
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    cfg: &ServeConfig,
    limits: Arc<SharedRateLimits>,
    writer: &AnalyticsWriter,
) -> Result<(GatewayPorts, ThreadStores), String> {
    let db = cfg.db.as_path();
    let clock: Arc<dyn edge_ports::Clock> = Arc::new(SystemClock::new());
    let local_cache = (cfg.local_cache_bytes > 0).then(|| {
        Arc::new(MemoryLocalCache::new(clock.clone(), cfg.local_cache_bytes))
            as Arc<dyn edge_ports::LocalCache>
    });
    let kv = SqliteKv::new(open(db)?, clock.clone());
    let analytics = Arc::new(writer.sink(open(db)?, clock.clone(), "requests"));
    let cache_analytics = Arc::new(writer.sink(open(db)?, clock.clone(), "cache"));
    let experiment_analytics = Arc::new(writer.sink(open(db)?, clock.clone(), "exposures"));
    let security = Arc::new(writer.sink(open(db)?, clock.clone(), "security"));
    let ports = GatewayPorts {
        kv: Arc::new(kv),
        cache_kv: None,
        security_kv: None,
        local_cache,
        analytics: analytics.clone(),
        cache_analytics,
        experiment_analytics,
        security_analytics: security.clone(),
        http: Arc::new(HyperClient::new()?),
        clock,
        timer: Arc::new(TokioSleep),
        random: Arc::new(OsRandom),
        secrets: Arc::new(cfg.secrets.clone()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM ratelimit", [], |r| r.get(0))
            .unwrap()
    }

    /// Issue 18 (M2): TATs are microseconds and the clock milliseconds;
    /// compared as bare numbers, no row ever expired and every row was
    /// reloaded at each start.
    #[test]
    fn a_key_disappears_once_its_window_has_passed() {
        let dir = std::env::temp_dir().join(format!("edgectl-rl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut conn = crate::sqlite::open(&dir.join("db.sqlite3")).unwrap();
        let limits = SharedRateLimits::load(&conn).unwrap();
        let now = edge_ports::Clock::now_ms(&SystemClock::new());
        let quota = Quota::new(10, 60).unwrap();
        assert!(limits.decide("chat:a:1", &quota, 1, now).unwrap().allowed);
        assert_eq!(limits.persist(&mut conn, now).unwrap(), 1);
        assert_eq!((limits.len(), count(&conn)), (1, 1));
        // Reloaded while live.
        assert_eq!(SharedRateLimits::load(&conn).unwrap().len(), 1);
        // One unit refills in 6 s: the bucket is full again after it.
        limits.persist(&mut conn, now + 5_000).unwrap();
        assert_eq!((limits.len(), count(&conn)), (1, 1));
        limits.persist(&mut conn, now + 6_001).unwrap();
        assert_eq!((limits.len(), count(&conn)), (0, 0));
        // A stale row left behind (a crash) is deleted on load.
        conn.execute(
            "INSERT INTO ratelimit (key, tat) VALUES ('old', ?1)",
            params![i64::try_from(Tat::at_ms(now - 1_000).micros()).unwrap()],
        )
        .unwrap();
        assert!(SharedRateLimits::load(&conn).unwrap().is_empty());
        assert_eq!(count(&conn), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
