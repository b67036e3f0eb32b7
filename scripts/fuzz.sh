#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 600) with nightly,
# starting from the committed seed corpora, and prints executions per
# target. Crashes land in fuzz/artifacts/<target>/ (turn each into a
# regression test). Needs: rustup toolchain nightly, cargo install cargo-fuzz.
#   scripts/fuzz.sh            # 10 minutes per target
#   SECONDS_PER_TARGET=60 scripts/fuzz.sh jwt threat
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
secs=${SECONDS_PER_TARGET:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jwt envelope threat cache_key growthbook provider_sse config)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "work/$t"
  log=$(mktemp)
  if cargo +nightly fuzz run "$t" "work/$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t/)"
  fi
  execs=$(grep -oE 'Done [0-9]+ runs' "$log" | awk '{print $2}' | tail -1 || true)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  printf '%-14s %8ss  %12s execs  %s\n' "$t" "$secs" "${execs:-?}" "$result"
  [ "$result" = ok ] || tail -30 "$log"
  rm -f "$log"
done
