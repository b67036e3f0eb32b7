//! Workflow hardening, checked offline (actionlint itself runs in
//! scripts/ci.sh): every action pinned by a full commit SHA with a version
//! comment, least-privilege `permissions`, a `concurrency` group, pinned
//! tool versions for deploys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

fn workflows() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/workflows");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_four_workflows_exist() {
    let names: Vec<_> = workflows().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["canary.yml", "ci.yml", "deploy.yml", "rollback.yml"]
    );
}

#[test]
fn actions_are_pinned_by_sha_with_a_version_comment() {
    let mut uses = 0;
    for (name, text) in workflows() {
        for (n, line) in text.lines().enumerate() {
            let Some(spec) = line.trim().trim_start_matches("- ").strip_prefix("uses:") else {
                continue;
            };
            uses += 1;
            let spec = spec.trim();
            let (action, rest) = spec
                .split_once('@')
                .unwrap_or_else(|| panic!("{name}:{}: unpinned {spec}", n + 1));
            let sha: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            assert_eq!(
                sha.len(),
                40,
                "{name}:{}: {action} is not pinned to a full SHA",
                n + 1
            );
            assert!(
                rest.contains("# "),
                "{name}:{}: {action} has no version comment",
                n + 1
            );
        }
    }
    assert!(uses >= 20, "{uses}");
}

#[test]
fn least_privilege_and_concurrency_everywhere() {
    for (name, text) in workflows() {
        assert!(
            text.contains("\npermissions:\n  contents: read\n"),
            "{name}: top-level permissions must be contents: read"
        );
        assert!(
            !text.contains("write-all") && !text.contains(": write"),
            "{name}: no write permissions"
        );
        assert!(
            text.contains("\nconcurrency:\n"),
            "{name}: no concurrency group"
        );
        if name != "ci.yml" {
            assert!(
                text.contains("cancel-in-progress: false"),
                "{name}: deploys must not be cancelled midway"
            );
        }
    }
}

#[test]
fn deploys_pin_wrangler_and_keep_secrets_out_of_vars() {
    for (name, text) in workflows() {
        if text.contains("wrangler-action") {
            let pins = text.matches("wranglerVersion: \"4.86.0\"").count();
            let uses = text.matches("wrangler-action@").count();
            assert_eq!(
                pins, uses,
                "{name}: every wrangler-action step pins wranglerVersion"
            );
            assert!(
                !text.contains("vars:"),
                "{name}: secrets go through `secrets:`, never `vars:`"
            );
        }
    }
    let (_, canary) = workflows()
        .into_iter()
        .find(|(n, _)| n == "canary.yml")
        .unwrap();
    for step in ["5 25 50 100", "canary-gate.sh", "@100%\" --env"] {
        assert!(canary.contains(step), "canary.yml: missing {step}");
    }
}
