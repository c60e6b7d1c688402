#!/usr/bin/env bash
# A short fuzz pass of every target: seeds each corpus from testdata/ and runs each target
# for SECONDS (default 60). Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly
# toolchain; without nightly it falls back to RUSTC_BOOTSTRAP=1 on stable.
# Grown corpora are kept under fuzz/corpus/ (small, committed); crashes under fuzz/artifacts/
# (copy a fixed one to fuzz/regressions/<target>/, which unit tests replay).
# Leak detection is off: a pickle can build reference cycles (a list appended to itself) that
# the symbolic machine keeps as Rc cycles until the scan ends; their size is bounded by the
# per-stream retention budget, and the process exits after the scan.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
if rustup toolchain list 2>/dev/null | grep -q nightly; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
seed() {
  local target=$1; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 65536 ] && cp -n "$f" "corpus/$target/seed-$(basename "$f")"
  done
  return 0
}
seed pickle ../testdata/models/malicious/*.pkl ../testdata/models/benign/plain/*.pkl ../testdata/models/benign/numpy2/*.pkl
seed zip ../testdata/models/malicious/*.pt ../testdata/models/malicious/*.zip ../testdata/models/benign/torch/*.pt
seed npy ../testdata/models/malicious/*.npy ../testdata/models/benign/numpy2/*.npy
seed safetensors ../testdata/models/malicious/st_*.safetensors ../testdata/models/benign/safetensors/*.safetensors
seed gguf ../testdata/models/malicious/gguf_*.gguf ../testdata/models/benign/gguf/*.gguf
seed chat_template ../testdata/chat_templates/benign/*
for target in pickle zip npy safetensors gguf chat_template; do
  echo "== $target (${secs}s)"
  "${fuzz[@]}" run "$target" "corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=512 -max_len=65536 -detect_leaks=0 2>&1 \
    | grep -E "^#[0-9]+ *(DONE|pulse)|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
  # Keep the corpus small: merge it down to the inputs that add coverage.
  mkdir -p "corpus/$target.min"
  "${fuzz[@]}" run "$target" -- -merge=1 "corpus/$target.min" "corpus/$target" > /dev/null 2>&1 || true
  rm -rf "corpus/$target" && mv "corpus/$target.min" "corpus/$target"
done
