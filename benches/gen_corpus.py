#!/usr/bin/env python3
"""Generate the benchmark corpus for llmguard (see docs/benchmarks.md).

Usage (from the repository root):

    python3 benches/gen_corpus.py [--out benches/corpus] [--seed 20240601]
                                  [--skip-large] [--large-only] [--force-large]
                                  [--large-bytes N] [--torch-python PATH]

It writes two things under ``--out`` (``benches/corpus/``, which is gitignored):

``mixed/``  (~430 files, ~45 MB; rebuilt from scratch on every run)
    * ``fixtures/``  byte-identical copies of every committed model fixture in
      ``testdata/models/`` (benign, malicious and malformed, in every format:
      pickle, torch, NumPy, joblib, safetensors, GGUF, Keras, ONNX, tar, 7z;
      the manifests and GLOBALS.txt excluded), at their original relative paths;
    * ``renamed/``   a second byte-identical copy of each fixture, written under
      a different, hub-like directory and file name (the extension is kept, since
      several reference scanners choose files by extension);
    * ``synth/``     synthesized *benign* files of log-uniformly distributed
      sizes between ~2 KB and ~4 MB: plain pickles (protocols 0-5; nested
      builtin containers, float lists, byte blobs, OrderedDicts), PyTorch-style
      zip checkpoints written by the stdlib writer below (also as HF-style
      ``pytorch_model.bin``), ``.npy`` arrays and stored ``.npz`` archives.

    The malicious fixtures are only ever *copied as bytes*: this script never
    unpickles, imports or otherwise executes any model file.

``mixed.manifest.json``
    The kind of every file of ``mixed/`` (benign / malicious / malformed, from
    ``testdata/models/manifest.json``; ``synth-benign`` for synthesized files).

``large/tiny.pt``
    The same torch layout with a single 4x4 tensor (~1.5 KB): times the fixed
    per-process cost of a scanner.

``large/checkpoint.pt``  (~1.04 GB; written once)
    One PyTorch-style zip checkpoint of a transformer-shaped state dict (291
    float32 tensors: a 32000x1024 embedding and 18 blocks of attention, MLP and
    layer-norm weights).  Members are ZIP_STORED in torch's layout:
    ``checkpoint/data.pkl``, ``checkpoint/.format_version``,
    ``checkpoint/.storage_alignment``, ``checkpoint/byteorder``,
    ``checkpoint/data/0..N``, ``checkpoint/version``,
    ``checkpoint/.data/serialization_id``.  ``data.pkl`` is a protocol-2
    ``OrderedDict`` of ``torch._utils._rebuild_tensor_v2`` calls whose storages
    are BINPERSID ``('storage', torch.FloatStorage, key, 'cpu', numel)`` tuples.

    If ``torch`` can be imported (by this interpreter, or by the one given with
    ``--torch-python`` / ``$TORCH_PYTHON``), the file is produced by a real
    ``torch.save`` of random tensors (``torch.manual_seed(seed)``).  Otherwise the
    stdlib writer below produces the same layout, with patterned bytes.
    A sidecar ``large/checkpoint.pt.json`` records the writer and the size; the
    file is not rewritten when it exists with the recorded size (``--force-large``
    rewrites it).

Only the Python standard library is needed (numpy is not used, so the corpus is
byte-identical across numpy versions).  Everything is seeded: two runs with the
same ``--seed`` and Python version produce the same ``mixed/`` bytes.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import math
import os
import pickle
import random
import shutil
import struct
import subprocess
import sys
import types
import zipfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "testdata", "models")
FIXTURE_SKIP = {"manifest.json", "GLOBALS.txt"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Transformer-shaped state dict of the large checkpoint: (name, shape) pairs.
LARGE_VOCAB, LARGE_HIDDEN, LARGE_FFN, LARGE_LAYERS = 32000, 1024, 4096, 18


def large_layout():
    h, f = LARGE_HIDDEN, LARGE_FFN
    shapes = [("embed_tokens.weight", (LARGE_VOCAB, h))]
    for i in range(LARGE_LAYERS):
        p = f"layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes.append((p + f"self_attn.{proj}.weight", (h, h)))
            shapes.append((p + f"self_attn.{proj}.bias", (h,)))
        shapes.append((p + "mlp.up_proj.weight", (f, h)))
        shapes.append((p + "mlp.up_proj.bias", (f,)))
        shapes.append((p + "mlp.down_proj.weight", (h, f)))
        shapes.append((p + "mlp.down_proj.bias", (h,)))
        for ln in ("input_layernorm", "post_attention_layernorm"):
            shapes.append((p + f"{ln}.weight", (h,)))
            shapes.append((p + f"{ln}.bias", (h,)))
    shapes.append(("norm.weight", (h,)))
    shapes.append(("norm.bias", (h,)))
    return shapes


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def contiguous_stride(shape):
    stride, acc = [], 1
    for d in reversed(shape):
        stride.append(acc)
        acc *= d
    return tuple(reversed(stride))


# --------------------------------------------------------------------------
# Stdlib writer of torch-style data.pkl pickles.
#
# pickle can only emit ``GLOBAL torch._utils _rebuild_tensor_v2`` for an object
# it can find again by import, so while pickling we register tiny stand-in
# modules named ``torch`` and ``torch._utils`` in sys.modules (and remove them
# afterwards).  Nothing from them is ever called.
# --------------------------------------------------------------------------


@contextlib.contextmanager
def fake_torch_modules():
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    if saved["torch"] is not None:  # real torch loaded: use it as is
        yield sys.modules["torch"]._utils._rebuild_tensor_v2, sys.modules["torch"].FloatStorage
        return
    torch_mod = types.ModuleType("torch")
    utils_mod = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*_args):  # never called
        raise RuntimeError("stand-in only")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
    utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch_mod._utils = utils_mod
    torch_mod.FloatStorage = FloatStorage
    sys.modules["torch"], sys.modules["torch._utils"] = torch_mod, utils_mod
    try:
        yield _rebuild_tensor_v2, FloatStorage
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _StorageRef:
    __slots__ = ("key", "numel")

    def __init__(self, key, n):
        self.key, self.numel = key, n


class _TensorRef:
    __slots__ = ("storage", "shape", "rebuild")

    def __init__(self, storage, shape, rebuild):
        self.storage, self.shape, self.rebuild = storage, shape, rebuild

    def __reduce_ex__(self, _protocol):
        return (
            self.rebuild,
            (self.storage, 0, tuple(self.shape), contiguous_stride(self.shape), False,
             collections.OrderedDict()),
        )


def torch_data_pkl(tensors):
    """tensors: list of (name, shape). Returns data.pkl bytes (protocol 2, like torch)."""
    with fake_torch_modules() as (rebuild, float_storage):

        class _P(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _StorageRef):
                    return ("storage", float_storage, obj.key, "cpu", obj.numel)
                return None

        sd = collections.OrderedDict()
        for i, (name, shape) in enumerate(tensors):
            sd[name] = _TensorRef(_StorageRef(str(i), numel(shape)), shape, rebuild)
        sd._metadata = collections.OrderedDict([("", {"version": 1})])
        buf = io.BytesIO()
        _P(buf, protocol=2).dump(sd)
        return buf.getvalue()


def _aligned_zinfo(zf, name, size, align=64):
    """ZipInfo whose data starts on an `align`-byte boundary (torch pads with an 'FB' extra)."""
    zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    zi.compress_type = zipfile.ZIP_STORED
    zi.file_size = size
    start = zf.fp.tell() + 30 + len(name.encode())
    if align:
        pad = (-(start + 4)) % align
        zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    return zi


def write_torch_zip(path, archive, tensors, payload, serial):
    """Write a torch-layout zip. payload(i, nbytes) yields the raw bytes of storage i in chunks."""
    pkl = torch_data_pkl(tensors)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:

        def put(name, data):
            zf.writestr(_aligned_zinfo(zf, f"{archive}/{name}", len(data)), data)

        put("data.pkl", pkl)
        put(".format_version", b"1")
        put(".storage_alignment", b"64")
        put("byteorder", b"little")
        for i, (_name, shape) in enumerate(tensors):
            nbytes = numel(shape) * 4
            zi = _aligned_zinfo(zf, f"{archive}/data/{i}", nbytes)
            with zf.open(zi, "w") as out:
                for chunk in payload(i, nbytes):
                    out.write(chunk)
        put("version", b"3\n")
        put(".data/serialization_id", serial.encode())


def patterned_payload(rng, block_size=1 << 20):
    """Chunks cut from one random block at a per-storage offset (fast, not compressible)."""
    block = rng.randbytes(block_size)
    block2 = block + block

    def payload(i, nbytes):
        off = (i * 7919 * 64) % block_size
        while nbytes > 0:
            n = min(nbytes, block_size)
            yield block2[off:off + n]
            nbytes -= n

    return payload


# --------------------------------------------------------------------------
# mixed/ corpus
# --------------------------------------------------------------------------


def copy_fixtures(mixed, rng):
    fixtures = []
    for root, _dirs, files in os.walk(FIXTURES):
        for f in files:
            if f in FIXTURE_SKIP or (f.startswith("manifest") and f.endswith(".json")):
                continue
            fixtures.append(os.path.relpath(os.path.join(root, f), FIXTURES))
    fixtures.sort()
    manifest = {}
    for name in sorted(os.listdir(FIXTURES)):
        if not (name.startswith("manifest") and name.endswith(".json")):
            continue
        try:
            with open(os.path.join(FIXTURES, name)) as f:
                manifest.update({e["file"]: e["kind"] for e in json.load(f)})
        except (OSError, ValueError, KeyError, TypeError):
            pass
    kinds = {}
    orgs = ["acme-ai", "open-lab", "tinyml", "hub-user", "research", "mirror"]
    for n, rel in enumerate(fixtures):
        src = os.path.join(FIXTURES, rel)
        dst = os.path.join(mixed, "fixtures", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)  # bytes only, never loaded
        kind = rel.split(os.sep, 1)[0]
        base = os.path.basename(rel)
        stem, ext = base, ""
        for e in (".tar.gz", ".compress3.joblib"):
            if base.endswith(e):
                stem, ext = base[: -len(e)], e
                break
        else:
            stem, ext = os.path.splitext(base)
        org = orgs[rng.randrange(len(orgs))]
        dst2 = os.path.join(mixed, "renamed", kind, org, f"model-{n:03d}",
                            f"{stem.replace('=', '-')}-v{rng.randrange(1, 9)}{ext}")
        os.makedirs(os.path.dirname(dst2), exist_ok=True)
        shutil.copyfile(src, dst2)
        k = manifest.get(rel.replace(os.sep, "/"), kind)
        kinds[os.path.relpath(dst, mixed)] = k
        kinds[os.path.relpath(dst2, mixed)] = k
    return len(fixtures), kinds


def log_uniform_size(rng, lo=2 << 10, hi=4 << 20):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _rand_str(rng, n):
    alphabet = "abcdefghijklmnopqrstuvwxyz_0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def plain_pickle_obj(rng, target, protocol, style):
    """A benign object of roughly `target` pickled bytes, built from builtins only."""
    if style == "config":
        obj, size = {}, 0
        while size < target:
            key = _rand_str(rng, rng.randrange(4, 16))
            r = rng.random()
            if r < 0.25:
                v = [rng.randrange(-10**6, 10**6) for _ in range(rng.randrange(1, 64))]
            elif r < 0.5:
                v = {"name": _rand_str(rng, 12), "lr": rng.random(), "steps": rng.randrange(10**5),
                     "enabled": rng.random() < 0.5, "tags": (_rand_str(rng, 5), None, 3)}
            elif r < 0.75:
                v = _rand_str(rng, rng.randrange(8, 200))
            else:
                v = [rng.uniform(-1, 1) for _ in range(rng.randrange(1, 32))]
            obj[key] = v
            size += 16 + len(repr(v)) // 2
        return obj
    if style == "floats":  # ~9 bytes per BINFLOAT (protocol >= 1)
        per = 9 if protocol >= 1 else 22
        obj, left, i = collections.OrderedDict(), target, 0
        while left > 0:
            n = max(1, min(left // per, rng.randrange(1000, 60000)))
            obj[f"layer.{i}.weight"] = [rng.gauss(0.0, 0.02) for _ in range(n)]
            left -= n * per + 24
            i += 1
        return obj
    if style == "blobs":  # protocol >= 3: BINBYTES / BYTEARRAY8, no globals
        obj, left, i = {}, target, 0
        while left > 0:
            n = max(16, min(left, rng.randrange(4 << 10, 512 << 10)))
            blob = rng.randbytes(n)
            obj[f"block{i}.param"] = bytearray(blob) if protocol >= 5 and i % 2 else blob
            left -= n + 24
            i += 1
        return {"format": "raw-f32", "tensors": obj, "meta": {"seed": rng.randrange(10**9)}}
    raise ValueError(style)


def write_npy(path, shape, rng):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (
        "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")")
    total = 10 + len(header) + 1
    header += " " * ((-total) % 64) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
    data += rng.randbytes(numel(shape) * 4)
    with open(path, "wb") as f:
        f.write(data)
    return data


def synthesize(mixed, rng, n_pickles=36, n_torch=44, n_npy=20, n_npz=10):
    out = os.path.join(mixed, "synth")
    count = 0
    # plain pickles
    for i in range(n_pickles):
        protocol = i % 6
        style = ["config", "floats", "blobs"][(i // 6) % 3]
        if style == "blobs" and protocol < 3:
            style = "floats" if protocol else "config"
        target = log_uniform_size(rng, hi=(4 << 20) if style != "config" else (256 << 10))
        if protocol == 0 and style == "floats":
            target = min(target, 1 << 20)
        obj = plain_pickle_obj(rng, target, protocol, style)
        d = os.path.join(out, "pickles", f"p{protocol}")
        os.makedirs(d, exist_ok=True)
        ext = ".pkl" if i % 4 else ".pickle"
        with open(os.path.join(d, f"{style}_{i:03d}{ext}"), "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
        count += 1
    # torch-style zips
    for i in range(n_torch):
        budget = log_uniform_size(rng, lo=4 << 10) // 4  # floats
        tensors, layer = [], 0
        while budget > 0:
            h = rng.choice([8, 16, 32, 64, 128, 256])
            w = max(1, min(budget // h, rng.choice([16, 64, 256, 1024])))
            tensors.append((f"encoder.layer.{layer}.dense.weight", (h, w)))
            tensors.append((f"encoder.layer.{layer}.dense.bias", (h,)))
            budget -= h * w + h
            layer += 1
        if i % 4 == 0:
            d = os.path.join(out, "hf", f"org-{i % 7}", f"model-{i:03d}")
            name = "pytorch_model.bin"
        else:
            d = os.path.join(out, "torch", f"run-{i % 5}")
            name = f"ckpt_{i:03d}" + [".pt", ".pth", ".ckpt", ".pt"][i % 4]
        os.makedirs(d, exist_ok=True)
        archive = os.path.splitext(name)[0]
        write_torch_zip(os.path.join(d, name), archive, tensors,
                        patterned_payload(rng, 64 << 10), f"{rng.getrandbits(64):020d}")
        count += 1
    # .npy and stored .npz
    d = os.path.join(out, "numpy")
    os.makedirs(d, exist_ok=True)
    for i in range(n_npy):
        n = log_uniform_size(rng, hi=1 << 20) // 4
        shape = (n,) if i % 2 else (max(1, n // 64), 64)
        write_npy(os.path.join(d, f"array_{i:03d}.npy"), shape, rng)
        count += 1
    for i in range(n_npz):
        path = os.path.join(d, f"arrays_{i:03d}.npz")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for j in range(rng.randrange(2, 6)):
                n = log_uniform_size(rng, hi=256 << 10) // 4
                buf = os.path.join(d, ".tmp.npy")
                data = write_npy(buf, (n,), rng)
                os.remove(buf)
                zf.writestr(zipfile.ZipInfo(f"arr_{j}.npy", date_time=ZIP_DATE), data)
        count += 1
    return count


def build_mixed(out, seed):
    mixed = os.path.join(out, "mixed")
    if os.path.isdir(mixed):
        shutil.rmtree(mixed)
    os.makedirs(mixed)
    n_fix, kinds = copy_fixtures(mixed, random.Random(seed))
    # own generator: the synthesized files do not change when fixtures are added
    n_syn = synthesize(mixed, random.Random(seed + 1))
    total_files, total_bytes = 0, 0
    for root, _d, files in os.walk(mixed):
        for f in files:
            total_files += 1
            total_bytes += os.path.getsize(os.path.join(root, f))
            rel = os.path.relpath(os.path.join(root, f), mixed)
            kinds.setdefault(rel, "synth-benign")
    # kind of every file (benign / malicious / malformed from testdata/models/manifest.json,
    # synth-benign for synthesized ones); kept outside mixed/ so no scanner sees it
    with open(os.path.join(out, "mixed.manifest.json"), "w") as f:
        json.dump(dict(sorted(kinds.items())), f, indent=0)
    print(f"mixed/: {n_fix} fixtures x2 + {n_syn} synthesized = {total_files} files, "
          f"{total_bytes / 1e6:.1f} MB")


# --------------------------------------------------------------------------
# large/checkpoint.pt
# --------------------------------------------------------------------------


def _large_with_torch(tmp_path, seed):
    import torch  # noqa: only reached when importable

    torch.manual_seed(seed)
    sd = collections.OrderedDict()
    for name, shape in large_layout():
        sd[name] = torch.randn(*shape, dtype=torch.float32) * 0.02
    torch.save(sd, tmp_path)
    return f"torch.save (torch {torch.__version__})"


def _large_with_stdlib(tmp_path, seed, layout):
    rng = random.Random(seed)
    write_torch_zip(tmp_path, "checkpoint", layout, patterned_payload(rng),
                    f"{rng.getrandbits(64):020d}")
    return "stdlib writer (benches/gen_corpus.py)"


def build_large(out, seed, force, torch_python, large_bytes):
    d = os.path.join(out, "large")
    path = os.path.join(d, "checkpoint.pt")
    meta_path = path + ".json"
    os.makedirs(d, exist_ok=True)
    # tiny.pt: the same layout with one 4x4 tensor (~1.5 KB), to time a scanner's fixed cost
    write_torch_zip(os.path.join(d, "tiny.pt"), "tiny", [("weight", (4, 4))],
                    patterned_payload(random.Random(seed), 1024), "0" * 20)
    if not force and os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("size") == os.path.getsize(path) and meta.get("seed") == seed:
            print(f"large/checkpoint.pt: exists ({meta['size'] / 1e9:.2f} GB, {meta['writer']}), "
                  "not rewritten (--force-large to rebuild)")
            return
    tmp_dir = os.path.join(d, ".tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    tmp_path = os.path.join(tmp_dir, "checkpoint.pt")  # torch names the archive after the stem
    layout = large_layout()
    if large_bytes:  # shrink (for a quick try-out): keep a prefix of the layout
        acc, keep = 0, []
        for name, shape in layout:
            if acc >= large_bytes:
                break
            keep.append((name, shape))
            acc += numel(shape) * 4
        layout = keep
    writer = None
    if not large_bytes:
        try:
            import torch  # noqa: F401

            writer = _large_with_torch(tmp_path, seed)
        except ImportError:
            if torch_python and os.path.exists(torch_python):
                r = subprocess.run([torch_python, os.path.abspath(__file__), "--torch-worker",
                                    tmp_path, "--seed", str(seed)])
                if r.returncode == 0:
                    with open(tmp_path + ".writer") as f:
                        writer = f.read().strip()
                    os.remove(tmp_path + ".writer")
                else:
                    print(f"  torch via {torch_python} failed; using the stdlib writer")
    if writer is None:
        writer = _large_with_stdlib(tmp_path, seed, layout)
    os.replace(tmp_path, path)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tensor_bytes = sum(numel(s) * 4 for _n, s in layout)
    meta = {"size": os.path.getsize(path), "seed": seed, "writer": writer,
            "tensors": len(layout), "tensor_bytes": tensor_bytes}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(f"large/checkpoint.pt: wrote {meta['size'] / 1e9:.2f} GB, {len(layout)} tensors, {writer}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "benches", "corpus"))
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--large-only", action="store_true")
    ap.add_argument("--force-large", action="store_true")
    ap.add_argument("--large-bytes", type=int, default=0,
                    help="write a smaller large checkpoint (stdlib writer), for try-outs")
    ap.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", ""),
                    help="interpreter that can import torch (default: $TORCH_PYTHON)")
    ap.add_argument("--torch-worker", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.torch_worker:
        writer = _large_with_torch(args.torch_worker, args.seed)
        with open(args.torch_worker + ".writer", "w") as f:
            f.write(writer)
        return
    if not args.large_only:
        build_mixed(args.out, args.seed)
    if not args.skip_large:
        build_large(args.out, args.seed, args.force_large, args.torch_python, args.large_bytes)


if __name__ == "__main__":
    main()
