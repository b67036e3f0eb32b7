#!/usr/bin/env bash
# Prints an HS256 JWT for local development against the bundled gateway
# config (iss edgeforge-dev, aud edgeforge, 1 hour).
# Usage: scripts/dev-token.sh SUBJECT SECRET [TIER]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SUBJECT SECRET [TIER]" >&2; exit 2; }
sub=$1 secret=$2 tier=${3:-authenticated}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
payload=$(printf '{"sub":"%s","iss":"edgeforge-dev","aud":"edgeforge","tier":"%s","iat":%d,"exp":%d}' \
  "$sub" "$tier" "$now" "$((now + 3600))" | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"
