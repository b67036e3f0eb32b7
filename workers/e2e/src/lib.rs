//! Harness for end-to-end tests of the Worker shells in real workerd.
//!
//! [`WranglerDev`] starts `wrangler dev` on a free loopback port against a
//! Worker's prebuilt WASM (`scripts/build-workers.sh`), with a private
//! `--persist-to` directory for local KV, and stops it — including workerd —
//! when dropped, so a failing test never leaves a server behind.
//! [`http_request`] is a dependency-free HTTP/1.1 client for driving it;
//! [`Loopback`] servers stand in for the hosts a Worker calls.
//!
//! Whether the tests run is controlled by `EDGEFORGE_E2E`:
//! - unset: run if the build and wrangler are present, else skip with a message;
//! - `require` (set by the CI command): a missing build or wrangler fails.
//!
//! ```no_run
//! use edgeforge_e2e::{WranglerDev, http_request};
//! if let Some(dev) = WranglerDev::start("api").unwrap() {
//!     let resp = http_request(dev.port(), "GET", "/health", b"").unwrap();
//!     assert_eq!(resp.status, 200);
//! }
//! ```

mod client;
mod loopback;
mod wrangler;

pub use client::{HttpResponse, http_request, http_request_chunked, http_request_with};
pub use loopback::{Answer, Loopback, Recorded};
pub use wrangler::{WranglerDev, workspace_root};
