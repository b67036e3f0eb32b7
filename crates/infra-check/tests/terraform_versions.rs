//! Versions that apply (issue 21): the Cloudflare provider's floor above
//! 5.0.x (which lacks or mis-applies what the modules use), a committed
//! `.terraform.lock.hcl` per root that matches the constraint, and a
//! Terraform `required_version` that covers the S3 backend's
//! `skip_s3_checksum` (1.6.3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod terraform_support;

use terraform_support::{all_dirs, dir_files, parse, roots};

type Version = (u64, u64, u64);

fn version(s: &str) -> (Version, usize) {
    let parts: Vec<u64> = s
        .trim()
        .split('.')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("version {s:?}")))
        .collect();
    assert!((1..=3).contains(&parts.len()), "version {s:?}");
    let at = |i: usize| parts.get(i).copied().unwrap_or(0);
    ((at(0), at(1), at(2)), parts.len())
}

/// The versions a constraint admits: [lower, upper), upper `None` when open.
fn bounds(constraint: &str) -> (Version, Option<Version>) {
    let mut lower = (0, 0, 0);
    let mut upper: Option<Version> = None;
    let mut cap = |u: Version| upper = Some(upper.map_or(u, |x: Version| x.min(u)));
    for part in constraint.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("~>") {
            let (v, n) = version(v);
            lower = lower.max(v);
            cap(if n == 3 {
                (v.0, v.1 + 1, 0)
            } else {
                (v.0 + 1, 0, 0)
            });
        } else if let Some(v) = part.strip_prefix(">=") {
            lower = lower.max(version(v).0);
        } else if let Some(v) = part.strip_prefix('<') {
            assert!(!v.starts_with('='), "{constraint}: use < rather than <=");
            cap(version(v).0);
        } else {
            let (v, _) = version(part.trim_start_matches('='));
            lower = lower.max(v);
            cap((v.0, v.1, v.2 + 1));
        }
    }
    (lower, upper)
}

#[test]
fn the_constraint_parser_reads_what_terraform_accepts() {
    assert_eq!(bounds("~> 5.0"), ((5, 0, 0), Some((6, 0, 0))));
    assert_eq!(bounds("~> 5.11"), ((5, 11, 0), Some((6, 0, 0))));
    assert_eq!(bounds("~> 5.11.2"), ((5, 11, 2), Some((5, 12, 0))));
    assert_eq!(bounds(">= 5.11.0, < 6.0.0"), ((5, 11, 0), Some((6, 0, 0))));
    assert_eq!(bounds(">= 1.6.3"), ((1, 6, 3), None));
    assert_eq!(bounds("5.11.0"), ((5, 11, 0), Some((5, 11, 1))));
}

/// The first release that applies the modules cleanly: 5.0.x predates the
/// v5 `cloudflare_workers_route` and the ruleset, Access-policy and R2
/// fixes; 5.11.0 stops the lower-case R2 location hint from planning a
/// bucket replacement (terraform/README.md, "Provider version").
const FLOOR: Version = (5, 11, 0);

#[test]
fn provider_floor_excludes_5_0_and_each_root_commits_a_matching_lock_file() {
    let mut constraints = Vec::new();
    for d in all_dirs() {
        for (p, v) in dir_files(&d) {
            if let Some(cf) = v["terraform"]["required_providers"].get("cloudflare") {
                let c = cf["version"].as_str().unwrap().to_string();
                let (lower, upper) = bounds(&c);
                assert!(
                    lower >= FLOOR,
                    "{}: {c:?} admits releases before {FLOOR:?} (5.0.x included) that do not apply these modules",
                    p.display()
                );
                assert!(
                    upper.is_some_and(|u| u <= (6, 0, 0)),
                    "{}: {c:?} admits 6.x",
                    p.display()
                );
                constraints.push(c);
            }
        }
    }
    assert!(constraints.len() >= 5, "{constraints:?}");
    constraints.dedup();
    assert_eq!(
        constraints.len(),
        1,
        "one constraint everywhere: {constraints:?}"
    );
    let constraint = &constraints[0];
    let (lower, upper) = bounds(constraint);
    for r in roots() {
        let lock_path = r.join(".terraform.lock.hcl");
        assert!(lock_path.exists(), "{}: commit the lock file", r.display());
        let lock = parse(&lock_path);
        let providers = lock["provider"].as_object().unwrap();
        let cf = &providers["registry.terraform.io/cloudflare/cloudflare"];
        let (locked, n) = version(cf["version"].as_str().unwrap());
        assert_eq!(n, 3);
        assert!(
            locked >= lower && upper.is_none_or(|u| locked < u),
            "{}: locked {locked:?} outside {constraint}",
            r.display()
        );
        assert_eq!(
            cf["constraints"].as_str(),
            Some(constraint.as_str()),
            "{}",
            r.display()
        );
        let hashes: Vec<&str> = cf["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        for h in &hashes {
            if let Some(b64) = h.strip_prefix("h1:") {
                assert!(b64.len() == 44 && b64.ends_with('='), "{h}");
            } else if let Some(hex) = h.strip_prefix("zh:") {
                assert!(
                    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{h}"
                );
            } else {
                panic!("{}: unknown hash scheme {h}", r.display());
            }
        }
        assert!(hashes.iter().any(|h| h.starts_with("h1:")));
        assert!(hashes.iter().filter(|h| h.starts_with("zh:")).count() >= 4);
        assert!(
            hashes.windows(2).all(|w| w[0] < w[1]),
            "sorted as terraform writes them"
        );
    }
    // Every root carries the same release.
    let versions: Vec<String> = roots()
        .iter()
        .map(|r| {
            parse(&r.join(".terraform.lock.hcl"))["provider"]
                ["registry.terraform.io/cloudflare/cloudflare"]["version"]
                .to_string()
        })
        .collect();
    assert!(versions.windows(2).all(|w| w[0] == w[1]), "{versions:?}");
}

#[test]
fn required_version_covers_skip_s3_checksum() {
    let mut checked = 0;
    for r in roots() {
        for (p, v) in dir_files(&r) {
            let tf = &v["terraform"];
            if tf["backend"]["s3"]["skip_s3_checksum"].is_null() {
                continue;
            }
            let required = tf["required_version"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no required_version", p.display()));
            assert!(
                bounds(required).0 >= (1, 6, 3),
                "{}: skip_s3_checksum needs Terraform >= 1.6.3, required_version is {required:?}",
                p.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked}");
}
