"""Run shellcheck on every `run:` script of action.yml (actionlint reads workflows only).

A `${{ }}` left in a script would reach shellcheck as text; tests/action.rs rejects those."""
import pathlib
import subprocess
import sys
import tempfile

import yaml

action = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
failed = False
with tempfile.TemporaryDirectory() as tmp:
    for i, step in enumerate(action["runs"]["steps"]):
        if "run" not in step:
            continue
        script = pathlib.Path(tmp, f"step{i}.sh")
        script.write_text("#!/usr/bin/env bash\n" + step["run"])
        r = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(script)])
        if r.returncode != 0:
            print(f"shellcheck: step {i} ({step.get('name', '?')}) of {sys.argv[1]}", file=sys.stderr)
            failed = True
sys.exit(1 if failed else 0)
