#!/usr/bin/env bash
# Fuzz every target of fuzz/Cargo.toml for SECONDS each (default 60), one target at a time.
#
#   fuzz/run.sh [SECONDS] [TARGET ...]          a short pass (CI, before a release)
#   fuzz/run.sh --update-corpus SECONDS [TARGET ...]
#                                               a long pass that also minimises the grown corpus
#                                               (cargo fuzz cmin) back into fuzz/corpus/<target>/
#
# Targets are the [[bin]] entries of fuzz/Cargo.toml, so a new target is picked up without
# editing this script; naming targets runs only those. Each run starts from a scratch copy of
# the committed corpus fuzz/corpus/<target>/ plus the matching fixtures under testdata/ (see
# seeds() below), so a short pass never dirties the repository. Needs cargo-fuzz
# (`cargo install cargo-fuzz`) and a nightly toolchain; without nightly it falls back to
# RUSTC_BOOTSTRAP=1 on stable.
#
# Limits applied to every run (docs/fuzzing.md): -rss_limit_mb=512 -malloc_limit_mb=512
# (the whole-scanner `scan` target gets -rss_limit_mb=1024: one input may legitimately keep
# the pickle machine's 64 MiB retention budget, which AddressSanitizer's shadow memory and
# quarantine multiply well past 512 MiB in the fuzzer process; `h5` gets 1024 too: each input
# may read 16 MiB, and ASan's allocator keeps the freed blocks, so the process climbs past 512 MiB
# in a 20-minute pass with a live heap of 33 MB, docs/fuzzing.md "third plateau run")
# (an input that makes a parser hold or ask for more than 512 MiB is an OOM finding),
# -timeout=10 (one input taking more than 10 s is a finding), -max_len=65536, one process
# (no -jobs/-workers). Leak detection is off unless LEAKS=1: the pickle machine used to keep
# reference cycles (a list appended to itself) alive; it frees them since 58f4ac2, and a
# LEAKS=1 pass of the six original targets was clean, but targets added since may not be.
# (-detect_leaks=0 only stops libFuzzer's per-input check; ASAN_OPTIONS=detect_leaks=0 also
# stops LeakSanitizer's report at exit, which would otherwise fail the run with an empty input.)
#
# Exit status: 0 if no target found a crash, OOM or timeout; 1 otherwise (or if a target
# failed to build). Inputs that failed are left in fuzz/artifacts/<target>/ (gitignored);
# once fixed, copy them to fuzz/regressions/<target>/, which unit tests replay.
# Logs and the scratch corpora go to $FUZZ_WORK (default: a temporary directory, printed).
# --update-corpus commits inputs of at most MAX_COMMIT_INPUT bytes (default 4096; libFuzzer
# grows inputs slowly, so nearly all are smaller) that are not copies of a fixture.
set -uo pipefail
rss_for() { case "$1" in scan | h5) echo 1024 ;; *) echo 512 ;; esac; }
cd "$(dirname "$0")" || exit 2

update=0
if [ "${1:-}" = "--update-corpus" ]; then
  update=1
  shift
fi
secs="${1:-60}"
[ $# -gt 0 ] && shift
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh [--update-corpus] [SECONDS] [TARGET ...]" >&2
  exit 2
fi

if rustup toolchain list 2>/dev/null | grep -q nightly; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

# Every [[bin]] name in Cargo.toml, in file order.
all_targets() {
  awk '/^\[\[bin\]\]/ { inbin = 1; next }
       /^\[/         { inbin = 0 }
       inbin && /^name *=/ { gsub(/.*= *"|".*/, ""); print }' Cargo.toml
}
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(all_targets); fi

# Fixtures that seed a target, by target name (fixture names are by format; contents are
# whatever the fixture claims to be, which is the point). A target not listed here starts
# from its committed corpus, or from nothing.
seeds() {
  local t=../testdata
  case "$1" in
    pickle) find $t/models -type f \( -name '*.pkl' -o -name '*.joblib' -o -name '*.bin' \) ;;
    zip) find $t/models -type f \( -name '*.pt' -o -name '*.pth' -o -name '*.ckpt' -o -name '*.zip' \
           -o -name '*.npz' -o -name '*.keras' \) ;;
    npy) find $t/models -type f -name '*.npy' ;;
    safetensors) find $t/models -type f -name '*.safetensors' ;;
    gguf) find $t/models -type f -name '*.gguf' ;;
    chat_template) find $t/chat_templates -type f ;;
    prompts) find $t/prompts -type f ;;
    # Every lineage fixture: metadata of every kind, and data files (read as metadata too).
    lineage) find $t/lineage -type f -size -65k ! -name '*.py' ;;
    policy) find $t/policy -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) ;;
    h5 | hdf5 | keras*) find $t -type f \( -name '*.h5' -o -name '*.hdf5' -o -name '*.keras' \) ;;
    onnx*) find $t -type f -name '*.onnx' ;;
    oms) find $t/signing -type f -name '*.sig' ;;
    # The whole scanner: every fixture of every format up to 64 KiB (the -max_len).
    scan) find $t/models -type f -size -65k ! -name 'manifest*.json' ! -name GLOBALS.txt ;;
  esac 2>/dev/null
}

leaks="${LEAKS:-0}"
export ASAN_OPTIONS="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
work="${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/llmguard-fuzz.XXXXXX")}"
mkdir -p "$work"
# GNU time, when present, records wall and CPU time (cargo-fuzz and the fuzzer) per target.
timer=()
echo "fuzz/run.sh: ${secs}s per target: ${targets[*]}; logs and scratch corpora in $work"
failed=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="artifacts/$target"
  log="$work/$target.$(date +%Y%m%d-%H%M%S).log"
  mkdir -p "$corpus" "$artifacts"
  [ -d "corpus/$target" ] && cp -n corpus/"$target"/* "$corpus"/ 2>/dev/null
  seeds "$target" | while read -r f; do
    # named by content, like libFuzzer's own corpus entries, so copies of a fixture merge
    [ "$(stat -c %s "$f")" -le 65536 ] && cp -n "$f" "$corpus/$(sha1sum < "$f" | cut -c1-40)"
  done
  echo "== $target: ${secs}s from $(find "$corpus" -type f | wc -l) inputs"
  before=$(find "$artifacts" -type f | wc -l)
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -o "$log.time"
    -f "time: wall %e s, cpu %U s user + %S s sys, max rss %M KiB")
  "${timer[@]}" "${fuzz[@]}" run "$target" "$corpus" -- \
    -max_total_time="$secs" -rss_limit_mb="$(rss_for "$target")" -malloc_limit_mb=512 -timeout=10 \
    -max_len=65536 -detect_leaks="$leaks" -print_final_stats=1 \
    -artifact_prefix="$PWD/$artifacts/" > "$log" 2>&1
  status=$?
  after=$(find "$artifacts" -type f | wc -l)
  cat "$log.time" 2>/dev/null
  grep -E "^#[0-9]+ *DONE|^Done [0-9]+ runs|^stat::|ERROR|panicked|SUMMARY|^artifact_prefix|Test unit written" "$log" \
    | grep -v "^stat::\(slowest\|peak_rss\|new_units\)" || true
  if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
    echo "!! $target: exit $status, $((after - before)) new artifact(s) in fuzz/$artifacts/ (log: $log)"
    failed+=("$target")
    continue
  fi
  if [ "$update" = 1 ]; then
    "${fuzz[@]}" cmin "$target" "$corpus" -- -max_len=65536 -rss_limit_mb="$(rss_for "$target")" \
      -malloc_limit_mb=512 -timeout=10 -detect_leaks="$leaks" > "$work/$target.cmin.log" 2>&1
    # Commit only what the fixtures do not already give (run.sh seeds those on every run),
    # and no input larger than MAX_COMMIT_INPUT bytes, to keep the repository small.
    rm -rf "corpus/$target"
    mkdir -p "corpus/$target"
    seeded=$(seeds "$target" | xargs -r sha1sum | cut -c1-40)
    find "$corpus" -maxdepth 1 -type f -size -$((${MAX_COMMIT_INPUT:-4096} + 1))c | while read -r f; do
      grep -qx "$(basename "$f")" <<< "$seeded" || cp "$f" "corpus/$target/"
    done
    echo "   corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs," \
      "$(du -sh "corpus/$target" | cut -f1)"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "OK: no crash, OOM or timeout in ${targets[*]}"
