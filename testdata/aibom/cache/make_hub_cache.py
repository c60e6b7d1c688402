"""Generate the Hugging Face hub cache model under `huggingface/hub/models--acme--tiny-encoder/`.

The layout is the one `huggingface_hub` writes on download: each file's bytes once under
`blobs/` (named by the SHA-256 for LFS files, by the git blob SHA-1 for the others), the names
users see under `snapshots/<revision>/` as relative symbolic links made by `huggingface_hub`'s
own `_create_symlink`, and `refs/main` naming the revision. The weights are written by
`safetensors`. Nothing is downloaded.

Run from this directory with the venv of `testdata/gen/requirements-aibom.txt`
(safetensors, numpy, huggingface_hub):

    python make_hub_cache.py

`aibom` must show one model (the snapshot directory, its files by their snapshot names with
the blobs' digests) and note the blob paths as other paths to the same files.
"""

import hashlib
import json
import os
import shutil

import numpy as np
from huggingface_hub.file_download import _create_symlink, _get_pointer_path, repo_folder_name
from safetensors.numpy import save

REPO = "acme/tiny-encoder"
REVISION = "9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"

here = os.path.dirname(os.path.abspath(__file__))
storage = os.path.join(here, "huggingface", "hub", repo_folder_name(repo_id=REPO, repo_type="model"))
shutil.rmtree(storage, ignore_errors=True)

rng = np.random.default_rng(7)
weights = save(
    {
        "embeddings.weight": rng.standard_normal((32, 8)).astype(np.float16),
        "encoder.layer.0.weight": rng.standard_normal((8, 8)).astype(np.float16),
        "encoder.layer.0.bias": np.zeros(8, dtype=np.float16),
    },
    metadata={"format": "pt"},
)
config = (
    json.dumps(
        {
            "_name_or_path": REPO,
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_size": 8,
            "vocab_size": 32,
            "torch_dtype": "float16",
        },
        indent=2,
    )
    + "\n"
).encode()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


for name, data, blob in [
    ("model.safetensors", weights, hashlib.sha256(weights).hexdigest()),
    ("config.json", config, git_blob_sha1(config)),
]:
    blob_path = os.path.join(storage, "blobs", blob)
    os.makedirs(os.path.dirname(blob_path), exist_ok=True)
    with open(blob_path, "wb") as f:
        f.write(data)
    pointer = _get_pointer_path(storage, REVISION, name)
    os.makedirs(os.path.dirname(pointer), exist_ok=True)
    _create_symlink(blob_path, pointer, new_blob=False)

os.makedirs(os.path.join(storage, "refs"), exist_ok=True)
with open(os.path.join(storage, "refs", "main"), "w") as f:
    f.write(REVISION)
