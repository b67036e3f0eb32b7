//! The gateway configs the Workers deploy (issue 20): one file per
//! environment under `workers/config/`, checked offline against what
//! `deploy.yml` provides. A production config that names a mock provider,
//! the dev token issuer, a placeholder Access application, no salt, or a
//! secret or variable no workflow sets, fails here; so does the example
//! config used as production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use edge_gateway::GatewayConfig;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// The names listed after `key:` on one line of `step`, if any.
fn listed(step: &str, key: &str) -> Vec<String> {
    step.lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .map(|rest| rest.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Per Worker, what `deploy.yml` gives it: (secrets, `--var` names). A
/// wrangler-action step lists them in `secrets: |` and `--var NAME:`; the
/// api's gradual deploy in `SECRET_NAMES:` and `VAR_NAMES:`.
fn deployed() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let text = read(".github/workflows/deploy.yml");
    let mut out = BTreeMap::new();
    for step in text.split("- name: Deploy ").skip(1) {
        let worker = step
            .lines()
            .find_map(|l| {
                let t = l.trim();
                t.strip_prefix("workingDirectory: workers/")
                    .or_else(|| t.strip_prefix("working-directory: workers/"))
            })
            .unwrap()
            .to_owned();
        let mut secrets = BTreeSet::new();
        let mut in_secrets = false;
        for line in step.lines() {
            let t = line.trim();
            if t.starts_with("secrets: |") {
                in_secrets = true;
                continue;
            }
            if in_secrets {
                if t.contains(':') || t.is_empty() {
                    in_secrets = false;
                } else {
                    secrets.insert(t.to_owned());
                    continue;
                }
            }
        }
        secrets.extend(listed(step, "SECRET_NAMES:"));
        let mut vars: BTreeSet<String> = step
            .split("--var ")
            .skip(1)
            .filter_map(|v| v.split(':').next())
            .map(str::to_owned)
            .collect();
        vars.extend(listed(step, "VAR_NAMES:"));
        out.insert(worker, (secrets, vars));
    }
    out
}

/// Plausible values of an operator's variables.
fn sample(name: &str) -> Option<String> {
    Some(
        match name {
            "JWT_ISSUER" => "https://idp.acme.test/",
            "JWT_AUDIENCE" => "edgeforge-api",
            "JWKS_URL" => "https://idp.acme.test/.well-known/jwks.json",
            "ACCESS_TEAM" => "acme",
            "ACCESS_AUD" => "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2",
            "TURNSTILE_SITE_KEY" => "0x4AAAAAAAacmeSiteKey",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The secrets a config names.
fn named_secrets(cfg: &GatewayConfig) -> (BTreeSet<String>, BTreeSet<String>) {
    // Needed to build the gateway at all (every Worker builds it).
    let mut at_start = BTreeSet::new();
    at_start.extend(cfg.security.anonymous_salt_secret.clone());
    at_start.extend(cfg.security.consent_secret.clone());
    if let Some(j) = &cfg.security.jwt {
        at_start.extend(j.hs256_secret.clone());
    }
    // The keyring and the security Slack hook are read when the gateway is
    // built, in every Worker.
    if let Some(e) = &cfg.security.encryption {
        at_start.insert(e.keyring_secret.clone());
    }
    at_start.extend(cfg.security.alerts.slack_webhook_secret.clone());
    // Needed by the calls the api makes.
    let mut at_call: BTreeSet<String> = cfg
        .router
        .providers
        .iter()
        .flat_map(|p| p.api_key_secrets.clone())
        .collect();
    if let Some(g) = &cfg.traffic.gradual {
        at_call.insert(g.api_token_secret.clone());
    }
    if let Some(t) = &cfg.security.turnstile {
        at_call.insert(t.secret.clone());
    }
    (at_start, at_call)
}

#[test]
fn every_environment_config_is_deployable_with_what_deploy_yml_sets() {
    let deployed = deployed();
    assert_eq!(
        deployed.keys().cloned().collect::<Vec<_>>(),
        vec!["api", "canary-controller", "health-prober"]
    );
    for env in ["staging", "production"] {
        let text = read(&format!("workers/config/{env}.toml"));
        for name in GatewayConfig::variables(&text) {
            for (worker, (_, vars)) in &deployed {
                assert!(
                    vars.contains(&name),
                    "{env}: deploy.yml gives {worker} no --var {name}"
                );
            }
        }
        let cfg = GatewayConfig::from_text_with_vars(&text, &sample)
            .unwrap_or_else(|e| panic!("{env}: {e}"));
        let (at_start, at_call) = named_secrets(&cfg);
        for (worker, (secrets, _)) in &deployed {
            for s in &at_start {
                assert!(
                    secrets.contains(s),
                    "{env}: deploy.yml never sets {s} on {worker}"
                );
            }
        }
        for s in &at_call {
            assert!(
                deployed["api"].0.contains(s),
                "{env}: deploy.yml never sets {s} on the api"
            );
        }
        // Every Worker selects its environment's file.
        for worker in deployed.keys() {
            let w: toml::Table = read(&format!("workers/{worker}/wrangler.toml"))
                .parse()
                .unwrap();
            let selected = w["env"][env]["vars"]["EDGEFORGE_ENV"].as_str();
            assert_eq!(selected, Some(env), "{worker} env.{env}");
        }
    }
}

#[test]
fn production_refuses_dev_settings_one_by_one() {
    let text = read("workers/config/production.toml");
    let load = |text: &str, vars: &dyn Fn(&str) -> Option<String>| {
        GatewayConfig::from_text_with_vars(text, vars)
            .map(|_| ())
            .map_err(|e| e.field)
    };
    assert_eq!(load(&text, &sample), Ok(()));
    let mock = format!(
        "{text}\n[[router.providers]]\nname = \"mock\"\nkind = \"mock\"\nbase_url = \"http://mock.invalid/v1\"\nregions = [\"us\"]\nmodels = [{{ name = \"mock-1\" }}]\n"
    );
    assert_eq!(load(&mock, &sample), Err("router.providers[2]".into()));
    let dev_issuer = |n: &str| {
        if n == "JWT_ISSUER" {
            Some("edgeforge-dev".into())
        } else {
            sample(n)
        }
    };
    assert_eq!(load(&text, &dev_issuer), Err("security.jwt.issuer".into()));
    let placeholder = |n: &str| {
        if n == "ACCESS_TEAM" {
            Some("example".into())
        } else {
            sample(n)
        }
    };
    assert_eq!(load(&text, &placeholder), Err("security.access".into()));
    let no_salt = text.replace("anonymous_salt_secret = \"ANON_SALT\"\n", "");
    assert_ne!(no_salt, text);
    assert_eq!(
        load(&no_salt, &sample),
        Err("security.anonymous_salt_secret".into())
    );
    let missing = |n: &str| if n == "ACCESS_AUD" { None } else { sample(n) };
    assert_eq!(load(&text, &missing), Err("${ACCESS_AUD}".into()));
}

#[test]
fn the_example_config_is_refused_as_production() {
    let example = edge_gateway::EXAMPLE_CONFIG
        .replace("environment = \"dev\"", "environment = \"production\"");
    assert_ne!(example, edge_gateway::EXAMPLE_CONFIG);
    assert!(GatewayConfig::from_toml(&example).is_err());
    // Even with a salt, its mock provider, dev issuer and placeholder
    // Access application are refused.
    let salted = format!("{example}\n[security]\nanonymous_salt_secret = \"ANON_SALT\"\n");
    let err = GatewayConfig::from_toml(&salted).unwrap_err();
    assert!(err.field.starts_with("router.providers"), "{err}");
}

#[test]
fn deploy_docs_list_every_secret_of_every_worker() {
    let docs = read("docs/deploy.md");
    for (worker, (secrets, _)) in deployed() {
        for s in secrets {
            assert!(
                docs.contains(&format!("`{s}`")),
                "docs/deploy.md does not list {s} ({worker})"
            );
        }
    }
}
