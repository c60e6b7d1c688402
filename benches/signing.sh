#!/usr/bin/env bash
# OMS signature verification throughput: `llmguard scan-model --verify-signature` over a
# generated, signed model directory, against `sha256sum` over the same files (the issue's
# reference) in the same run, per core and with --jobs.
#
#   benches/signing.sh [SIZE_MIB] [FILES]       (defaults: 1024 MiB in 8 files)
#
# 1. writes $DIR/model/ (DIR defaults to a new directory under /tmp): FILES valid safetensors
#    files of SIZE_MIB/FILES MiB of pseudo-random tensor bytes each and a config.json;
# 2. signs it with the real `model_signing sign key` (fresh P-256 key from openssl) into
#    $DIR/model/model.sig;
# 3. reads every file once so the page cache is warm, then runs RUNS times each (interleaved):
#    `sha256sum FILES`, `openssl dgst -sha256 FILES` (a SHA-NI reference: coreutils'
#    sha256sum may be built without it), `llmguard scan-model DIR --verify-signature
#    --public-key KEY --jobs 1`, and the same with `--jobs $(nproc)`; each under GNU time
#    for wall and CPU (user+sys) seconds;
# 4. runs `model_signing verify key` once, for scale;
# 5. prints the best run of each: MB/s of wall time, MB/s per CPU second ("per core"), and
#    llmguard's per-core throughput as a share of sha256sum's; deletes $DIR (KEEP=1 keeps it).
# Raw outputs go to benches/results/signing-<timestamp>/ (gitignored).
# Settings: LLMGUARD=path (skip the release build), RUNS=5, DIR=/tmp/...,
# MODEL_SIGNING_PYTHON=python with model-signing (default .ci/tools/venv/bin/python).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

SIZE_MIB=${1:-1024}
FILES=${2:-8}
RUNS=${RUNS:-5}
PY=${MODEL_SIGNING_PYTHON:-.ci/tools/venv/bin/python}
if [ -z "${LLMGUARD:-}" ]; then
  cargo build --release --quiet || exit 1
  LLMGUARD=target/release/llmguard
fi
LLMGUARD=$(realpath "$LLMGUARD")
"$PY" -c "import model_signing" || { echo "needs model-signing: MODEL_SIGNING_PYTHON=python-with-it" >&2; exit 2; }
DIR=${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/llmguard-signing-bench.XXXXXX")}
OUT=benches/results/signing-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$DIR/model" "$OUT"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"; }
trap cleanup EXIT

echo "writing $SIZE_MIB MiB in $FILES files to $DIR/model" >&2
python3 - "$DIR/model" "$SIZE_MIB" "$FILES" <<'PY'
import json, os, random, struct, sys
d, size_mib, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = size_mib * (1 << 20) // files
rng = random.Random(7)
chunk = bytes(rng.getrandbits(8) for _ in range(1 << 20))
for i in range(files):
    n = per // 4
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, n * 4]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(os.path.join(d, f"model-{i + 1:05d}-of-{files:05d}.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = n * 4
        k = i
        while left:
            # Rotate the chunk so no two MiB are equal.
            k = (k + 1) % len(chunk)
            part = (chunk[k:] + chunk[:k])[: min(left, len(chunk))]
            f.write(part)
            left -= len(part)
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump({"architectures": ["Bench"], "hidden_size": 4096}, f)
PY
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/key.pem" 2>/dev/null
openssl pkey -in "$DIR/key.pem" -pubout -out "$DIR/key.pub"
echo "signing with model_signing" >&2
/usr/bin/time -f "%e %U %S" -o "$OUT/model-signing-sign.time" \
  "$PY" -m model_signing sign key "$DIR/model" --signature "$DIR/model/model.sig" --private_key "$DIR/key.pem" >/dev/null
mapfile -t files < <(find "$DIR/model" -type f ! -name model.sig | LC_ALL=C sort)
bytes=$(cat "${files[@]}" | wc -c)
cores=$(nproc)

run() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -a -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>>"$OUT/$name.err"
}
for _ in $(seq "$RUNS"); do
  run sha256sum sha256sum "${files[@]}"
  run openssl openssl dgst -sha256 "${files[@]}"
  run llmguard-j1 "$LLMGUARD" scan-model "$DIR/model" --verify-signature --public-key "$DIR/key.pub" -q --format json --jobs 1
  run "llmguard-j$cores" "$LLMGUARD" scan-model "$DIR/model" --verify-signature --public-key "$DIR/key.pub" -q --format json --jobs "$cores"
done
grep -q '"MOD610"' "$OUT/llmguard-j1.out" || { echo "llmguard did not verify the model:" >&2; cat "$OUT/llmguard-j1.out" >&2; exit 1; }
run model-signing-verify "$PY" -m model_signing verify key "$DIR/model" --signature "$DIR/model/model.sig" --public_key "$DIR/key.pub"

python3 - "$OUT" "$bytes" "$cores" <<'PY' | tee "$OUT/summary.txt"
import os, sys
out, nbytes, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def best(name):
    rows = [list(map(float, l.split())) for l in open(os.path.join(out, name + ".time")) if l.strip() and l[0].isdigit()]
    wall = min(r[0] for r in rows)
    cpu = min(r[1] + r[2] for r in rows)
    return wall, cpu, len(rows)
mb = nbytes / 1e6
print(f"{nbytes} bytes ({mb:.0f} MB), {cores} cores; best of each (wall and CPU minima taken separately)")
print(f"{'command':28} {'runs':>4} {'wall s':>7} {'MB/s':>7} {'CPU s':>7} {'MB/s per core':>14}")
ref = None
for name in ["sha256sum", "openssl", "llmguard-j1", f"llmguard-j{cores}", "model-signing-verify"]:
    wall, cpu, n = best(name)
    per_core = mb / cpu if cpu else float("inf")
    if name == "sha256sum":
        ref = per_core
    share = f"  {per_core / ref:5.2f}x sha256sum" if ref and name != "sha256sum" else ""
    print(f"{name:28} {n:>4} {wall:7.2f} {mb / wall:7.0f} {cpu:7.2f} {per_core:14.0f}{share}")
PY
echo "raw results: $OUT" >&2
