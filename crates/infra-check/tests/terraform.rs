//! Terraform and wrangler files, checked offline: v5 resource names only,
//! the provider pinned, every KV binding backed by a namespace resource and
//! an output, valid ruleset phases and actions, no secrets in tfvars or
//! wrangler files. `terraform validate` needs the provider download and runs
//! on GitHub (ci.yml); `terraform fmt -check` runs in scripts/ci.sh. What
//! validate cannot see (whether an apply succeeds) is in terraform_apply.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != ".terraform") {
                files(&p, ext, out);
            }
        } else if p.to_string_lossy().ends_with(ext) {
            out.push(p);
        }
    }
}

fn tf_files() -> Vec<(PathBuf, Value)> {
    let mut paths = Vec::new();
    files(&root().join("terraform"), ".tf", &mut paths);
    assert!(!paths.is_empty(), "no .tf files found");
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let v: Value = hcl::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, v)
        })
        .collect()
}

/// (type, name, body) of every resource.
fn resources(files: &[(PathBuf, Value)]) -> Vec<(String, String, Value, PathBuf)> {
    let mut out = Vec::new();
    for (p, v) in files {
        if let Some(res) = v.get("resource").and_then(Value::as_object) {
            for (ty, named) in res {
                for (name, body) in named.as_object().unwrap() {
                    out.push((ty.clone(), name.clone(), body.clone(), p.clone()));
                }
            }
        }
    }
    out
}

/// v5 names this project uses; anything else must be added here on purpose.
const V5_RESOURCES: &[&str] = &[
    "cloudflare_workers_kv_namespace",
    "cloudflare_r2_bucket",
    "cloudflare_ruleset",
    "cloudflare_zero_trust_access_application",
    "cloudflare_zero_trust_access_group",
    "cloudflare_zero_trust_access_policy",
    "cloudflare_dns_record",
];

/// v4 names renamed or removed in v5.
const V4_ONLY: &[&str] = &[
    "cloudflare_record",
    "cloudflare_worker_route",
    "cloudflare_worker_script",
    "cloudflare_worker_domain",
    "cloudflare_access_application",
    "cloudflare_access_policy",
    "cloudflare_access_group",
    "cloudflare_rate_limit",
    "cloudflare_filter",
    "cloudflare_firewall_rule",
    "cloudflare_workers_kv",
];

#[test]
fn only_v5_resource_names() {
    let files = tf_files();
    let res = resources(&files);
    assert!(
        res.len() >= 8,
        "expected the edge-platform resources, found {}",
        res.len()
    );
    for (ty, name, _, p) in &res {
        assert!(
            !V4_ONLY.contains(&ty.as_str()),
            "{}: {ty}.{name} is a v4 resource",
            p.display()
        );
        assert!(
            V5_RESOURCES.contains(&ty.as_str()),
            "{}: {ty}.{name} is not a known v5 resource",
            p.display()
        );
    }
}

#[test]
fn provider_is_pinned_to_v5_everywhere() {
    let files = tf_files();
    let mut pinned = 0;
    for (p, v) in &files {
        let Some(tf) = v.get("terraform") else {
            continue;
        };
        let cf = &tf["required_providers"]["cloudflare"];
        assert_eq!(cf["source"], "cloudflare/cloudflare", "{}", p.display());
        let version = cf["version"].as_str().unwrap_or_default();
        assert!(
            version.starts_with("~> 5."),
            "{}: provider version {version:?} is not pinned to ~> 5.N",
            p.display()
        );
        pinned += 1;
    }
    // Both modules and the three roots (staging, production, zone) declare it.
    assert_eq!(pinned, 5);
}

#[test]
fn every_kv_binding_has_a_namespace_resource_and_an_output() {
    let files = tf_files();
    let module_main = files
        .iter()
        .find(|(p, _)| p.ends_with("modules/edge-platform/main.tf"))
        .unwrap();
    let namespaces: Vec<String> = module_main.1["locals"]["kv_namespaces"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let kv_resource = &module_main.1["resource"]["cloudflare_workers_kv_namespace"]["this"];
    assert!(
        kv_resource["for_each"]
            .as_str()
            .unwrap()
            .contains("local.kv_namespaces")
    );
    for out_file in [
        "modules/edge-platform/outputs.tf",
        "environments/staging/outputs.tf",
        "environments/production/outputs.tf",
    ] {
        let (_, v) = files.iter().find(|(p, _)| p.ends_with(out_file)).unwrap();
        assert!(
            v["output"]["kv_namespace_ids"].is_object(),
            "{out_file} has no kv_namespace_ids output"
        );
    }
    let bindings: toml::Table = std::fs::read_to_string(root().join("terraform/bindings.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut checked = 0;
    for worker in ["api", "health-prober", "canary-controller"] {
        let path = root().join(format!("workers/{worker}/wrangler.toml"));
        let w: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let mut tables = vec![("top level".to_string(), w.clone())];
        if let Some(envs) = w.get("env").and_then(|e| e.as_table()) {
            for (name, t) in envs {
                tables.push((format!("env.{name}"), t.as_table().unwrap().clone()));
            }
        }
        for (scope, t) in tables {
            let kvs = t
                .get("kv_namespaces")
                .and_then(|k| k.as_array())
                .cloned()
                .unwrap_or_default();
            assert!(
                !kvs.is_empty(),
                "{worker} {scope}: no KV bindings (bindings are not inherited by environments)"
            );
            for kv in kvs {
                let binding = kv["binding"].as_str().unwrap();
                let ns = bindings
                    .get(binding)
                    .and_then(|n| n.as_str())
                    .unwrap_or_else(|| {
                        panic!(
                            "{worker} {scope}: binding {binding} is not in terraform/bindings.toml"
                        )
                    });
                assert!(
                    namespaces.iter().any(|n| n == ns),
                    "{binding} maps to {ns}, which Terraform does not create"
                );
                let id = kv["id"].as_str().unwrap();
                assert!(
                    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{worker} {scope}: {binding} id {id:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 9, "{checked}");
}

/// The rules of a ruleset: a literal list, or the locals its `rules`
/// expression names (`concat(local.a, cond ? [local.b] : [])`) in the same
/// module, lists or single rules.
fn ruleset_rules(body: &Value, p: &Path, files: &[(PathBuf, Value)]) -> Vec<Value> {
    if let Some(rules) = body["rules"].as_array() {
        return rules.clone();
    }
    let expr = body["rules"].as_str().unwrap();
    let dir = p.parent().unwrap();
    let mut locals = serde_json::Map::new();
    for (f, v) in files {
        if f.parent() == Some(dir) {
            locals.extend(v["locals"].as_object().cloned().unwrap_or_default());
        }
    }
    let mut out = Vec::new();
    for (name, value) in &locals {
        let named = expr.match_indices(&format!("local.{name}")).any(|(i, m)| {
            !expr[i + m.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        if !named {
            continue;
        }
        match value {
            Value::Array(rules) => out.extend(rules.iter().cloned()),
            Value::Object(rule) if rule.contains_key("action") => out.push(value.clone()),
            other => panic!("{}: rules use local.{name} = {other}", p.display()),
        }
    }
    assert!(!out.is_empty(), "{}: no rules found in {expr}", p.display());
    out
}

#[test]
fn rulesets_use_valid_phases_and_actions() {
    let files = tf_files();
    let mut seen = 0;
    for (ty, name, body, p) in resources(&files) {
        if ty != "cloudflare_ruleset" {
            continue;
        }
        let phase = body["phase"].as_str().unwrap();
        let allowed: &[&str] = match phase {
            "http_request_firewall_custom" => &[
                "block",
                "challenge",
                "js_challenge",
                "managed_challenge",
                "log",
                "skip",
            ],
            "http_ratelimit" => &[
                "block",
                "challenge",
                "js_challenge",
                "managed_challenge",
                "log",
            ],
            other => panic!(
                "{}: ruleset {name} uses phase {other}, not checked here",
                p.display()
            ),
        };
        assert!(["zone", "root", "custom"].contains(&body["kind"].as_str().unwrap()));
        for rule in &ruleset_rules(&body, &p, &files) {
            let action = rule["action"].as_str().unwrap();
            assert!(
                allowed.contains(&action),
                "{name}: action {action} is not valid in {phase}"
            );
            assert!(!rule["expression"].as_str().unwrap().is_empty());
            if phase == "http_ratelimit" {
                let rl = &rule["ratelimit"];
                assert!(
                    rl["period"].is_number() || rl["period"].is_string(),
                    "{name}: ratelimit.period"
                );
                assert!(
                    rl["characteristics"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|x| x == "cf.colo.id")),
                    "{name}: rate-limit characteristics must include cf.colo.id"
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 4, "{seen}");
}

fn looks_secret(value: &str) -> bool {
    let v = value.trim();
    let long_token = v.len() >= 24
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+=".contains(c))
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_uppercase())
        && v.chars().any(|c| c.is_ascii_lowercase());
    let prefixed = ["sk-", "sk_live", "ghp_", "xox", "AKIA", "-----BEGIN"]
        .iter()
        .any(|p| v.starts_with(p));
    long_token || prefixed
}

#[test]
fn no_secrets_in_tfvars_or_wrangler_files() {
    let mut paths = Vec::new();
    files(&root().join("terraform"), ".tfvars", &mut paths);
    files(&root().join("terraform"), ".tfvars.example", &mut paths);
    for w in ["api", "health-prober", "canary-controller"] {
        paths.push(root().join(format!("workers/{w}/wrangler.toml")));
    }
    assert!(paths.len() >= 5);
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                let value = value.trim().trim_matches('"');
                assert!(
                    !looks_secret(value),
                    "{}:{}: {} looks like a secret",
                    p.display(),
                    n + 1,
                    key.trim()
                );
                let k = key.trim().to_ascii_lowercase();
                if ["api_key", "api_token", "secret", "password"]
                    .iter()
                    .any(|s| k.contains(s))
                {
                    panic!(
                        "{}:{}: {} must come from a secret store, not a file",
                        p.display(),
                        n + 1,
                        key.trim()
                    );
                }
            }
        }
        if p.ends_with("wrangler.toml") {
            let t: toml::Table = text.parse().unwrap();
            for vars in std::iter::once(t.get("vars")).chain(
                t.get("env")
                    .and_then(|e| e.as_table())
                    .into_iter()
                    .flat_map(|e| e.values().map(|x| x.get("vars"))),
            ) {
                if let Some(vars) = vars.and_then(|v| v.as_table()) {
                    for k in vars.keys() {
                        let up = k.to_ascii_uppercase();
                        assert!(
                            !["KEY", "SECRET", "TOKEN", "PASSWORD"]
                                .iter()
                                .any(|s| up.contains(s)),
                            "{}: [vars] {k} must be a `wrangler secret`",
                            p.display()
                        );
                    }
                }
            }
        }
    }
    // The detector itself catches what it should.
    assert!(looks_secret("sk-proj-AbCdEfGh1234567890abcdefGHIJ"));
    assert!(!looks_secret("00000000000000000000000000000001"));
    assert!(!looks_secret("api.staging.example.com"));
}
