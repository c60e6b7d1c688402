#!/usr/bin/env bash
# Peak memory (and wall time) of `llmguard scan-model` on every hostile input.
#
#   benches/rss.sh                    (from anywhere; builds the release binary first)
#
# Scans, one file per process under /usr/bin/time -v:
#   - every file under testdata/models/malicious/ (recursively, so new fixture dirs count);
#   - the stress inputs of benches/gen_hostile.py (about 500 MB, too big to commit), written
#     to a temporary directory that is removed at the end (KEEP=1 keeps it).
# Prints a Markdown table (file, peak RSS MiB, wall s, exit code, rule ids reported), sorted
# by peak RSS, and the maximum. Exits 1 if any scan's peak RSS exceeds LIMIT_MIB (256), or if
# any scan exits non-zero (with --fail-on never that means the run failed), is killed, or
# takes more than TIMEOUT seconds (120).
#
# Settings (environment variables):
#   LLMGUARD=path   binary to run (default: cargo build --release, then target/release/llmguard)
#   LIMIT_MIB=256   TIMEOUT=120   KEEP=0   OUT=dir (raw /usr/bin/time files and JSON reports;
#                   default benches/results/rss-<timestamp>/, gitignored)
set -uo pipefail
cd "$(dirname "$0")/.."

LIMIT_MIB=${LIMIT_MIB:-256}
TIMEOUT=${TIMEOUT:-120}
if [ -z "${LLMGUARD:-}" ]; then
  cargo build --release --quiet || exit 1
  LLMGUARD=target/release/llmguard
fi
[ -x /usr/bin/time ] || { apt-get install -y time >/dev/null || exit 1; }
OUT=${OUT:-benches/results/rss-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
gen=$(mktemp -d "${TMPDIR:-/tmp}/llmguard-hostile.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$gen"' EXIT
echo "writing stress inputs to $gen ..." >&2
python3 benches/gen_hostile.py "$gen" || exit 1

rows="$OUT/rows.tsv"
: > "$rows"
i=0
while IFS= read -r f; do
  i=$((i + 1))
  tf="$OUT/$i.time"
  timeout -s KILL "$TIMEOUT" /usr/bin/time -v -o "$tf" "$LLMGUARD" scan-model --no-progress -q \
    --format json --fail-on never "$f" > "$OUT/$i.json" 2> "$OUT/$i.stderr"
  status=$?
  kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf" 2>/dev/null)
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tf" 2>/dev/null)
  # h:mm:ss or m:ss.cc -> seconds
  secs=$(echo "${wall:-0}" | awk -F: '{s = 0; for (k = 1; k <= NF; k++) s = s * 60 + $k; printf "%.2f", s}')
  rules=$(python3 - "$OUT/$i.json" <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except Exception:
    print("-"); sys.exit()
ids = sorted({f.get("rule_id", "?") for f in report.get("findings", [])})
print(" ".join(ids) if ids else "(none)")
EOF
)
  name=${f#"$gen"/}
  [ "$name" != "$f" ] && name="(generated) $name"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "${kib:-0}" "$secs" "$status" "$rules" >> "$rows"
  printf '%5s MiB %7ss exit %s  %s\n' "$(( ${kib:-0} / 1024 ))" "$secs" "$status" "$name" >&2
done < <(find testdata/models/malicious -type f | sort; find "$gen" -type f | sort)

python3 - "$rows" "$LIMIT_MIB" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
limit = float(sys.argv[2])
rows.sort(key=lambda r: (-int(r[1]), r[0]))
print("| file | peak RSS (MiB) | wall (s) | exit | rules reported |")
print("| --- | ---: | ---: | ---: | --- |")
for name, kib, secs, status, rules in rows:
    print(f"| `{name}` | {int(kib) / 1024:.1f} | {secs} | {status} | {rules} |")
top = rows[0]
print(f"\n{len(rows)} files; maximum peak RSS {int(top[1]) / 1024:.1f} MiB on `{top[0]}` "
      f"(limit {limit:.0f} MiB); slowest {max(float(r[2]) for r in rows):.2f} s on "
      f"`{max(rows, key=lambda r: float(r[2]))[0]}`")
over = [r for r in rows if int(r[1]) / 1024 > limit]
bad = [r for r in rows if r[3] != "0"]
for r in over:
    print(f"OVER LIMIT: {r[0]} ({int(r[1]) / 1024:.1f} MiB)", file=sys.stderr)
for r in bad:
    print(f"FAILED RUN: {r[0]} (exit {r[3]})", file=sys.stderr)
sys.exit(1 if over or bad else 0)
EOF
