//! `scripts/render-wrangler-ids.sh` on a copy of the repository: Terraform's
//! KV ids and the api's route (wrangler owns the route, Terraform the
//! hostname) land in exactly the environment asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy(rel: &str, to: &Path) {
    let dst = to.join(rel);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::copy(root().join(rel), dst).unwrap();
}

#[test]
fn the_api_route_and_kv_ids_are_rendered_into_one_environment() {
    let tmp = std::env::temp_dir().join(format!("edgeforge-render-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for rel in [
        "scripts/render-wrangler-ids.sh",
        "terraform/bindings.toml",
        "workers/api/wrangler.toml",
        "workers/health-prober/wrangler.toml",
        "workers/canary-controller/wrangler.toml",
    ] {
        copy(rel, &tmp);
    }
    let outputs = tmp.join("outputs.json");
    std::fs::write(
        &outputs,
        r#"{"kv_namespace_ids":{"value":{"cache":"11111111111111111111111111111111","routing":"22222222222222222222222222222222","security":"33333333333333333333333333333333","sessions":"44444444444444444444444444444444"}},
            "wrangler_route":{"value":{"pattern":"gw.acme.dev/*","zone_name":"acme.dev"}}}"#,
    )
    .unwrap();
    let out = Command::new("bash")
        .arg(tmp.join("scripts/render-wrangler-ids.sh"))
        .arg("staging")
        .arg(&outputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api: toml::Table = std::fs::read_to_string(tmp.join("workers/api/wrangler.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let env = |name: &str| api["env"][name].as_table().unwrap().clone();
    let route = |name: &str| env(name)["routes"][0].clone();
    assert_eq!(route("staging")["pattern"].as_str(), Some("gw.acme.dev/*"));
    assert_eq!(route("staging")["zone_name"].as_str(), Some("acme.dev"));
    // Production keeps its own route and ids.
    assert_eq!(
        route("production")["pattern"].as_str(),
        Some("api.example.com/*")
    );
    let ids = |name: &str| -> Vec<String> {
        env(name)["kv_namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| kv["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        ids("staging")
            .iter()
            .all(|id| id.len() == 32 && id.chars().all(|c| "1234".contains(c)))
    );
    assert!(ids("production").iter().all(|id| !id.starts_with("1111")));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn every_deployed_environment_of_the_api_declares_its_route() {
    let api: toml::Table = std::fs::read_to_string(root().join("workers/api/wrangler.toml"))
        .unwrap()
        .parse()
        .unwrap();
    for name in ["staging", "production"] {
        let routes = api["env"][name]["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 1, "{name}");
        let pattern = routes[0]["pattern"].as_str().unwrap();
        let zone = routes[0]["zone_name"].as_str().unwrap();
        let host = pattern.strip_suffix("/*").unwrap();
        // One level under the zone: Universal SSL covers it.
        assert_eq!(
            host.strip_suffix(zone).map(|h| h.matches('.').count()),
            Some(1),
            "{pattern}"
        );
    }
}
