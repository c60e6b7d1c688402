#!/usr/bin/env python3
"""Generate the benign fixtures under testdata/models/benign/ with the REAL producers.

These files are written by torch, numpy, scikit-learn, joblib, transformers and lightning
themselves, from small objects this script creates (tiny, randomly initialised models; nothing is
downloaded). They are the evidence of what honest checkpoints contain, and the scanner must pass
them (no finding above "low").

Two runs, one per virtual environment (see testdata/README.md for the exact versions):

    /tmp/venv-fix/bin/python testdata/gen/gen_benign.py             # torch, numpy 2, sklearn,
                                                                    # transformers, lightning,
                                                                    # plain pickles
    /tmp/venv-np1/bin/python testdata/gen/gen_benign.py --numpy1    # numpy 1 + its sklearn/joblib

Each run rewrites only the files of its own part, then refreshes the "benign/" entries of
testdata/models/manifest.json and benign/GLOBALS.txt (via collect_globals.py, a static scan that
unpickles nothing).

Output is not byte-for-byte reproducible (torch writes a random serialization id, Trainer
records timestamps), but its structure and imports are.
"""

import argparse
import collections
import datetime
import glob
import io
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BENIGN = os.path.join(MODELS, "benign")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")

ENTRIES = []  # (relative path under benign/, technique, expect)


def rec(path, technique, expect=()):
    full = os.path.join(BENIGN, path)
    size = os.path.getsize(full)
    assert size < 200 * 1024, "%s is %d bytes" % (path, size)
    ENTRIES.append((path, technique, list(expect)))


def ensure(d):
    os.makedirs(os.path.join(BENIGN, d), exist_ok=True)
    return os.path.join(BENIGN, d)


def clean(d):
    p = os.path.join(BENIGN, d)
    if os.path.isdir(p):
        shutil.rmtree(p)
    return ensure(d)


# ---------------------------------------------------------------------------------------------
# numpy (run in both venvs)
# ---------------------------------------------------------------------------------------------

def numpy_part(tag):
    import numpy as np
    d = clean(tag)
    rng = np.random.default_rng(0)
    arr = rng.standard_normal((3, 4)).astype(np.float32)
    np.save(os.path.join(d, "float32_array.npy"), arr)
    rec(tag + "/float32_array.npy", "np.save of a float32 (3,4) array (numpy %s)" % np.__version__)
    obj = np.array([1, "two", 3, "four", None, (5, 6)], dtype=object)
    np.save(os.path.join(d, "object_array.npy"), obj, allow_pickle=True)
    rec(tag + "/object_array.npy", "np.save of an object array of plain ints/strings/None/tuple "
        "(benign, but its payload is a pickle)", ["MOD501"])
    np.savez(os.path.join(d, "arrays.npz"), a=arr, b=np.arange(5, dtype=np.int64))
    rec(tag + "/arrays.npz", "np.savez of two numeric arrays")
    np.savez_compressed(os.path.join(d, "arrays_compressed.npz"), a=arr,
                        b=np.arange(5, dtype=np.int64), c=np.array([True, False]))
    rec(tag + "/arrays_compressed.npz", "np.savez_compressed of three numeric arrays (deflated)")
    for p in (2, 3, 4, 5):
        fn = "ndarray_protocol%d.pkl" % p
        with open(os.path.join(d, fn), "wb") as fh:
            pickle.dump({"w": arr, "i": np.arange(3, dtype=np.int16), "s": np.float64(1.5)},
                        fh, protocol=p)
        rec(tag + "/" + fn, "pickle.dump protocol %d of a dict of ndarrays and a numpy scalar" % p)


# ---------------------------------------------------------------------------------------------
# scikit-learn + joblib (run in both venvs)
# ---------------------------------------------------------------------------------------------

def sklearn_part(tag):
    import joblib
    import numpy as np
    import sklearn
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    d = clean("sklearn_" + tag)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    models = {
        "logreg": LogisticRegression().fit(X, y),
        "random_forest": RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y),
        "pipeline": Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y),
    }
    v = "sklearn %s, joblib %s, numpy %s" % (sklearn.__version__, joblib.__version__, np.__version__)
    for name, m in models.items():
        p = os.path.join(d, name + ".joblib")
        joblib.dump(m, p)
        rec("sklearn_%s/%s.joblib" % (tag, name), "joblib.dump (uncompressed) of %s (%s)" % (name, v))
        p = os.path.join(d, name + ".compress3.joblib")
        joblib.dump(m, p, compress=3)
        rec("sklearn_%s/%s.compress3.joblib" % (tag, name),
            "joblib.dump compress=3 (zlib) of %s (%s)" % (name, v))
        p = os.path.join(d, name + ".pkl")
        with open(p, "wb") as fh:
            pickle.dump(m, fh)
        rec("sklearn_%s/%s.pkl" % (tag, name), "pickle.dump (default protocol) of %s (%s)" % (name, v))
    # joblib with an object array (nested pickle stream after the wrapper) and several arrays
    p = os.path.join(d, "mixed_arrays.joblib")
    joblib.dump({"f": np.arange(6, dtype=np.float64).reshape(2, 3), "o": np.array(["a", 1], dtype=object),
                 "u8": np.arange(7, dtype=np.uint8), "s": "text"}, p)
    rec("sklearn_%s/mixed_arrays.joblib" % tag,
        "joblib.dump of a dict with float64 (2,3), object and uint8 arrays (%s)" % v)


def compressors_part():
    """joblib.dump with every compressor joblib offers (lz4 needs the `lz4` package)."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    d = clean("joblib_compressors")
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 4))
    y = (X[:, 0] > 0).astype(int)
    m = LogisticRegression().fit(X, y)
    for method in ("zlib", "gzip", "bz2", "lzma", "xz", "lz4"):
        p = os.path.join(d, "logreg.%s.joblib" % method)
        joblib.dump(m, p, compress=(method, 3))
        rec("joblib_compressors/logreg.%s.joblib" % method,
            "joblib.dump compress=('%s', 3) of a LogisticRegression (joblib %s)" % (method, joblib.__version__))


# ---------------------------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------------------------

def torch_part():
    import torch
    from torch import nn

    d = clean("torch")
    torch.manual_seed(0)
    lin = nn.Linear(4, 2)
    v = "torch %s" % torch.__version__
    torch.save(lin.state_dict(), os.path.join(d, "linear_state_dict.pt"))
    rec("torch/linear_state_dict.pt", "torch.save(nn.Linear(4,2).state_dict()) zip format (%s)" % v)
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=-1))
    torch.save(seq, os.path.join(d, "sequential_full_module.pt"))
    rec("torch/sequential_full_module.pt",
        "torch.save of a whole nn.Sequential(Linear, ReLU, Linear, Softmax) module (%s)" % v)
    torch.save(lin.state_dict(), os.path.join(d, "linear_state_dict_legacy.pt"),
               _use_new_zipfile_serialization=False)
    rec("torch/linear_state_dict_legacy.pt",
        "torch.save(..., _use_new_zipfile_serialization=False): legacy multi-pickle format (%s)" % v)
    opt = torch.optim.Adam(lin.parameters(), lr=1e-3)
    loss = lin(torch.randn(5, 4)).sum()
    loss.backward()
    opt.step()
    ckpt = {
        "epoch": 3,
        "global_step": 12,
        "model_state_dict": lin.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "half_weights": torch.randn(2, 3).half(),
        "bf16_weights": torch.randn(2, 3).to(torch.bfloat16),
        "int_buffer": torch.arange(4, dtype=torch.int64),
        "bool_mask": torch.tensor([True, False]),
        "loss": loss.item(),
        "name": "tiny",
    }
    torch.save(ckpt, os.path.join(d, "checkpoint_adam_fp16_bf16.pt"))
    rec("torch/checkpoint_adam_fp16_bf16.pt",
        "training checkpoint dict: epoch, model + Adam optimizer state, float16/bfloat16/int64/"
        "bool tensors (%s)" % v)
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    torch.save(t, os.path.join(d, "tensor_protocol2.pt"))
    rec("torch/tensor_protocol2.pt", "torch.save of a single tensor, default pickle_protocol=2 (%s)" % v)
    torch.save({"t": t, "view": t[0]}, os.path.join(d, "tensors_protocol4.pt"), pickle_protocol=4)
    rec("torch/tensors_protocol4.pt",
        "torch.save with pickle_protocol=4 (STACK_GLOBAL, MEMOIZE, FRAME) of a tensor and a view (%s)" % v)
    torch.save(seq, os.path.join(d, "sequential_full_module_legacy.pt"),
               _use_new_zipfile_serialization=False)
    rec("torch/sequential_full_module_legacy.pt",
        "legacy-format torch.save of a whole nn.Sequential module (%s)" % v)


# ---------------------------------------------------------------------------------------------
# transformers Trainer checkpoint
# ---------------------------------------------------------------------------------------------

def transformers_part():
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    d = clean("transformers")
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2,
                     bos_token_id=0, eos_token_id=1)
    model = GPT2LMHeadModel(cfg)

    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            ids = torch.tensor([(i + k) % 32 for k in range(8)])
            return {"input_ids": ids, "labels": ids.clone()}

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, max_steps=1, per_device_train_batch_size=4,
                                 save_strategy="steps", save_steps=1, logging_steps=1,
                                 report_to=[], use_cpu=True, seed=0, disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=DS())
        trainer.train()
        cks = sorted(glob.glob(os.path.join(tmp, "checkpoint-*")))
        assert cks, os.listdir(tmp)
        ck = cks[-1]
        listing = sorted(os.listdir(ck))
        print("transformers checkpoint files:", listing)
        for fn in listing:
            src = os.path.join(ck, fn)
            if fn.endswith((".bin", ".pt", ".pth")):
                shutil.copy(src, os.path.join(d, fn))
                rec("transformers/" + fn, "Trainer.train() 1 step on a 1-layer GPT2 (hidden 8): "
                    "checkpoint file %s (transformers %s, torch %s)"
                    % (fn, transformers.__version__, torch.__version__))


# ---------------------------------------------------------------------------------------------
# lightning
# ---------------------------------------------------------------------------------------------

def lightning_part():
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch import nn

    d = clean("lightning")

    class TinyModule(L.LightningModule):
        def __init__(self, in_features=4, out_features=2, lr=0.01, name="tiny",
                     layers=(4, 2), tags=None):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Linear(in_features, out_features)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
            sch = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
            return [opt], [sch]

    torch.manual_seed(0)
    ds = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 2))
    dl = torch.utils.data.DataLoader(ds, batch_size=4)
    with tempfile.TemporaryDirectory() as tmp:
        mc = ModelCheckpoint(dirpath=tmp, filename="tiny-{step}", save_last=True,
                             every_n_train_steps=1)
        model = TinyModule(tags=["a", "b"], layers=[4, 2])
        trainer = L.Trainer(max_steps=1, accelerator="cpu", devices=1, logger=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[mc], default_root_dir=tmp)
        trainer.fit(model, dl)
        cks = sorted(glob.glob(os.path.join(tmp, "*.ckpt")))
        print("lightning checkpoints:", [os.path.basename(c) for c in cks])
        for c in cks:
            fn = os.path.basename(c)
            if fn == "last.ckpt":
                continue
            shutil.copy(c, os.path.join(d, fn))
            rec("lightning/" + fn,
                "lightning Trainer.fit 1 step, save_hyperparameters (ints, float, str, list), "
                "ModelCheckpoint state, SGD + StepLR (lightning %s, torch %s)"
                % (L.__version__, torch.__version__))


# ---------------------------------------------------------------------------------------------
# plain Python pickles
# ---------------------------------------------------------------------------------------------

def plain_part():
    d = clean("plain")
    obj = {
        "name": "config",
        "ints": [1, -2, 3 ** 40],
        "floats": (0.5, float("inf")),
        "flags": {True, False},
        "frozen": frozenset({"a", "b"}),
        "bytes": b"\x00\x01binary",
        "bytearray": bytearray(b"ba"),
        "none": None,
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        "date": datetime.date(2024, 1, 2),
        "delta": datetime.timedelta(days=1, seconds=2),
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "nested": {"list": [[1, 2], {"k": (3, 4)}], "complex": complex(1, 2)},
        "unicode": "é✓",
    }
    obj["self_ref_list"] = obj["nested"]["list"]  # shared reference -> memo GET
    for p in range(0, 6):
        fn = "nested_builtin_types_protocol%d.pkl" % p
        with open(os.path.join(d, fn), "wb") as fh:
            pickle.dump(obj, fh, protocol=p)
        rec("plain/" + fn, "pickle.dump protocol %d of a nested dict with list/tuple/set/frozenset/"
            "bytes/bytearray/datetime/date/timedelta/OrderedDict/complex (Python %s)"
            % (p, sys.version.split()[0]))


# ---------------------------------------------------------------------------------------------
# safetensors and GGUF (needs safetensors, numpy and gguf; see testdata/README.md)
# ---------------------------------------------------------------------------------------------

TEMPLATES = os.path.normpath(os.path.join(HERE, "..", "chat_templates", "benign"))


def formats_part():
    """safetensors written by the safetensors library (numpy front end, and its serializer for
    bf16, which numpy lacks) and GGUF written by llama.cpp's gguf-py GGUFWriter."""
    import gguf
    import numpy as np
    import safetensors
    from safetensors.numpy import save_file

    st_version = getattr(safetensors, "__version__", "?")
    d = clean("safetensors")
    rng = np.random.default_rng(0)
    tensors = {
        "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float32),
        "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float16),
        "model.layers.0.input_layernorm.weight": np.ones(8, dtype=np.float32),
        "model.layers.0.mlp.gate_proj.weight": rng.standard_normal((4, 8)).astype(np.float64),
        "model.position_ids": np.arange(16, dtype=np.int64),
        "model.layers.0.attn_mask": np.tril(np.ones((4, 4), dtype=bool)),
        "lm_head.quant": rng.integers(-128, 127, (8, 4), dtype=np.int8),
        "lm_head.zero_point": np.zeros(4, dtype=np.uint8),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    meta = {"format": "pt", "model_type": "llama", "note": "tiny fixture"}
    save_file(tensors, os.path.join(d, "tiny_llama_mixed_dtypes.safetensors"), metadata=meta)
    rec("safetensors/tiny_llama_mixed_dtypes.safetensors",
        "safetensors.numpy.save_file of f32/f16/f64/i64/bool/i8/u8 tensors incl. a scalar and an "
        "empty (0,4) tensor, with __metadata__ (safetensors %s, numpy %s)" % (st_version, np.__version__))
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, os.path.join(d, "single_no_metadata.safetensors"))
    rec("safetensors/single_no_metadata.safetensors",
        "safetensors.numpy.save_file of one float32 tensor, no __metadata__ (safetensors %s)" % st_version)
    save_file({}, os.path.join(d, "empty.safetensors"), metadata={"format": "pt"})
    rec("safetensors/empty.safetensors", "safetensors.numpy.save_file of no tensors (header only)")
    # bf16: the library's own serializer with bf16 bytes (the top halves of float32 values).
    f32 = rng.standard_normal((4, 8)).astype(np.float32)
    bf16 = np.ascontiguousarray((f32.view(np.uint32) >> 16).astype("<u2"))
    norm = np.ones(8, "<f4")
    safetensors.serialize_file(
        {"model.layers.0.self_attn.k_proj.weight":
             safetensors.TensorSpec(dtype="bfloat16", shape=[4, 8], data_ptr=bf16.ctypes.data, data_len=bf16.nbytes),
         "model.norm.weight":
             safetensors.TensorSpec(dtype="float32", shape=[8], data_ptr=norm.ctypes.data, data_len=norm.nbytes)},
        os.path.join(d, "bf16_serialize_file.safetensors"), metadata={"format": "pt"})
    for fn in os.listdir(d):  # the Rust serializer creates files 0600
        os.chmod(os.path.join(d, fn), 0o644)
    rec("safetensors/bf16_serialize_file.safetensors",
        "safetensors.serialize_file (the library's Rust serializer) of a bfloat16 and a float32 "
        "tensor (safetensors %s)" % st_version)

    d = clean("gguf")
    templates = {}
    for fn in sorted(os.listdir(TEMPLATES)):
        with open(os.path.join(TEMPLATES, fn), encoding="utf-8") as fh:
            templates[fn[:-len(".jinja")]] = fh.read()
    vocab = ["<unk>", "<s>", "</s>"] + ["tok%d" % i for i in range(29)]

    def write(name, arch, chat_template, tensor_dtype=np.float32):
        path = os.path.join(d, name + ".gguf")
        w = gguf.GGUFWriter(path, arch)
        w.add_name("tiny-" + name)
        w.add_description("tiny randomly initialised fixture for llmguard")
        w.add_license("apache-2.0")
        w.add_context_length(64)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_head_count(2)
        w.add_tokenizer_model("llama")
        w.add_token_list(vocab)
        w.add_token_scores([0.0] * len(vocab))
        w.add_token_types([1] * len(vocab))
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_chat_template(chat_template)
        w.add_tensor("token_embd.weight", rng.standard_normal((len(vocab), 8)).astype(tensor_dtype))
        w.add_tensor("blk.0.attn_norm.weight", np.ones(8, dtype=np.float32))
        w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return path

    arch = {"llama3": "llama", "llama3.1_tools": "llama", "mistral": "llama", "mistral_v3_tools": "llama",
            "qwen2": "qwen2", "qwen2.5_tools": "qwen2", "qwen3_thinking": "qwen3", "gemma": "gemma",
            "gemma3": "gemma3", "phi3": "phi3", "deepseek_r1": "deepseek2"}
    for tname, text in templates.items():
        write(tname, arch.get(tname, "llama"), text)
        rec("gguf/%s.gguf" % tname,
            "gguf.GGUFWriter (gguf-py %s): general.* keys, llama tokenizer, f32 tensors, and the %s chat "
            "template" % (getattr(gguf, "__version__", "0.19"), tname))
    write("named_templates", "llama",
          [{"name": "default", "template": templates["llama3"]},
           {"name": "tool_use", "template": templates["llama3.1_tools"]}], tensor_dtype=np.float16)
    rec("gguf/named_templates.gguf",
        "gguf.GGUFWriter with a default and a named `tool_use` chat template (tokenizer.chat_template "
        "+ tokenizer.chat_template.tool_use + tokenizer.chat_templates), f16 embeddings")


# ---------------------------------------------------------------------------------------------

def write_manifest():
    path = os.path.join(MODELS, "manifest.json")
    old = []
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
    mine = {"benign/" + p: (t, e) for p, t, e in ENTRIES}
    keep = [e for e in old if e["file"] not in mine]
    # drop stale benign entries whose file no longer exists
    keep = [e for e in keep if os.path.exists(os.path.join(MODELS, e["file"]))]
    new = [{"file": f, "kind": "benign", "technique": t, "expect": e, "imports": []}
           for f, (t, e) in mine.items()]
    allm = sorted(keep + new, key=lambda e: e["file"])
    with open(path, "w") as fh:
        json.dump(allm, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--numpy1", action="store_true",
                    help="numpy-1 venv: only the numpy1/ and sklearn_numpy1/ files")
    ap.add_argument("--only", nargs="*", help="subset of parts to run (default: all of this venv's)")
    a = ap.parse_args()
    if a.only == ["formats"]:
        # Its own venv (safetensors, numpy, gguf): see testdata/README.md.
        parts = {"formats": formats_part}
    elif a.numpy1:
        import numpy
        assert numpy.__version__.startswith("1."), numpy.__version__
        parts = {"numpy": lambda: numpy_part("numpy1"), "sklearn": lambda: sklearn_part("numpy1")}
    else:
        import numpy
        assert not numpy.__version__.startswith("1."), numpy.__version__
        parts = {"numpy": lambda: numpy_part("numpy2"), "sklearn": lambda: sklearn_part("numpy2"),
                 "torch": torch_part, "transformers": transformers_part,
                 "lightning": lightning_part, "plain": plain_part, "compressors": compressors_part,
                 "formats": formats_part}
    random.seed(0)
    for name, fn in parts.items():
        if a.only and name not in a.only:
            continue
        print("== %s" % name, flush=True)
        fn()
    write_manifest()
    if a.only != ["formats"]:  # header-only formats import no globals
        subprocess.check_call([sys.executable, os.path.join(HERE, "collect_globals.py")])


if __name__ == "__main__":
    main()
