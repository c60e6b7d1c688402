#!/usr/bin/env python3
"""Generate the check-lineage fixtures under testdata/lineage/ (stdlib only, deterministic).

    python3 testdata/lineage/gen_fixtures.py

Writes:
  good/                   a complete llmguard lineage record and its data: no finding at all
  rules/LINxxx/positive/  one case per rule that must fire that rule
  rules/LINxxx/negative/  the same case put right: the rule must not fire
                          (a case may hold an llmguard.toml, passed with --config by the test,
                          and a .explicit listing the files the test names instead of the directory)
The hand-written source samples (sources/: a Hugging Face dataset card, a Croissant file, DVC
files, a Git LFS pointer, checksum manifests) are committed as they are, not generated here;
their digests were computed with sha256sum / md5sum.
"""
import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "rules")

DATA = "ticket_id,text,label\n1,printer does not start,hardware\n2,cannot log in,account\n"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def md5(b):
    return hashlib.md5(b).hexdigest()


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)


def record(files, **kw):
    r = {
        "lineage_version": 1,
        "id": "support-tickets",
        "name": "Support tickets",
        "version": "2024.06",
        "description": "Support tickets with their category, for ticket routing.",
        "source": "https://huggingface.co/datasets/acme/support-tickets",
        "owner": "ML platform team",
        "contact": "ml-platform@acme.test",
        "created_at": "2024-06-30",
        "collection_period": {"start": "2023-01-01", "end": "2024-05-31"},
        "creation_method": "exported from the ticketing system and labelled by the support team",
        "intended_use": {"purpose": "training the ticket router", "commercial": False},
        "license": "CC-BY-4.0",
        "contains_pii": False,
        "transformations": [
            {
                "type": "filter",
                "timestamp": "2024-06-01",
                "operator": "etl-job-42",
                "description": "dropped empty tickets",
            }
        ],
        "files": files,
    }
    for k, v in kw.items():
        if v is None:
            r.pop(k, None)
        else:
            r[k] = v
    return r


def dataset(d, data=DATA, name="train.csv", meta="dataset_metadata.json", entry=None, **kw):
    """A dataset directory: one data file and its lineage record."""
    b = data.encode() if isinstance(data, str) else data
    write(os.path.join(d, name), b)
    e = {"path": name, "sha256": sha(b), "size_bytes": len(b)}
    if entry is not None:
        e = entry(e)
    write(os.path.join(d, meta), json.dumps(record([e], **kw), indent=2) + "\n")


def case(rule, kind):
    d = os.path.join(RULES, rule, kind)
    os.makedirs(d, exist_ok=True)
    return d


def pii_record(**controls):
    c = {
        "gdpr_consent": True,
        "deletion_mechanism": True,
        "ccpa_disclosure": True,
        "opt_out_mechanism": True,
    }
    c.update(controls)
    return dict(
        contains_pii=True,
        personal_data={
            "categories": ["customer names"],
            "legal_basis": "contract (support terms, section 4)",
            "retention": "24 months after collection",
            "handling": "pseudonymised",
        },
        compliance_status=c,
    )


def croissant(url, license="CC-BY-4.0"):
    return {
        "@context": {"@language": "en", "@vocab": "https://schema.org/", "cr": "http://mlcommons.org/croissant/"},
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": "Support tickets",
        "url": url,
        "license": license,
    }


def card(license):
    return (
        "---\n"
        f"license: {license}\n"
        "pretty_name: Support tickets\n"
        "---\n\n# Dataset Card for Support tickets\n\n"
        "- **Curated by:** ML platform team\n"
    )


def main():
    if os.path.isdir(RULES):
        shutil.rmtree(RULES)
    good = os.path.join(HERE, "good")
    if os.path.isdir(good):
        shutil.rmtree(good)
    dataset(good)

    # LIN001 unparsable metadata
    write(os.path.join(case("LIN001", "positive"), "dataset_metadata.json"), '{\n  "name": "x",\n  "version": \n}\n')
    dataset(case("LIN001", "negative"))
    # LIN002 path outside the root
    dataset(case("LIN002", "positive"), entry=lambda e: {**e, "path": "../../../../../../../../../etc/passwd"})
    dataset(case("LIN002", "negative"))
    # LIN003 invalid value
    dataset(case("LIN003", "positive"), contains_pii="maybe")
    dataset(case("LIN003", "negative"))
    # LIN004 unknown field
    dataset(case("LIN004", "positive"), licence="CC-BY-4.0")
    dataset(case("LIN004", "negative"))
    # LIN010 required field missing
    dataset(case("LIN010", "positive"), owner=None, contact=None)
    dataset(case("LIN010", "negative"))
    # LIN005 another tool's metadata.json named explicitly (`.explicit` lists what the test names);
    # the negative is the same file found in a directory scan, which skips it
    for kind in ("positive", "negative"):
        d = case("LIN005", kind)
        write(os.path.join(d, "metadata.json"), '{"model": "resnet", "epochs": 3}\n')
        if kind == "positive":
            write(os.path.join(d, ".explicit"), "metadata.json\n")
    # LIN011 data described only by a checksum manifest; the negative has a lineage record too
    for kind in ("positive", "negative"):
        d = case("LIN011", kind)
        write(os.path.join(d, "train.csv"), DATA)
        write(os.path.join(d, "SHA256SUMS"), f"{sha(DATA.encode())}  train.csv\n")
        if kind == "negative":
            dataset(d)
    # LIN020 source not approved (hosts compared parsed, never by substring)
    cfg = '[lineage]\napproved_sources = ["huggingface.co"]\n'
    d = case("LIN020", "positive")
    dataset(d, source="https://evil.example/?huggingface.co")
    write(os.path.join(d, "llmguard.toml"), cfg)
    d = case("LIN020", "negative")
    dataset(d)
    write(os.path.join(d, "llmguard.toml"), cfg)
    # LIN021 two sources disagree on the origin
    d = case("LIN021", "positive")
    dataset(d)
    write(os.path.join(d, "croissant.json"), json.dumps(croissant("https://example.org/tickets"), indent=2) + "\n")
    d = case("LIN021", "negative")
    dataset(d)
    write(
        os.path.join(d, "croissant.json"),
        json.dumps(croissant("https://huggingface.co/datasets/acme/support-tickets"), indent=2) + "\n",
    )
    # LIN030-LIN033 licences
    dataset(case("LIN030", "positive"), license="Creative Commons")
    dataset(case("LIN030", "negative"))
    dataset(case("LIN031", "positive"), license="GPL-3.0")
    dataset(case("LIN031", "negative"), license="GPL-3.0-only")
    dataset(case("LIN032", "positive"), license="other")
    d = case("LIN032", "negative")
    dataset(d, license="other")
    write(os.path.join(d, "llmguard.toml"), '[lineage]\napproved_licenses = ["other", "CC-BY-4.0"]\n')
    dataset(case("LIN033", "positive"), license="CC-BY-NC-4.0", intended_use={"purpose": "product", "commercial": True})
    dataset(case("LIN033", "negative"), license="CC-BY-NC-4.0")
    # LIN034 licences disagree between a record and the card beside it
    d = case("LIN034", "positive")
    dataset(d)
    write(os.path.join(d, "README.md"), card("cc-by-nc-4.0"))
    d = case("LIN034", "negative")
    dataset(d)
    write(os.path.join(d, "README.md"), card("cc-by-4.0"))
    # LIN040-LIN043 frameworks
    dataset(case("LIN040", "positive"), **pii_record(deletion_mechanism=False))
    dataset(case("LIN040", "negative"), **pii_record())
    dataset(case("LIN041", "positive"), **pii_record(opt_out_mechanism=None))
    dataset(case("LIN041", "negative"), **pii_record())
    phi = {"contains_phi": True, "has_baa": False, "encrypted_at_rest": True, "audit_trail": True}
    dataset(case("LIN042", "positive"), compliance_status=phi)
    dataset(case("LIN042", "negative"), compliance_status={**phi, "has_baa": True})
    soc2 = '[lineage]\nframeworks = { soc2 = true }\n'
    d = case("LIN043", "positive")
    dataset(d, compliance_status={"access_control": True, "encryption": True, "audit_logging": True})
    write(os.path.join(d, "llmguard.toml"), soc2)
    d = case("LIN043", "negative")
    dataset(
        d,
        compliance_status={"access_control": True, "encryption": True, "audit_logging": True, "change_management": True},
    )
    write(os.path.join(d, "llmguard.toml"), soc2)
    # LIN050 contradiction between contains_pii and the schema
    dataset(case("LIN050", "positive"), schema={"ticket_id": "int", "customer_email": "str", "text": "str"})
    dataset(case("LIN050", "negative"), schema={"ticket_id": "int", "text": "str", "label": "str"})
    # LIN051 safeguards
    p = pii_record()
    p["personal_data"] = {k: v for k, v in p["personal_data"].items() if k != "retention"}
    dataset(case("LIN051", "positive"), **p)
    dataset(case("LIN051", "negative"), **pii_record())
    # LIN052 PII found in a sample of data declared without personal data
    dataset(case("LIN052", "positive"), data=DATA + "3,please call back maria.lopez@gmail.com,account\n")
    dataset(case("LIN052", "negative"))
    # LIN060-LIN065 integrity
    dataset(case("LIN060", "positive"), entry=lambda e: {**e, "path": "missing.csv"})
    dataset(case("LIN060", "negative"))
    dataset(case("LIN061", "positive"), entry=lambda e: {**e, "sha256": sha(b"other bytes")})
    dataset(case("LIN061", "negative"))
    dataset(case("LIN062", "positive"), entry=lambda e: {"path": e["path"]})
    dataset(case("LIN062", "negative"))
    dataset(case("LIN063", "positive"), entry=lambda e: {**e, "sha256": "sha256:abc123"})
    dataset(case("LIN063", "negative"))
    real = b"parquet bytes stand-in\n" * 50
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha(real)}\nsize {len(real)}\n".encode()
    dataset(case("LIN064", "positive"), data=pointer, name="train.parquet",
            entry=lambda e: {"path": e["path"], "sha256": sha(real), "size_bytes": len(real)})
    dataset(case("LIN064", "negative"), data=real, name="train.parquet")
    d = case("LIN065", "positive")
    dataset(d)
    write(os.path.join(d, "extra_rows.csv"), "3,unlisted,other\n")
    dataset(case("LIN065", "negative"))
    # LIN066 a DVC directory whose listing is not in the cache; the negative has the cache
    files = {"a.txt": b"alpha\n", "b.txt": b"beta\n"}
    listing = json.dumps([{"md5": md5(v), "relpath": k} for k, v in sorted(files.items())]).encode()
    dir_md5 = md5(listing)
    dvc = f"outs:\n- md5: {dir_md5}.dir\n  size: 11\n  nfiles: 2\n  hash: md5\n  path: images\n"
    for kind in ("positive", "negative"):
        d = case("LIN066", kind)
        for k, v in files.items():
            write(os.path.join(d, "images", k), v)
        write(os.path.join(d, "images.dvc"), dvc)
    write(os.path.join(case("LIN066", "negative"), ".dvc", "cache", "files", "md5", dir_md5[:2], dir_md5[2:] + ".dir"), listing)
    # LIN070-LIN072 the parent chain
    dataset(os.path.join(case("LIN070", "positive")), source_datasets=["crm-export-2023"])
    d = case("LIN070", "negative")
    dataset(os.path.join(d, "raw"), id="crm-export-2023", name="CRM export")
    dataset(os.path.join(d, "derived"), source_datasets=["crm-export-2023"])
    d = case("LIN071", "positive")
    dataset(os.path.join(d, "a"), id="a", name="A", source_datasets=["b"])
    dataset(os.path.join(d, "b"), id="b", name="B", source_datasets=["a"])
    d = case("LIN071", "negative")
    dataset(os.path.join(d, "a"), id="a", name="A", source_datasets=["b"])
    dataset(os.path.join(d, "b"), id="b", name="B")
    d = case("LIN072", "positive")
    dataset(os.path.join(d, "raw"), id="raw-reviews", name="Raw reviews", license="CC-BY-SA-4.0")
    dataset(os.path.join(d, "derived"), license="MIT", source_datasets=[{"path": "../raw/dataset_metadata.json"}])
    d = case("LIN072", "negative")
    dataset(os.path.join(d, "raw"), id="raw-reviews", name="Raw reviews", license="CC-BY-SA-4.0")
    dataset(os.path.join(d, "derived"), license="CC-BY-SA-4.0", source_datasets=[{"path": "../raw/dataset_metadata.json"}])
    # LIN080-LIN084 hygiene
    dataset(case("LIN080", "positive"), source="https://svc:hunter2@huggingface.co/datasets/acme/support-tickets")
    dataset(case("LIN080", "negative"))
    dataset(case("LIN081", "positive"), source="http://huggingface.co/datasets/acme/support-tickets")
    dataset(case("LIN081", "negative"))
    dataset(case("LIN082", "positive"), created_at="2099-01-01")
    dataset(case("LIN082", "negative"))
    dataset(case("LIN083", "positive"), collection_period={"start": "2024-05-31", "end": "2023-01-01"})
    dataset(case("LIN083", "negative"))
    d = case("LIN084", "positive")
    dataset(os.path.join(d, "a"))
    dataset(os.path.join(d, "b"))
    d = case("LIN084", "negative")
    dataset(os.path.join(d, "a"))
    dataset(os.path.join(d, "b"), id="support-tickets-eu")


if __name__ == "__main__":
    main()
