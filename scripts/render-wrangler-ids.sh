#!/usr/bin/env bash
# Writes the KV namespace ids from `terraform output -json` into every
# Worker's wrangler.toml for one environment, and the api's route (wrangler
# owns the route, Terraform the hostname), so Terraform and wrangler never
# drift. Binding → namespace mapping: terraform/bindings.toml.
#
#   scripts/render-wrangler-ids.sh production            # runs terraform output
#   scripts/render-wrangler-ids.sh staging outputs.json  # or reads a saved file
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
env=${1:?usage: render-wrangler-ids.sh staging|production [outputs.json]}
case "$env" in staging|production) ;; *) echo "environment must be staging or production" >&2; exit 2 ;; esac
if [ $# -ge 2 ]; then
  outputs=$(cat "$2")
else
  outputs=$(terraform -chdir="$root/terraform/environments/$env" output -json)
fi
OUTPUTS="$outputs" ENVIRONMENT="$env" ROOT="$root" python3 - <<'PY'
import json, os, re, sys, tomllib
root, env = os.environ["ROOT"], os.environ["ENVIRONMENT"]
ids = json.loads(os.environ["OUTPUTS"])["kv_namespace_ids"]["value"]
bindings = tomllib.load(open(f"{root}/terraform/bindings.toml", "rb"))
changed = 0
for worker in sorted(os.listdir(f"{root}/workers")):
    path = f"{root}/workers/{worker}/wrangler.toml"
    if not os.path.exists(path):
        continue
    text = open(path).read()
    pattern = re.compile(
        r'(\[\[env\.' + env + r'\.kv_namespaces\]\]\nbinding = "([A-Z_]+)"\nid = ")([0-9a-f]+)(")')
    def repl(m):
        global changed
        binding = m.group(2)
        if binding not in bindings:
            sys.exit(f"{path}: binding {binding} has no entry in terraform/bindings.toml")
        changed += 1
        return m.group(1) + ids[bindings[binding]] + m.group(4)
    text = pattern.sub(repl, text)
    if worker == "api":
        route = json.loads(os.environ["OUTPUTS"])["wrangler_route"]["value"]
        line = f'routes = [{{ pattern = "{route["pattern"]}", zone_name = "{route["zone_name"]}" }}]'
        section = re.compile(r'(\[env\.' + env + r'\]\n(?:[^\[\n][^\n]*\n|\n)*?)routes = \[[^\n]*\]')
        text, n = section.subn(lambda m: m.group(1) + line, text)
        if n != 1:
            sys.exit(f"{path}: no routes line under [env.{env}]")
    open(path, "w").write(text)
print(f"rendered {changed} KV ids and the api route for {env}")
PY
