#!/usr/bin/env bash
# Crash safety: kill -9 `edgectl serve` in the middle of a load test,
# restart it on the same data, and verify that the SQLite store opens and
# passes integrity_check, that a client who exhausted its rate limit before
# the crash is still limited, and that the canary rollout state is intact.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cargo build --release -q -p edgectl
gw=$(free_port)
python3 - >"$work/gateway.json" <<'PY'
import json, tomllib
cfg = tomllib.load(open("crates/edge-gateway/example-gateway.toml", "rb"))
cfg["traffic"] = {"rollout": "r1", "canary_deployment": "v2", "metrics_flush_ms": 1000,
    "canary": {"stages": [{"percent": 10.0, "min_duration_ms": 3600000, "max_error_rate": 0.5, "max_p95_ms": 10000.0, "min_requests": 1000000},
                          {"percent": 100.0, "min_duration_ms": 0, "max_error_rate": 0.5, "max_p95_ms": 10000.0, "min_requests": 0}]}}
print(json.dumps(cfg))
PY
secret=crash-secret-that-is-at-least-32-bytes-long
start() {
  JWT_HS256_SECRET=$secret target/release/edgectl serve --config "$work/gateway.json" --listen "127.0.0.1:$gw" \
    --data-dir "$work/data" --loop-secs 1 >>"$work/edgectl.log" 2>&1 &
  pid=$!
  pids+=($pid)
  until curl -fs "http://127.0.0.1:$gw/health" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/edgectl.log"; fail "edgectl did not start"; }
    sleep 0.05
  done
}
chat() { # token -> status
  curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $1" -H 'content-type: application/json' \
    -H 'user-agent: crash-test' "http://127.0.0.1:$gw/v1/chat/completions" \
    -d '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}'
}
start
sleep 2 # the controller loop starts the declared rollout
before=$(curl -fs "http://127.0.0.1:$gw/status" | python3 -c 'import json,sys; r=json.load(sys.stdin)["rollout"]; print(r["name"], r["canary"], r["percent"], r["version"])')
[ -n "$before" ] || fail "no rollout before the crash"
limited=$(scripts/dev-token.sh limited-user "$secret")
for _ in $(seq 1 60); do chat "$limited" >/dev/null; done
[ "$(chat "$limited")" = 429 ] || fail "the client was not limited before the crash"
spent_at=$(date +%s)
sleep 1.5 # rate-limit state persists every second
export TOKEN
TOKEN=$(scripts/dev-token.sh load-user "$secret")
wrk -t2 -c32 -d10s -s bench/chat.lua "http://127.0.0.1:$gw/v1/chat/completions" >"$work/wrk.txt" 2>&1 &
sleep 3
kill -9 "$pid"
echo "killed edgectl (pid $pid) with SIGKILL mid-load"
wait 2>/dev/null || true
check=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('PRAGMA integrity_check').fetchone()[0], c.execute('SELECT count(*) FROM kv').fetchone()[0], c.execute('SELECT count(*) FROM datapoints').fetchone()[0])" "$work/data/edgeforge.sqlite3")
echo "after the crash: integrity_check / kv rows / datapoints = $check"
[ "${check%% *}" = ok ] || fail "integrity_check: $check"
start
after=$(curl -fs "http://127.0.0.1:$gw/status" | python3 -c 'import json,sys; r=json.load(sys.stdin)["rollout"]; print(r["name"], r["canary"], r["percent"], r["version"])')
echo "rollout before: $before; after: $after"
[ "$before" = "$after" ] || fail "rollout state changed across the crash"
# GCRA refills one request per second, so ~elapsed seconds have come back;
# a client whose state was lost would have the full 60.
remaining() {
  curl -s -D - -o /dev/null -H "authorization: Bearer $1" -H 'content-type: application/json' \
    -H 'user-agent: crash-test' "http://127.0.0.1:$gw/v1/chat/completions" \
    -d '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}' | tr -d '\r' | awk -F'r=' '/^ratelimit:/ {split($2, a, ";"); print a[1]}'
}
elapsed=$(( $(date +%s) - spent_at ))
left=$(remaining "$limited")
fresh=$(remaining "$(scripts/dev-token.sh fresh-user "$secret")")
echo "the limited client after the restart: $left left after ${elapsed}s (a fresh client: $fresh)"
[ "$left" -le $(( elapsed + 2 )) ] || fail "rate-limit state was lost ($left left)"
[ "$(chat "$(scripts/dev-token.sh after-user "$secret")")" = 200 ] || fail "the gateway does not serve after the restart"
echo "PASS: store opens and is intact, rate-limit and canary state survived kill -9"
