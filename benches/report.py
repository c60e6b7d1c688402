#!/usr/bin/env python3
"""Turn a benches/bench.sh results directory into Markdown tables.

    python3 benches/report.py benches/results/<run>   # prints Markdown, writes report.md

Reads hyperfine's JSON exports (corpus.json, large.json, large-cold.json if
present), the peak-RSS files written by `/usr/bin/time -v` (rss-*.txt) and each
tool's captured output (to count flagged files).  Standard library only.
"""

import json
import os
import re
import statistics
import sys

RES = sys.argv[1] if len(sys.argv) > 1 else "benches/results/latest"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "benches", "corpus")
TOOLS = ("picklescan", "modelscan", "modelaudit", "fickling")
out = []


def p(line=""):
    out.append(line)


def load(name):
    path = os.path.join(RES, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def stats(r):
    times = r["times"]
    codes = sorted(set(r.get("exit_codes") or []))
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": len(times), "codes": codes}


def fmt(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def timing_table(data, ref_name, extra_ratios=()):
    rows = {r["command"]: stats(r) for r in data["results"]}
    base = rows.get(ref_name)
    p("| command | runs | median | min | max | exit codes | median / llmguard median |")
    p("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, s in rows.items():
        ratio = f"{s['median'] / base['median']:.1f}x" if base else "n/a"
        if name == ref_name:
            ratio = "1.0x (reference)"
        p(f"| {name} | {s['runs']} | {fmt(s['median'])} | {fmt(s['min'])} | {fmt(s['max'])} | "
          f"{','.join(map(str, s['codes']))} | {ratio} |")
    p()
    return rows


def rss(name):
    path = os.path.join(RES, f"rss-{name}.txt")
    if not os.path.exists(path):
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- flagged files
def kinds():
    with open(os.path.join(CORPUS, "mixed.manifest.json")) as f:
        return json.load(f)


def common_files():
    root = os.path.join(CORPUS, "mixed-common")
    rels = set()
    for base, _d, files in os.walk(root):
        for f in files:
            rels.add(os.path.relpath(os.path.join(base, f), root))
    return rels


def rel_of(path, files):
    """Map a tool's location string (abs/rel path, maybe ':member' or ' (pos N)') to a corpus file."""
    marker = "mixed-common" + os.sep
    i = path.find(marker)
    rest = path[i + len(marker):] if i >= 0 else path  # modelscan: relative to the scanned dir
    if rest in files:
        return rest
    best = None
    for f in files:  # longest file path that prefixes the location
        if rest.startswith(f) and (best is None or len(f) > len(best)):
            best = f
    return best


def flagged_llmguard(path, files):
    d = json.load(open(path))
    flagged, unsafe = set(), set()
    for a in d.get("artifacts", []):
        r = rel_of(a["path"], files)
        if r and a["verdict"] in ("suspicious", "unsafe"):
            flagged.add(r)
        if r and a["verdict"] == "unsafe":
            unsafe.add(r)
    return flagged, unsafe, d["summary"]["files"]


def flagged_picklescan(path, files):
    text = open(path, errors="replace").read()
    flagged = set()
    for line in text.splitlines():
        if line.endswith(" FOUND") and ("dangerous import" in line or "suspicious" in line):
            r = rel_of(line.split(": ", 1)[0], files)
            if r:
                flagged.add(r)
    m = re.search(r"Scanned files: (\d+)", text)
    return flagged, None, int(m.group(1)) if m else None


def flagged_modelscan(path, files):
    d = json.load(open(path))
    flagged = set()
    for i in d.get("issues", []):
        r = rel_of(i.get("source", ""), files)
        if r:
            flagged.add(r)
    summ = d.get("summary", {})
    scanned = summ.get("scanned", {}).get("total_scanned")
    return flagged, None, scanned


def flagged_modelaudit(path, files):
    d = json.load(open(path))
    flagged, critical = set(), set()
    for i in d.get("issues", []):
        if i.get("severity") not in ("warning", "critical"):
            continue
        r = rel_of(i.get("location") or "", files)
        if r:
            flagged.add(r)
            if i["severity"] == "critical":
                critical.add(r)
    return flagged, critical, d.get("files_scanned")


def flagged_table():
    files = common_files()
    if not files:
        return
    kind = kinds()
    groups = {}
    for f in files:
        groups.setdefault(kind.get(f, "?"), set()).add(f)
    order = [k for k in ("malicious", "malformed", "benign", "synth-benign") if k in groups]
    p("Files of `mixed-common/` each tool flagged, by the manifest kind of the file "
      "(fixtures appear twice: original path and renamed copy):")
    p()
    p("| tool | flagged as | files it reports scanned | "
      + " | ".join(f"{k} ({len(groups[k])})" for k in order) + " | total |")
    p("| --- | --- | ---: | " + " | ".join("---:" for _ in order) + " | ---: |")
    specs = [
        ("llmguard", "llmguard-mixed-common.json", flagged_llmguard,
         "verdict suspicious or unsafe", "verdict unsafe"),
        ("picklescan", "picklescan-mixed-common.txt", flagged_picklescan,
         "a dangerous/suspicious global FOUND", None),
        ("modelscan", "modelscan-mixed-common.json", flagged_modelscan, "any issue", None),
        ("modelaudit", "modelaudit-mixed-common.json", flagged_modelaudit,
         "a warning or critical issue", "a critical issue"),
    ]
    for tool, fname, fn, label, label2 in specs:
        path = os.path.join(RES, fname)
        if not os.path.exists(path):
            p(f"| {tool} | (no output captured) | | " + " | ".join("" for _ in order) + " | |")
            continue
        try:
            flagged, strict, scanned = fn(path, files)
        except Exception as e:  # noqa: BLE001
            p(f"| {tool} | (could not parse output: {type(e).__name__}) | | "
              + " | ".join("" for _ in order) + " | |")
            continue
        for lab, s in ((label, flagged), (label2, strict)):
            if s is None or lab is None:
                continue
            cells = " | ".join(str(len(s & groups[k])) for k in order)
            p(f"| {tool} | {lab} | {scanned if scanned is not None else '?'} | {cells} | {len(s)} |")
    p()


OWN = re.compile(r"^(llmguard|python3?|picklescan|modelscan|modelaudit|fickling|unzip|cat|"
                 r"hyperfine|ps|bash|sh|time|sync|find|sleep|head|tr|cut|kworker.*|kdamond.*|"
                 r"ksoftirqd.*|rcu_.*|jbd2.*|migration.*)$")


def load_summary():
    path = os.path.join(RES, "load.txt")
    if not os.path.exists(path):
        return
    phases, cur = {}, None
    for line in open(path, errors="replace"):
        if "====" in line:
            cur = line.split("====", 1)[1].strip()
            continue
        m = re.match(r"(\S+) load (\S+) \S+ \S+ \| top: (.*)", line)
        if not m or cur is None:
            continue
        ph = phases.setdefault(cur, {"max": 0.0, "n": 0, "other": {}})
        ph["max"] = max(ph["max"], float(m.group(2)))
        ph["n"] += 1
        for item in m.group(3).split(";"):
            parts = item.strip().split(" ", 1)
            if len(parts) == 2 and not OWN.match(parts[1]):
                try:
                    if float(parts[0]) >= 10:
                        ph["other"][parts[1]] = ph["other"].get(parts[1], 0) + 1
                except ValueError:
                    pass
    if not phases:
        return
    p("### Machine load during the timings (load.txt, sampled every 5 s)")
    p()
    p("| phase | samples | max 1-min load | other processes seen using >= 10% CPU (samples) |")
    p("| --- | ---: | ---: | --- |")
    for name, ph in phases.items():
        if name == "done":
            continue
        other = ", ".join(f"{k} ({v})" for k, v in sorted(ph["other"].items(), key=lambda kv: -kv[1]))
        p(f"| {name} | {ph['n']} | {ph['max']:.2f} | {other or 'none'} |")
    p()


def main():
    p(f"Results directory: `{os.path.relpath(RES, REPO)}`")
    p()
    for f in ("machine.txt", "versions.txt"):
        path = os.path.join(RES, f)
        if os.path.exists(path):
            p("```")
            p(open(path).read().rstrip())
            p("```")
            p()
    corpus = load("corpus.json")
    if corpus:
        p("### Corpus (`benches/corpus/mixed-common`, warm page cache)")
        p()
        rows = timing_table(corpus, "llmguard")
        lg = rows.get("llmguard")
        refs = {k: v for k, v in rows.items() if k.split(" ")[0] in TOOLS}
        if lg and refs:
            fastest = min(refs, key=lambda k: refs[k]["median"])
            ratio = refs[fastest]["median"] / lg["median"]
            p(f"Fastest reference tool: **{fastest}**, {fmt(refs[fastest]['median'])} median; "
              f"llmguard is **{ratio:.1f}x** faster (target: >= 20x: "
              f"**{'met' if ratio >= 20 else 'NOT met'}**).")
            j1 = [k for k in rows if k.startswith("llmguard -j 1")]
            if j1:
                r1 = refs[fastest]["median"] / rows[j1[0]]["median"]
                p(f"With one worker thread (`-j 1`; the reference tools are single-threaded) "
                  f"llmguard is **{r1:.1f}x** faster than {fastest}.")
            p()
    for name, title in (("large.json", "1 GB checkpoint (`benches/corpus/large/checkpoint.pt`), warm page cache"),
                        ("large-cold.json", "1 GB checkpoint, cold page cache (caches dropped before every run)")):
        data = load(name)
        if not data:
            continue
        p(f"### {title}")
        p()
        rows = timing_table(data, "llmguard")
        lg = rows.get("llmguard")
        tiny = [k for k in rows if k.startswith("llmguard on a")]
        if tiny:
            t = rows[tiny[0]]["median"]
            p(f"- fixed cost: llmguard takes {fmt(t)} on a 1 KB torch zip, so "
              f"{fmt(lg['median'] - t)} of its {fmt(lg['median'])} depend on the 1 GB file")
        for bname in [k for k in rows if k.startswith("baseline")]:
            r = lg["median"] / rows[bname]["median"]
            extra = ""
            if "data.pkl" in bname:
                extra = f" (target: < 2x: **{'met' if r < 2 else 'NOT met'}**)"
            p(f"- llmguard median / `{bname}` median = **{r:.2f}x**{extra}")
        p()
    fixed = load("fixed.json")
    if fixed:
        p("### Fixed cost: every tool on a 1 KB torch zip (`benches/corpus/large/tiny.pt`), warm page cache")
        p()
        timing_table(fixed, "llmguard")
    rs = [(n, rss(n)) for n in ("llmguard-mixed-common", "llmguard-mixed", "llmguard-large",
                                "picklescan-mixed-common", "modelscan-mixed-common",
                                "picklescan-large", "modelscan-large", "modelaudit-large",
                                "fickling-large")]
    rs = [(n, v) for n, v in rs if v]
    if rs:
        p("### Peak RSS (`/usr/bin/time -v`, one run each)")
        p()
        p("| run | peak RSS |")
        p("| --- | ---: |")
        for n, v in rs:
            p(f"| {n} | {v / 1024:.1f} MiB |")
        p()
    flagged_table()
    load_summary()
    text = "\n".join(out) + "\n"
    with open(os.path.join(RES, "report.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
