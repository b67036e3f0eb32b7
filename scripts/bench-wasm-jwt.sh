#!/usr/bin/env bash
# JWT verification in WASM (under node's V8, as in workerd) next to the
# native criterion figures from the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build -q --release --target wasm32-unknown-unknown -p wasm-jwt-bench
out=target/wasm-jwt-bench
wasm-bindgen --target nodejs --out-dir "$out" target/wasm32-unknown-unknown/release/wasm_jwt_bench.wasm
node -e '
const b = require(process.argv[1]);
for (const [alg, n] of [["HS256", 20000], ["RS256", 2000], ["ES256", 500]]) {
  b.verify_us(alg, Math.max(10, n / 10)); // warm-up
  const us = b.verify_us(alg, n);
  console.log(`wasm ${alg}: ${us.toFixed(2)} µs per verification (${n} runs)`);
}' "$root/$out/wasm_jwt_bench.js"
echo "native (criterion, same run):"
cargo bench -q -p zt-security --bench auth -- "jwt" 2>/dev/null | awk '/^jwt\// && /time:/ {print "  " $1, $5, $6}'
