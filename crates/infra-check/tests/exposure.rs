//! What the Workers expose (issue 18, M6), checked offline: no Worker is
//! reachable on `*.workers.dev` (where the WAF, rate limits and Access that
//! Terraform binds to the API hostname do not apply), and the canary
//! controller's API token is documented with its narrow scope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn no_worker_is_served_on_workers_dev_in_any_environment() {
    for worker in ["api", "health-prober", "canary-controller"] {
        let path = root().join(format!("workers/{worker}/wrangler.toml"));
        let w: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let mut scopes = vec![("top level".to_string(), w.clone())];
        let envs = w
            .get("env")
            .and_then(|e| e.as_table())
            .cloned()
            .unwrap_or_default();
        assert!(
            envs.contains_key("staging") && envs.contains_key("production"),
            "{worker}"
        );
        for (name, t) in envs {
            scopes.push((format!("env.{name}"), t.as_table().unwrap().clone()));
        }
        for (scope, t) in scopes {
            assert_eq!(
                t.get("workers_dev").and_then(|v| v.as_bool()),
                Some(false),
                "{worker} {scope}: set workers_dev = false"
            );
        }
    }
}

#[test]
fn the_canary_controller_token_is_documented_with_its_scope() {
    let deploy = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
    let tf = std::fs::read_to_string(root().join("terraform/README.md")).unwrap();
    for (name, text) in [("docs/deploy.md", &deploy), ("terraform/README.md", &tf)] {
        assert!(
            text.contains("CF_DEPLOYMENTS_TOKEN") && text.contains("Workers Scripts: Edit"),
            "{name} must name the controller's token and its one permission"
        );
    }
}
