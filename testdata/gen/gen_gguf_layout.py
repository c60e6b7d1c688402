#!/usr/bin/env python3
"""GGUF tensor-layout fixtures: quantized tensors from the real writer, and crafted layouts.

Benign files are written by llama.cpp's gguf-py (GGUFWriter, tensors quantized with
gguf.quants.quantize), so every tensor type's block size and byte size is the writer's own.
Malicious files are packed by hand (never loaded): a tensor that runs past the end of the file,
two tensors sharing bytes, and a gap between tensors that hides a pickle.

Usage:  python3 testdata/gen/gen_gguf_layout.py   (needs numpy and gguf==0.19.0, e.g. the
        venv described in testdata/README.md for gen_benign.py's "formats" part)

Writes testdata/models/benign/gguf_quant/, testdata/models/malicious/gguf_layout/ and
testdata/models/manifest.gguf_layout.json. Deterministic (fixed RNG seed).
"""

import json
import os
import struct

import gguf
import numpy as np
from gguf.constants import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BENIGN = os.path.join(MODELS, "benign", "gguf_quant")
MALICIOUS = os.path.join(MODELS, "malicious", "gguf_layout")
_CMD = b"echo llmguard-fixture"
EVIL = b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(_CMD)) + _CMD + b"q\x01\x85q\x02Rq\x03."
entries = []


def benign():
    os.makedirs(BENIGN, exist_ok=True)
    rng = np.random.default_rng(7)
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q5_1, Q.BF16, Q.F16):
        name = "tiny_%s.gguf" % qtype.name.lower()
        path = os.path.join(BENIGN, name)
        w = gguf.GGUFWriter(path, "llama")
        w.add_name("tiny-" + qtype.name)
        w.add_block_count(1)
        w.add_embedding_length(64)
        for tname, shape in (("token_embd.weight", (8, 64)), ("blk.0.ffn_up_exps.weight", (2, 4, 64))):
            data = rng.standard_normal(shape).astype(np.float32)
            q = gguf.quants.quantize(data, qtype)
            w.add_tensor(tname, q, raw_shape=q.shape, raw_dtype=qtype)
        w.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        entries.append({"file": "benign/gguf_quant/" + name, "kind": "benign",
                        "technique": "gguf-py %s GGUFWriter: %s tensors (2-D and 3-D experts) and an f32 norm"
                        % (getattr(gguf, "__version__", "0.19.0"), qtype.name), "expect": [], "imports": []})


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def crafted(name, tensors, data, technique, expect, imports=()):
    """tensors: (name, dims, type, offset). Data region starts at the next 32-byte boundary."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 1)
    out += s("general.architecture") + struct.pack("<I", 8) + s("llama")
    for tname, dims, ttype, off in tensors:
        out += s(tname) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ttype, off)
    out += b"\x00" * (-len(out) % 32)
    os.makedirs(MALICIOUS, exist_ok=True)
    with open(os.path.join(MALICIOUS, name), "wb") as f:
        f.write(out + data)
    entries.append({"file": "malicious/gguf_layout/" + name, "kind": "malicious", "technique": technique,
                    "expect": expect, "imports": list(imports)})


def malicious():
    f32 = 0
    crafted("gguf_tensor_past_eof.gguf", [("w", [64], f32, 0)], b"\x00" * 64,
            "an f32 tensor of 64 elements (256 bytes) with only 64 bytes of data in the file", ["MOD311"])
    crafted("gguf_tensor_overlap.gguf", [("a", [16], f32, 0), ("b", [16], f32, 32)], b"\x00" * 96,
            "two f32 tensors whose byte ranges overlap", ["MOD311"])
    gap = EVIL + b"\x00" * (-len(EVIL) % 32)
    crafted("gguf_gap_hides_pickle.gguf", [("a", [8], f32, 0), ("b", [8], f32, 32 + len(gap))],
            b"\x01" * 32 + gap + b"\x02" * 32,
            "a pickle calling os.system in the unclaimed bytes between two tensors", ["MOD311", "MOD101"],
            ["posix.system"])
    crafted("gguf_q4_0_bad_first_dim.gguf", [("q", [33, 2], 2, 0)], b"\x00" * 64,
            "a Q4_0 tensor whose first dimension is not a multiple of the 32-element block", ["MOD311"])


def main():
    benign()
    malicious()
    entries.sort(key=lambda e: e["file"])
    with open(os.path.join(MODELS, "manifest.gguf_layout.json"), "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    print("wrote %d fixtures" % len(entries))


if __name__ == "__main__":
    main()
