#!/usr/bin/env bash
# Precision/recall of `llmguard scan-prompts` on testdata/prompts/eval/, side by side with
# Yelp's detect-secrets on the secrets + negatives subset.
#
#   cargo build --release && benches/prompts_eval.sh [--check] [--json OUT] ...
#                                                  (from the repository root)
#
# It installs detect-secrets into its own venv, benches/.venv/detect-secrets (gitignored),
# builds nothing (LLMGUARD=path, default target/release/llmguard), and runs
# benches/prompts_eval.py --detect-secrets with the arguments given. SKIP_INSTALL=1 uses the
# venv as it is. DETECT_SECRETS_SPEC overrides the pip requirement (default: detect-secrets).
set -euo pipefail
cd "$(dirname "$0")/.."

LLMGUARD=${LLMGUARD:-target/release/llmguard}
VENV=benches/.venv/detect-secrets
SPEC=${DETECT_SECRETS_SPEC:-detect-secrets}

if [ ! -x "$LLMGUARD" ]; then
    echo "error: $LLMGUARD not found: run 'cargo build --release' first (or set LLMGUARD=path)" >&2
    exit 2
fi
if [ "${SKIP_INSTALL:-0}" != 1 ] && [ ! -x "$VENV/bin/detect-secrets" ]; then
    echo "==> installing $SPEC into $VENV" >&2
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "$SPEC"; } >&2; then
        echo "WARNING: detect-secrets failed to install; the comparison will be skipped" >&2
    fi
fi
PATH="$PWD/$VENV/bin:$PATH" LLMGUARD="$LLMGUARD" exec python3 benches/prompts_eval.py --detect-secrets "$@"
