#!/usr/bin/env bash
# Load test of the api Worker's chat route in real workerd (wrangler dev),
# with the loopback mock upstream as the provider. In the same run, wrk is
# pointed straight at the mock upstream as the baseline, and the figures are
# reported as ratios. Needs wrk (apt install wrk) and scripts/setup.sh.
#
#   scripts/bench-workerd.sh            # c=8, 20 s (the issue's setting)
#   C=16 D=30s scripts/bench-workerd.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
C=${C:-8}
D=${D:-20s}
command -v wrk >/dev/null || { echo "wrk is not installed (apt install wrk)" >&2; exit 1; }
secret=bench-secret-that-is-at-least-32-bytes-long
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port=$(free_port)
api_port=$(free_port)

cargo build --release -q -p mock-upstream
scripts/build-workers.sh api >/dev/null
setsid target/release/mock-upstream --listen "127.0.0.1:$mock_port" --model bench-1 >"$work/mock.log" 2>&1 &
pids+=($!)

python3 - "$mock_port" >"$work/config.json" <<'PY'
import json, sys, tomllib
cfg = tomllib.load(open("crates/edge-gateway/example-gateway.toml", "rb"))
port = sys.argv[1]
cfg["router"]["providers"] = [{"name": "mock-upstream", "kind": "openai",
    "base_url": f"http://127.0.0.1:{port}/v1", "api_key_secrets": ["UPSTREAM_KEY"],
    "regions": ["local"], "models": [{"name": "bench-1"}]}]
for tier in cfg["security"]["rate_limits"]["quotas"].values():
    tier["chat"] = {"limit": 10_000_000, "window_secs": 60}
print(json.dumps(cfg))
PY
{
  printf "GATEWAY_CONFIG='%s'\n" "$(cat "$work/config.json")"
  printf "JWT_HS256_SECRET='%s'\n" "$secret"
  printf "UPSTREAM_KEY='sk-bench'\n"
} >"$work/bench.env"
WRANGLER_SEND_METRICS=false setsid npx wrangler dev -c workers/api/wrangler.toml --ip 127.0.0.1 --port "$api_port" \
  --env-file "$work/bench.env" --persist-to "$work/state" --log-level error \
  --show-interactive-dev-session=false >"$work/wrangler.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$api_port/health" >/dev/null 2>&1 && break
  sleep 0.25
done
curl -fs "http://127.0.0.1:$api_port/health" >/dev/null || { cat "$work/wrangler.log"; exit 1; }
export TOKEN
TOKEN=$(scripts/dev-token.sh bench "$secret")
status=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -H 'user-agent: wrk-bench' "http://127.0.0.1:$api_port/v1/chat/completions" \
  -d '{"model":"bench-1","messages":[{"role":"user","content":"hi"}]}')
[ "$status" = 200 ] || { echo "warm-up chat request answered $status" >&2; exit 1; }

run() { # name url conns duration
  wrk -t1 -c"$3" -d"$4" --latency -s bench/chat.lua "$2" >"$work/$1.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $4}' "$work/$1.txt")
  printf '%-28s %10s req/s  p50 %-9s p99 %-9s non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$rps" >"$work/$1.rps"
}
echo "c=$C, $D, 1 wrk thread, $(nproc) cores"
run "mock upstream (baseline)" "http://127.0.0.1:$mock_port/v1/chat/completions" "$C" "$D"
run "api Worker in workerd" "http://127.0.0.1:$api_port/v1/chat/completions" "$C" "$D"
run "api Worker, c=1 (wall time)" "http://127.0.0.1:$api_port/v1/chat/completions" 1 10s
awk -v a="$(cat "$work/api Worker in workerd.rps")" -v b="$(cat "$work/mock upstream (baseline).rps")" \
  'BEGIN { printf "ratio api/baseline throughput: %.3f\n", a / b }'
