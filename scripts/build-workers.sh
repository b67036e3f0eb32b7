#!/usr/bin/env bash
# Builds the Worker shells to WASM with worker-build, offline: wasm-bindgen and
# esbuild come from local binaries (scripts/setup.sh installs them), never from
# the internet. Usage: scripts/build-workers.sh [WORKER...]   (default: all)
#
# Uses the size-tuned `wasm-release` profile (opt-level "z", LTO, 1 codegen
# unit); native release builds keep opt-level 3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

die() { echo "build-workers: $*" >&2; exit 1; }
command -v worker-build >/dev/null || die "worker-build is not installed; run scripts/setup.sh"
WASM_BINDGEN_BIN="$(command -v wasm-bindgen)" || die "wasm-bindgen is not installed; run scripts/setup.sh"
ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
[ -x "$ESBUILD_BIN" ] || ESBUILD_BIN="$root/node_modules/esbuild/bin/esbuild"
[ -x "$ESBUILD_BIN" ] || die "esbuild is missing under node_modules; run scripts/setup.sh (npm ci)"
export WASM_BINDGEN_BIN ESBUILD_BIN

if [ $# -gt 0 ]; then
  workers=("$@")
else
  workers=()
  for d in workers/*/wrangler.toml; do workers+=("$(basename "$(dirname "$d")")"); done
fi

for w in "${workers[@]}"; do
  [ -f "workers/$w/wrangler.toml" ] || die "no Worker named $w (expected workers/$w/wrangler.toml)"
  echo "== building workers/$w (profile wasm-release)"
  (cd "workers/$w" && worker-build --profile wasm-release --no-opt)
  wasm="workers/$w/build/index_bg.wasm"
  [ -f "$wasm" ] || wasm="$(find "workers/$w/build" -name '*_bg.wasm' | head -1)"
  [ -f "$wasm" ] || die "no .wasm produced for $w"
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  echo "   $wasm: $raw bytes, $gz bytes gzipped"
done
