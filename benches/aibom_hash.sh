#!/usr/bin/env bash
# Hashing throughput of `llmguard aibom` against GNU `sha256sum` on the same files.
#
#   cargo build --release && benches/aibom_hash.sh        (from the repository root)
#
# 1. Writes FILES safetensors files of MIB MiB each (a valid header, one U8 tensor of random
#    bytes) to a temporary directory, so that aibom takes each for a model and hashes it whole.
# 2. Reads them once to warm the page cache, and checks that llmguard's digests (the `sha256`
#    of the JSON report's artifacts) equal sha256sum's.
# 3. Times with hyperfine (warm cache, WARMUP warm-up runs, RUNS runs):
#      one core:  `sha256sum FILES`, `openssl dgst -sha256 FILES` (SHA-NI where the CPU has it;
#                 Debian's coreutils sha256sum is built without it)
#                                                    vs `llmguard aibom DIR -j 1 --format json`
#      JOBS cores: `xargs -P JOBS -n 1 sha256sum`   vs `llmguard aibom DIR -j JOBS --format json`
#    llmguard's runs are the whole subcommand: walk, format identification, header parsing,
#    hashing, the document. Its output goes to /dev/null.
# 4. Measures user+sys CPU seconds of one run of each with /usr/bin/time, the per-core figure
#    that other load on the machine distorts least.
# 5. Prints a Markdown table: MB/s from hyperfine's median and from CPU time, and llmguard's
#    share of sha256sum's throughput (the target is at least 90%).
#
# Settings: LLMGUARD (default target/release/llmguard), FILES (8), MIB (128), JOBS (nproc),
# RUNS (5), WARMUP (1), KEEP=1 keeps the corpus and the hyperfine JSON (printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

LLMGUARD=${LLMGUARD:-target/release/llmguard}
FILES=${FILES:-8}
MIB=${MIB:-128}
JOBS=${JOBS:-$(nproc)}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
for tool in hyperfine sha256sum openssl xargs python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "benches/aibom_hash.sh: $tool is needed" >&2; exit 2; }
done
test -x "$LLMGUARD" || { echo "benches/aibom_hash.sh: build llmguard first (cargo build --release) or set LLMGUARD" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/llmguard-aibom-hash.XXXXXX")
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf -- "$work"' EXIT
corpus="$work/models"
mkdir -p "$corpus"

python3 - "$corpus" "$FILES" "$MIB" <<'PY'
import json, os, struct, sys
out, files, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = mib << 20
for i in range(files):
    header = json.dumps({"weight": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(os.path.join(out, f"model-{i:02d}.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = n
        while left:
            chunk = min(left, 8 << 20)
            f.write(os.urandom(chunk))
            left -= chunk
PY
mapfile -t files < <(find "$corpus" -type f -name '*.safetensors' | LC_ALL=C sort)
bytes=$(cat "${files[@]}" | wc -c)

# The same digests, or the comparison means nothing.
"$LLMGUARD" aibom "$corpus" -q --no-progress --format json -o "$work/report.json"
python3 - "$work/report.json" <(sha256sum "${files[@]}") <<'PY'
import json, os, sys
ours = {os.path.basename(a["path"]): a["sha256"] for a in json.load(open(sys.argv[1]))["artifacts"]}
theirs = {os.path.basename(l.split()[1]): l.split()[0] for l in open(sys.argv[2])}
assert ours == theirs, (ours, theirs)
print(f"digests agree on {len(ours)} files")
PY

lg="$LLMGUARD aibom $corpus -q --no-progress --format json -o /dev/null"
list="$work/files.txt"
printf '%s\n' "${files[@]}" > "$list"
cat "${files[@]}" > /dev/null
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$work/one.json" \
  -n "sha256sum" "sha256sum ${files[*]}" \
  -n "openssl dgst -sha256" "openssl dgst -sha256 ${files[*]}" \
  -n "llmguard -j 1" "$lg -j 1" >&2
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$work/many.json" \
  -n "sha256sum x$JOBS" "xargs -P $JOBS -n 1 sha256sum < $list > /dev/null" \
  -n "llmguard -j $JOBS" "$lg -j $JOBS" >&2

cpu() { # user+sys seconds of one run
  /usr/bin/time -f '%U %S' -o "$work/time.txt" "$@" > /dev/null
  awk '{print $1 + $2}' "$work/time.txt"
}
cpu_sum=$(cpu sha256sum "${files[@]}")
cpu_ssl=$(cpu openssl dgst -sha256 "${files[@]}")
cpu_lg=$(cpu "$LLMGUARD" aibom "$corpus" -q --no-progress --format json -o /dev/null -j 1)

python3 - "$work/one.json" "$work/many.json" "$bytes" "$cpu_sum" "$cpu_lg" "$JOBS" "$cpu_ssl" <<'PY'
import json, statistics, sys
one, many = (json.load(open(p))["results"] for p in sys.argv[1:3])
size = int(sys.argv[3]); cpu_sum, cpu_lg = float(sys.argv[4]), float(sys.argv[5]); jobs = sys.argv[6]
cpu_ssl = float(sys.argv[7])
mb = size / 1e6
def row(r):
    med = statistics.median(r["times"])
    return r["command"], len(r["times"]), med, mb / med
print(f"\n{size:,} bytes in the files.\n")
print("| command | runs | median | MB/s (wall) | share of sha256sum |")
print("| --- | ---: | ---: | ---: | ---: |")
for group in (one, many):
    base = statistics.median(group[0]["times"])
    for r in group:
        name, n, med, rate = row(r)
        print(f"| {name} | {n} | {med:.3f} s | {rate:,.0f} | {base / med:.0%} |")
print(f"\nCPU time (user+sys) of one run, one core: sha256sum {cpu_sum:.2f} s ({mb / cpu_sum:,.0f} MB/s), "
      f"openssl {cpu_ssl:.2f} s ({mb / cpu_ssl:,.0f} MB/s), "
      f"llmguard -j 1 {cpu_lg:.2f} s ({mb / cpu_lg:,.0f} MB/s): llmguard at {cpu_sum / cpu_lg:.0%} of sha256sum "
      f"and {cpu_ssl / cpu_lg:.0%} of openssl per core.")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ "${KEEP:-0}" != 1 ]] || echo "kept: $work"
