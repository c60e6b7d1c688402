#!/usr/bin/env python3
"""Precision / recall of ``llmguard scan-prompts`` on the labelled set in testdata/prompts/eval/.

Usage (from the repository root; Python 3 standard library only):

    cargo build --release
    python3 benches/prompts_eval.py [--eval testdata/prompts/eval] [--check] [--json OUT]
                                    [--detect-secrets] [--report FILE] [--misses N]

What it does:
  1. reads every *.jsonl of the eval directory (record fields: testdata/prompts/README.md);
  2. writes each record's text as one JSONL record ``{"text": ...}`` of TMP/input/input-NNN.jsonl,
     CHUNK (50) records per file (llmguard lists at most 1000 findings per rule per file, so one
     huge input could hide false positives of a noisy rule), except records with a ``file_ext``
     (HTML pages), which are written to TMP/input/<n>.<ext>;
  3. runs ``$LLMGUARD scan-prompts TMP/input --format json --fail-on never -q``
     (LLMGUARD defaults to target/release/llmguard; nothing is built);
  4. maps findings back to records by ``location.record`` (or by file name) and ``rule_id``, and
     prints a Markdown table of TP / FP / FN / precision / recall per detector:
       * every PRM rule of rules/catalog.yaml,
       * per family: injection (PRM1xx), hidden (PRM2xx), PII (PRM3xx), secrets (PRM4xx); at family
         level a record counts as positive when it has any label of the family and as predicted when
         any rule of the family fired on it (so PRM101 firing on a PRM102 record is a TP for the
         injection family);
     a rule listed in a record's ``may`` field is ignored on that record (neither TP, FP nor FN);
  5. reports severity mismatches for records with a ``severity`` field (every finding of a labelled
     rule on the record must have that severity);
  6. with ``--check`` exits 1 when a target is missed (TARGETS below): precision >= 0.95 for every
     checked detector; recall >= 0.90 for the injection family, >= 0.97 for each PII rule, the
     secrets family and each secret rule; no severity mismatch.  Injection rules are checked at
     family level only (their per-rule rows are informational), as are the per-rule recalls of the
     hidden family (no recall target was set for hidden text).  Exit 2: the run itself failed;
  7. ``--json OUT`` writes every figure (and the ids of every miss) machine-readably;
  8. ``--detect-secrets`` also compares with Yelp's detect-secrets on the secrets.jsonl +
     negatives.jsonl subset: each text is written to its own .txt file (one shared file with a
     record per line would under-count detect-secrets: it keeps one result per file, type and
     hashed secret, and its GitHub plugin hashes only the "ghp" prefix, so every GitHub token after
     the first would vanish as a duplicate), ``detect-secrets scan --all-files DIR`` is run if it is
     on PATH (nothing is installed: benches/prompts_eval.sh sets up a venv), its results are mapped
     back by file name, and its precision / recall for "this record holds a secret" is printed
     beside llmguard's secrets-family figures on the same records.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAMILIES = {"injection": "PRM1", "hidden": "PRM2", "pii": "PRM3", "secrets": "PRM4"}


def family_of(rule):
    for fam, prefix in FAMILIES.items():
        if rule.startswith(prefix):
            return fam
    return None


# detector name -> (precision target, recall target); None: reported, not checked
def targets_for(detector):
    if detector == "family:injection":
        return 0.95, 0.90
    if detector == "family:hidden":
        return 0.95, None
    if detector == "family:pii":
        return 0.95, None  # checked per rule
    if detector == "family:secrets":
        return 0.95, 0.97
    fam = family_of(detector)
    if fam == "injection":
        return None, None  # counted at family level
    if fam == "hidden":
        return 0.95, None
    if fam in ("pii", "secrets"):
        return 0.95, 0.97
    return None, None


def catalog_rules():
    rules = {}
    path = os.path.join(ROOT, "rules", "catalog.yaml")
    cur = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^- id: (PRM\d{3})\s*$", line)
            if m:
                cur = m.group(1)
                rules[cur] = ""
                continue
            m = re.match(r"^  name: (\S+)", line)
            if m and cur:
                rules[cur] = m.group(1)
                cur = None
    return rules


def load_eval(eval_dir, known):
    records = []
    seen = set()
    files = sorted(glob.glob(os.path.join(eval_dir, "*.jsonl")))
    if not files:
        sys.exit(f"error: no *.jsonl in {eval_dir}")
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for ln, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                r = json.loads(line)
                where = f"{os.path.basename(path)}:{ln}"
                for k in ("id", "text", "labels"):
                    if k not in r:
                        sys.exit(f"error: {where}: missing field {k!r}")
                if r["id"] in seen:
                    sys.exit(f"error: {where}: duplicate id {r['id']}")
                seen.add(r["id"])
                for lab in r["labels"] + r.get("may", []):
                    if lab not in known:
                        sys.exit(f"error: {where}: unknown rule id {lab}")
                r["_file"] = os.path.basename(path)
                r["labels"] = set(r["labels"])
                r["may"] = set(r.get("may", [])) - r["labels"]
                records.append(r)
    return records


# Records per input file. llmguard lists at most 1000 findings per rule per file (the rest are
# counted in a GEN002 note), so a noisy rule on one big input file could hide false positives.
CHUNK = 50


def layout(records):
    """Where each record goes: ({file name: [record index, ...]} for JSONL chunks,
    {file name: record index} for records with a file_ext)."""
    chunks, singles = {}, {}
    n = 0
    for i, r in enumerate(records):
        if r.get("file_ext"):
            singles[f"{i + 1:04d}.{r['file_ext']}"] = i
        else:
            chunks.setdefault(f"input-{n // CHUNK + 1:03d}.jsonl", []).append(i)
            n += 1
    return chunks, singles


def run_llmguard(llmguard, records, tmp):
    """Write the inputs, run llmguard, map its findings to records."""
    chunks, singles = layout(records)
    in_dir = os.path.join(tmp, "input")
    os.makedirs(in_dir, exist_ok=True)
    for name, idxs in chunks.items():
        with open(os.path.join(in_dir, name), "w", encoding="utf-8") as fh:
            for i in idxs:
                fh.write(json.dumps({"text": records[i]["text"]}, ensure_ascii=False) + "\n")
    for name, i in singles.items():
        with open(os.path.join(in_dir, name), "w", encoding="utf-8") as fh:
            fh.write(records[i]["text"])
    cmd = [llmguard, "scan-prompts", in_dir, "--format", "json", "--fail-on", "never", "-q"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        sys.exit(f"error: {' '.join(cmd)} exited {proc.returncode}")
    report = json.loads(proc.stdout)
    return map_findings(report, chunks, singles), report, cmd


def map_findings(report, chunks, singles):
    """Findings by record index, via (file name, location.record) or the file name alone."""
    by_rec = {(name, k + 1): i for name, idxs in chunks.items() for k, i in enumerate(idxs)}
    found = collections.defaultdict(list)
    unmapped = []
    for f in report.get("findings", []):
        loc = f.get("location") or {}
        base = os.path.basename(f.get("path") or loc.get("path") or "")
        idx = singles.get(base)
        if idx is None:
            idx = by_rec.get((base, loc.get("record")))
        if idx is None:
            unmapped.append(f)
        else:
            found[idx].append(f)
    return {"by_record": found, "unmapped": unmapped}


def score(records, fired, rules, subset=None):
    """fired: {record index: set(rule ids)}; returns {detector: counts and lists}."""
    idxs = range(len(records)) if subset is None else subset
    detectors = [f"family:{f}" for f in FAMILIES] + sorted(rules)
    out = {}
    for det in detectors:
        tp = fp = fn = 0
        fps, fns = [], []
        for i in idxs:
            r = records[i]
            got = fired.get(i, set())
            if det.startswith("family:"):
                prefix = FAMILIES[det.split(":", 1)[1]]
                pos = any(x.startswith(prefix) for x in r["labels"])
                # rules of the family that fired and are not excused by `may`
                pred_all = {x for x in got if x.startswith(prefix)}
                pred = bool(pred_all - r["may"]) or (pos and bool(pred_all))
            else:
                if det in r["may"]:
                    continue
                pos = det in r["labels"]
                pred = det in got
            if pos and pred:
                tp += 1
            elif pred:
                fp += 1
                fps.append(r["id"])
            elif pos:
                fn += 1
                fns.append(r["id"])
        p = tp / (tp + fp) if tp + fp else None
        rc = tp / (tp + fn) if tp + fn else None
        pt, rt = targets_for(det)
        fails = []
        if pt is not None and p is not None and p < pt:
            fails.append(f"precision {p:.3f} < {pt}")
        if rt is not None and rc is not None and rc < rt:
            fails.append(f"recall {rc:.3f} < {rt}")
        out[det] = {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": rc,
                    "precision_target": pt, "recall_target": rt, "fails": fails,
                    "false_positives": fps, "false_negatives": fns}
    return out


def fmt(x):
    return "n/a" if x is None else f"{x:.3f}"


def table(scores, rules, title):
    lines = [f"### {title}", "",
             "| detector | TP | FP | FN | precision | recall | targets (P / R) | status |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for det, s in scores.items():
        name = det if det.startswith("family:") else f"{det} {rules.get(det, '')}"
        if s["tp"] + s["fp"] + s["fn"] == 0:
            continue
        pt, rt = s["precision_target"], s["recall_target"]
        tgt = f"{pt if pt is not None else '-'} / {rt if rt is not None else '-'}"
        status = "FAIL: " + "; ".join(s["fails"]) if s["fails"] else ("ok" if (pt or rt) else "info")
        lines.append(f"| {name} | {s['tp']} | {s['fp']} | {s['fn']} | {fmt(s['precision'])} | {fmt(s['recall'])} | {tgt} | {status} |")
    return "\n".join(lines)


def severity_mismatches(records, found):
    out = []
    for i, r in enumerate(records):
        want = r.get("severity")
        if not want:
            continue
        for f in found.get(i, []):
            if f["rule_id"] in r["labels"] and f.get("severity") != want:
                out.append({"id": r["id"], "rule_id": f["rule_id"], "expected": want, "got": f.get("severity")})
    return out


def by_language(records, fired):
    """Injection-family recall per language."""
    rows = {}
    for i, r in enumerate(records):
        if not any(x.startswith("PRM1") for x in r["labels"]):
            continue
        lang = r.get("lang", "?")
        hit = any(x.startswith("PRM1") for x in fired.get(i, set()))
        t = rows.setdefault(lang, [0, 0])
        t[0] += hit
        t[1] += 1
    return rows


# --------------------------------------------------------------------------- detect-secrets

def detect_secrets(records, tmp, fired):
    subset = [i for i, r in enumerate(records) if r["_file"] in ("secrets.jsonl", "negatives.jsonl")]
    # One file per record, not one line per record in a single file: detect-secrets keeps one
    # result per (file, type, hashed secret), and some of its plugins hash a capture group (its
    # GitHub plugin hashes just the "ghp" prefix), so in one shared file every GitHub token after
    # the first would be dropped as a duplicate and detect-secrets would be under-counted.
    rdir = os.path.join(tmp, "ds", "records")
    os.makedirs(rdir, exist_ok=True)
    by_name = {}
    for i in subset:
        name = f"{i + 1:04d}.txt"
        with open(os.path.join(rdir, name), "w", encoding="utf-8") as fh:
            fh.write(records[i]["text"] + "\n")
        by_name[name] = i
    exe = shutil.which("detect-secrets")
    if not exe:
        return {"skipped": "detect-secrets not on PATH (benches/prompts_eval.sh installs it into a venv)"}
    proc = subprocess.run([exe, "scan", "--all-files", "records"], capture_output=True, cwd=os.path.dirname(rdir))
    if proc.returncode != 0:
        return {"skipped": f"detect-secrets exited {proc.returncode}: {proc.stderr.decode(errors='replace')[:300]}"}
    baseline = json.loads(proc.stdout)
    ds_fired = collections.defaultdict(set)
    types = collections.Counter()
    for fname, results in baseline.get("results", {}).items():
        i = by_name.get(os.path.basename(fname))
        if i is None:
            continue
        for res in results:
            ds_fired[i].add(res["type"])
            types[res["type"]] += 1
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()

    def pr(pred_of):
        tp = fp = fn = 0
        fps, fns = [], []
        for i in subset:
            r = records[i]
            pos = any(x.startswith("PRM4") for x in r["labels"])
            pred = pred_of(i)
            if pos and pred:
                tp += 1
            elif pred:
                fp += 1
                fps.append(r["id"])
            elif pos:
                fn += 1
                fns.append(r["id"])
        return {"tp": tp, "fp": fp, "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else None,
                "recall": tp / (tp + fn) if tp + fn else None,
                "false_positives": fps, "false_negatives": fns}
    return {
        "version": version,
        "records": len(subset),
        "positives": sum(1 for i in subset if any(x.startswith("PRM4") for x in records[i]["labels"])),
        "detect_secrets": pr(lambda i: bool(ds_fired.get(i))),
        "llmguard": pr(lambda i: any(x.startswith("PRM4") for x in fired.get(i, set()))),
        "detect_secrets_types": dict(sorted(types.items())),
    }


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="precision/recall of llmguard scan-prompts on the labelled eval set")
    ap.add_argument("--eval", default=os.path.join(ROOT, "testdata", "prompts", "eval"))
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    ap.add_argument("--detect-secrets", action="store_true", help="compare with detect-secrets (if on PATH)")
    ap.add_argument("--report", metavar="FILE",
                    help="score an existing llmguard JSON report of the TMP/input/ files this script writes "
                         "(see --keep) instead of running llmguard; for testing the scorer")
    ap.add_argument("--misses", type=int, default=15, help="list up to N FP/FN ids per detector (default 15)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = ap.parse_args()

    rules = catalog_rules()
    records = load_eval(args.eval, rules)
    llmguard = os.environ.get("LLMGUARD", os.path.join(ROOT, "target", "release", "llmguard"))
    tmp = tempfile.mkdtemp(prefix="llmguard-prm-eval-")
    try:
        if args.report:
            with open(args.report, encoding="utf-8") as fh:
                report = json.load(fh)
            mapped = map_findings(report, *layout(records))
            cmd = ["(report)", args.report]
        else:
            if not (os.path.isfile(llmguard) and os.access(llmguard, os.X_OK)) and not shutil.which(llmguard):
                print(f"error: {llmguard} not found: run 'cargo build --release' first (or set LLMGUARD=path)", file=sys.stderr)
                return 2
            mapped, report, cmd = run_llmguard(llmguard, records, tmp)
        found = mapped["by_record"]
        fired = {i: {f["rule_id"] for f in fs if f.get("rule_id", "").startswith("PRM") and not f.get("suppressed")}
                 for i, fs in found.items()}
        capped = [f for f in mapped["unmapped"] + [x for v in found.values() for x in v] if f.get("rule_id") == "GEN002"]
        other = collections.Counter(f["rule_id"] for fs in found.values() for f in fs if not f["rule_id"].startswith("PRM"))
        scores = score(records, fired, rules)
        sev = severity_mismatches(records, found)
        langs = by_language(records, fired)

        counts = collections.Counter(r["_file"] for r in records)
        print(f"## llmguard scan-prompts on the labelled eval set ({len(records)} records: "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")\n")
        print(f"command: `{' '.join(os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT) else c for c in cmd)}`; "
              f"{sum(len(v) for v in found.values())} findings mapped to records, {len(mapped['unmapped'])} unmapped"
              + (f"; non-PRM findings: {dict(other)}" if other else "") + "\n")
        if capped:
            print(f"**warning: {len(capped)} GEN002 resource-limit finding(s) (e.g. the per-file cap on findings "
                  f"of one rule): some findings may be missing; see --keep, or lower CHUNK in this script**\n")
        print(table(scores, rules, "per detector"))
        print("\n### injection family recall by language\n")
        print("| lang | detected | total | recall |\n|---|---:|---:|---:|")
        for lang, (hit, tot) in sorted(langs.items()):
            print(f"| {lang} | {hit} | {tot} | {hit / tot:.3f} |")
        print("\n### severity mismatches (records with a `severity` field)\n")
        if sev:
            for m in sev:
                print(f"- {m['id']}: {m['rule_id']} reported {m['got']}, expected {m['expected']}")
        else:
            print("none")
        misses = [(d, s) for d, s in scores.items() if s["false_positives"] or s["false_negatives"]]
        if misses and args.misses:
            print("\n### misses (record ids)\n")
            for det, s in misses:
                if s["false_negatives"]:
                    print(f"- {det} FN: {', '.join(s['false_negatives'][:args.misses])}"
                          + (" …" if len(s["false_negatives"]) > args.misses else ""))
                if s["false_positives"]:
                    print(f"- {det} FP: {', '.join(s['false_positives'][:args.misses])}"
                          + (" …" if len(s["false_positives"]) > args.misses else ""))

        ds = None
        if args.detect_secrets:
            ds = detect_secrets(records, tmp, fired)
            print("\n### secrets: llmguard vs detect-secrets (secrets.jsonl + negatives.jsonl)\n")
            if "skipped" in ds:
                print(f"detect-secrets comparison skipped: {ds['skipped']}")
            else:
                print(f"{ds['records']} records, {ds['positives']} with a secret; {ds['version'] and 'detect-secrets ' + ds['version']}\n")
                print("| tool | TP | FP | FN | precision | recall |\n|---|---:|---:|---:|---:|---:|")
                for name in ("llmguard", "detect_secrets"):
                    s = ds[name]
                    print(f"| {name.replace('_', '-')} | {s['tp']} | {s['fp']} | {s['fn']} | {fmt(s['precision'])} | {fmt(s['recall'])} |")
                print(f"\ndetect-secrets plugin hits: {ds['detect_secrets_types']}")

        failed = [f"{d}: {'; '.join(s['fails'])}" for d, s in scores.items() if s["fails"]]
        if sev:
            failed.append(f"{len(sev)} severity mismatch(es)")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"records": len(records), "files": dict(counts), "command": cmd,
                           "llmguard_schema_version": report.get("schema_version"),
                           "unmapped_findings": len(mapped["unmapped"]), "detectors": scores,
                           "injection_recall_by_lang": {k: {"detected": a, "total": b} for k, (a, b) in langs.items()},
                           "severity_mismatches": sev, "detect_secrets": ds, "failed": failed},
                          fh, indent=2, sort_keys=True)
                fh.write("\n")
        if args.check:
            if failed:
                print("\n**targets missed:**\n" + "\n".join(f"- {x}" for x in failed))
                return 1
            print("\nall targets met")
        return 0
    finally:
        if args.keep:
            print(f"\n(temporary files kept in {tmp})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
