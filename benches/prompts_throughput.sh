#!/usr/bin/env bash
# Throughput of `llmguard scan-prompts` on ~200 MB of generated mixed text.
#
#   cargo build --release && benches/prompts_throughput.sh      (from the repository root)
#
# What it does:
#   1. installs hyperfine with apt-get if it is missing (as benches/bench.sh does);
#   2. runs benches/gen_prompt_corpus.py: benches/corpus/prompts/ (gitignored), ~$MB MB of prose,
#      Markdown, code, a chat JSONL dataset, CSV, HTML, YAML and small .prompt files, with about one
#      planted positive (injection, hidden text, PII, secret) per 100 KB; skipped when the
#      corpus manifest already records the same size (FORCE_CORPUS=1 regenerates);
#   3. times, with hyperfine (warm page cache),
#        llmguard scan-prompts benches/corpus/prompts --format json -q --no-progress --fail-on never -j 1
#      and the same with -j 2;
#   4. prints the input size and, per run, the median wall time, MB/s and MB/s per core
#      (MB/s divided by the -j value), and writes everything to
#      benches/results/prompts-<timestamp>/ (hyperfine.json, versions.txt, machine.txt,
#      summary.md, the findings of one run: findings-j1.json; benches/results/prompts-latest
#      links it).
#
# Settings (environment variables):
#   LLMGUARD=path     binary to time (default target/release/llmguard; nothing is built)
#   MB=200            corpus size in MB
#   JOBS="1 2"        -j values to time
#   MIN_RUNS=3 MAX_RUNS=5 WARMUP=1   hyperfine run counts
#   SKIP_INSTALL=1    do not apt-get install hyperfine
set -uo pipefail
cd "$(dirname "$0")/.."

LLMGUARD=${LLMGUARD:-target/release/llmguard}
MB=${MB:-200}
JOBS=${JOBS:-"1 2"}
MIN_RUNS=${MIN_RUNS:-3}
MAX_RUNS=${MAX_RUNS:-5}
WARMUP=${WARMUP:-1}
CORPUS=benches/corpus/prompts
MANIFEST=benches/corpus/prompts.manifest.json
RES=benches/results/prompts-$(date +%Y%m%d-%H%M%S)

say() { printf '\n==> %s\n' "$*" >&2; }

if [ ! -x "$LLMGUARD" ]; then
    echo "error: $LLMGUARD not found: run 'cargo build --release' first (or set LLMGUARD=path)" >&2
    exit 1
fi
mkdir -p "$RES"
ln -sfn "$(basename "$RES")" benches/results/prompts-latest
# time a private copy, so that a rebuild during the run cannot change what is timed
LLMGUARD_SRC=$(realpath "$LLMGUARD")
cp -p "$LLMGUARD_SRC" "$RES/llmguard"
LLMGUARD=$(realpath "$RES/llmguard")

# ------------------------------------------------------------------ 1. hyperfine
if ! command -v hyperfine >/dev/null; then
    if [ "${SKIP_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
        say "apt-get install hyperfine"
        apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
    fi
    command -v hyperfine >/dev/null || { echo "error: hyperfine missing: apt-get install hyperfine" >&2; exit 1; }
fi

# ------------------------------------------------------------------ 2. corpus
want_bytes=$(python3 -c "print(int($MB * 1000000))")
have=$(python3 -c "import json,sys; m=json.load(open('$MANIFEST')); print(m.get('requested', 0))" 2>/dev/null || echo 0)
if [ "${FORCE_CORPUS:-0}" = 1 ] || [ "$have" != "$want_bytes" ] || [ ! -d "$CORPUS" ]; then
    say "generating $MB MB of text (benches/gen_prompt_corpus.py)"
    python3 benches/gen_prompt_corpus.py --out "$CORPUS" --mb "$MB" || exit 1
fi
bytes=$(python3 -c "import json; print(json.load(open('$MANIFEST'))['bytes'])")
files=$(python3 -c "import json; print(json.load(open('$MANIFEST'))['files'])")
planted=$(python3 -c "import json; print(json.load(open('$MANIFEST'))['positives'])")
on_disk=$(du -sb "$CORPUS" | cut -f1)

# ------------------------------------------------------------------ versions, machine
{
    echo "llmguard:   $("$LLMGUARD" --version) (copy of $LLMGUARD_SRC, sha256 $(sha256sum "$LLMGUARD" | cut -c1-16), built $(date -r "$LLMGUARD" '+%F %T'))"
    echo "git:        $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)')"
    echo "hyperfine:  $(hyperfine --version | cut -d' ' -f2)"
    echo "python3:    $(python3 --version 2>&1 | cut -d' ' -f2) (corpus generator)"
} >"$RES/versions.txt"
{
    echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores online)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -sr)"
    echo "disk:   $(df -h --output=source,fstype . | tail -1)"
    echo "load before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "corpus: $CORPUS, $files files, $bytes bytes of text ($on_disk on disk), $planted planted positives"
} >"$RES/machine.txt"
cat "$RES/versions.txt" "$RES/machine.txt" >&2

# ------------------------------------------------------------------ 3. timings
LG="$LLMGUARD scan-prompts $CORPUS --format json -q --no-progress --fail-on never"
cmds=()
for j in $JOBS; do cmds+=(-n "llmguard -j $j" "$LG -j $j"); done
find "$CORPUS" -type f -exec cat {} + >/dev/null   # warm the page cache
say "timing scan-prompts on $((bytes / 1000000)) MB (warm page cache)"
hyperfine -N --style basic --warmup "$WARMUP" --min-runs "$MIN_RUNS" --max-runs "$MAX_RUNS" \
    --export-json "$RES/hyperfine.json" "${cmds[@]}" || exit 1
echo "load after timing: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"
$LG -j 1 >"$RES/findings-j1.json"

# ------------------------------------------------------------------ 4. report
python3 - "$RES" "$bytes" "$files" "$planted" <<'PY' | tee "$RES/summary.md"
import collections, json, re, sys
res, nbytes, files, planted = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
hf = json.load(open(f"{res}/hyperfine.json"))
mb = nbytes / 1e6
print(f"\n## llmguard scan-prompts throughput\n\ninput: {mb:.1f} MB of text in {files} files ({planted} planted positives); warm page cache\n")
print("| run | median s | min s | max s | MB/s | MB/s per core |\n|---|---:|---:|---:|---:|---:|")
for r in hf["results"]:
    m = re.search(r"-j (\d+)", r["command"])
    j = int(m.group(1)) if m else 1
    med = r["median"]
    print(f"| scan-prompts -j {j} | {med:.3f} | {r['min']:.3f} | {r['max']:.3f} | {mb / med:.1f} | {mb / med / j:.1f} |")
rep = json.load(open(f"{res}/findings-j1.json"))
c = collections.Counter(f["rule_id"] for f in rep.get("findings", []))
print(f"\nfindings of one -j 1 run: {sum(c.values())} ({', '.join(f'{k} {v}' for k, v in sorted(c.items())) or 'none'})")
PY
echo "raw results: $RES" >&2
