#!/usr/bin/env bash
# Rerunnable speed benchmark of llmguard against reference model scanners.
#
#   cargo build --release && benches/bench.sh        (from the repository root)
#
# What it does (docs/benchmarks.md has the results and the discussion):
#   1. installs hyperfine, GNU time and unzip with apt-get if they are missing;
#   2. installs each reference scanner into its own venv, benches/.venv/<tool>
#      (picklescan, modelscan, modelaudit, fickling; see TOOL_SPECS below for the
#      extra pins each one needs).  A tool that fails to install is reported and
#      skipped;
#   3. runs benches/gen_corpus.py: benches/corpus/mixed/ (~430 files) and, once,
#      benches/corpus/large/checkpoint.pt (~1 GB);
#   4. builds benches/corpus/mixed-common/: mixed/ minus the few files that make
#      picklescan's or modelscan's directory scan abort (found by
#      benches/find_crashers.py), hard-linked, so that every tool scans the same
#      complete set of files;
#   5. times, with hyperfine, in one invocation per group (run in the order fixed,
#      large, corpus, so that the minutes-long modelaudit corpus runs come last):
#        large:  llmguard, picklescan, modelscan, fickling, modelaudit on
#                checkpoint.pt, llmguard on a 1 KB torch zip (its fixed cost), and
#                the baselines `unzip -p checkpoint.pt checkpoint/data.pkl` (read
#                only the pickle member), the same read with Python's zipfile, and
#                `cat checkpoint.pt` (read the whole file); warm page cache, then
#                again with a cold page cache (caches dropped before every run)
#                when /proc/sys/vm/drop_caches is writable (root);
#        corpus: llmguard, picklescan, modelscan, modelaudit on mixed-common/
#                (+ llmguard on the full mixed/), warm page cache;
#        fixed:  every tool on a 1 KB torch zip (its start-up cost);
#      a background sampler writes the load average to load.txt meanwhile;
#   6. runs every tool once more with /usr/bin/time -v to record peak RSS and keep
#      its output, from which report.py counts the files each tool flagged;
#   7. prints the Markdown report (benches/report.py) and writes everything to
#      benches/results/<timestamp>/ (gitignored; benches/results/latest links it).
#
# Settings (environment variables):
#   LLMGUARD=path       binary to time (default target/release/llmguard; nothing is built)
#   MIN_RUNS=3 MAX_RUNS=5 WARMUP=1
#                       hyperfine run counts: fast commands get MAX_RUNS runs, slow ones
#                       (modelaudit on the corpus takes minutes) at least MIN_RUNS
#   COLD=auto|0|1       also time the large group with dropped page caches (auto: if root)
#   SKIP_INSTALL=1      do not create/update the venvs or apt packages
#   TORCH_PYTHON=path   interpreter that can import torch: the 1 GB checkpoint is then
#                       written by a real torch.save (otherwise by the stdlib writer)
#   TOOLS="picklescan modelscan modelaudit fickling"   reference tools to run
#   BENCH_GROUPS="large corpus fixed"   timing groups to run (fixed: every tool on a 1 KB
#                       torch zip, i.e. its start-up cost)
set -uo pipefail
cd "$(dirname "$0")/.."

LLMGUARD=${LLMGUARD:-target/release/llmguard}
MIN_RUNS=${MIN_RUNS:-3}
MAX_RUNS=${MAX_RUNS:-5}
WARMUP=${WARMUP:-1}
COLD=${COLD:-auto}
TOOLS=${TOOLS:-"picklescan modelscan modelaudit fickling"}
GROUPS_=${BENCH_GROUPS:-"large corpus fixed"}
want() { [[ " $GROUPS_ " == *" $1 "* ]]; }
VENVS=benches/.venv
CORPUS=benches/corpus
MIXED=$CORPUS/mixed
COMMON=$CORPUS/mixed-common
LARGE=$CORPUS/large/checkpoint.pt
RES=benches/results/$(date +%Y%m%d-%H%M%S)
# modelaudit: no telemetry, no prompts
export PROMPTFOO_DISABLE_TELEMETRY=1 NO_ANALYTICS=1

say() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

if [ ! -x "$LLMGUARD" ]; then
    echo "error: $LLMGUARD not found: run 'cargo build --release' first (or set LLMGUARD=path)" >&2
    exit 1
fi
mkdir -p "$RES"
ln -sfn "$(basename "$RES")" benches/results/latest
# time a private copy, so that a rebuild during the (long) run cannot change what is timed
LLMGUARD_SRC=$(realpath "$LLMGUARD")
cp -p "$LLMGUARD_SRC" "$RES/llmguard"
LLMGUARD=$(realpath "$RES/llmguard")

# ------------------------------------------------------------------ 1. system tools
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v unzip >/dev/null || need_apt+=(unzip)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "${SKIP_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
        say "apt-get install ${need_apt[*]}"
        apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "error: missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]})" >&2
        exit 1
    fi
fi

# ------------------------------------------------------------------ 2. reference tools
# Each tool gets its own venv: modelaudit needs numpy 2.4 on Python 3.11, while
# modelscan 0.8.8's numpy scanner calls numpy.lib.format._check_version, which
# numpy 2 removed (every .npy is then an "error"), so modelscan gets numpy<2.
# picklescan needs numpy to read .npy files at all; fickling 0.1.12 imports
# typing_extensions without declaring it.
declare -A TOOL_SPECS=(
    [picklescan]="picklescan numpy"
    [modelscan]="modelscan numpy<2"
    [modelaudit]="modelaudit"
    [fickling]="fickling typing_extensions"
)
declare -A TOOL_BIN=([picklescan]=picklescan [modelscan]=modelscan [modelaudit]=modelaudit [fickling]=fickling)
AVAILABLE=()
for t in $TOOLS; do
    bin=$VENVS/$t/bin/${TOOL_BIN[$t]}
    if [ "${SKIP_INSTALL:-0}" != 1 ] && [ ! -x "$bin" ]; then
        say "installing $t into $VENVS/$t"
        # shellcheck disable=SC2086
        if ! { python3 -m venv "$VENVS/$t" &&
               "$VENVS/$t/bin/pip" install -q --disable-pip-version-check ${TOOL_SPECS[$t]}; } \
               >"$RES/install-$t.log" 2>&1; then
            warn "$t failed to install (see $RES/install-$t.log): skipped"
        fi
    fi
    if [ -x "$bin" ]; then AVAILABLE+=("$t"); else warn "$t not available: skipped"; fi
done
has() { [[ " ${AVAILABLE[*]} " == *" $1 "* ]]; }

# ------------------------------------------------------------------ 3. corpus
say "generating the corpus (benches/gen_corpus.py)"
python3 benches/gen_corpus.py ${TORCH_PYTHON:+--torch-python "$TORCH_PYTHON"} || exit 1

# ------------------------------------------------------------------ 4. mixed-common
say "finding files that abort a reference tool's directory scan"
: >"$RES/crashers.txt"
for t in picklescan modelscan; do
    has $t || continue
    "$VENVS/$t/bin/python" benches/find_crashers.py $t "$MIXED" 2>"$RES/crashers-$t.log" |
        sed "s|^|$t\t|" >>"$RES/crashers.txt"
    sed 's/^/  /' "$RES/crashers-$t.log" >&2
done
rm -rf "$COMMON"
cp -al "$MIXED" "$COMMON"
cut -f2 "$RES/crashers.txt" | sort -u | while read -r rel; do rm -f "$COMMON/$rel"; done
n_mixed=$(find "$MIXED" -type f | wc -l)
n_common=$(find "$COMMON" -type f | wc -l)
echo "mixed/: $n_mixed files; mixed-common/: $n_common files ($((n_mixed - n_common)) removed)" >&2

# ------------------------------------------------------------------ versions, machine
{
    echo "llmguard:   $("$LLMGUARD" --version) (copy of $LLMGUARD_SRC, sha256 $(sha256sum "$LLMGUARD" | cut -c1-16), built $(date -r "$LLMGUARD" '+%F %T'))"
    echo "git:        $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)')"
    for t in "${AVAILABLE[@]}"; do
        printf '%-11s %s\n' "$t:" "$("$VENVS/$t/bin/pip" show "$t" 2>/dev/null | sed -n 's/^Version: //p') ($("$VENVS/$t/bin/python" --version 2>&1); numpy $("$VENVS/$t/bin/python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || echo none))"
    done
    echo "hyperfine:  $(hyperfine --version | cut -d' ' -f2)"
    echo "unzip:      $(unzip -v | head -1 | cut -d' ' -f2)"
} >"$RES/versions.txt"
{
    echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores online)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -sr)"
    echo "disk:   $(df -h --output=source,fstype . | tail -1)"
    echo "load before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "corpus: mixed/ $n_mixed files ($(du -sh "$MIXED" | cut -f1)), mixed-common/ $n_common files; large/checkpoint.pt $(stat -c %s "$LARGE") bytes"
} >"$RES/machine.txt"
cat "$RES/versions.txt" "$RES/machine.txt" >&2

# ------------------------------------------------------------------ 5. timings
PY=$(python3 -c 'import sys; print(sys.executable)')  # the real interpreter, not a pyenv shim
LG="$LLMGUARD scan-model"
LGOPTS="--format json -q --no-progress"
V=$VENVS
FICKLING_API='import sys; from fickling.loader import scan_zip_archive; r = scan_zip_archive(sys.argv[1], graceful=True); sys.exit(any(not v.is_safe for v in r.values()))'
# -N: no intermediate shell (hyperfine sends stdout to /dev/null itself), so that
# millisecond-scale commands are not distorted by subtracting a shell's start-up time
HF=(hyperfine -N --style basic --ignore-failure --warmup "$WARMUP" --min-runs "$MIN_RUNS" --max-runs "$MAX_RUNS")

# Background load sampler: this is a 2-core machine, so anything else running
# (a compile, a test suite) skews the timings; load.txt shows whether it happened.
sample_load() {
    while :; do
        echo "$(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) | top: $(ps -eo pcpu,comm --sort=-pcpu --no-headers | head -3 | tr -s ' ' | tr '\n' ';')"
        sleep 5
    done
}
: >"$RES/load.txt"
sample_load >>"$RES/load.txt" 2>&1 &  # O_APPEND: phase() appends to the same file
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null' EXIT
phase() { echo "$(date +%T) ==== $*" >>"$RES/load.txt"; say "$*"; }

TINY=$CORPUS/large/tiny.pt
large_cmds=(-n llmguard "$LG $LARGE $LGOPTS")
[ -f "$TINY" ] && large_cmds+=(-n "llmguard on a 1 KB torch zip (fixed cost)" "$LG $TINY $LGOPTS")
has picklescan && large_cmds+=(-n picklescan "$V/picklescan/bin/picklescan --path $LARGE")
has modelscan && large_cmds+=(-n modelscan "$V/modelscan/bin/modelscan -p $LARGE")
has fickling && large_cmds+=(-n "fickling (scan_zip_archive API)" "$V/fickling/bin/python -c '$FICKLING_API' $LARGE")
has modelaudit && large_cmds+=(-n modelaudit "$V/modelaudit/bin/modelaudit scan --no-cache --format json -o $RES/modelaudit-large.json $LARGE")
large_cmds+=(-n "baseline: unzip -p checkpoint/data.pkl" "unzip -p $LARGE checkpoint/data.pkl"
             -n "baseline: python zipfile read of data.pkl" "$PY -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).read(\"checkpoint/data.pkl\")' $LARGE"
             -n "baseline: cat whole file" "cat $LARGE")

# fast groups first, the corpus (with minutes-long modelaudit runs last) at the end
if want fixed && [ -f "$TINY" ]; then
    fixed_cmds=(-n llmguard "$LG $TINY $LGOPTS")
    has picklescan && fixed_cmds+=(-n picklescan "$V/picklescan/bin/picklescan --path $TINY")
    has modelscan && fixed_cmds+=(-n modelscan "$V/modelscan/bin/modelscan -p $TINY")
    has fickling && fixed_cmds+=(-n "fickling (scan_zip_archive API)" "$V/fickling/bin/python -c '$FICKLING_API' $TINY")
    has modelaudit && fixed_cmds+=(-n modelaudit "$V/modelaudit/bin/modelaudit scan --no-cache --format json -o $RES/modelaudit-tiny.json $TINY")
    fixed_cmds+=(-n "baseline: unzip -p tiny/data.pkl" "unzip -p $TINY tiny/data.pkl")
    phase "timing every tool on a 1 KB torch zip (fixed cost; warm page cache)"
    "${HF[@]}" --export-json "$RES/fixed.json" "${fixed_cmds[@]}"
fi

if want large; then
cat "$LARGE" >/dev/null
phase "timing the 1 GB checkpoint (warm page cache)"
"${HF[@]}" --export-json "$RES/large.json" "${large_cmds[@]}"
fi

if ! want large; then
    :
elif [ "$COLD" = 1 ] || { [ "$COLD" = auto ] && [ -w /proc/sys/vm/drop_caches ]; }; then
    phase "timing the 1 GB checkpoint (cold page cache: caches dropped before every run)"
    "${HF[@]}" --prepare "sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'" \
        --export-json "$RES/large-cold.json" "${large_cmds[@]}"
else
    echo "cold-cache run skipped (COLD=$COLD; /proc/sys/vm/drop_caches not writable)" >&2
fi

corpus_cmds=(-n llmguard "$LG $COMMON $LGOPTS"
             -n "llmguard -j 1 (one worker thread)" "$LG $COMMON $LGOPTS -j 1"
             -n "llmguard (full mixed/)" "$LG $MIXED $LGOPTS")
has picklescan && corpus_cmds+=(-n picklescan "$V/picklescan/bin/picklescan --path $COMMON")
has modelscan && corpus_cmds+=(-n modelscan "$V/modelscan/bin/modelscan -p $COMMON")
has modelaudit && corpus_cmds+=(-n modelaudit "$V/modelaudit/bin/modelaudit scan --no-cache --format json -o $RES/modelaudit-mixed-common.json $COMMON")
has fickling && echo "fickling: not timed on the corpus: its CLI takes one pickle file, not a directory" >&2
if want corpus; then
    find "$MIXED" -type f -exec cat {} + >/dev/null
    phase "timing the corpus (warm page cache; modelaudit takes minutes per run)"
    "${HF[@]}" --export-json "$RES/corpus.json" "${corpus_cmds[@]}"
fi

# ------------------------------------------------------------------ 6. RSS + outputs
phase "peak RSS and tool outputs (one more run each)"
cat "$LARGE" >/dev/null
tv() { local name=$1; shift; /usr/bin/time -v -o "$RES/rss-$name.txt" "$@"; }
tv llmguard-mixed-common $LG "$COMMON" $LGOPTS >"$RES/llmguard-mixed-common.json"
tv llmguard-mixed $LG "$MIXED" $LGOPTS >"$RES/llmguard-mixed.json"
tv llmguard-large $LG "$LARGE" $LGOPTS >"$RES/llmguard-large.json"
if has picklescan; then
    tv picklescan-mixed-common "$V/picklescan/bin/picklescan" --path "$COMMON" >"$RES/picklescan-mixed-common.txt" 2>&1
    tv picklescan-large "$V/picklescan/bin/picklescan" --path "$LARGE" >"$RES/picklescan-large.txt" 2>&1
fi
if has modelscan; then
    tv modelscan-mixed-common "$V/modelscan/bin/modelscan" -p "$COMMON" -r json -o "$RES/modelscan-mixed-common.json" >"$RES/modelscan-mixed-common.log" 2>&1
    tv modelscan-large "$V/modelscan/bin/modelscan" -p "$LARGE" -r json -o "$RES/modelscan-large.json" >"$RES/modelscan-large.log" 2>&1
fi
# modelaudit's corpus output was written by its timed runs (a run takes minutes)
has modelaudit && tv modelaudit-large "$V/modelaudit/bin/modelaudit" scan --no-cache --format json -o "$RES/modelaudit-large.json" "$LARGE" >"$RES/modelaudit-large.log" 2>&1
has fickling && tv fickling-large "$V/fickling/bin/python" -c "$FICKLING_API" "$LARGE" >"$RES/fickling-large.txt" 2>&1
true

# ------------------------------------------------------------------ 7. report
phase "done"
kill "$SAMPLER" 2>/dev/null
say "report"
python3 benches/report.py "$RES"
echo >&2
echo "raw results: $RES (hyperfine JSON: corpus.json, large.json, large-cold.json)" >&2
