//! Terraform that applies, not only validates (issue 21): what `terraform
//! validate` passes but an apply, or the API behind it, refuses. Admin
//! countries in an OR, one Terraform root per zone ruleset phase,
//! plan-dependent rules behind variables, an account-scoped Access
//! application, hostnames Universal SSL covers and a Workers route that
//! wrangler owns. Versions and lock files: terraform_versions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod terraform_support;

use std::collections::BTreeMap;

use serde_json::Value;
use terraform_support::{
    all_dirs, dir_files, locals, name, resources, root, roots, tfvars_example, variable,
    with_modules,
};

#[test]
fn admin_countries_are_an_or_never_one_require_rule_each() {
    let res = resources(&all_dirs());
    let access = |ty: &str| {
        res.iter()
            .filter(|(t, _, _)| t == ty)
            .map(|(_, n, b)| (n.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    // Access ANDs the rules of a `require`: a geo rule there per country
    // admits nobody once there are two countries.
    for ty in [
        "cloudflare_zero_trust_access_policy",
        "cloudflare_zero_trust_access_group",
    ] {
        for (n, body) in access(ty) {
            let require = serde_json::to_string(&body["require"]).unwrap();
            assert!(
                !require.contains("geo"),
                "{ty}.{n}: geo rules in `require` are ANDed; list the countries in a group's `include`"
            );
        }
    }
    let country_groups: Vec<String> = access("cloudflare_zero_trust_access_group")
        .into_iter()
        .filter(|(_, b)| {
            let include = serde_json::to_string(&b["include"]).unwrap();
            include.contains("geo") && include.contains("var.admin_countries")
        })
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        country_groups.len(),
        1,
        "one group includes the admin countries"
    );
    let (_, admins) = access("cloudflare_zero_trust_access_policy")
        .into_iter()
        .find(|(n, _)| n == "admins")
        .expect("the admins policy");
    let include = serde_json::to_string(&admins["include"]).unwrap();
    assert!(include.contains("email_domain") && include.contains("var.admin_email_domain"));
    let require = serde_json::to_string(&admins["require"]).unwrap();
    assert!(
        require.contains(&format!(
            "cloudflare_zero_trust_access_group.{}.id",
            country_groups[0]
        )),
        "the admins policy must require the country group: {require}"
    );
    let countries = variable(
        &root().join("terraform/modules/edge-platform"),
        "admin_countries",
    );
    assert!(
        countries["validation"]["condition"]
            .as_str()
            .is_some_and(|c| c.contains("length(var.admin_countries) > 0")),
        "an empty country list would create a group that matches nobody"
    );
}

#[test]
fn each_zone_ruleset_phase_has_exactly_one_owning_root() {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in roots() {
        for (ty, n, body) in resources(&with_modules(&r)) {
            if ty == "cloudflare_ruleset" && body["kind"] == "zone" {
                assert!(
                    body.get("count").is_none() && body.get("for_each").is_none(),
                    "{ty}.{n}: one entry point per phase, not a collection"
                );
                let phase = body["phase"].as_str().unwrap().to_string();
                owners.entry(phase).or_default().push(name(&r));
            }
        }
    }
    assert!(
        owners.contains_key("http_request_firewall_custom")
            && owners.contains_key("http_ratelimit"),
        "{owners:?}"
    );
    for (phase, roots) in &owners {
        assert_eq!(
            roots.len(),
            1,
            "zone phase {phase} is created by {roots:?}: a zone has one entry-point ruleset per phase, so the second apply collides"
        );
    }
    // The owner's rules cover every environment's hostname.
    let owner = root()
        .join("terraform/environments")
        .join(&owners["http_ratelimit"][0]);
    let listed = tfvars_example(&owner)["api_hostnames"].clone();
    let listed: Vec<&str> = listed
        .as_array()
        .expect("the zone root lists api_hostnames")
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for env in ["staging", "production"] {
        let dir = root().join("terraform/environments").join(env);
        let host = tfvars_example(&dir)["api_hostname"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            listed.contains(&host.as_str()),
            "{owner:?} does not cover {env}'s {host}"
        );
    }
    let module = root().join("terraform/modules/zone-rulesets");
    assert!(
        locals(&module)["api_hosts"]
            .as_str()
            .is_some_and(|h| h.contains("var.api_hostnames")),
        "the rules must match every hostname in api_hostnames"
    );
}

#[test]
fn the_bot_rule_and_the_rate_limit_follow_the_plan_variables() {
    // The module that holds the rulesets, wherever it is.
    let module = all_dirs()
        .into_iter()
        .find(|d| {
            resources(std::slice::from_ref(d))
                .iter()
                .any(|(t, _, _)| t == "cloudflare_ruleset")
        })
        .expect("a module with the zone rulesets");
    let l = locals(&module);
    let res = resources(std::slice::from_ref(&module));
    let ruleset = |phase: &str| {
        res.iter()
            .find(|(t, _, b)| t == "cloudflare_ruleset" && b["phase"] == phase)
            .map(|(_, _, b)| b.clone())
            .unwrap_or_else(|| panic!("no {phase} ruleset"))
    };

    // Bot score: only with bot_management_enabled, only on Enterprise.
    let waf = ruleset("http_request_firewall_custom");
    let rules = &waf["rules"];
    let literal = rules.as_array().cloned().unwrap_or_default();
    let listed = l
        .get("waf_rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for rule in literal.iter().chain(&listed) {
        assert!(
            !rule["expression"]
                .as_str()
                .unwrap()
                .contains("cf.bot_management"),
            "bot-score rules need Enterprise Bot Management: add them only behind bot_management_enabled"
        );
    }
    let rules = rules.as_str().unwrap_or_default();
    let bot_locals: Vec<&String> = l
        .iter()
        .filter(|(_, v)| v.to_string().contains("cf.bot_management.score"))
        .map(|(k, _)| k)
        .collect();
    assert!(
        !bot_locals.is_empty(),
        "the bot rule is kept for Enterprise zones"
    );
    for k in bot_locals {
        assert!(
            rules.contains(&format!("var.bot_management_enabled ? [local.{k}] : []")),
            "local.{k} must be added only when bot_management_enabled: {rules}"
        );
    }
    let bot = variable(&module, "bot_management_enabled");
    assert_eq!(bot["default"], false);
    let pre = waf["lifecycle"]["precondition"]["condition"]
        .as_str()
        .unwrap_or_default();
    assert!(
        pre.contains("var.bot_management_enabled") && pre.contains("\"enterprise\""),
        "bot_management_enabled must be refused on non-Enterprise plans: {pre:?}"
    );

    // Rate limit: parameters from the plan, the default valid on Free.
    let plan = variable(&module, "zone_plan");
    assert_eq!(plan["default"], "free");
    let cond = plan["validation"]["condition"].as_str().unwrap();
    for p in ["free", "pro", "business", "enterprise"] {
        assert!(
            cond.contains(&format!("\"{p}\"")),
            "zone_plan validation lacks {p}"
        );
    }
    assert!(
        l["rate_limit"]
            .as_str()
            .unwrap()
            .contains("[var.zone_plan]")
    );
    let plans = l["rate_limit_plans"].as_object().unwrap();
    assert_eq!(
        plans.keys().collect::<Vec<_>>(),
        ["business", "enterprise", "free", "pro"]
    );
    let free = &plans["free"];
    assert_eq!(free["period"], 10, "Free allows only a 10 s period");
    assert_eq!(
        free["mitigation_timeout"], 10,
        "Free allows only a 10 s timeout"
    );
    assert!(
        free["requests_per_period"]
            .as_str()
            .unwrap()
            .contains("/ 6")
    );
    let free_expr = free["expression"].as_str().unwrap();
    let free_expr = if free_expr == "${local.api_paths}" {
        l["api_paths"].as_str().unwrap()
    } else {
        free_expr
    };
    assert!(
        !free_expr.contains("http.host") && free_expr.contains("http.request.uri.path"),
        "Free rate-limit expressions may use the path only: {free_expr}"
    );
    for (p, limits) in plans {
        let period = limits["period"].as_u64().unwrap();
        let timeout = limits["mitigation_timeout"].as_u64().unwrap();
        assert!(
            period <= 60 && timeout <= 3600,
            "{p}: within what Pro allows"
        );
    }
    let rl = ruleset("http_ratelimit");
    let rl_rules = rl["rules"].as_array().unwrap();
    assert_eq!(rl_rules.len(), 1, "Free allows one rate-limit rule");
    let r = &rl_rules[0];
    assert_eq!(r["expression"], "${local.rate_limit.expression}");
    for k in ["period", "mitigation_timeout", "requests_per_period"] {
        assert_eq!(
            r["ratelimit"][k],
            format!("${{local.rate_limit.{k}}}"),
            "{k}"
        );
    }
    assert_eq!(
        r["ratelimit"]["characteristics"],
        serde_json::json!(["cf.colo.id", "ip.src"])
    );
}

#[test]
fn the_access_application_is_account_scoped() {
    let res = resources(&all_dirs());
    let apps: Vec<_> = res
        .iter()
        .filter(|(t, _, _)| t == "cloudflare_zero_trust_access_application")
        .collect();
    assert!(!apps.is_empty());
    for (_, n, app) in apps {
        assert!(
            app.get("zone_id").is_none() && app["account_id"].is_string(),
            "{n}: the application references account-level policies; scope it to the account"
        );
        for policy in app["policies"].as_array().unwrap() {
            let id = policy["id"].as_str().unwrap();
            let target = id
                .trim_start_matches("${cloudflare_zero_trust_access_policy.")
                .trim_end_matches(".id}");
            let (_, _, body) = res
                .iter()
                .find(|(t, pn, _)| t == "cloudflare_zero_trust_access_policy" && pn == target)
                .unwrap_or_else(|| panic!("{n}: policy {id} is not a resource here"));
            assert!(body["account_id"].is_string() && body.get("zone_id").is_none());
        }
    }
}

/// `host` is exactly one label under `zone`.
fn one_level_under(host: &str, zone: &str) -> bool {
    host.strip_suffix(zone)
        .and_then(|h| h.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

#[test]
fn example_hostnames_are_one_level_under_the_zone() {
    assert!(one_level_under("api-staging.example.com", "example.com"));
    assert!(!one_level_under("api.staging.example.com", "example.com"));
    assert!(!one_level_under("example.com", "example.com"));
    let mut zones = Vec::new();
    for env in ["staging", "production"] {
        let v = tfvars_example(&root().join("terraform/environments").join(env));
        let host = v["api_hostname"].as_str().unwrap();
        // Without zone_name, the registrable domain (last two labels).
        let fallback = host.splitn(host.matches('.').count(), '.').last().unwrap();
        let zone = v["zone_name"].as_str().unwrap_or(fallback);
        assert!(
            one_level_under(host, zone),
            "{env}: {host} is not one label under {zone}; Universal SSL does not cover it"
        );
        zones.push(zone.to_string());
    }
    let zone_root = tfvars_example(&root().join("terraform/environments/zone"));
    for host in zone_root["api_hostnames"].as_array().unwrap() {
        let host = host.as_str().unwrap();
        assert!(
            zones.iter().any(|z| one_level_under(host, z)),
            "zone root: {host}"
        );
    }
    // A deeper real hostname is refused at plan time.
    let module = root().join("terraform/modules/edge-platform");
    let dns = resources(std::slice::from_ref(&module))
        .into_iter()
        .find(|(t, n, _)| t == "cloudflare_dns_record" && n == "api")
        .expect("the api DNS record")
        .2;
    let pre = dns["lifecycle"]["precondition"]["condition"]
        .as_str()
        .unwrap_or_default();
    assert!(
        pre.contains("var.api_hostname") && pre.contains("var.zone_name"),
        "{pre:?}"
    );
    let readme = std::fs::read_to_string(root().join("terraform/README.md")).unwrap();
    assert!(readme.contains("Universal SSL") && readme.contains("api-staging.example.com"));
}

#[test]
fn wrangler_owns_the_workers_route_and_terraform_keeps_the_dns_record() {
    let res = resources(&all_dirs());
    for (ty, n, _) in &res {
        assert!(
            ty != "cloudflare_workers_route" && ty != "cloudflare_workers_custom_domain",
            "{ty}.{n}: the script does not exist on a first apply; routes live in workers/api/wrangler.toml"
        );
    }
    assert!(
        res.iter()
            .any(|(t, _, b)| t == "cloudflare_dns_record" && b["proxied"] == true)
    );
    for env in ["staging", "production"] {
        let outputs = dir_files(&root().join("terraform/environments").join(env));
        assert!(
            outputs
                .iter()
                .any(|(_, v)| v["output"]["wrangler_route"].is_object()),
            "{env}: output wrangler_route"
        );
    }
    let readme = std::fs::read_to_string(root().join("terraform/README.md")).unwrap();
    for needle in [
        "workers/api/wrangler.toml",
        "routes = [{ pattern = ",
        "zone_name = ",
    ] {
        assert!(
            readme.contains(needle),
            "terraform/README.md lacks {needle:?}"
        );
    }
}
