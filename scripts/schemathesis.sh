#!/usr/bin/env bash
# Property-based API testing of `edgectl serve` against docs/openapi.json
# with schemathesis (PyPI, installed into target/schemathesis-venv). The
# run must end with zero 5xx responses and zero schema violations.
#   scripts/schemathesis.sh                 # default budget
#   MAX_EXAMPLES=200 scripts/schemathesis.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}
[ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - >"$work/gateway.json" <<'PY'
import json, tomllib
cfg = tomllib.load(open("crates/edge-gateway/example-gateway.toml", "rb"))
for tier in cfg["security"]["rate_limits"]["quotas"].values():
    for cat in tier.values():
        cat["limit"] = 1_000_000
print(json.dumps(cfg))
PY
secret=schemathesis-secret-at-least-32-bytes-long
cargo build -q -p edgectl
JWT_HS256_SECRET=$secret target/debug/edgectl serve --config "$work/gateway.json" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" >"$work/edgectl.log" 2>&1 &
pid=$!
until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do sleep 0.1; done
token=$(scripts/dev-token.sh schemathesis "$secret")
"$venv/bin/st" run docs/openapi.json --url "http://127.0.0.1:$port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --header "Authorization: Bearer $token" --header "User-Agent: schemathesis" \
  --max-examples "${MAX_EXAMPLES:-100}" --request-timeout 10 \
  --report junit --report-dir "$root/target/schemathesis" "$@"
