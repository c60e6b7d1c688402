#!/usr/bin/env python3
"""Generate testdata/lineage/realworld/: lineage metadata written by the real tools.

    python3 -m venv /tmp/rw && /tmp/rw/bin/pip install dvc mlcroissant huggingface_hub
    python3 -m venv /tmp/rw2 && /tmp/rw2/bin/pip install 'dvc==2.58.2' 'pathspec<0.12'
    /tmp/rw/bin/python testdata/lineage/realworld/gen_realworld.py --dvc2 /tmp/rw2/bin/dvc

Versions used for the committed files: dvc 3.67.1, dvc 2.58.2, mlcroissant 1.1.1,
huggingface_hub 2.4.0, GNU coreutils sha256sum, perl shasum (Digest::SHA).

Every case is a directory; `expected.json` beside this script lists, per case, the findings
`llmguard check-lineage CASE` must give (rule ids per file, relative to the case), and
`tests/lineage_realworld.rs` holds llmguard to it. DVC and checksum-manifest cases carry no
provenance record, so each also gets one LIN011 (integrity data without provenance); "no finding"
below means none besides it. Cases:

  dvc/dvc3/             a DVC 3 repository (`dvc init --no-scm`): `dvc add` of a CRLF and an LF
                        text file and of a directory, and a two-stage `dvc.yaml` run by `dvc repro`
                        (its `dvc.lock`). Only the cache's `.dir` listings are kept (what `dvc fetch`
                        of a directory brings); everything verifies: no finding.
  dvc/dvc3_tampered/    the same after editing a tracked file, a file of the tracked directory and
                        a stage output, and adding a file to the tracked directory.
  dvc/dvc3_nocache/     the same repository as a fresh clone has it: no `.dvc/cache`, so the
                        directory output cannot be verified (the files still are).
  dvc/dvc2/             a DVC 2 repository: without `hash: md5`, text files are hashed after CRLF
                        -> LF conversion (and UTF-8 text that DVC's heuristic calls binary is not).
  dvc/dvc2_tampered/    the DVC 2 repository after editing its CRLF file.
  croissant/mlc_1_0/    Croissant 1.0 written by mlcroissant's Python API, with its RAI fields.
  croissant/mlc_1_1/    Croissant 1.1 by the same API: language-tagged name and description.
  croissant/hf_export/  a Croissant 1.1 file shaped like the Hugging Face Hub's export (its
                        `cr:`-mapped context, a choosealicense.com licence URL, FileSets, record-set
                        prefixed field names), written here with our own content.
  croissant/portal_remote/  Croissant 1.0 as dataset portals publish it (remote files with
                        checksums, a CreativeWork licence, bare RAI keys, an ISO interval).
  hf_card/filled/       a card rendered by huggingface_hub's DatasetCard.from_template, filled in.
  hf_card/placeholder/  the same template left with its "[More Information Needed]" defaults.
  hf_card/legacy/       an older card shape (plural `licenses`/`languages`, `task_categories`,
                        `size_categories`, `configs`, `dataset_info` with features and splits, the
                        datasets library's old section layout and link-wrapped placeholders).
  mlops/<name>/         enterprise MLOps dataset-metadata JSON as a script writes it (`json.dump`
                        with and without indent, extra keys, nulls, numbers as strings, several
                        ISO 8601 forms of `created_at`, `hash` as `sha256:<hex>`, bare and upper case).
  manifests/<tool>/     checksum manifests from `sha256sum`, `sha256sum --tag`, `shasum -a 256`
                        (text, binary and universal-newline marks), a Windows CRLF manifest,
                        `md5sum` (MD5SUMS) and `sha512sum` under a generic name (not verifiable).
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, content):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    with open(path, "wb") as f:
        f.write(content)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def fresh(*parts):
    d = os.path.join(HERE, *parts)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def run(cmd, cwd, **kw):
    subprocess.run(cmd, cwd=cwd, check=True, **kw)


# ---------------------------------------------------------------------------------------- DVC

PREPARE = (
    "import sys\n"
    "src, dst = sys.argv[1], sys.argv[2]\n"
    "with open(src, newline='') as f, open(dst, 'w', newline='') as g:\n"
    "    for line in f:\n"
    "        g.write(line.upper())\n"
)


def keep_dir_listings_only(repo):
    """Drop what a repository never commits (.dvc/tmp, .dvc/.gitignore) and the cache's file
    objects; keep the `.dir` listings (what `dvc fetch` of a directory output brings)."""
    for p in [".dvc/tmp", ".dvc/.gitignore", ".dvc/config.local"]:
        full = os.path.join(repo, p)
        if os.path.isdir(full):
            shutil.rmtree(full)
        elif os.path.exists(full):
            os.remove(full)
    cache = os.path.join(repo, ".dvc", "cache")
    for root, _, files in os.walk(cache, topdown=False):
        for f in files:
            if not f.endswith(".dir"):
                os.remove(os.path.join(root, f))
        if not os.listdir(root):
            os.rmdir(root)


def dvc_repo(d, dvc, text_names):
    run([dvc, "init", "--no-scm", "-q"], d)
    write(os.path.join(d, "data", "crlf.csv"), b"id,text\r\n1,printer jams\r\n2,login fails\r\n")
    write(os.path.join(d, "data", "lf.csv"), b"id,text\n1,screen flickers\n2,no sound\n")
    write(os.path.join(d, "data", "images", "a.txt"), b"caption a\r\nline two\r\n")
    write(os.path.join(d, "data", "images", "b.bin"), b"\x89PNG\r\n\x1a\n\x00\x00")
    for name, content in text_names:
        write(os.path.join(d, "data", "images", name), content)
    run([dvc, "add", "-q", "data/crlf.csv", "data/lf.csv", "data/images"], d)
    write(os.path.join(d, "prepare.py"), PREPARE)
    run(
        [dvc, "stage", "add", "-q", "-n", "prepare", "-d", "prepare.py", "-d", "data/lf.csv", "-o",
         "out/prepared.csv", "mkdir -p out && python3 prepare.py data/lf.csv out/prepared.csv"],
        d,
    )
    run(
        [dvc, "stage", "add", "-q", "-n", "count", "-d", "out/prepared.csv", "-o", "out/stats",
         "mkdir -p out/stats && wc -l < out/prepared.csv > out/stats/lines.txt"],
        d,
    )
    run([dvc, "repro", "-q"], d)
    keep_dir_listings_only(d)


def gen_dvc(dvc3, dvc2):
    d = fresh("dvc", "dvc3")
    dvc_repo(d, dvc3, [])
    t = fresh("dvc", "dvc3_tampered")
    shutil.rmtree(t)
    shutil.copytree(d, t)
    write(os.path.join(t, "data", "crlf.csv"), b"id,text\r\n1,printer jams\r\n2,login works\r\n")
    write(os.path.join(t, "data", "images", "a.txt"), b"caption A\r\nline two\r\n")
    write(os.path.join(t, "data", "images", "c.txt"), b"a file nobody added\n")
    with open(os.path.join(t, "out", "prepared.csv"), "ab") as f:
        f.write(b"3,INJECTED ROW\n")
    n = fresh("dvc", "dvc3_nocache")
    shutil.rmtree(n)
    shutil.copytree(d, n)
    shutil.rmtree(os.path.join(n, ".dvc", "cache"))
    if dvc2:
        d = fresh("dvc", "dvc2")
        # UTF-8 text with CRLF that DVC's text heuristic (bytes >= 127 count as binary) calls binary.
        utf8 = ("東京の天気は晴れです\r\n" * 4).encode()
        dvc_repo(d, dvc2, [("tokyo.txt", utf8)])
        t = fresh("dvc", "dvc2_tampered")
        shutil.rmtree(t)
        shutil.copytree(d, t)
        write(os.path.join(t, "data", "crlf.csv"), b"id,text\r\n1,printer jams\r\n2,login works\r\n")


# ---------------------------------------------------------------------------------- Croissant

def gen_croissant():
    import mlcroissant as mlc
    from mlcroissant._src.core.context import CroissantVersion

    data = b"ticket_id,subject,category\n1,printer jams,hardware\n2,login fails,account\n"
    for case, version in [("mlc_1_0", CroissantVersion.V_1_0), ("mlc_1_1", CroissantVersion.V_1_1)]:
        d = fresh("croissant", case)
        write(os.path.join(d, "data", "tickets.csv"), data)
        ctx = mlc.Context(conforms_to=version)
        fo = mlc.FileObject(
            ctx=ctx, id="tickets.csv", name="tickets.csv", content_url="data/tickets.csv",
            encoding_formats=["text/csv"], sha256=sha(data), content_size=f"{len(data)} B",
        )
        fields = [
            mlc.Field(ctx=ctx, id=f"tickets/{c}", name=c, data_types=[mlc.DataType.TEXT],
                      source=mlc.Source(ctx=ctx, file_object="tickets.csv", extract=mlc.Extract(ctx=ctx, column=c)))
            for c in ["ticket_id", "subject", "category"]
        ]
        rs = mlc.RecordSet(ctx=ctx, id="tickets", name="tickets", fields=fields)
        v11 = version == CroissantVersion.V_1_1
        md = mlc.Metadata(
            ctx=ctx,
            name={"en": "Acme support tickets"} if v11 else "Acme support tickets",
            description={"en": "Support ticket subjects with their category."} if v11
            else "Support ticket subjects with their category.",
            url="https://huggingface.co/datasets/acme/support-tickets",
            license=["https://creativecommons.org/licenses/by/4.0/"],
            version="1.2.0",
            cite_as="@misc{acme-tickets, title={Acme support tickets}}",
            creators=[mlc.Organization(ctx=ctx, name="Acme ML platform team", url="https://acme.example")],
            date_published=datetime.datetime(2024, 6, 30),
            distribution=[fo],
            record_sets=[rs],
            data_collection="Exported from the ticketing system.",
            data_collection_type=["Software/API"],
            data_collection_timeframe=[datetime.datetime(2023, 1, 1), datetime.datetime(2024, 5, 31)],
            data_preprocessing_protocol=["Deduplicated by subject.", "Dropped empty tickets."],
            data_use_cases=["Training the ticket router."],
            personal_sensitive_information=["None: subjects were screened and contain no personal data."],
        )
        write(os.path.join(d, "croissant.json"), json.dumps(md.to_json(), indent=2) + "\n")
    # Shaped like the Hub's export (hand-written content): every field the Hub fills in, and
    # nothing it does not (no RAI fields, no creator, no local files).
    d = fresh("croissant", "hf_export")
    context = {
        "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
        "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
        "data": {"@id": "cr:data", "@type": "@json"}, "dataBiases": "cr:dataBiases",
        "dataCollection": "cr:dataCollection", "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/", "extract": "cr:extract", "field": "cr:field",
        "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet",
        "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField",
        "path": "cr:path", "personalSensitiveInformation": "cr:personalSensitiveInformation",
        "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex",
        "repeated": "cr:repeated", "replace": "cr:replace", "sc": "https://schema.org/",
        "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
    }
    col = lambda name: {  # noqa: E731
        "@type": "cr:Field", "@id": f"default/{name}", "name": f"default/{name}",
        "description": f"Column '{name}' from the Hugging Face parquet file.", "dataType": "sc:Text",
        "source": {"fileSet": {"@id": "parquet-files-for-config-default"}, "extract": {"column": name}},
    }
    doc = {
        "@context": context,
        "@type": "sc:Dataset",
        "distribution": [
            {
                "@type": "cr:FileObject", "@id": "repo", "name": "repo",
                "description": "The Hugging Face git repository.",
                "contentUrl": "https://huggingface.co/datasets/acme/forum-posts/tree/refs%2Fconvert%2Fparquet",
                "encodingFormat": "git+https",
                "sha256": "https://github.com/mlcommons/croissant/issues/80",
            },
            {
                "@type": "cr:FileSet", "@id": "parquet-files-for-config-default",
                "name": "parquet-files-for-config-default", "containedIn": {"@id": "repo"},
                "encodingFormat": "application/x-parquet", "includes": "default/*/*.parquet",
            },
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet", "@id": "default", "name": "default",
                "description": "acme/forum-posts - 'default' subset",
                "field": [col("post_id"), col("author_email"), col("body")],
            }
        ],
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": "forum-posts",
        "description": "Forum posts with their author, for moderation research.",
        "license": "https://choosealicense.com/licenses/odc-by/",
        "url": "https://huggingface.co/datasets/acme/forum-posts",
    }
    write(os.path.join(d, "croissant.json"), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    # Remote files only, the way dataset portals publish Croissant: a CreativeWork licence,
    # a list of creators, bare `@type`, RAI keys mapped in the context, an ISO interval.
    d = fresh("croissant", "portal_remote")
    doc = {
        "@context": {"@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
                     "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
                     "dct": "http://purl.org/dc/terms/", "conformsTo": "dct:conformsTo", "md5": "cr:md5",
                     "dataCollection": "rai:dataCollection", "dataUseCases": "rai:dataUseCases",
                     "personalSensitiveInformation": "rai:personalSensitiveInformation"},
        "@type": "Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": "Bike rentals",
        "description": "Hourly bike rentals per station.",
        "version": 3,
        "url": "https://data.example.org/datasets/bike-rentals",
        "license": {"@type": "CreativeWork", "name": "CC0: Public Domain",
                    "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
        "creator": [{"@type": "Organization", "name": "City mobility office", "url": "https://city.example.org"}],
        "datePublished": "2021-03-04T10:11:12.123",
        "dataCollection": "Counted by the rental system's docking stations.",
        "rai:dataCollectionTimeframe": "2019-01/2020-12",
        "rai:dataPreprocessingProtocol": ["Hourly aggregation per station."],
        "dataUseCases": ["Demand forecasting."],
        "personalSensitiveInformation": ["No personal data: counts are aggregated per station and hour."],
        "distribution": [
            {"@type": "cr:FileObject", "@id": "rentals.csv", "name": "rentals.csv",
             "contentUrl": "https://data.example.org/files/rentals.csv", "encodingFormat": "text/csv",
             "md5": "0f343b0931126a20f133d67c2b018a3b"},
        ],
    }
    write(os.path.join(d, "croissant.json"), json.dumps(doc, indent=2) + "\n")


# ---------------------------------------------------------------------------- Hugging Face cards

LEGACY_CARD = """---
annotations_creators:
- crowdsourced
language_creators:
- found
languages:
- en
- fr
licenses:
- cc-by-sa-4.0
multilinguality:
- multilingual
size_categories:
- 10K<n<100K
source_datasets:
- original
task_categories:
- text-classification
task_ids:
- sentiment-classification
paperswithcode_id: null
pretty_name: Café Reviews
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
dataset_info:
  features:
  - name: review_id
    dtype: int64
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': negative
          '1': positive
  splits:
  - name: train
    num_bytes: 5242880
    num_examples: 40000
  - name: test
    num_bytes: 655360
    num_examples: 5000
  download_size: 3145728
  dataset_size: 5898240
---

# Dataset Card for Café Reviews

## Table of Contents
- [Dataset Description](#dataset-description)
  - [Dataset Summary](#dataset-summary)
- [Additional Information](#additional-information)

## [Dataset Description](#dataset-description)

- **Homepage:** [Café Reviews](http://reviews.example.org/cafe/)
- **Repository:** [More Information Needed](https://github.com/huggingface/datasets/blob/master/CONTRIBUTING.md#how-to-contribute-to-the-dataset-cards)
- **Paper:** None
- **Leaderboard:**
- **Point of Contact:** [Jeanne Martin](mailto:jeanne@reviews.example.org)
- **Size of downloaded dataset files:** 3.00 MB

### [Dataset Summary](#dataset-summary)

Short café reviews in English and French, labelled positive or negative by crowd workers.

### Supported Tasks and Leaderboards

Sentiment classification.

### Languages

English and French.

## Dataset Structure

### Data Fields

- `review_id`: an `int64` feature.
- `text`: a `string` feature.

## Dataset Creation

### Curation Rationale

[More Information Needed](https://github.com/huggingface/datasets/blob/master/CONTRIBUTING.md#how-to-contribute-to-the-dataset-cards)

### Source Data

#### Initial Data Collection and Normalization

Reviews were collected from a public review site in 2019 and 2020; markup was stripped and
reviews shorter than five words were dropped.

#### Who are the source language producers?

Visitors of the review site.

### Annotations

#### Annotation process

Three crowd workers labelled each review; the majority label was kept.

### Personal and Sensitive Information

Reviews may mention the first names of café staff; no other personal information was kept.

## Considerations for Using the Data

### Discussion of Biases

[More Information Needed]

## Additional Information

### Dataset Curators

The Café Reviews team at the Example University NLP group.

### Licensing Information

Creative Commons Attribution-ShareAlike 4.0 International.

### Citation Information

```
@inproceedings{cafe2020,
  title = {Caf\\'e Reviews},
}
```

### Contributions

Thanks to [@example](https://github.com/example) for adding this dataset.
"""


def gen_cards():
    from huggingface_hub import DatasetCard, DatasetCardData

    d = fresh("hf_card", "filled")
    data = DatasetCardData(
        language=["en", "de"],
        license="cc-by-4.0",
        pretty_name="Acme Support Tickets",
        task_categories=["text-classification"],
        size_categories=["1K<n<10K"],
        source_datasets=["original"],
        annotations_creators=["expert-generated"],
        language_creators=["found"],
        version="2024.06",
    )
    card = DatasetCard.from_template(
        data,
        dataset_summary="Support tickets with their routing category.",
        dataset_description="Tickets sent to the Acme help desk between 2023 and 2024, with the queue each was routed to.",
        curators="Acme ML platform team",
        shared_by="Acme Corp",
        repo="https://github.com/acme/support-tickets",
        direct_use="Training and evaluating the ticket router.",
        out_of_scope_use="Profiling customers.",
        data_collection_and_processing_section="Exported from the ticketing system; signatures and quoted e-mail threads removed; deduplicated by subject.",
        source_data_producers_section="Acme customers writing to the help desk.",
        personal_and_sensitive_information="The dataset does not contain personal information: names and e-mail addresses were removed before export.",
        dataset_card_contact="ml-platform@acme.example",
    )
    write(os.path.join(d, "README.md"), str(card) + "\n")

    d = fresh("hf_card", "placeholder")
    card = DatasetCard.from_template(DatasetCardData(license="mit", pretty_name="Untitled dataset"))
    write(os.path.join(d, "README.md"), str(card) + "\n")

    d = fresh("hf_card", "legacy")
    write(os.path.join(d, "README.md"), LEGACY_CARD)


# --------------------------------------------------------------------------------- MLOps JSON

DATA = b"customer_id,amount,churned\nC001,120.5,0\nC002,99.0,1\n"


def mlops_record(**over):
    """A record with the field list of enterprise MLOps dataset-metadata scripts."""
    r = {
        "name": "customer_churn",
        "version": "2024.06.1",
        "source": "s3://acme-data/exports/churn/2024-06/",
        "created_at": "2024-06-30T12:34:56Z",
        "size_bytes": len(DATA),
        "row_count": 2,
        "column_count": 3,
        "hash": f"sha256:{sha(DATA)}",
        "license": "proprietary",
        "contains_pii": True,
        "compliance_status": {
            "pii_authorized": True,
            "gdpr_consent": True,
            "deletion_mechanism": True,
            "ccpa_disclosure": True,
            "opt_out_mechanism": True,
            "contains_phi": False,
            "has_baa": False,
            "encrypted_at_rest": True,
            "audit_trail": True,
            "access_control": True,
            "encryption": True,
            "audit_logging": True,
            "change_management": True,
        },
        "transformations": [
            {
                "type": "anonymization",
                "timestamp": "2024-06-30T12:00:00Z",
                "operator": "etl-pipeline",
                "description": "hashed customer ids",
            }
        ],
        "source_datasets": ["crm_customers_v3"],
        "schema": {"customer_id": "string", "amount": "float", "churned": "int"},
        "statistics": {"languages": ["en"], "date_range": {"start": "2023-01-01", "end": "2024-05-31"}},
        "quality_checks": {"null_ratio": 0.0, "passed": True},
    }
    r.update(over)
    return r


def gen_mlops():
    base = os.path.join(HERE, "mlops")
    if os.path.isdir(base):
        shutil.rmtree(base)

    def case(name, record, dump=lambda r: json.dumps(r, indent=2), data=True, fname="training_data_metadata.json"):
        d = os.path.join(base, name)
        os.makedirs(d)
        if data:
            write(os.path.join(d, "churn.csv"), DATA)
        write(os.path.join(d, fname), dump(record) + "\n")

    # The field list exactly, `hash` of a file that `source` names locally.
    case("indent2", mlops_record(source="churn.csv"))
    case("compact", mlops_record(source="churn.csv"), dump=lambda r: json.dumps(r, separators=(",", ":")))
    # Remote source: the dataset hash cannot be verified here (said, not skipped).
    case("remote_source", mlops_record(), data=False, fname="dataset_metadata.json")
    case(
        "extra_keys",
        mlops_record(source="churn.csv", team="growth", pipeline_run_id=8812,
                     tags=["churn", "tabular"], owner="growth-analytics@acme.example"),
    )
    nulls = mlops_record(source="churn.csv", license=None, version=None, transformations=None)
    nulls["compliance_status"]["gdpr_consent"] = None
    case("nulls", nulls)
    case(
        "strings",
        mlops_record(source="churn.csv", size_bytes=str(len(DATA)), row_count="2",
                     column_count="3", contains_pii="true", version=3),
    )
    case("bad_strings", mlops_record(source="churn.csv", row_count="about 2", contains_pii="maybe"))
    for i, ts in enumerate([
        "2024-06-30",
        "2024-06-30T12:34:56",
        "2024-06-30T12:34:56.123456",
        "2024-06-30T12:34:56+02:00",
        "2024-06-30 12:34:56.123456",
        "2024-06-30T12:34:56.123Z",
    ]):
        case(f"created_at_{i}", mlops_record(source="churn.csv", created_at=ts))
    case("created_at_bad", mlops_record(source="churn.csv", created_at="06/30/2024"))
    case("hash_bare", mlops_record(source="churn.csv", hash=sha(DATA)))
    case("hash_upper", mlops_record(source="churn.csv", hash="SHA256:" + sha(DATA).upper()))
    case("hash_wrong", mlops_record(source="churn.csv", hash="sha256:" + sha(b"other")))
    case("hash_short", mlops_record(source="churn.csv", hash="sha256:" + sha(DATA)[:40]))
    case("pii_false_contradicted", mlops_record(source="churn.csv", contains_pii=False))
    case("list_of_records", [mlops_record(source="churn.csv")])
    # One unreadable value costs only that value; steps as plain strings; parents by name.
    partial = mlops_record(
        source="churn.csv",
        transformations=["dropped test accounts", "pseudonymised customer ids"],
        source_datasets=[{"name": "crm_customers", "version": "3"}, {"note": "no reference"}],
        statistics={"languages": ["en"], "date_range": {"start": "2024-05-31", "end": "2023-01-01"}},
    )
    partial["compliance_status"]["gdpr_consent"] = "pending"
    case("partial_bad", partial)
    case("size_wrong", mlops_record(source="churn.csv", size_bytes=len(DATA) + 10))


# ----------------------------------------------------------------------------------- Manifests

FILES = {
    "train.csv": b"id,text\n1,hello\n",
    "notes.txt": b"line one\r\nline two\r\n",
    "with space.bin": b"\x00\x01\x02",
}


def gen_manifests():
    base = os.path.join(HERE, "manifests")
    if os.path.isdir(base):
        shutil.rmtree(base)
    names = sorted(FILES)

    def case(name, manifest, cmd, crlf=False, tamper=False):
        d = os.path.join(base, name)
        os.makedirs(d)
        for n, b in FILES.items():
            write(os.path.join(d, n), b)
        out = subprocess.run(cmd + names, cwd=d, check=True, capture_output=True).stdout
        if crlf:
            out = out.replace(b"\n", b"\r\n")
        write(os.path.join(d, manifest), out)
        if tamper:
            write(os.path.join(d, "train.csv"), b"id,text\n1,hello\n2,injected\n")

    case("gnu", "SHA256SUMS", ["sha256sum"])
    case("gnu_binary", "SHA256SUMS", ["sha256sum", "--binary"])
    case("gnu_tag", "SHA256SUMS", ["sha256sum", "--tag"])
    case("shasum", "checksums.sha256", ["shasum", "-a", "256"])
    case("shasum_binary", "checksums.sha256", ["shasum", "-a", "256", "-b"])
    case("shasum_tag", "SHA256SUMS", ["shasum", "-a", "256", "--tag"])
    case("shasum_universal", "checksums.sha256", ["shasum", "-a", "256", "-U"])
    case("windows_crlf", "SHA256SUMS.txt", ["sha256sum"], crlf=True)
    case("gnu_tampered", "SHA256SUMS", ["sha256sum"], tamper=True)
    case("md5sum", "MD5SUMS", ["md5sum"])
    case("generic_sha512", "checksums.txt", ["sha512sum"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dvc3", default=shutil.which("dvc"), help="DVC 3 executable")
    ap.add_argument("--dvc2", default=None, help="DVC 2 executable (dvc/dvc2* are kept as they are without it)")
    a = ap.parse_args()
    if not a.dvc3:
        sys.exit("dvc not found: install it (pip install dvc) or pass --dvc3")
    gen_dvc(a.dvc3, a.dvc2)
    gen_croissant()
    gen_cards()
    gen_mlops()
    gen_manifests()


if __name__ == "__main__":
    main()
