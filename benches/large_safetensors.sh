#!/usr/bin/env bash
# How llmguard scans one large, valid safetensors file (2.13 GB of real bytes).
#
#   benches/large_safetensors.sh          (from anywhere; builds the release binary first)
#
# 1. writes $DIR/large.safetensors (DIR defaults to a new directory under /tmp): a
#    transformer-shaped header (an F32 32000x4096 embedding, 12 BF16 8192x8192 matrices,
#    an F32 norm) and 2,134,917,120 bytes of tensor data, written in full (pseudo-random
#    bytes, not a sparse file) by a stdlib Python snippet;
# 2. reads it once so the page cache is warm, then times with hyperfine (-N, warm cache)
#    `llmguard scan-model FILE --format json -q --no-progress` against `cat FILE` (stdout of
#    both goes to /dev/null);
# 3. counts the bytes llmguard reads from the file: strace -f -y of read/pread64/readv/
#    preadv/preadv2/mmap, summing the return values of the calls on that file's descriptor;
# 4. records llmguard's peak RSS with /usr/bin/time -v, and its JSON report (it should be
#    empty: the file is valid);
# 5. deletes the file (KEEP=1 keeps it).
# Raw outputs go to benches/results/large-safetensors-<timestamp>/ (gitignored).
# Needs hyperfine and strace (installed with apt-get if missing).
# Settings: LLMGUARD=path (skip the build), RUNS=10, WARMUP=2, DIR=/tmp/...
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
if [ -z "${LLMGUARD:-}" ]; then
  cargo build --release --quiet || exit 1
  LLMGUARD=target/release/llmguard
fi
LLMGUARD=$(realpath "$LLMGUARD")
for tool in hyperfine strace; do
  command -v $tool >/dev/null || apt-get install -y $tool >/dev/null || exit 1
done
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null || exit 1
RES=benches/results/large-safetensors-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
DIR=${DIR:-$(mktemp -d /tmp/llmguard-large.XXXXXX)}
FILE=$DIR/large.safetensors
[ "${KEEP:-0}" = 1 ] || trap 'rm -f "$FILE"; rmdir "$DIR" 2>/dev/null' EXIT

echo "==> writing $FILE" >&2
python3 - "$FILE" <<'EOF'
import json, os, random, struct, sys
tensors = [("model.embed_tokens.weight", "F32", [32000, 4096], 4)]
for layer in range(3):
    for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
        tensors.append((f"model.layers.{layer}.self_attn.{proj}.weight", "BF16", [8192, 8192], 2))
tensors.append(("model.norm.weight", "F32", [4096], 4))
header, off = {"__metadata__": {"format": "pt"}}, 0
for name, dtype, shape, size in tensors:
    n = size
    for d in shape:
        n *= d
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
    off += n
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
rng = random.Random(0)
block = rng.randbytes(64 << 20)  # 64 MiB of pseudo-random bytes, repeated
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    left = off
    while left:
        n = min(left, len(block))
        f.write(block[:n])
        left -= n
print(f"{len(tensors)} tensors, header {len(h)} bytes, data {off} bytes, file {8 + len(h) + off} bytes",
      file=sys.stderr)
EOF
size=$(stat -c %s "$FILE")
blocks=$(( $(stat -c %b "$FILE") * $(stat -c %B "$FILE") ))
echo "file: $size bytes, $blocks bytes allocated on disk" | tee "$RES/file.txt" >&2

echo "==> warm the page cache, then hyperfine" >&2
cat "$FILE" > /dev/null
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --ignore-failure --export-json "$RES/hyperfine.json" \
  --export-markdown "$RES/hyperfine.md" \
  -n llmguard "$LLMGUARD scan-model $FILE --format json -q --no-progress" \
  -n cat "cat $FILE" >&2

echo "==> strace: bytes read from the file" >&2
strace -f -y -e trace=read,pread64,readv,preadv,preadv2,mmap -o "$RES/strace.log" \
  "$LLMGUARD" scan-model "$FILE" --format json -q --no-progress > "$RES/report.json"
python3 - "$RES/strace.log" "$FILE" "$size" > "$RES/strace-summary.txt" <<'EOF'
import re, sys
log, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
calls = total = file_calls = file_bytes = mmaps = 0
for line in open(log):
    m = re.search(r"\b(read|pread64|readv|preadv|preadv2|mmap)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+)", line)
    if not m:
        continue
    call, args, ret = m.groups()
    if call == "mmap":
        if path in args:
            mmaps += 1
        continue
    n = int(ret)
    if n < 0:
        continue
    calls += 1
    total += n
    if f"<{path}>" in args:
        file_calls += 1
        file_bytes += n
print(f"read calls on the file: {file_calls}, bytes read from the file: {file_bytes} "
      f"({file_bytes / size * 100:.6f}% of {size}); mmaps of the file: {mmaps}; "
      f"all read calls of the process: {calls}, {total} bytes")
EOF
cat "$RES/strace-summary.txt" >&2

echo "==> peak RSS" >&2
/usr/bin/time -v -o "$RES/time.txt" "$LLMGUARD" scan-model "$FILE" --format json -q --no-progress > /dev/null
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$RES/time.txt")
findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$RES/report.json")

python3 - "$RES/hyperfine.json" "$rss" "$findings" "$(cat "$RES/strace-summary.txt")" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lg, cat = res["llmguard"], res["cat"]
print("| command | runs | median | mean ± σ | min | max |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, r in (("llmguard scan-model", lg), ("cat FILE", cat)):
    print(f"| {name} | {len(r['times'])} | {r['median']*1e3:.1f} ms | {r['mean']*1e3:.1f} ± {r['stddev']*1e3:.1f} ms "
          f"| {r['min']*1e3:.1f} ms | {r['max']*1e3:.1f} ms |")
print(f"\ncat / llmguard (medians): {cat['median'] / lg['median']:.0f}x")
print(f"llmguard peak RSS: {int(sys.argv[2]) / 1024:.1f} MiB; findings: {sys.argv[3]}")
print(sys.argv[4])
EOF
echo "raw results: $RES" >&2
