#!/usr/bin/env python3
"""List the files of a corpus that abort a reference scanner's *directory* scan.

Run it with the reference tool's own interpreter (benches/.venv/<tool>/bin/python):

    python find_crashers.py picklescan|modelscan DIR

picklescan 1.x and modelscan 0.8 stop the whole directory scan (exit 2, no
summary / no report) at the first file that raises an uncaught exception, so a
timing of `tool DIR` on a corpus holding such a file measures only the files
visited before it.  benches/bench.sh uses this list to build
`benches/corpus/mixed-common/`, the same corpus minus those files, on which every
tool is timed.  Each file is scanned statically by the tool's own API, in one
process; nothing is unpickled.  Prints one path (relative to DIR) a line.
"""

import io
import logging
import os
import sys
from contextlib import redirect_stderr, redirect_stdout


def walk(root):
    for base, _dirs, files in os.walk(root):
        for f in sorted(files):
            yield os.path.join(base, f)


def main():
    tool, root = sys.argv[1], sys.argv[2]
    logging.disable(logging.CRITICAL)
    if tool == "picklescan":
        from picklescan.scanner import scan_file_path as scan
    elif tool == "modelscan":
        from modelscan.modelscan import ModelScan
        from modelscan.settings import DEFAULT_SETTINGS

        def scan(path):
            ModelScan(settings=DEFAULT_SETTINGS).scan(path)
    else:
        sys.exit(f"unknown tool {tool}")
    for path in walk(root):
        sink = io.StringIO()
        try:
            with redirect_stdout(sink), redirect_stderr(sink):
                scan(path)
        except Exception as e:  # noqa: BLE001 - any uncaught exception aborts the CLI's run
            print(os.path.relpath(path, root))
            print(f"  {tool}: {os.path.relpath(path, root)}: {type(e).__name__}: {e}"[:300],
                  file=sys.stderr)


if __name__ == "__main__":
    main()
