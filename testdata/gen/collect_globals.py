#!/usr/bin/env python3
"""Write testdata/models/benign/GLOBALS.txt: every global imported by any benign fixture.

Pure standard library and fully static: each file is walked with pickletools.genops through
pickle_static.py (STACK_GLOBAL operands resolved from the preceding string opcodes and the memo,
every pickle member of zip checkpoints, legacy multi-stream torch files, .npy object payloads,
joblib streams with their raw array bytes stepped over, zlib-compressed joblib files). Nothing is
unpickled. Exits non-zero if a benign file cannot be walked cleanly, because then the list would
be incomplete.

    python3 testdata/gen/collect_globals.py
"""

import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep testdata/gen free of __pycache__
sys.path.insert(0, HERE)
import pickle_static  # noqa: E402

BENIGN = os.path.normpath(os.path.join(HERE, "..", "models", "benign"))


def main():
    uses = collections.defaultdict(set)
    problems = []
    nfiles = 0
    for root, _dirs, files in os.walk(BENIGN):
        # Formats without pickles (protobuf, HDF5/Keras configs, archives of other fixtures,
        # quantized GGUF), checked by llmguard but outside this list of pickle globals.
        if os.path.relpath(root, BENIGN).split(os.sep)[0] in ("onnx", "keras", "archives", "gguf_quant"):
            continue
        for fn in sorted(files):
            # Header-only formats hold no pickle (llmguard checks them; this list is about globals).
            if fn == "GLOBALS.txt" or fn.endswith((".safetensors", ".gguf")):
                continue
            full = os.path.join(root, fn)
            rel = os.path.relpath(full, BENIGN)
            nfiles += 1
            for member, r in pickle_static.analyse_path(full):
                where = rel + member
                if r.error:
                    problems.append("%s: %s" % (where, r.error))
                for u in r.unresolved:
                    problems.append("%s: unresolved %s" % (where, u))
                for mod, name, _op in r.globals:
                    uses["%s %s" % (mod, name)].add(rel)
    lines = [
        "# Every global imported by a benign fixture under testdata/models/benign/, collected",
        "# statically by testdata/gen/collect_globals.py (no unpickling). One line per global:",
        "# 'module name' <TAB> the fixture files (relative to benign/) that import it.",
        "# Evidence for llmguard's pickle allow list. Regenerate: python3 testdata/gen/collect_globals.py",
    ]
    for g in sorted(uses):
        lines.append("%s\t%s" % (g, " ".join(sorted(uses[g]))))
    with open(os.path.join(BENIGN, "GLOBALS.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("GLOBALS.txt: %d globals from %d files" % (len(uses), nfiles))
    for p in problems:
        print("PROBLEM " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
