#!/usr/bin/env bash
# Native benchmark: `edgectl serve` (full pipeline: HS256 JWT, rate limit in
# SQLite, threat scan, routing, metrics) vs nginx proxy_pass, both in front
# of the same loopback mock upstream, measured in the same run with wrk.
# Reports requests/s, p50, p99, ratios to nginx, edgectl's peak RSS and its
# cold start (launch to first 200). Needs wrk and nginx (apt install wrk nginx).
#
#   scripts/bench-native.sh                 # c=64, 20 s
#   C=16 D=10s scripts/bench-native.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
C=${C:-64}
D=${D:-20s}
THREADS=${THREADS:-$(nproc)}
for t in wrk nginx curl python3; do
  command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

cargo build --release -q -p edgectl -p mock-upstream
mock_port=$(free_port); nginx_port=$(free_port); gw_port=$(free_port)
target/release/mock-upstream --listen "127.0.0.1:$mock_port" --model bench-1 >"$work/mock.log" 2>&1 &
pids+=($!)

cat >"$work/nginx.conf" <<NGINX
worker_processes $THREADS;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream mock { server 127.0.0.1:$mock_port; keepalive 128; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"

python3 - "$mock_port" >"$work/gateway.json" <<'PY'
import json, sys, tomllib
cfg = tomllib.load(open("crates/edge-gateway/example-gateway.toml", "rb"))
cfg["router"]["providers"] = [{"name": "mock-upstream", "kind": "openai",
    "base_url": f"http://127.0.0.1:{sys.argv[1]}/v1", "api_key_secrets": ["UPSTREAM_KEY"],
    "regions": ["local"], "models": [{"name": "bench-1"}]}]
for tier in cfg["security"]["rate_limits"]["quotas"].values():
    for cat in tier.values():
        cat["limit"] = 100_000_000
print(json.dumps(cfg))
PY
secret=bench-secret-that-is-at-least-32-bytes-long
start=$(now_ms)
JWT_HS256_SECRET=$secret UPSTREAM_KEY=sk-bench target/release/edgectl serve --config "$work/gateway.json" \
  --listen "127.0.0.1:$gw_port" --data-dir "$work/data" --threads "$THREADS" >"$work/edgectl.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
until curl -fs "http://127.0.0.1:$gw_port/health" >/dev/null 2>&1; do
  kill -0 "$gw_pid" 2>/dev/null || { cat "$work/edgectl.log"; exit 1; }
  sleep 0.005
done
cold=$(( $(now_ms) - start ))
TOKEN=$(scripts/dev-token.sh bench "$secret")
export TOKEN
curl -fs -o /dev/null -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -H 'user-agent: wrk-bench' \
  "http://127.0.0.1:$gw_port/v1/chat/completions" -d '{"model":"bench-1","messages":[{"role":"user","content":"hi"}]}'

to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms/,"",v) } else if (v ~ /s$/) { sub(/s/,"",v); v*=1000 } print v }'; }
run() { # label url script
  wrk -t2 -c"$C" -d"$D" --latency -s "$3" "$2" >"$work/out.txt"
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/out.txt" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' "$work/out.txt" | to_ms)
  errs=$(awk '/Non-2xx/ {print $4}' "$work/out.txt")
  printf '%-40s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${errs:-0}"
  echo "$rps $p50 $p99"
}
echo "c=$C, $D, wrk 2 threads, server threads $THREADS, $(nproc) cores; cold start $cold ms"
read -r n_rps n_p50 n_p99 < <(run "nginx proxy_pass (baseline)" "http://127.0.0.1:$nginx_port/v1/chat/completions" bench/chat.lua | tee /dev/stderr | tail -1)
read -r a_rps a_p50 a_p99 < <(run "(a) edgectl chat, full pipeline" "http://127.0.0.1:$gw_port/v1/chat/completions" bench/chat.lua | tee /dev/stderr | tail -1)
read -r b_rps b_p50 b_p99 < <(run "(b) edgectl cached template" "http://127.0.0.1:$gw_port/api/prompts/templates/greeting" bench/template.lua | tee /dev/stderr | tail -1)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
awk -v n="$n_rps" -v a="$a_rps" -v b="$b_rps" -v np="$n_p99" -v ap="$a_p99" -v bp="$b_p99" -v rss="$rss" -v cold="$cold" 'BEGIN {
  printf "ratios to nginx: (a) throughput %.2f, p99 %.2f; (b) throughput %.2f, p99 %.2f\n", a/n, ap/np, b/n, bp/np
  printf "edgectl peak RSS %.1f MiB; cold start %d ms\n", rss/1024, cold
}'
