#!/usr/bin/env python3
"""The AI-BOM fixture repository `testdata/aibom/`, written by the real producers.

A small ML repository as a governance team would meet it:

- `models/support-bot/`: a Hugging Face model directory: safetensors shards split by
  huggingface_hub's `split_state_dict_into_shards_factory` and saved by
  `safetensors.numpy.save_file`, the `model.safetensors.index.json` weight map, `config.json`,
  `generation_config.json`, tokenizer config files, and a model card from
  `huggingface_hub.ModelCard.from_template` (licence, base model, two datasets, evaluation
  results, intended use and limitations). Two of the card's datasets are described by lineage
  metadata and Croissant, the third by nothing (BOM040).
- `models/support-bot-gguf/support-bot-Q8_0.gguf`: the same model quantised to Q8_0 by
  gguf-py's `gguf.quants.quantize` and written by `GGUFWriter`, with `general.*` licence,
  source repository and training dataset (`general.dataset.0.*`) keys.
- `models/legacy-classifier/classifier.pkl`: a `pickle.dump` of a dict of NumPy arrays
  (protocol 4), no card: no licence, no provenance, pickle-based (BOM010, BOM020, BOM050).
- `cache/huggingface/hub/models--acme--base-1b/snapshots/<revision>/`: the base model as the
  Hugging Face hub cache lays it out (the origin and revision come from the path).
- `data/support-tickets/`: complete llmguard lineage JSON (`check-lineage`'s format: provenance,
  personal data and its safeguards, compliance controls, file digests) whose upstream export is
  not described (LIN070), the data file, and a dataset card from
  `huggingface_hub.DatasetCard.from_template`.
- `data/faq/`: a dataset card and its CSV only (a card cannot record files, collection period
  and the rest that `check-lineage` requires: LIN010).
- `data/product-docs/`: Croissant JSON-LD written by `mlcroissant` (`Metadata.to_json()`, with
  its Responsible-AI fields) and its CSV.
- `data/eval-set/`: a JSONL file tracked by DVC: `eval.jsonl.dvc` is what `dvc add` writes (DVC
  run in a throwaway `dvc init --no-scm` directory, analytics off).
- `requirements.txt` and `pyproject.toml` naming ML frameworks (and a non-ML package).

Deterministic: fixed seeds, fixed metadata, no timestamps. Run with a venv holding the versions
in `requirements-aibom.txt`:

    python3 -m venv /tmp/aibom-venv && /tmp/aibom-venv/bin/pip install -r testdata/gen/requirements-aibom.txt
    /tmp/aibom-venv/bin/python testdata/gen/gen_aibom.py
"""

import datetime
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import gguf
import numpy as np
from huggingface_hub import DatasetCard, DatasetCardData, EvalResult, ModelCard, ModelCardData
from huggingface_hub import split_state_dict_into_shards_factory
import mlcroissant as mlc
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aibom")
REVISION = "3f1c0a6e9b2d4c8e7a5f6b1d0c9e8a7b6c5d4e3f"


def path(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write(rel, text):
    with open(path(*rel.split("/")), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_json(rel, obj):
    write(rel, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def state_dict(seed, vocab=128, hidden=32, layers=1):
    """A toy Llama-shaped state dict (float16)."""
    rng = np.random.RandomState(seed)
    t = lambda *shape: rng.standard_normal(shape).astype(np.float16)  # noqa: E731
    sd = {"model.embed_tokens.weight": t(vocab, hidden), "lm_head.weight": t(vocab, hidden)}
    for i in range(layers):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[f"model.layers.{i}.self_attn.{proj}.weight"] = t(hidden, hidden)
        for proj, shape in (("gate_proj", (64, hidden)), ("up_proj", (64, hidden)), ("down_proj", (hidden, 64))):
            sd[f"model.layers.{i}.mlp.{proj}.weight"] = t(*shape)
        sd[f"model.layers.{i}.input_layernorm.weight"] = np.ones(hidden, dtype=np.float16)
    sd["model.norm.weight"] = np.ones(hidden, dtype=np.float16)
    return sd


CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 32,
    "intermediate_size": 64,
    "model_type": "llama",
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "num_key_value_heads": 2,
    "torch_dtype": "float16",
    "transformers_version": "4.46.3",
    "vocab_size": 128,
}


def support_bot():
    d = "models/support-bot"
    sd = state_dict(1)
    split = split_state_dict_into_shards_factory(
        sd,
        get_storage_size=lambda t: t.nbytes,
        filename_pattern="model{suffix}.safetensors",
        max_shard_size=20000,
    )
    assert split.is_sharded and len(split.filename_to_tensors) >= 2, split.filename_to_tensors
    for filename, names in split.filename_to_tensors.items():
        save_file({n: sd[n] for n in names}, path(d, filename), metadata={"format": "pt"})
    write_json(f"{d}/model.safetensors.index.json", {"metadata": split.metadata, "weight_map": split.tensor_to_filename})
    write_json(f"{d}/config.json", dict(CONFIG, _name_or_path="acme/base-1b"))
    write_json(f"{d}/generation_config.json", {"bos_token_id": 1, "eos_token_id": 2, "transformers_version": "4.46.3"})
    write_json(
        f"{d}/tokenizer_config.json",
        {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "chat_template": "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}",
            "model_max_length": 2048,
            "tokenizer_class": "LlamaTokenizer",
        },
    )
    write_json(f"{d}/special_tokens_map.json", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        tags=["customer-support", "llama"],
        datasets=["acme/support-tickets", "acme/chat-logs", "acme/product-docs"],
        base_model="acme/base-1b",
        pipeline_tag="text-generation",
        model_name="support-bot",
        eval_results=[
            EvalResult(
                task_type="text-generation",
                dataset_type="acme/support-tickets",
                dataset_name="support-tickets (held out)",
                dataset_split="test",
                metric_type="accuracy",
                metric_name="Answer accuracy",
                metric_value=0.91,
            )
        ],
        base_model_relation="finetune",
    )
    card = ModelCard.from_template(
        data,
        model_id="acme/support-bot",
        model_description="A tiny Llama-shaped model fine-tuned to answer customer support tickets.",
        developers="ACME ML team",
        direct_use="Drafting answers to customer support tickets for a human agent to review.",
        out_of_scope_use="Medical, legal or financial advice; answering customers without review.",
        bias_risks_limitations="Trained on English tickets only; answers about products released after the training data are unreliable.",
    )
    card.save(path(d, "README.md"))


def support_bot_gguf():
    sd = state_dict(1)
    w = gguf.GGUFWriter(path("models/support-bot-gguf/support-bot-Q8_0.gguf"), "llama")
    w.add_name("support-bot")
    w.add_version("1.0")
    w.add_organization("acme")
    w.add_license("apache-2.0")
    w.add_source_repo_url("https://huggingface.co/acme/support-bot")
    w.add_base_model_count(1)
    w.add_base_model_name(0, "base-1b")
    w.add_base_model_repo_url(0, "https://huggingface.co/acme/base-1b")
    w.add_dataset_count(1)
    w.add_dataset_name(0, "support-tickets")
    w.add_dataset_repo_url(0, "https://huggingface.co/datasets/acme/support-tickets")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_block_count(1)
    w.add_context_length(2048)
    w.add_embedding_length(32)
    for name, t in sorted(sd.items()):
        arr = t.astype(np.float32)
        if arr.ndim == 2 and arr.shape[1] % 32 == 0:
            q = gguf.quants.quantize(arr, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def legacy_classifier():
    rng = np.random.RandomState(7)
    obj = {"weight": rng.standard_normal((4, 8)).astype(np.float32), "bias": np.zeros(4, dtype=np.float32), "classes": ["spam", "ham", "urgent", "other"]}
    with open(path("models/legacy-classifier/classifier.pkl"), "wb") as f:
        pickle.dump(obj, f, protocol=4)


def base_model_cache():
    d = f"cache/huggingface/hub/models--acme--base-1b/snapshots/{REVISION}"
    save_file(state_dict(2), path(d, "model.safetensors"), metadata={"format": "pt"})
    write_json(f"{d}/config.json", dict(CONFIG, _name_or_path="acme/base-1b"))


def datasets():
    d = "data/support-tickets"
    rows = [
        {"ticket": "My invoice is wrong", "answer": "We have corrected invoice INV-1001."},
        {"ticket": "How do I reset my password?", "answer": "Use the reset link on the sign-in page."},
    ]
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    write(f"{d}/tickets.jsonl", text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    write_json(
        f"{d}/training_data_metadata.json",
        {
            "name": "support-tickets",
            "version": "2026.11",
            "description": "Resolved customer support tickets with the agent's answer, de-identified.",
            "source": "https://huggingface.co/datasets/acme/support-tickets",
            "created_at": "2026-11-02T00:00:00Z",
            "license": "cc-by-4.0",
            "owner": "ACME Support Operations",
            "classification": "internal",
            "contains_pii": True,
            "personal_data": {
                "categories": ["name", "email"],
                "handling": "pseudonymised",
                "legal_basis": "GDPR Art. 6(1)(b): performance of the support contract",
                "retention": "24 months after the ticket is closed",
            },
            "collection_period": {"start": "2025-01-01", "end": "2026-10-31"},
            "creation_method": "exported from the ticketing system, answers written by support agents",
            "intended_use": {
                "purpose": "fine-tuning the support-bot model to draft answers",
                "out_of_scope": "profiling individual customers",
            },
            "transformations": [
                {
                    "type": "anonymize",
                    "description": "customer names and e-mail addresses replaced by stable pseudonyms",
                    "operator": "ACME Support Operations",
                    "timestamp": "2026-11-01",
                }
            ],
            "hash": "sha256:" + digest,
            "row_count": len(rows),
            "files": [{"path": "tickets.jsonl", "sha256": digest, "size_bytes": len(text.encode())}],
            "source_datasets": ["raw-ticket-export"],
            "compliance_status": {
                "gdpr_consent": True,
                "deletion_mechanism": True,
                "pii_authorized": True,
                "ccpa_disclosure": True,
                "opt_out_mechanism": True,
            },
        },
    )
    card = DatasetCard.from_template(
        DatasetCardData(
            language="en",
            license="cc-by-4.0",
            pretty_name="ACME support tickets",
            task_categories=["text-generation"],
            size_categories=["n<1K"],
        ),
        curators="ACME Support Operations",
        personal_and_sensitive_information="Customer names and e-mail addresses were removed before export.",
    )
    card.save(path(d, "README.md"))
    write("data/faq/faq.csv", "question,answer\nWhere is my order?,See the tracking page.\n")
    faq = DatasetCard.from_template(
        DatasetCardData(language="en", license="cc0-1.0", pretty_name="ACME FAQ"),
        curators="ACME Docs",
    )
    faq.save(path("data/faq", "README.md"))


def product_docs():
    d = "data/product-docs"
    text = "doc_id,title,body\n1,Returns,Items can be returned within 30 days.\n2,Shipping,Orders ship within two working days.\n"
    write(f"{d}/docs.csv", text)
    column = lambda name, kind: mlc.Field(  # noqa: E731
        id=f"docs/{name}",
        name=name,
        data_types=[kind],
        source=mlc.Source(file_object="docs.csv", extract=mlc.Extract(column=name)),
    )
    meta = mlc.Metadata(
        name="product-docs",
        description="ACME product documentation pages, for retrieval and fine-tuning.",
        url="https://huggingface.co/datasets/acme/product-docs",
        license=["https://creativecommons.org/licenses/by/4.0/"],
        version="1.2.0",
        cite_as="ACME Docs (2026). Product documentation pages.",
        creators=[mlc.Organization(name="ACME Docs")],
        date_published=datetime.datetime(2026, 10, 1),
        distribution=[
            mlc.FileObject(
                id="docs.csv",
                name="docs.csv",
                content_url="docs.csv",
                encoding_formats=["text/csv"],
                sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        ],
        record_sets=[
            mlc.RecordSet(
                id="docs",
                name="docs",
                fields=[column("doc_id", mlc.DataType.INTEGER), column("title", mlc.DataType.TEXT), column("body", mlc.DataType.TEXT)],
            )
        ],
        data_collection="Exported from the documentation CMS; written by ACME technical writers.",
        data_collection_timeframe=[datetime.datetime(2026, 1, 1), datetime.datetime(2026, 9, 30)],
        data_preprocessing_protocol=["HTML converted to plain text; navigation and footers removed."],
        data_use_cases=["Retrieval and fine-tuning for the support bot."],
        personal_sensitive_information=["None: product documentation written by staff, no customer data."],
    )
    assert not meta.issues.errors, meta.issues.report()
    write(f"{d}/croissant.json", json.dumps(meta.to_json(), indent=2) + "\n")


def eval_set():
    d = "data/eval-set"
    text = '{"prompt": "Where is my order?", "expected": "tracking page"}\n'
    write(f"{d}/eval.jsonl", text)
    dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(path(d, "eval.jsonl"), os.path.join(tmp, "eval.jsonl"))
        subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp, env=env, check=True)
        subprocess.run([dvc, "add", "-q", "eval.jsonl"], cwd=tmp, env=env, check=True)
        shutil.copy(os.path.join(tmp, "eval.jsonl.dvc"), path(d, "eval.jsonl.dvc"))


def requirements():
    write(
        "requirements.txt",
        "# Runtime of the support bot\n"
        "torch==2.4.1\n"
        "transformers[torch]==4.46.3\n"
        "safetensors==0.4.5\n"
        "llama-cpp-python>=0.3,<0.4\n"
        "requests==2.32.3  # not an ML framework: left to a general SBOM tool\n",
    )
    write(
        "pyproject.toml",
        '[project]\nname = "support-bot-service"\nversion = "1.0.0"\n'
        'dependencies = ["numpy==1.26.4", "scikit-learn==1.5.2"]\n',
    )


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    support_bot()
    support_bot_gguf()
    legacy_classifier()
    base_model_cache()
    datasets()
    product_docs()
    eval_set()
    requirements()


if __name__ == "__main__":
    main()
