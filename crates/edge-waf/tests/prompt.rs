#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The prompt-injection guardrail on the committed prompt sets: the
//! injections of `tests/prompts/attacks.txt` (every family) and the benign
//! developer and everyday prompts of `tests/prompts/benign.txt`. Rates on
//! public data come from `scripts/prompt-injection-eval.py`, which drives
//! the `probe` test below.

use edge_waf::prompt::{PromptGuard, PromptMessage};

fn lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/prompts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

fn flagged(role: &str, text: &str) -> bool {
    PromptGuard::default()
        .scan(&[PromptMessage { role, text }])
        .flagged
}

#[test]
fn committed_injections_are_flagged_and_benign_prompts_pass() {
    let attacks = lines("attacks.txt");
    let missed: Vec<&String> = attacks
        .iter()
        .filter(|l| {
            let (role, text) = l.split_once('\t').unwrap();
            !flagged(role, text)
        })
        .collect();
    let benign = lines("benign.txt");
    let false_positives: Vec<&String> = benign.iter().filter(|t| flagged("user", t)).collect();
    let detected = 100.0 * (attacks.len() - missed.len()) as f64 / attacks.len() as f64;
    let fp = 100.0 * false_positives.len() as f64 / benign.len() as f64;
    println!(
        "committed sets: {detected:.1}% of {} injections flagged, {fp:.1}% of {} benign prompts",
        attacks.len(),
        benign.len()
    );
    assert!(missed.is_empty(), "missed: {missed:#?}");
    // One known false positive: a question that quotes the attack phrase
    // itself ("what are 'Ignore previous instructions' attacks?").
    assert!(
        false_positives.len() <= 1,
        "false positives: {false_positives:#?}"
    );
}

/// `PROBE_PROMPTS=file.jsonl cargo test -p edge-waf --release --test prompt
/// probe -- --ignored --nocapture`: one line per input `{"role","text"}`,
/// printed as `1 rule,rule` or `0`.
#[test]
#[ignore]
fn probe() {
    let Ok(path) = std::env::var("PROBE_PROMPTS") else {
        return;
    };
    let guard = PromptGuard::default();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let role = v["role"].as_str().unwrap_or("user");
        let text = v["text"].as_str().unwrap_or("");
        let verdict = guard.scan(&[PromptMessage { role, text }]);
        let rules: Vec<&str> = verdict
            .findings
            .iter()
            .flat_map(|f| f.rules.iter().map(|r| r.id))
            .collect();
        println!("PROBE {} {}", u8::from(verdict.flagged), rules.join(","));
    }
}
