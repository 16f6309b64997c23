"""Run a command and write its wall time and peak resident memory to a file:

    python bench/peak_rss.py REPORT_FILE COMMAND...

Why a process in between: Linux carries a process's peak RSS across exec, and CPython starts a
child with vfork, so the child of a big process reports that process's peak as its own (a bench
run that had built a 1,000,000-event store saw `status` "peak" at 138 MB). Started from this small
process instead, the command's figure is its own, with this process's ~10 MB as the floor.
Run as a script (not `-m`): it must work from any folder, importing nothing but the stdlib.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    report, command = Path(argv[0]), argv[1:]
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report.write_text(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kb / 1024}))
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
