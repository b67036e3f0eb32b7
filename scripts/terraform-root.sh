#!/usr/bin/env bash
# One Terraform root in CI: init against the R2 state, plan, then
#   plan   write the plan to the job summary;
#   apply  apply the saved plan when it changes anything;
#   drift  fail when the plan is not empty (something changed outside
#          Terraform), the plan in the summary says what.
#   scripts/terraform-root.sh zone|staging|production plan|apply|drift
# Needs CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (an R2 token for the state bucket), and the root's
# variables as TF_VAR_*.
set -euo pipefail
root_name=${1:?root}; mode=${2:?plan|apply|drift}
case "$root_name" in zone|staging|production) ;; *) echo "unknown root $root_name" >&2; exit 2 ;; esac
case "$mode" in plan|apply|drift) ;; *) echo "unknown mode $mode" >&2; exit 2 ;; esac
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/terraform/environments/$root_name"
summary=${GITHUB_STEP_SUMMARY:-/dev/stdout}
export TF_IN_AUTOMATION=1 TF_INPUT=0
# An optional variable whose secret is not set arrives empty: leave it to
# the root's default rather than pass "".
for v in $(compgen -e | grep '^TF_VAR_' || true); do
  [ -n "${!v}" ] || unset "$v"
done

printf 'endpoints = { s3 = "https://%s.r2.cloudflarestorage.com" }\n' "${CLOUDFLARE_ACCOUNT_ID:?}" > "$dir/backend.hcl"
terraform -chdir="$dir" init -backend-config=backend.hcl -lockfile=readonly
set +e
terraform -chdir="$dir" plan -detailed-exitcode -out=tfplan -no-color > "$dir/plan.txt" 2>&1
code=$?
set -e
{
  echo "### terraform $mode: $root_name"
  echo '```'
  tail -c 60000 "$dir/plan.txt"
  echo '```'
} >> "$summary"
# -detailed-exitcode: 0 no changes, 2 changes, anything else an error.
case "$code" in
  0) echo "$root_name: no changes" ;;
  2)
    case "$mode" in
      apply) terraform -chdir="$dir" apply -input=false tfplan ;;
      drift) echo "::error::$root_name drifted from terraform/: the plan is not empty (see the summary)"; exit 1 ;;
      plan) echo "$root_name: the plan changes resources (see the summary)" ;;
    esac ;;
  *) cat "$dir/plan.txt"; exit 1 ;;
esac
