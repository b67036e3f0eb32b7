#!/usr/bin/env bash
# Ships the api Worker of one environment the way every change ships:
#
#   1. `wrangler versions secret bulk` + `wrangler versions upload`: the new
#      version, not serving yet;
#   2. the new version at 0% beside the current one, and a smoke check
#      through a version override (scripts/smoke-check.sh);
#   3. 5% → 25% → 50% → 100%, each step followed by STEP_WAIT seconds of
#      traffic and the canary gate on the new version's own metrics
#      (scripts/canary-gate.sh);
#   4. on any failure: the previous version back on 100%, exit 1.
#
# The first deploy of a Worker (nothing to compare with) and a change with a
# Durable Object migration (MIGRATE=true; `versions upload` cannot apply
# one) are a plain `wrangler deploy` followed by the smoke check.
#
#   scripts/gradual-deploy.sh ENV API_URL        (run from workers/api)
#
# Environment:
#   SECRET_NAMES  secrets the version gets, values in variables of those names
#   VAR_NAMES     Worker variables passed with --var, values likewise
#   STEPS         traffic steps (default "5 25 50 100")
#   STEP_WAIT     seconds of traffic before each gate (default 300)
#   GATE_MAX_ERROR_RATE / GATE_MAX_P95_MS / GATE_MIN_REQUESTS  gate limits
#   SMOKE_TOKEN   bearer token for the smoke chat (optional); SMOKE_MODEL
#   MIGRATE=true  the change adds a Durable Object migration: deploy at 100%
#   PREVIEW=true  stop after the smoke check: the version stays at 0% (PRs)
#   GITHUB_SHA    recorded as the version's tag
set -euo pipefail

env=${1:?usage: gradual-deploy.sh ENV API_URL}
url=${2:?usage: gradual-deploy.sh ENV API_URL}
worker="edgeforge-api-$env"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
steps=${STEPS:-5 25 50 100}
wait_secs=${STEP_WAIT:-300}

wrangler() { npx --no-install wrangler "$@"; }
log() { echo "gradual-deploy [$env]: $*"; }

# --var NAME:value for every name in VAR_NAMES.
var_args=()
for name in ${VAR_NAMES:-}; do
  value=${!name:-}
  [ -n "$value" ] || { log "variable $name is empty"; exit 1; }
  var_args+=(--var "$name:$value")
done

# The secrets as a JSON file only this process can read, removed on exit.
secrets_file=$(mktemp)
chmod 600 "$secrets_file"
trap 'rm -f "$secrets_file"' EXIT
SECRET_NAMES=${SECRET_NAMES:-} node -e '
  const out = {};
  for (const n of process.env.SECRET_NAMES.split(/\s+/).filter(Boolean)) {
    if (!process.env[n]) { console.error(`secret ${n} is empty`); process.exit(1); }
    out[n] = process.env[n];
  }
  process.stdout.write(JSON.stringify(out));
' > "$secrets_file"

# The version serving the most traffic now, or nothing for a new Worker.
serving_version() {
  wrangler deployments status --env "$env" --json 2>/dev/null | node -e '
    let d; try { d = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { process.exit(0); }
    const v = (d.versions || []).sort((a, b) => b.percentage - a.percentage)[0];
    if (v) console.log(v.version_id);
  ' || true
}

old=$(serving_version)
if [ -z "$old" ] || [ "${MIGRATE:-false}" = true ]; then
  # A new Worker has nothing to compare with; a Durable Object migration
  # can only be applied by `wrangler deploy`.
  log "${old:+migration: }deploy at 100% without a canary"
  wrangler deploy --env "$env" "${var_args[@]}"
  wrangler secret bulk "$secrets_file" --env "$env"
  new=$(serving_version)
  "$here/smoke-check.sh" "$url" "$worker" "$new"
  exit 0
fi
log "serving: $old"

if [ -n "${SECRET_NAMES:-}" ]; then
  wrangler versions secret bulk "$secrets_file" --env "$env"
fi
upload_log=$(mktemp)
if ! wrangler versions upload --env "$env" --json "${var_args[@]}" \
  --tag "${GITHUB_SHA:-manual}" --message "edgeforge ${GITHUB_SHA:-manual}" > "$upload_log" 2>&1; then
  cat "$upload_log"
  if grep -qi migration "$upload_log"; then
    log "this change adds a Durable Object migration, which versions upload cannot apply:"
    log "run the deploy workflow by hand with migrate = true (a wrangler deploy to 100%, docs/deploy.md)"
  fi
  exit 1
fi
new=$(node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(d.version_id ?? d.id)' "$upload_log")
rm -f "$upload_log"
log "uploaded: $new"

rollback() {
  log "$1: rolling back to $old"
  wrangler versions deploy "$old@100%" --env "$env" -y --message "rollback: $1"
  exit 1
}

wrangler versions deploy "$new@0%" "$old@100%" --env "$env" -y --message "smoke check"
"$here/smoke-check.sh" "$url" "$worker" "$new" || rollback "smoke check failed"
[ -n "${GITHUB_OUTPUT:-}" ] && echo "version=$new" >> "$GITHUB_OUTPUT"
if [ "${PREVIEW:-false}" = true ]; then
  log "preview: $new stays at 0%, reachable with Cloudflare-Workers-Version-Overrides: $worker=\"$new\""
  exit 0
fi

for pct in $steps; do
  if [ "$pct" = 100 ]; then
    wrangler versions deploy "$new@100%" --env "$env" -y --message "canary 100%"
  else
    wrangler versions deploy "$new@${pct}%" "$old@$((100 - pct))%" --env "$env" -y --message "canary ${pct}%"
  fi
  log "$pct% on $new; gate in ${wait_secs}s"
  sleep "$wait_secs"
  "$here/canary-gate.sh" "$url" "$new" "${GATE_MAX_ERROR_RATE:-0.01}" "${GATE_MAX_P95_MS:-500}" "${GATE_MIN_REQUESTS:-50}" \
    || rollback "gate failed at ${pct}%"
done
log "done: $new serves 100%"
