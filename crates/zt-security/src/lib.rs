//! Zero-trust request security over the edgeforge ports.
//!
//! - [`jwt`]: JWT/JWKS verification with per-key algorithm allow-lists and
//!   Cloudflare Access validation (user and service tokens).
//! - [`authz`]: a default-deny route policy table (roles, tiers, scopes,
//!   Access-only admin routes).
//! - [`ratelimit`]: GCRA over the clock port, a tiers × categories table,
//!   in-memory / KV / Durable-Object-ready stores, IETF `RateLimit` headers.
//! - [`geo`]: country/region rules, `XX`/Tor handling, HMAC-signed consent,
//!   ASN block lists.
//! - [`classify`]: field-aware PII and secret detection with redaction.
//! - [`envelope`]: AES-256-GCM envelope encryption with a rotating keyring.
//! - [`threat`]: the `edge-waf` crate (SQLi/XSS detection with CRS-style
//!   anomaly scoring, bounded request scans, the prompt-injection
//!   guardrail), re-exported under its historical name.
//! - [`bot`]: `botManagement` when present, documented header heuristics
//!   otherwise; allow / rate-limited allow / challenge / block.
//! - [`risk`]: a 0–100 risk score from weighted, additive factors.
//! - [`events`]: the security event log (KV with 30-day TTL and
//!   newest-first keys, analytics, alert hook), redacted before it leaves.
//!
//! ## Building for Workers (wasm32)
//!
//! The JWT and envelope crypto pull in `getrandom`, which on
//! `wasm32-unknown-unknown` needs a backend chosen by the final binary, as
//! getrandom recommends: the Worker crate adds
//! `getrandom = { version = "0.4", features = ["wasm_js"] }` (and `0.3` with
//! `--cfg getrandom_backend="wasm_js"` in `.cargo/config.toml` if an older
//! copy is in the tree). This crate never picks one for you; see
//! `workers/api/Cargo.toml`.
//!
//! ```
//! use zt_security::classify::classify_json;
//! let findings = classify_json(&serde_json::json!({"tokens_generated": 42, "email": "a@example.com"}));
//! assert_eq!(findings.len(), 1); // the email, not the token counter
//! ```

pub mod authz;
pub mod geo;
pub mod jwt;
pub mod ratelimit;

pub mod classify;
pub mod envelope;
/// The request content scanner: the `edge-waf` crate.
pub use edge_waf as threat;

pub mod bot;
pub mod events;
pub mod risk;
