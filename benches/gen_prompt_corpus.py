#!/usr/bin/env python3
"""Generate the throughput corpus for ``llmguard scan-prompts`` (benches/prompts_throughput.sh).

Usage (from the repository root; Python 3 standard library only):

    python3 benches/gen_prompt_corpus.py [--out benches/corpus/prompts] [--mb 200] [--seed 20261204]

Deterministic for a given --seed and --mb (same bytes on every run).  It rebuilds ``--out``
(benches/corpus/ is gitignored) with about ``--mb`` MB of mixed text, by share of bytes:

    prose/*.txt        25%  English prose (support articles, stories, notes), ~2 MB files
    docs/*.md          20%  Markdown docs: headings, lists, tables, fenced code blocks
    code/*.txt, *.jinja 10% source code exported as text (Python, Rust, JS, SQL) and prompt templates
    chat/*.jsonl       25%  a chat-format dataset: {"messages": [{"role": ..., "content": ...}]}
    tables/*.csv       10%  CSV exports (tickets, reviews, products)
    web/*.html          5%  HTML pages
    config/*.yaml       3%  YAML configs
    prompts/*.prompt    2%  many small prompt files (2-16 KB), for the per-file cost

About one positive per 100 KB is planted (its text drawn from the positive records of the eval set,
testdata/prompts/gen_eval.py, so every family is represented: injection, hidden text, PII, secrets),
each written in the syntax of its file (a JSON string in JSONL, a quoted field in CSV, ...).
``<out>/../prompts.manifest.json`` (benches/corpus/prompts.manifest.json; outside the scanned directory) lists the files, their
sizes and how many positives each holds.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "testdata", "prompts"))
import gen_eval  # noqa: E402  (the eval set generator: its positive records are planted here)

WORDS = """the a an and or but if then because while when where which who that this these those
system user model data file team customer order account service product update release version
report meeting project policy request response support issue ticket review price shipping
delivery payment invoice store page document article guide note email message question answer
time day week month year morning evening today tomorrow yesterday people company office city
road train flight hotel room menu kitchen garden river mountain weather rain sun wind snow
open close start stop read write send receive check confirm cancel schedule move change keep
make take give find show tell ask help need want like use try call run build test deploy
fix improve reduce increase measure compare explain describe summarise translate plan book
good new old small large quick slow simple clear important main final early late recent
public local internal common useful different available possible likely difficult easy
first second third next last many few several most some every each other same own
in on at by for with from to of about into over after before under between through during
is are was were be been has have had do does did will would can could should may might must
not no only also just very more less often usually always never already still again soon""".split()

TOPICS = ["shipping delays", "the new dashboard", "password resets", "the quarterly report", "the hiking trip",
          "the data pipeline", "the onboarding guide", "the billing system", "the mobile app", "the garden project",
          "model evaluation", "the search index", "the holiday schedule", "the API migration", "the recipe book"]


def sentence(r):
    n = r.randint(6, 22)
    words = [r.choice(WORDS) for _ in range(n)]
    if r.random() < 0.3:
        words.insert(r.randint(0, n), r.choice(TOPICS))
    if r.random() < 0.15:
        words.insert(r.randint(0, n), str(r.randint(2, 2025)))
    s = " ".join(words)
    return s[0].upper() + s[1:] + r.choice([".", ".", ".", "?", "!", ";"])


CODE_SNIPPETS = [
    'def load_config(path):\n    with open(path, encoding="utf-8") as fh:\n        return yaml.safe_load(fh)\n',
    'for i, row in enumerate(rows):\n    if row.get("status") == "done":\n        continue\n    process(row, retries=3)\n',
    'fn parse(input: &str) -> Result<Vec<Token>, Error> {\n    let mut out = Vec::new();\n    for (i, c) in input.char_indices() {\n        out.push(Token::new(i, c));\n    }\n    Ok(out)\n}\n',
    'export async function fetchUser(id) {\n  const res = await fetch(`/api/users/${id}`);\n  if (!res.ok) throw new Error(res.statusText);\n  return res.json();\n}\n',
    'SELECT o.id, o.created_at, c.name\nFROM orders o JOIN customers c ON c.id = o.customer_id\nWHERE o.status = \'open\'\nORDER BY o.created_at DESC\nLIMIT 100;\n',
    'class Cache:\n    def __init__(self, size=128):\n        self.size = size\n        self.items = OrderedDict()\n\n    def get(self, key):\n        if key in self.items:\n            self.items.move_to_end(key)\n        return self.items.get(key)\n',
    'messages = [\n    {"role": "system", "content": "You are a helpful assistant."},\n    {"role": "user", "content": question},\n]\nreply = client.chat(messages=messages, temperature=0.2)\n',
    'impl Default for Settings {\n    fn default() -> Self {\n        Settings { jobs: 4, verbose: false, output: None }\n    }\n}\n',
    'os.system("make clean")  # legacy build step\nsubprocess.run(["git", "status"], check=True)\n',
    'const total = items.reduce((sum, it) => sum + it.price * it.qty, 0);\nconsole.log(`total: ${total.toFixed(2)}`);\n',
]

JINJA = ('{% for message in messages %}{% if message.role == "system" %}System: {{ message.content }}\n'
         '{% elif message.role == "user" %}User: {{ message.content }}\n{% else %}Assistant: {{ message.content }}\n'
         '{% endif %}{% endfor %}Assistant:')


def yaml_str(s):
    """A YAML double-quoted scalar: JSON's escapes, but astral characters as \\UXXXXXXXX (YAML has
    no surrogate-pair escapes)."""
    def astral(m):
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return "\\U%08x" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", astral, json.dumps(s))


class Gen:
    def __init__(self, seed, positives):
        self.r = random.Random(seed)
        self.sentences = [sentence(self.r) for _ in range(20000)]
        self.positives = positives
        self.planted = 0

    def sents(self, k):
        return " ".join(self.r.choice(self.sentences) for _ in range(k))

    def positive(self):
        self.planted += 1
        return self.r.choice(self.positives)

    # Each writer returns a list of text pieces of about `size` bytes, planting positives
    # every ~100 KB.
    def _fill(self, size, piece, plant):
        out, n, next_plant = [], 0, self.r.randint(50_000, 150_000)
        while n < size:
            s = piece()
            if n >= next_plant:
                s = plant(self.positive()) + s
                next_plant += self.r.randint(50_000, 150_000)
            out.append(s)
            n += len(s.encode())
        return out

    def prose(self, size):
        return self._fill(size, lambda: self.sents(self.r.randint(3, 9)) + "\n\n", lambda p: p + "\n\n")

    def markdown(self, size):
        def piece():
            k = self.r.random()
            if k < 0.1:
                return f"## {self.r.choice(TOPICS).capitalize()}\n\n"
            if k < 0.25:
                return "".join(f"- {self.sents(1)}\n" for _ in range(self.r.randint(2, 6))) + "\n"
            if k < 0.4:
                lang = self.r.choice(["python", "rust", "js", "sql"])
                return f"```{lang}\n{self.r.choice(CODE_SNIPPETS)}```\n\n"
            if k < 0.45:
                return "| name | value | notes |\n|---|---|---|\n" + "".join(
                    f"| {self.r.choice(WORDS)} | {self.r.randint(0, 9999)} | {self.sents(1)} |\n" for _ in range(4)) + "\n"
            return self.sents(self.r.randint(2, 7)) + "\n\n"
        return self._fill(size, piece, lambda p: p + "\n\n")

    def code(self, size):
        return self._fill(size, lambda: self.r.choice(CODE_SNIPPETS) + "\n",
                          lambda p: "# " + p.replace("\n", "\n# ") + "\n")

    def chat(self, size):
        def line(extra=None):
            msgs = [{"role": "system", "content": "You are a helpful assistant."}]
            for _ in range(self.r.randint(1, 3)):
                msgs.append({"role": "user", "content": self.sents(self.r.randint(1, 3))})
                msgs.append({"role": "assistant", "content": self.sents(self.r.randint(2, 6))})
            if extra is not None:
                msgs[1]["content"] = extra + " " + msgs[1]["content"]
            return json.dumps({"messages": msgs}, ensure_ascii=False) + "\n"
        out, n, next_plant = [], 0, self.r.randint(50_000, 150_000)
        while n < size:
            s = line(self.positive() if n >= next_plant else None)
            if n >= next_plant:
                next_plant += self.r.randint(50_000, 150_000)
            out.append(s)
            n += len(s.encode())
        return out

    def csv(self, size):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["id", "created", "status", "subject", "body"])
        n, i, next_plant = 0, 0, self.r.randint(50_000, 150_000)
        while n < size:
            i += 1
            body = self.sents(self.r.randint(1, 4))
            if n >= next_plant:
                body = self.positive() + " " + body
                next_plant += self.r.randint(50_000, 150_000)
            w.writerow([i, f"2024-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d}",
                        self.r.choice(["open", "closed", "pending"]), self.r.choice(TOPICS), body])
            n = buf.tell()
        return [buf.getvalue()]

    def html(self, size):
        import html as h
        body = self._fill(size, lambda: f"<p>{h.escape(self.sents(self.r.randint(2, 6)))}</p>\n",
                          lambda p: f"<div class=\"note\">{h.escape(p)}</div>\n")
        return ["<!doctype html>\n<html><head><title>Docs</title></head><body>\n"] + body + ["</body></html>\n"]

    def yaml(self, size):
        def piece():
            return (f"- name: {self.r.choice(WORDS)}-{self.r.randint(1, 999)}\n"
                    f"  enabled: {self.r.choice(['true', 'false'])}\n  retries: {self.r.randint(0, 5)}\n"
                    f"  description: {yaml_str(self.sents(1))}\n")
        return self._fill(size, piece, lambda p: f"- name: planted\n  description: {yaml_str(p)}\n")


def main():
    ap = argparse.ArgumentParser(description="generate the scan-prompts throughput corpus")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "corpus", "prompts"))
    ap.add_argument("--mb", type=float, default=200.0, help="total size in MB (10^6 bytes; default 200)")
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()

    gen_eval.build()
    positives = [r["text"] for name, recs in gen_eval.FILES.items() if name != "negatives"
                 for r in recs if r["labels"]]
    g = Gen(args.seed, positives)
    total = int(args.mb * 1_000_000)
    plan = [  # (dir, extension, writer, share of bytes, file size)
        ("prose", "txt", g.prose, 0.25, 2_000_000),
        ("docs", "md", g.markdown, 0.20, 1_000_000),
        ("code", "txt", g.code, 0.09, 1_000_000),
        ("chat", "jsonl", g.chat, 0.25, 4_000_000),
        ("tables", "csv", g.csv, 0.10, 2_000_000),
        ("web", "html", g.html, 0.05, 500_000),
        ("config", "yaml", g.yaml, 0.03, 300_000),
        ("prompts", "prompt", g.prose, 0.02, 8_000),
    ]
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    manifest = []
    for d, ext, writer, share, fsize in plan:
        os.makedirs(os.path.join(args.out, d), exist_ok=True)
        budget, k = int(total * share), 0
        while budget > 0:
            k += 1
            size = min(budget, fsize if d != "prompts" else g.r.randint(2_000, 16_000))
            before = g.planted
            data = "".join(writer(size)).encode()
            name = f"{d}/{d}-{k:04d}.{ext}"
            with open(os.path.join(args.out, name), "wb") as fh:
                fh.write(data)
            manifest.append({"path": name, "bytes": len(data), "positives": g.planted - before})
            budget -= len(data)
    # prompt templates: real Jinja chat templates, tiny
    os.makedirs(os.path.join(args.out, "templates"), exist_ok=True)
    for k in range(20):
        name = f"templates/chat-{k:02d}.jinja"
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as fh:
            fh.write(JINJA)
        manifest.append({"path": name, "bytes": len(JINJA.encode()), "positives": 0})
    nbytes = sum(m["bytes"] for m in manifest)
    with open(os.path.join(args.out, "..", "prompts.manifest.json"), "w", encoding="utf-8") as fh:
        json.dump({"seed": args.seed, "requested": total, "files": len(manifest), "bytes": nbytes, "positives": g.planted,
                   "entries": manifest}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(manifest)} files, {nbytes / 1e6:.1f} MB, {g.planted} planted positives to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
