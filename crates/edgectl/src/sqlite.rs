//! SQLite storage for the native host: a `KvStore` with Workers KV
//! semantics (TTL expiry by the clock port, JSON metadata, cursor listing)
//! and an analytics table the dashboard and SLO reports query.
//!
//! One file, WAL mode (readers never block the writer; a crash loses at most
//! the last uncommitted transaction, never corrupts), `synchronous=NORMAL`.
//! Every request thread opens its own connection to the same file.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use edge_ports::kv::{decode_cursor, encode_cursor, limits};
use edge_ports::{
    AnalyticsError, AnalyticsSink, Clock, DataPoint, KvError, KvStore, KvValue, ListKey,
    ListOptions, ListPage, PutOptions,
};
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    metadata TEXT,
    expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS datapoints (
    ts_ms INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    index1 TEXT NOT NULL,
    blobs TEXT NOT NULL,
    doubles TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datapoints_ts ON datapoints(dataset, ts_ms);
";

fn backend(e: impl std::fmt::Display) -> KvError {
    KvError::Backend(e.to_string())
}

/// Opens (creating if needed) the database at `path` and applies the schema.
pub fn open(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    let conn = Connection::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    conn.execute_batch(SCHEMA)
        .map_err(|e| format!("initialise {}: {e}", path.display()))?;
    // A crash mid-write must leave a readable store: check it on open.
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| format!("check {}: {e}", path.display()))?;
    if ok != "ok" {
        return Err(format!(
            "{} failed its integrity check: {ok}",
            path.display()
        ));
    }
    Ok(conn)
}

/// Workers-KV semantics over one SQLite connection.
pub struct SqliteKv {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKv").finish_non_exhaustive()
    }
}

impl SqliteKv {
    /// A store over `conn` (see [`open`]), expiring entries by `clock`.
    pub fn new(conn: Connection, clock: Arc<dyn Clock>) -> Self {
        Self {
            conn: Mutex::new(conn),
            clock,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, KvError> {
        self.conn
            .lock()
            .map_err(|_| KvError::Backend("sqlite connection poisoned".into()))
    }

    /// Deletes expired entries; returns how many.
    pub fn purge_expired(&self) -> Result<usize, KvError> {
        let now = self.clock.now_secs();
        self.lock()?
            .execute(
                "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                params![now as i64],
            )
            .map_err(backend)
    }
}

#[async_trait(?Send)]
impl KvStore for SqliteKv {
    async fn get_with_metadata(&self, key: &str) -> Result<Option<KvValue>, KvError> {
        limits::validate_key(key)?;
        let now = self.clock.now_secs() as i64;
        let row = self
            .lock()?
            .query_row(
                "SELECT value, metadata FROM kv WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
                params![key, now],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()
            .map_err(backend)?;
        Ok(row.map(|(value, meta)| KvValue {
            value,
            metadata: meta.and_then(|m| serde_json::from_str(&m).ok()),
        }))
    }

    async fn put(&self, key: &str, value: Vec<u8>, opts: PutOptions) -> Result<(), KvError> {
        let now = self.clock.now_secs();
        limits::validate_put(key, value.len(), &opts, now)?;
        let expires = limits::expiry_secs(&opts, now).map(|s| s as i64);
        let meta = opts.metadata.as_ref().map(serde_json::Value::to_string);
        self.lock()?
            .execute(
                "INSERT INTO kv (key, value, metadata, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value,
                   metadata = excluded.metadata, expires_at = excluded.expires_at",
                params![key, value, meta, expires],
            )
            .map_err(backend)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        limits::validate_key(key)?;
        self.lock()?
            .execute("DELETE FROM kv WHERE key = ?1", params![key])
            .map_err(backend)?;
        Ok(())
    }

    async fn list(&self, opts: ListOptions) -> Result<ListPage, KvError> {
        limits::validate_list(&opts)?;
        let now = self.clock.now_secs() as i64;
        let prefix = opts.prefix.clone().unwrap_or_default();
        let (start, inclusive) = match &opts.cursor {
            Some(c) => match decode_cursor(c)? {
                after if after >= prefix => (after, false),
                _ => (prefix.clone(), true),
            },
            None => (prefix.clone(), true),
        };
        let limit = opts.limit as usize;
        let conn = self.lock()?;
        let sql = if inclusive {
            "SELECT key, metadata, expires_at FROM kv WHERE key >= ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key LIMIT ?3"
        } else {
            "SELECT key, metadata, expires_at FROM kv WHERE key > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key LIMIT ?3"
        };
        let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![start, now, (limit + 1) as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .map_err(backend)?;
        let mut keys = Vec::new();
        let mut more = false;
        for row in rows {
            let (name, meta, exp) = row.map_err(backend)?;
            if !name.starts_with(&prefix) {
                break;
            }
            if keys.len() == limit {
                more = true;
                break;
            }
            keys.push(ListKey {
                name,
                expiration: exp.and_then(|e| u64::try_from(e).ok()),
                metadata: meta.and_then(|m| serde_json::from_str(&m).ok()),
            });
        }
        let cursor = if more {
            keys.last().map(|k| encode_cursor(&k.name))
        } else {
            None
        };
        Ok(ListPage {
            keys,
            list_complete: !more,
            cursor,
        })
    }
}

/// Analytics data points in SQLite (one table, a `dataset` column), with
/// Analytics Engine's validation. `write` only queues the point; one
/// writer thread per process inserts batches in single transactions (like
/// Analytics Engine's asynchronous ingestion), so request threads never
/// wait on the database. Queued points are written before the writer exits.
pub struct SqliteAnalytics {
    reader: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    dataset: String,
    queue: std::sync::mpsc::SyncSender<Queued>,
}

type Queued = (String, u64, DataPoint);

/// Queue capacity; when full, `write` fails (counted by the caller) rather
/// than letting memory grow without bound.
const QUEUE: usize = 100_000;

/// The process's analytics writer. Dropping every sender ends it after
/// the queue drains; [`AnalyticsWriter::join`] waits for that.
pub struct AnalyticsWriter {
    sender: std::sync::mpsc::SyncSender<Queued>,
    handle: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for AnalyticsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsWriter").finish_non_exhaustive()
    }
}

impl AnalyticsWriter {
    /// Starts the writer over the database at `path`.
    pub fn start(path: &Path) -> Result<Self, String> {
        let mut conn = open(path)?;
        let (sender, rx) = std::sync::mpsc::sync_channel::<Queued>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("edgectl-analytics".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < 5_000 {
                        match rx.try_recv() {
                            Ok(p) => batch.push(p),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = insert(&mut conn, &batch) {
                        crate::log::warn(
                            "analytics points not stored",
                            &[("points", batch.len().to_string()), ("error", e)],
                        );
                    }
                    if batch.len() < 100 {
                        // Let small batches grow: at most 50 ms of delay.
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Self { sender, handle })
    }

    /// A sink for `dataset` feeding this writer, reading from `reader`.
    pub fn sink(
        &self,
        reader: Connection,
        clock: Arc<dyn Clock>,
        dataset: &str,
    ) -> SqliteAnalytics {
        SqliteAnalytics {
            reader: Mutex::new(reader),
            clock,
            dataset: dataset.to_owned(),
            queue: self.sender.clone(),
        }
    }

    /// Waits until every queued point is stored (all sinks must be dropped).
    pub fn join(self) {
        drop(self.sender);
        let _ = self.handle.join();
    }
}

fn insert(conn: &mut Connection, batch: &[Queued]) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO datapoints (ts_ms, dataset, index1, blobs, doubles) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(|e| e.to_string())?;
        for (dataset, ts, point) in batch {
            stmt.execute(params![
                i64::try_from(*ts).unwrap_or(i64::MAX),
                dataset,
                point.indexes.first().cloned().unwrap_or_default(),
                serde_json::to_string(&point.blobs).unwrap_or_default(),
                serde_json::to_string(&point.doubles).unwrap_or_default(),
            ])
            .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

impl std::fmt::Debug for SqliteAnalytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAnalytics")
            .field("dataset", &self.dataset)
            .finish_non_exhaustive()
    }
}

impl SqliteAnalytics {
    /// Points of `dataset` since `since_ms`, oldest first, from the database
    /// at `path` (for reports; no writer needed).
    pub fn read(
        path: &Path,
        dataset: &str,
        since_ms: u64,
    ) -> Result<Vec<(u64, DataPoint)>, String> {
        query(&open(path)?, dataset, since_ms)
    }

    /// Points of this dataset stored since `since_ms`, oldest first.
    pub fn since(&self, since_ms: u64) -> Result<Vec<(u64, DataPoint)>, String> {
        let conn = self.reader.lock().map_err(|_| "poisoned".to_string())?;
        query(&conn, &self.dataset, since_ms)
    }
}

fn query(conn: &Connection, dataset: &str, since_ms: u64) -> Result<Vec<(u64, DataPoint)>, String> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT ts_ms, index1, blobs, doubles FROM datapoints WHERE dataset = ?1 AND ts_ms >= ?2 ORDER BY ts_ms",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(
            params![dataset, i64::try_from(since_ms).unwrap_or(i64::MAX)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for row in rows {
        let (ts, index, blobs, doubles) = row.map_err(|e| e.to_string())?;
        out.push((
            u64::try_from(ts).unwrap_or(0),
            DataPoint {
                indexes: vec![index],
                blobs: serde_json::from_str(&blobs).unwrap_or_default(),
                doubles: serde_json::from_str(&doubles).unwrap_or_default(),
            },
        ));
    }
    Ok(out)
}

impl AnalyticsSink for SqliteAnalytics {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        point.validate()?;
        self.queue
            .try_send((self.dataset.clone(), self.clock.now_ms(), point))
            .map_err(|e| AnalyticsError::Backend(format!("analytics queue: {e}")))
    }
}

/// Rows one retention statement deletes at most (short transactions keep
/// the request threads' writes flowing).
const RETENTION_BATCH: usize = 5_000;

/// What [`apply_retention`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retained {
    /// Analytics data points older than the cutoff.
    pub datapoints: usize,
    /// KV rows past their expiry.
    pub kv_rows: usize,
}

/// Deletes analytics data points older than `cutoff_ms` and KV rows expired
/// at `now_secs`, in batches, at most `max_batches` of each (the background
/// loop calls it every minute, so a backlog drains over a few calls).
pub fn apply_retention(
    conn: &Connection,
    cutoff_ms: u64,
    now_secs: u64,
    max_batches: usize,
) -> Result<Retained, String> {
    let cutoff = i64::try_from(cutoff_ms).unwrap_or(i64::MAX);
    let now = i64::try_from(now_secs).unwrap_or(i64::MAX);
    Ok(Retained {
        datapoints: delete_in_batches(
            conn,
            "DELETE FROM datapoints WHERE rowid IN (SELECT rowid FROM datapoints WHERE ts_ms < ?1 LIMIT ?2)",
            cutoff,
            max_batches,
        )?,
        kv_rows: delete_in_batches(
            conn,
            "DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
            now,
            max_batches,
        )?,
    })
}

/// Runs `sql` (bound to `bound` and the batch size) until a batch deletes
/// fewer rows than the batch size, at most `max_batches` times.
fn delete_in_batches(
    conn: &Connection,
    sql: &str,
    bound: i64,
    max_batches: usize,
) -> Result<usize, String> {
    let mut deleted = 0;
    for _ in 0..max_batches {
        let n = conn
            .execute(sql, params![bound, RETENTION_BATCH as i64])
            .map_err(|e| e.to_string())?;
        deleted += n;
        if n < RETENTION_BATCH {
            break;
        }
    }
    Ok(deleted)
}
