#!/usr/bin/env bash
# Gate for gradual deployments: reads the api's /status for one Worker
# version and fails when its error rate or p95 is over the limit, or when it
# has served too few requests to judge.
#   scripts/canary-gate.sh https://api.example.com VERSION_ID [MAX_ERROR_RATE] [MAX_P95_MS] [MIN_REQUESTS]
set -euo pipefail
url=${1:?base URL}; version=${2:?version id}
max_err=${3:-0.01}; max_p95=${4:-500}; min_req=${5:-50}
status=$(curl -fsS --max-time 10 "$url/status?deployment=$version&window_min=5")
python3 - "$status" "$max_err" "$max_p95" "$min_req" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["metrics"]
max_err, max_p95, min_req = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"version {s['deployment']}: {s['requests']} requests, error rate {s['error_rate']:.4f}, p95 {s['p95_ms']} ms")
if s["requests"] < min_req:
    sys.exit(f"gate: only {s['requests']} requests (< {min_req}); not enough traffic to judge")
if s["error_rate"] > max_err:
    sys.exit(f"gate: error rate {s['error_rate']:.4f} > {max_err}")
if s["p95_ms"] > max_p95:
    sys.exit(f"gate: p95 {s['p95_ms']} ms > {max_p95} ms")
print("gate: pass")
PY
