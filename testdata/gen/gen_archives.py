#!/usr/bin/env python3
"""Generate the tar / 7z fixtures and the encoded-pickle fixtures under testdata/models/.

    !!! NOTHING HERE IS EVER UNPICKLED OR EXTRACTED. !!!

Benign archives re-pack committed benign fixtures (written by the real producers: torch,
safetensors, transformers; see gen_benign.py) with the real archivers: Python's `tarfile`
(plain and gzip) and `py7zr` (LZMA2, the 7-Zip default). Malicious archives pack the crafted
pickles of gen_malicious.py, or are built header by header where the archivers refuse (links
that leave the archive, device members, truncation). Encoded-pickle fixtures hide a crafted
pickle as base64 / hex / zlib+base64 in safetensors metadata, GGUF metadata, a JSON config and
a pickle string constant.

Usage (from anywhere; needs `py7zr` for the 7z fixtures, e.g. `pip install py7zr==1.1.4`):

    python3 testdata/gen/gen_archives.py

Writes testdata/models/{benign,malicious}/archives/ and manifest.archives.json. Output is
deterministic except for 7z files, whose headers py7zr dates; the bytes that matter (members,
methods) are stable.
"""

import base64
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BENIGN = os.path.join(MODELS, "benign", "archives")
MALICIOUS = os.path.join(MODELS, "malicious", "archives")

# A crafted pickle that would run `echo llmguard-fixture` through os.system if loaded.
_CMD = b"echo llmguard-fixture"
EVIL = b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(_CMD)) + _CMD + b"q\x01\x85q\x02Rq\x03."

entries = []


def read(rel):
    with open(os.path.join(MODELS, rel), "rb") as f:
        return f.read()


def add(kind, rel, technique, expect, imports=()):
    entries.append(
        {"file": rel, "kind": kind, "technique": technique, "expect": list(expect), "imports": list(imports)}
    )


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: list of (TarInfo-like dict, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            ti = tarfile.TarInfo(info["name"])
            ti.mtime = 1700000000
            ti.uid = ti.gid = 1000
            ti.uname = ti.gname = "ml"
            ti.mode = info.get("mode", 0o644)
            ti.type = info.get("type", tarfile.REGTYPE)
            ti.linkname = info.get("linkname", "")
            ti.devmajor = info.get("devmajor", 0)
            ti.devminor = info.get("devminor", 0)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def gz(data):
    # mtime=0 keeps the gzip header deterministic.
    import gzip

    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
        g.write(data)
    return out.getvalue()


def write(dirpath, name, data):
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(data)


def sevenz(members, password=None):
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password, header_encryption=bool(password)) as z:
        for name, data in members:
            z.writestr(data, name)
    return out.getvalue()


def benign():
    model_dir = [
        ({"name": "model/", "type": tarfile.DIRTYPE, "mode": 0o755}, None),
        ({"name": "model/config.json"}, b'{"model_type": "llama", "hidden_size": 8}\n'),
        ({"name": "model/model.safetensors"}, read("benign/safetensors/tiny_llama_mixed_dtypes.safetensors")),
        ({"name": "model/pytorch_model.bin"}, read("benign/torch/linear_state_dict.pt")),
        ({"name": "model/optimizer.pt"}, read("benign/transformers/optimizer.pt")),
        ({"name": "model/latest", "type": tarfile.SYMTYPE, "linkname": "model.safetensors"}, None),
    ]
    write(BENIGN, "hf_model_dir.tar.gz", gz(tar_bytes(model_dir)))
    add("benign", "benign/archives/hf_model_dir.tar.gz",
        "tarfile + gzip of a model directory (torch, transformers and safetensors files, an internal symlink)", [])
    write(BENIGN, "checkpoint.tar", tar_bytes([({"name": "linear_state_dict.pt"}, read("benign/torch/linear_state_dict.pt"))], tarfile.GNU_FORMAT))
    add("benign", "benign/archives/checkpoint.tar", "tarfile (GNU format) holding a torch.save checkpoint", [])
    write(BENIGN, "model_dir.7z", sevenz([
        ("model/config.json", b'{"model_type": "llama"}\n'),
        ("model/model.safetensors", read("benign/safetensors/bf16_serialize_file.safetensors")),
        ("model/pytorch_model.bin", read("benign/torch/sequential_full_module.pt")),
    ]))
    add("benign", "benign/archives/model_dir.7z", "py7zr (LZMA2, solid) of a model directory with a torch checkpoint", [])


def malicious():
    write(MALICIOUS, "tar_gz_pickle_os_system.tar.gz",
          gz(tar_bytes([({"name": "model/pytorch_model.bin"}, EVIL)])))
    add("malicious", "malicious/archives/tar_gz_pickle_os_system.tar.gz",
        "a pickle calling os.system inside a .tar.gz", ["MOD101"], ["posix.system"])
    write(MALICIOUS, "tar_path_traversal.tar",
          tar_bytes([({"name": "../../home/user/.bashrc"}, b"echo hi\n"), ({"name": "/etc/cron.d/x"}, b"* * * * * root id\n")]))
    add("malicious", "malicious/archives/tar_path_traversal.tar", "member names with .. and absolute paths", ["MOD205"])
    write(MALICIOUS, "tar_symlink_escape.tar", tar_bytes([
        ({"name": "weights", "type": tarfile.SYMTYPE, "linkname": "/home/user/.ssh"}, None),
        ({"name": "a/up", "type": tarfile.SYMTYPE, "linkname": "../../etc"}, None),
        ({"name": "hard", "type": tarfile.LNKTYPE, "linkname": "../outside"}, None),
        ({"name": "weights/authorized_keys"}, b"ssh-ed25519 AAAA attacker\n"),
    ]))
    add("malicious", "malicious/archives/tar_symlink_escape.tar",
        "symbolic and hard links whose targets leave the archive (CVE-2007-4559 style)", ["MOD205"])
    write(MALICIOUS, "tar_device_fifo.tar", tar_bytes([
        ({"name": "dev/sda", "type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}, None),
        ({"name": "pipe", "type": tarfile.FIFOTYPE}, None),
        ({"name": "model.safetensors"}, read("benign/safetensors/single_no_metadata.safetensors")),
    ]))
    add("malicious", "malicious/archives/tar_device_fifo.tar", "a block device and a FIFO member", ["MOD211"])
    write(MALICIOUS, "tar_duplicate_member.tar", tar_bytes([
        ({"name": "model.bin"}, read("benign/torch/linear_state_dict.pt")),
        ({"name": "model.bin"}, EVIL),
    ]))
    add("malicious", "malicious/archives/tar_duplicate_member.tar",
        "the same member name twice: extractors keep the second (malicious) copy", ["MOD204", "MOD101"], ["posix.system"])
    whole = tar_bytes([({"name": "model.pkl"}, EVIL + b"\x00" * 4000)])
    write(MALICIOUS, "tar_truncated.tar", whole[:1200])
    add("malformed", "malicious/archives/tar_truncated.tar",
        "a tar cut inside its only member; the pickle before the cut is still reported", ["MOD207", "MOD101"], ["posix.system"])
    write(MALICIOUS, "tar_named_safetensors.safetensors", tar_bytes([({"name": "data.pkl"}, EVIL)]))
    add("malicious", "malicious/archives/tar_named_safetensors.safetensors",
        "a tar archive named .safetensors, holding a pickle", ["MOD305", "MOD101"], ["posix.system"])
    inner = gz(tar_bytes([({"name": "inner/model.pkl"}, EVIL)]))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        zi = zipfile.ZipInfo("release/model.tar.gz", date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(zi, inner)
    write(MALICIOUS, "zip_holding_tar_gz.zip", zbuf.getvalue())
    add("malicious", "malicious/archives/zip_holding_tar_gz.zip",
        "zip (deflated) > tar.gz > pickle calling os.system", ["MOD101"], ["posix.system"])
    write(MALICIOUS, "sevenz_pickle_os_system.7z", sevenz([("model/pytorch_model.bin", EVIL), ("model/config.json", b"{}")]))
    add("malicious", "malicious/archives/sevenz_pickle_os_system.7z",
        "py7zr (LZMA2) archive with a pickle calling os.system", ["MOD101"], ["posix.system"])
    write(MALICIOUS, "sevenz_encrypted.7z", sevenz([("model.pkl", EVIL)], password="secret"))
    add("malicious", "malicious/archives/sevenz_encrypted.7z",
        "an AES-encrypted 7z (encrypted headers): nothing in it can be checked", ["MOD206"])
    good = sevenz([("model.pkl", EVIL)])
    write(MALICIOUS, "sevenz_corrupt_header.7z", good[:32] + bytes(b ^ 0x5A for b in good[32:]))
    add("malformed", "malicious/archives/sevenz_corrupt_header.7z", "a 7z whose header bytes are scrambled", ["MOD207"])


def encoded():
    """Pickles hidden in strings: base64, hex and zlib+base64, in four kinds of carrier."""
    b64 = base64.b64encode(EVIL).decode()
    zb64 = base64.b64encode(zlib.compress(EVIL)).decode()
    hx = EVIL.hex()
    # safetensors: a single F32 tensor, the pickle in __metadata__.
    header = {"__metadata__": {"format": "pt", "config": b64}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    write(MALICIOUS, "st_metadata_base64_pickle.safetensors", struct.pack("<Q", len(hb)) + hb + b"\x00" * 8)
    add("malicious", "malicious/archives/st_metadata_base64_pickle.safetensors",
        "safetensors __metadata__ value holding a base64-encoded pickle", ["MOD111", "MOD101"], ["posix.system"])
    # GGUF v3: one string key/value holding zlib+base64, no tensors.
    def gguf_str(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b
    kv = gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("llama")
    kv += gguf_str("general.description") + struct.pack("<I", 8) + gguf_str(zb64)
    write(MALICIOUS, "gguf_metadata_zlib_base64_pickle.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + kv)
    add("malicious", "malicious/archives/gguf_metadata_zlib_base64_pickle.gguf",
        "GGUF string metadata holding a zlib-compressed, base64-encoded pickle", ["MOD111", "MOD101"], ["posix.system"])
    # A JSON config (as shipped beside weights) with a hex-encoded pickle.
    cfg = {"model_type": "llama", "auto_map": {"AutoModel": "modeling.Model"}, "init_state": hx}
    write(MALICIOUS, "config_hex_pickle.json", json.dumps(cfg, indent=2).encode())
    add("malicious", "malicious/archives/config_hex_pickle.json",
        "a JSON model config with a hex-encoded pickle value", ["MOD111", "MOD101"], ["posix.system"])
    # A benign-looking pickle whose string constant is a second-stage base64 pickle.
    s = b64.encode()
    outer = b"\x80\x02}q\x00(X\x07\x00\x00\x00payloadq\x01X" + struct.pack("<I", len(s)) + s + b"q\x02u."
    write(MALICIOUS, "pickle_string_base64_pickle.pkl", outer)
    add("malicious", "malicious/archives/pickle_string_base64_pickle.pkl",
        "a plain dict pickle whose string value is a base64-encoded second-stage pickle", ["MOD111", "MOD101"], ["posix.system"])


def templates():
    """tokenizer_config.json chat templates: real ones (benign) and an injected one."""
    tdir = os.path.join(HERE, "..", "chat_templates", "benign")
    with open(os.path.join(tdir, "qwen2.5_tools.jinja")) as f:
        qwen = f.read()
    with open(os.path.join(tdir, "llama3.1_tools.jinja")) as f:
        llama = f.read()
    cfg = {"add_bos_token": False, "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer",
           "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "chat_template": qwen}
    write(os.path.join(BENIGN, "tokenizer"), "tokenizer_config.json", json.dumps(cfg, indent=2).encode())
    add("benign", "benign/archives/tokenizer/tokenizer_config.json",
        "tokenizer_config.json with Qwen2.5's chat template (string form)", [])
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast",
           "chat_template": [{"name": "default", "template": llama}, {"name": "tool_use", "template": llama}]}
    write(os.path.join(BENIGN, "tokenizer"), "tokenizer_config_named.json", json.dumps(cfg, indent=2).encode())
    add("benign", "benign/archives/tokenizer/tokenizer_config_named.json",
        "tokenizer_config.json with named chat templates (list form)", [])
    evil = ("{% for m in messages %}{{ m['content'] }}{% endfor %}"
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}")
    cfg = {"tokenizer_class": "LlamaTokenizer", "chat_template": [{"name": "default", "template": qwen},
                                                                 {"name": "rag", "template": evil}]}
    write(MALICIOUS, "tokenizer_config_ssti.json", json.dumps(cfg, indent=2).encode())
    add("malicious", "malicious/archives/tokenizer_config_ssti.json",
        "tokenizer_config.json whose named `rag` template reaches os.popen through cycler.__init__.__globals__",
        ["MOD312"])


def main():
    templates()
    benign()
    malicious()
    encoded()
    entries.sort(key=lambda e: e["file"])
    with open(os.path.join(MODELS, "manifest.archives.json"), "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    print(f"wrote {len(entries)} fixtures")


if __name__ == "__main__":
    sys.exit(main())
