//! `MemoryKv` passes the KV adapter conformance suite.

use edge_ports::{ManualClock, MemoryKv};

fn store() -> (MemoryKv, ManualClock) {
    let clock = ManualClock::new(1_700_000_000_000);
    (MemoryKv::new(clock.clone()), clock)
}

edge_ports::kv_conformance_tests!(store);
