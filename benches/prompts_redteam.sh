#!/usr/bin/env bash
# Precision/recall of `llmguard scan-prompts` on the red-team subset of the evaluation set only
# (records with ids *-rt-*, written by testdata/prompts/gen_eval_redteam.py): attacks and hard
# negatives written for a recall/precision review, scored exactly like the whole set.
#
#   cargo build --release && benches/prompts_redteam.sh [prompts_eval.py arguments...]
#                                                  (from the repository root)
#
# LLMGUARD=path overrides the binary (default target/release/llmguard); nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."

LLMGUARD=${LLMGUARD:-target/release/llmguard}
if [ ! -x "$LLMGUARD" ]; then
    echo "error: $LLMGUARD not found: run 'cargo build --release' first (or set LLMGUARD=path)" >&2
    exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 testdata/prompts/gen_eval_redteam.py --out "$tmp/eval" >&2
LLMGUARD="$LLMGUARD" python3 benches/prompts_eval.py --eval "$tmp/eval" "$@"
