#!/usr/bin/env bash
# Smoke check of one api Worker version before it takes traffic: every
# request carries a version override, so it reaches that version even at 0%.
#   scripts/smoke-check.sh API_URL WORKER_NAME VERSION_ID
# With SMOKE_TOKEN set, one chat completion on SMOKE_MODEL (default
# gpt-4o-mini, the cheapest configured model) with max_tokens 1.
set -euo pipefail
url=${1:?API_URL}; worker=${2:?WORKER_NAME}; version=${3:?VERSION_ID}
override="Cloudflare-Workers-Version-Overrides: $worker=\"$version\""

# An override applies once the deployment has reached the edge (seconds).
for attempt in 1 2 3 4 5 6; do
  served=$(curl -fsS --max-time 10 -H "$override" "$url/status" \
    | node -e 'try { console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).deployment) } catch { }' || true)
  [ "$served" = "$version" ] && break
  echo "smoke: /status answered from ${served:-nothing}, not $version (attempt $attempt)"
  sleep "${SMOKE_RETRY_SECS:-5}"
done
[ "$served" = "$version" ] || { echo "smoke: the override never reached $version"; exit 1; }
curl -fsS --max-time 10 -H "$override" "$url/health" > /dev/null
echo "smoke: /health and /status answer from $version"

if [ -n "${SMOKE_TOKEN:-}" ]; then
  model=${SMOKE_MODEL:-gpt-4o-mini}
  code=$(curl -sS --max-time 60 -o /tmp/smoke-chat.json -w '%{http_code}' -H "$override" \
    -H "authorization: Bearer $SMOKE_TOKEN" -H 'content-type: application/json' \
    "$url/v1/chat/completions" \
    -d "{\"model\":\"$model\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}]}")
  if [ "$code" != 200 ]; then
    echo "smoke: chat on $model answered $code: $(head -c 500 /tmp/smoke-chat.json)"
    exit 1
  fi
  echo "smoke: chat on $model answered 200"
else
  echo "smoke: SMOKE_TOKEN is not set: no chat check (set it to a token of a test user)"
fi
