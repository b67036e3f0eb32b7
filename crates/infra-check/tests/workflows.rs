//! Workflow hardening and gating, checked offline (actionlint itself runs in
//! scripts/ci.sh): every action pinned by a full commit SHA with a version
//! comment, least-privilege `permissions`, a `concurrency` group, pinned
//! tool versions for deploys; deploys only after CI passed on the same
//! commit, and every api deploy through the smoke check and the canary gate.
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
fn the_workflows_exist() {
    let names: Vec<_> = workflows().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "ci.yml",
            "deploy.yml",
            "preview.yml",
            "rollback.yml",
            "terraform.yml"
        ]
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
        // Writes only where a job needs one: the preview comments on its
        // pull request.
        let writes: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.ends_with(": write") || l.contains("write-all"))
            .collect();
        let allowed: &[&str] = if name == "preview.yml" {
            &["pull-requests: write"]
        } else {
            &[]
        };
        assert_eq!(writes, allowed, "{name}: write permissions");
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
}

fn workflow(name: &str) -> String {
    workflows()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .unwrap()
}

/// The text of the step named `name` (up to the next step).
fn step<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("- name: {name}"))
        .unwrap_or_else(|| panic!("no step {name}"));
    let rest = &text[start + 2..];
    &text[start..start + 2 + rest.find("\n      - ").unwrap_or(rest.len())]
}

#[test]
fn deploys_run_only_after_ci_passed_on_the_same_commit() {
    let deploy = workflow("deploy.yml");
    let on = &deploy[deploy.find("\non:").unwrap()..deploy.find("\npermissions:").unwrap()];
    // Triggered by CI's completion (or by hand), never by a push beside it.
    assert!(on.contains("workflow_run:") && on.contains("workflows: [ci]"));
    assert!(on.contains("types: [completed]"));
    assert!(!on.contains("push:") && !on.contains("pull_request"));
    // The gate job: CI succeeded on a push; by hand, CI's run on the commit.
    assert!(deploy.contains("github.event.workflow_run.conclusion == 'success'"));
    assert!(deploy.contains("github.event.workflow_run.event == 'push'"));
    assert!(deploy.contains("--workflow ci.yml --commit \"$sha\" --status success"));
    assert!(deploy.contains("RUN_SHA: ${{ github.event.workflow_run.head_sha }}"));
    // What is deployed is that commit.
    assert!(deploy.contains("needs: gate"));
    assert!(deploy.contains("ref: ${{ needs.gate.outputs.sha }}"));
    // The preview too waits for CI, and never runs a fork's code.
    let preview = workflow("preview.yml");
    assert!(preview.contains("workflows: [ci]"));
    assert!(preview.contains("github.event.workflow_run.conclusion == 'success'"));
    assert!(preview.contains("head_repository.full_name == github.repository"));
    assert!(preview.contains("ref: ${{ github.event.workflow_run.head_sha }}"));
}

#[test]
fn every_api_deploy_goes_through_the_smoke_check_and_the_canary_gate() {
    let deploy = workflow("deploy.yml");
    let api = step(&deploy, "Deploy api");
    assert!(api.contains("scripts/gradual-deploy.sh"), "{api}");
    assert!(
        !api.contains("wrangler-action"),
        "the api is never deployed in one go"
    );
    // The cron Workers follow only once the api step succeeded.
    let api_at = deploy.find("- name: Deploy api").unwrap();
    for cron in ["Deploy health-prober", "Deploy canary-controller"] {
        assert!(
            deploy.find(&format!("- name: {cron}")).unwrap() > api_at,
            "{cron}"
        );
    }
    // Production waits for traffic and judges it.
    assert!(
        deploy.contains("STEP_WAIT: ${{ needs.gate.outputs.environment == 'production' && '300'")
    );
    assert!(
        deploy.contains(
            "GATE_MIN_REQUESTS: ${{ needs.gate.outputs.environment == 'production' && '50'"
        )
    );
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gradual-deploy.sh"),
    )
    .unwrap();
    for part in [
        "versions upload",
        "smoke-check.sh",
        "${STEPS:-5 25 50 100}",
        "canary-gate.sh",
        "rollback \"gate failed",
        "rollback \"smoke check failed\"",
    ] {
        assert!(script.contains(part), "gradual-deploy.sh: missing {part}");
    }
    // Nothing else deploys the api at 100%: the preview stops at 0%, the
    // rollback workflow only restores an earlier version.
    let preview = workflow("preview.yml");
    assert!(preview.contains("PREVIEW: \"true\""));
    for (name, text) in workflows() {
        if name != "deploy.yml" {
            assert!(
                !text.contains("workers/api\n") || !text.contains("command: deploy"),
                "{name} deploys the api outside the gated path"
            );
        }
    }
}
