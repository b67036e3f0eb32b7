//! Sealing the `details` of stored events (envelope encryption bound to
//! the event id), and opening them for queries.

use serde_json::Value;

use super::SecurityEvent;
use crate::envelope::{Context, Keyring};

/// The prefix of a sealed `details` string.
pub(super) const SEALED: &str = "sealed:v1:";

fn context(ev: &SecurityEvent) -> Context {
    Context::new(ev.id.clone(), "security-event")
}

/// Replaces `ev.details` by its sealed form; on a sealing failure by a
/// marker (never by the plaintext).
pub(super) fn seal_details(ring: &Keyring, rng: &dyn edge_ports::Random, ev: &mut SecurityEvent) {
    if ev.details.is_null() {
        return;
    }
    let plain = serde_json::to_vec(&ev.details).unwrap_or_default();
    ev.details = match ring.seal(rng, &plain, &context(ev)) {
        Ok(ct) => Value::String(format!("{SEALED}{ct}")),
        Err(_) => serde_json::json!({"sealing_failed": true}),
    };
}

/// Opens sealed `details` in place (left sealed when the key is gone).
pub(super) fn open_details(ring: &Keyring, ev: &mut SecurityEvent) {
    let Some(ct) = ev.details.as_str().and_then(|s| s.strip_prefix(SEALED)) else {
        return;
    };
    if let Ok(plain) = ring.open(ct, &context(ev))
        && let Ok(v) = serde_json::from_slice(&plain)
    {
        ev.details = v;
    }
}
