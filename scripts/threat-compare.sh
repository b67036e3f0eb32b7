#!/usr/bin/env bash
# Detection and false-positive rates of the edge-waf threat scanner next
# to libinjection (PyPI `libinjection-python`) on the same files, read the
# same way (one query value per line, `+` as space, percent-decoded).
#
#   scripts/threat-compare.sh                      # the committed corpora
#   scripts/threat-compare.sh attack:more.txt benign:prose.txt
#
# Extra files are labelled `attack:` (a hit is a detection) or `benign:` (a
# hit is a false positive). Needs python3 with venv and network access to
# PyPI once (the venv is kept in target/threat-compare-venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
corpus=crates/edge-waf/tests/corpus
venv=target/threat-compare-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q libinjection-python
fi
sets=("attack:$corpus/sqli.txt" "attack:$corpus/xss.txt" "benign:$corpus/benign.txt" "$@")
cargo test -q --release -p edge-waf --test threat --no-run 2>/dev/null
printf '%-8s %-44s %18s %18s\n' kind file edgeforge libinjection
for entry in "${sets[@]}"; do
  kind=${entry%%:*}
  file=$(realpath "${entry#*:}")
  total=$(grep -cv '^[[:space:]]*$' "$file" || true)
  ours=$(PROBE="$file" cargo test -q --release -p edge-waf --test threat probe -- --ignored --nocapture 2>/dev/null |
    grep -ac '^HIT ' || true)
  theirs=$("$venv/bin/python" - "$file" <<'PY'
import sys, urllib.parse, libinjection
hits = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line.strip():
        continue
    v = urllib.parse.unquote(urllib.parse.unquote_plus(line))
    if libinjection.is_sql_injection(v)["is_sqli"] or libinjection.is_xss(v)["is_xss"]:
        hits += 1
print(hits)
PY
)
  pct() { awk -v h="$1" -v t="$total" 'BEGIN { printf "%d/%d %.2f%%", h, t, 100 * h / t }'; }
  printf '%-8s %-44s %18s %18s\n' "$kind" "$(basename "$file")" "$(pct "$ours")" "$(pct "$theirs")"
done
