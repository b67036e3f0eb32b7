#!/usr/bin/env bash
# Fault injection under load: `edgectl serve` in front of three mock
# upstreams; the primary fails 30% of requests (500/503), has latency spikes
# and truncates streams; wrk offers ~2000 requests/s for DURATION. Reports
# the status mix, gateway-caused 5xx, success rate, p99, and the primary's
# breaker timeline (sampled from /status every second).
#   scripts/fault-load.sh               # 60 s
#   DURATION=20s scripts/fault-load.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DURATION=${DURATION:-60s}
C=${C:-20}
PACE_MS=${PACE_MS:-10}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cargo build --release -q -p edgectl -p mock-upstream
p1=$(free_port); p2=$(free_port); p3=$(free_port); gw=$(free_port)
target/release/mock-upstream --listen "127.0.0.1:$p1" --model bench-1 --error-rate 0.3 --error-status 500,503 \
  --spike-rate 0.02 --spike-ms 500 --truncate-rate 0.02 --seed 11 >"$work/p1.log" 2>&1 & pids+=($!)
target/release/mock-upstream --listen "127.0.0.1:$p2" --model bench-1 --latency-ms 2..6 >"$work/p2.log" 2>&1 & pids+=($!)
target/release/mock-upstream --listen "127.0.0.1:$p3" --model bench-1 --latency-ms 4..10 >"$work/p3.log" 2>&1 & pids+=($!)
python3 - "$p1" "$p2" "$p3" >"$work/gateway.json" <<'PY'
import json, sys, tomllib
cfg = tomllib.load(open("crates/edge-gateway/example-gateway.toml", "rb"))
def prov(name, port):
    return {"name": name, "kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
            "api_key_secrets": ["UPSTREAM_KEY"], "regions": ["local"], "models": [{"name": "bench-1"}]}
cfg["router"]["providers"] = [prov("primary", sys.argv[1]), prov("secondary", sys.argv[2]), prov("tertiary", sys.argv[3])]
cfg["router"]["policy"] = {"strategy": "priority"}
for tier in cfg["security"]["rate_limits"]["quotas"].values():
    for cat in tier.values():
        cat["limit"] = 100_000_000
print(json.dumps(cfg))
PY
secret=fault-secret-that-is-at-least-32-bytes-long
JWT_HS256_SECRET=$secret UPSTREAM_KEY=sk-fault target/release/edgectl serve --config "$work/gateway.json" \
  --listen "127.0.0.1:$gw" --data-dir "$work/data" >"$work/edgectl.log" 2>&1 & pids+=($!)
until curl -fs "http://127.0.0.1:$gw/health" >/dev/null 2>&1; do sleep 0.05; done
export TOKEN PACE_MS
TOKEN=$(scripts/dev-token.sh faults "$secret")
( start=$(date +%s)
  while true; do
    s=$(curl -fs "http://127.0.0.1:$gw/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(p["breaker"] for p in d["providers"] if p["name"]=="primary"))' 2>/dev/null || echo "?")
    echo "$(( $(date +%s) - start )) $s"
    sleep 1
  done ) >"$work/breaker.log" & pids+=($!)
wrk -t2 -c"$C" -d"$DURATION" -s bench/paced.lua "http://127.0.0.1:$gw/v1/chat/completions" | tee "$work/wrk.txt" | grep -E "^status|^requests"
echo "primary breaker timeline (second: state, changes only):"
awk '{ st=$2; sub(/ \{.*/, "", st); if (st != last) { print "  " $1 "s: " $0; last = st } }' "$work/breaker.log" | sed 's/^  \([0-9]*s\): [0-9]* /  \1 /'
five=$(awk '/^status 5/ {n += $3} END {print n+0}' "$work/wrk.txt")
echo "gateway 5xx: $five"
