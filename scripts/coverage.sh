#!/usr/bin/env bash
# Line coverage of the domain crates (cargo-llvm-cov; scripts/setup.sh
# installs it and llvm-tools), with a floor per crate: any crate under
# COVERAGE_FLOOR percent of lines (default 80) fails the run.
#   scripts/coverage.sh
# Writes target/coverage/lcov.info and target/coverage/summary.md (also to
# the GitHub job summary when GITHUB_STEP_SUMMARY is set).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
floor=${COVERAGE_FLOOR:-80}
crates=(edge-ports edge-cache llm-router traffic-split zt-security edge-waf slo-metrics)
out=target/coverage
mkdir -p "$out"

packages=()
for c in "${crates[@]}"; do packages+=(-p "$c"); done
cargo llvm-cov clean --workspace >/dev/null
cargo llvm-cov --no-report "${packages[@]}"
cargo llvm-cov report --json --summary-only --output-path "$out/summary.json"
cargo llvm-cov report --lcov --output-path "$out/lcov.info"

python3 - "$out/summary.json" "$floor" "${crates[@]}" > "$out/summary.md" <<'PY'
import json, sys
path, floor, crates = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
files = json.load(open(path))["data"][0]["files"]
per = {c: [0, 0] for c in crates}
for f in files:
    parts = f["filename"].replace("\\", "/").split("/")
    if "crates" not in parts:
        continue
    crate = parts[parts.index("crates") + 1]
    if crate in per and "src" in parts:
        per[crate][0] += f["summary"]["lines"]["covered"]
        per[crate][1] += f["summary"]["lines"]["count"]
print(f"| crate | lines | covered | floor {floor:.0f}% |")
print("|---|---|---|---|")
below = []
for crate, (covered, count) in per.items():
    pct = 100.0 * covered / count if count else 0.0
    ok = pct >= floor
    if not ok:
        below.append(crate)
    print(f"| {crate} | {count} | {pct:.1f}% | {'ok' if ok else 'BELOW'} |")
total_c = sum(v[0] for v in per.values())
total_n = sum(v[1] for v in per.values())
print(f"| **all** | {total_n} | {100.0 * total_c / max(total_n, 1):.1f}% | |")
if below:
    print(f"\nbelow the floor: {', '.join(below)}")
PY
cat "$out/summary.md"
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
if grep -q "^below the floor" "$out/summary.md"; then
  echo "coverage: a domain crate is under ${floor}% of lines" >&2
  exit 1
fi
echo "coverage: every domain crate at or above ${floor}% of lines"
