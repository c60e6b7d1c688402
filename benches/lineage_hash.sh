#!/usr/bin/env bash
# check-lineage checksum verification against GNU sha256sum, on the same files, in one run.
#
#   cargo build --release && benches/lineage_hash.sh
#
# Generates FILES files of MIB MiB each (random bytes, under $WORK, default a temp dir) with a
# SHA256SUMS manifest written by sha256sum, drops nothing from the page cache (warm runs: both
# tools read the same cached bytes), then times, RUNS times each and keeping the best:
#   sha256sum FILES...                     (GNU coreutils, one core)
#   llmguard check-lineage -j 1 DIR        (one core)
#   llmguard check-lineage -j N DIR        (N = nproc)
# and prints MB/s and the ratio to sha256sum. LLMGUARD=path times another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${LLMGUARD:-target/release/llmguard}")
FILES=${FILES:-8}
MIB=${MIB:-64}
RUNS=${RUNS:-5}
WORK=${WORK:-$(mktemp -d)}
test -x "$BIN" || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$WORK/data"
for i in $(seq 1 "$FILES"); do
  f="$WORK/data/part-$i.bin"
  [[ -s "$f" ]] || head -c $((MIB << 20)) /dev/urandom > "$f"
done
(cd "$WORK/data" && sha256sum part-*.bin > SHA256SUMS)
total=$((FILES * MIB * 1048576))
best() { # best wall time in seconds of RUNS runs of "$@"
  local b=999999 s e t
  for _ in $(seq 1 "$RUNS"); do
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l); (( $(echo "$t < $b" | bc -l) )) && b=$t
  done
  echo "$b"
}
cat "$WORK"/data/part-*.bin > /dev/null  # warm the cache
ref=$(best sha256sum "$WORK"/data/part-*.bin)
# Run from the data directory: it is the scan root, so the manifest's files are inside it.
lin() { (cd "$WORK/data" && "$BIN" check-lineage -q --fail-on high -j "$1" .); }
lin 1 > /dev/null || { echo "check-lineage found problems; not a valid timing" >&2; exit 1; }
j1=$(best lin 1)
jn=$(best lin "$(nproc)")
mbs() { echo "scale=0; $total / $1 / 1000000" | bc -l; }
echo "files: $FILES x $MIB MiB = $((total >> 20)) MiB, warm cache, best of $RUNS, $(nproc) CPUs"
printf '%-34s %8s s %6s MB/s\n' "sha256sum" "$ref" "$(mbs "$ref")"
printf '%-34s %8s s %6s MB/s  %s x sha256sum\n' "check-lineage -j 1" "$j1" "$(mbs "$j1")" "$(echo "scale=2; $ref / $j1" | bc -l)"
printf '%-34s %8s s %6s MB/s  %s x sha256sum\n' "check-lineage -j $(nproc)" "$jn" "$(mbs "$jn")" "$(echo "scale=2; $ref / $jn" | bc -l)"
