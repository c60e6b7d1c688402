#!/usr/bin/env python3
"""Detection table: llmguard against picklescan, modelscan and modelaudit on the red-team corpus
written by benches/redteam_gen.py (crafted malicious files, benign files from real producers).

    python3 -m venv /tmp/rt-venv && /tmp/rt-venv/bin/pip install picklescan modelscan modelaudit \
        numpy joblib scikit-learn pandas onnx gguf
    /tmp/rt-venv/bin/python benches/redteam_gen.py /tmp/rt/set
    /tmp/rt-venv/bin/python benches/redteam_compare.py /tmp/rt/set target/release/llmguard [--skip-modelaudit]

Nothing is loaded: every scanner here reads the files statically. A file counts as *detected*
by llmguard when it has a finding at `high` or above (the default `--fail-on`), and at
`medium` or above in the second column; by picklescan when it reports a dangerous global or a
scan error; by modelscan when it reports an issue; by modelaudit when it reports an issue at
`warning` or above (or `critical`, second column). Prints a Markdown table per file and the
totals (malicious detected, benign flagged).
"""

import json
import os
import subprocess
import sys

SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def llmguard(root, binary):
    out = subprocess.run([binary, "scan-model", root, "--format", "json", "--no-progress", "--fail-on", "never"],
                         capture_output=True, text=True, check=True).stdout
    per = {}
    for f in json.loads(out)["findings"]:
        rel = os.path.relpath(f["path"], root)
        per[rel] = max(per.get(rel, -1), SEV[f["severity"]])
    return per


def picklescan(root, files):
    from picklescan.scanner import scan_file_path
    per = {}
    for rel in files:
        try:
            r = scan_file_path(os.path.join(root, rel))
            per[rel] = (r.issues_count > 0, r.scan_err)
        except Exception:  # noqa: BLE001
            per[rel] = (False, True)
    return per


def modelscan(root, venv_bin):
    out = "/tmp/redteam_modelscan.json"
    subprocess.run([os.path.join(venv_bin, "modelscan"), "-p", root, "-r", "json", "-o", out],
                   capture_output=True, text=True)
    per = {}
    try:
        d = json.load(open(out))
    except (OSError, ValueError):
        return per
    for i in d.get("issues", []):
        src = i.get("source", "")
        rel = os.path.relpath(src.split(":")[0], root) if src.startswith(root) else src
        per[rel] = True
    return per


def modelaudit(root, files, timeout=60):
    """In one process (its CLI start-up costs seconds per file), telemetry off."""
    import signal
    os.environ["PROMPTFOO_DISABLE_TELEMETRY"] = "1"
    import logging
    logging.disable(logging.CRITICAL)
    from modelaudit.core import scan_model_directory_or_file

    def alarm(_sig, _frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, alarm)
    per = {}
    for rel in files:
        signal.alarm(timeout)
        try:
            r = scan_model_directory_or_file(os.path.join(root, rel))
            d = r if isinstance(r, dict) else r.model_dump()
            sevs = [str(i.get("severity", "")).lower().split(".")[-1] for i in d.get("issues", [])]
            per[rel] = ("critical" in sevs, any(s in ("critical", "warning") for s in sevs))
        except TimeoutError:
            per[rel] = ("timeout", "timeout")
        except Exception:  # noqa: BLE001
            per[rel] = (False, False)
        finally:
            signal.alarm(0)
    return per


def main():
    root, binary = os.path.abspath(sys.argv[1]), sys.argv[2]
    skip_ma = "--skip-modelaudit" in sys.argv
    venv_bin = os.path.dirname(sys.executable)
    tech = json.load(open(os.path.join(root, "techniques.json")))
    files = sorted(t for t in tech if not t.endswith(".data"))
    lg = llmguard(root, binary)
    ps = picklescan(root, files)
    ms = modelscan(root, venv_bin)
    ma = {} if skip_ma else modelaudit(root, files)
    cols = ["llmguard>=high", "llmguard>=medium", "picklescan", "modelscan", "modelaudit>=warning", "modelaudit critical"]
    rows = []
    for rel in files:
        s = lg.get(rel, -1)
        p = ps.get(rel, (False, False))
        a = ma.get(rel, (None, None))
        rows.append((rel, tech[rel], [s >= 3, s >= 2, bool(p[0] or p[1]), bool(ms.get(rel)), a[1], a[0]]))
    print("| file | technique | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    mark = lambda v: "timeout" if v == "timeout" else ("-" if v is None else ("Y" if v else "."))  # noqa: E731
    for rel, t, v in rows:
        print(f"| {rel} | {t} | " + " | ".join(mark(x) for x in v) + " |")
    for kind in ("malicious", "benign"):
        sel = [v for rel, _, v in rows if rel.startswith(kind + "/")]
        counts = [sum(1 for v in sel if v[i] is True) for i in range(len(cols))]
        what = "detected" if kind == "malicious" else "flagged"
        print(f"\n**{kind}** ({len(sel)} files), {what}: " + ", ".join(f"{c} {n}" for c, n in zip(cols, counts)))


if __name__ == "__main__":
    main()
