//! edgeforge's native host: the same `edge-gateway` pipeline as the Workers,
//! on hyper with SQLite storage, plus the operator CLI (`edgectl`).
//!
//! - [`sqlite`]: the KV store (passes the edge-ports conformance suite) and
//!   the analytics table;
//! - [`host`]: native ports (SQLite rate limits, hyper client, env secrets);
//! - [`server`]: hyper on one current-thread runtime per core;
//! - [`tools`]: the operator subcommands.
//!
//! ```no_run
//! // The embedded default: mock provider, ./.edgeforge/edgeforge.sqlite3,
//! // http://127.0.0.1:8080 — `cargo run --release -p edgectl -- serve`.
//! let token = edgectl::dev_token("a-dev-secret-of-at-least-32-bytes!!", "alice", 3600).unwrap();
//! assert_eq!(token.split('.').count(), 3);
//! ```

pub mod client;
mod dashboard;
pub mod experiment;
pub mod host;
pub mod log;
pub mod server;
pub mod sqlite;
pub mod tools;

/// An HS256 token for the embedded default's issuer and audience.
pub fn dev_token(secret: &str, subject: &str, ttl_secs: u64) -> Result<String, String> {
    use edge_ports::Clock;
    let now = edge_ports::SystemClock::new().now_secs();
    let claims = serde_json::json!({
        "sub": subject, "iss": "edgeforge-dev", "aud": "edgeforge", "tier": "authenticated",
        "iat": now, "exp": now + ttl_secs,
    });
    let key =
        jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &key,
    )
    .map_err(|e| e.to_string())
}
