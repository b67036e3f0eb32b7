//! The SQLite KV adapter passes the edge-ports KV conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use edge_ports::ManualClock;
use edgectl::sqlite::{SqliteKv, open};

fn store() -> (SqliteKv, ManualClock) {
    let clock = ManualClock::new(1_700_000_000_000);
    let dir = std::env::temp_dir().join(format!(
        "edgectl-kv-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let conn = open(&dir.join("kv.sqlite3")).unwrap();
    (SqliteKv::new(conn, Arc::new(clock.clone())), clock)
}

edge_ports::kv_conformance_tests!(store);
