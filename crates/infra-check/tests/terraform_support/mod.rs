//! Helpers shared by the terraform_*.rs tests: the parsed .tf files of a
//! directory, the roots (directories with a backend) and the modules they
//! call, resources, locals, variables and tfvars examples.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn parse(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hcl::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The parsed `.tf` files of one directory (a root or a module).
pub fn dir_files(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .map(|p| {
            let v = parse(&p);
            (p, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "{}: no .tf files", dir.display());
    out
}

/// Every directory under terraform/ that holds .tf files.
pub fn all_dirs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut has_tf = false;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() && p.file_name().is_some_and(|n| n != ".terraform") {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir.to_path_buf());
        }
    }
    let mut out = Vec::new();
    walk(&root().join("terraform"), &mut out);
    out.sort();
    out
}

/// Root modules: the directories whose terraform block has a backend.
pub fn roots() -> Vec<PathBuf> {
    let roots: Vec<_> = all_dirs()
        .into_iter()
        .filter(|d| {
            dir_files(d)
                .iter()
                .any(|(_, v)| v["terraform"]["backend"].is_object())
        })
        .collect();
    assert!(roots.len() >= 2, "{roots:?}");
    roots
}

pub fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// A root and every local module it calls, transitively.
pub fn with_modules(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.canonicalize().unwrap()];
    let mut i = 0;
    while i < out.len() {
        let here = out[i].clone();
        for (_, v) in dir_files(&here) {
            for (_, call) in v["module"].as_object().into_iter().flatten() {
                let source = call["source"].as_str().unwrap();
                assert!(source.starts_with("../"), "{source}: local modules only");
                let m = here.join(source).canonicalize().unwrap();
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        i += 1;
    }
    out
}

/// (type, name, body) of every resource in the given directories.
pub fn resources(dirs: &[PathBuf]) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for d in dirs {
        for (_, v) in dir_files(d) {
            for (ty, named) in v["resource"].as_object().into_iter().flatten() {
                for (n, body) in named.as_object().unwrap() {
                    out.push((ty.clone(), n.clone(), body.clone()));
                }
            }
        }
    }
    out
}

pub fn locals(dir: &Path) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for (_, v) in dir_files(dir) {
        if let Some(l) = v["locals"].as_object() {
            out.extend(l.clone());
        }
    }
    out
}

pub fn variable(dir: &Path, var: &str) -> Value {
    dir_files(dir)
        .into_iter()
        .find_map(|(_, v)| v["variable"].get(var).cloned())
        .unwrap_or_else(|| panic!("{}: no variable {var}", dir.display()))
}

pub fn tfvars_example(dir: &Path) -> Value {
    parse(&dir.join("terraform.tfvars.example"))
}
