//! The `api` Worker: a thin `#[event(fetch)]` shell.
//!
//! It converts the Workers request into an `http::Request`, builds the port
//! adapters from the bindings in `wrangler.toml` (`EDGE_KV`,
//! `EDGE_ANALYTICS`) and hands both to [`edge_gateway::Gateway`]. No routing
//! or domain logic lives here.
//!
//! Build and run locally (see README.md):
//!
//! ```text
//! scripts/build-workers.sh api
//! npx wrangler dev -c workers/api/wrangler.toml --ip 127.0.0.1
//! curl http://127.0.0.1:8787/health
//! ```

#[cfg(target_arch = "wasm32")]
mod shell;
