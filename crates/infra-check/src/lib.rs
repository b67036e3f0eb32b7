//! Offline checks of the infrastructure code, run by `cargo test`:
//!
//! | file | checks |
//! |---|---|
//! | `tests/terraform.rs` | every `.tf` file parses (hcl-rs): v5 resource names, KV bindings ↔ namespaces ↔ outputs, ruleset phases and actions, no secrets in tfvars or wrangler files |
//! | `tests/terraform_apply.rs` | what `validate` does not catch: admin countries ORed in an Access group, one owner per zone phase, plan-dependent rules behind variables, an account-scoped Access application, one-level hostnames, wrangler owning the route |
//! | `tests/terraform_versions.rs` | the provider floor and a lock file per root, `required_version` for the S3 backend |
//! | `tests/render.rs` | `scripts/render-wrangler-ids.sh` writes ids and the route into one environment |
//! | `tests/configs.rs` | the Workers' configs against what `deploy.yml` sets |
//! | `tests/exposure.rs` | no Worker on `*.workers.dev`, the controller's token documented |
//! | `tests/workflows.rs` | pinned actions, least privilege, concurrency; deploys only after CI on the same commit, every api deploy through the smoke check and the canary gate (actionlint itself runs in `scripts/ci.sh`) |
//! | `tests/deploy_script.rs` | `scripts/gradual-deploy.sh` against a fake wrangler and a fake api: steps, gates, rollback, first deploy, migrations |
