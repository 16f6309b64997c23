"""8. Start-up: how long a short command takes as a whole process, on a small store (a few
hundred events, made through `mpcheckout ingest`). The baseline is `sqlite-utils tables` on the
same file, the smallest thing another Python CLI does with a SQLite file; `python -c pass` shows
the interpreter's own floor. Each repetition of a contender is the median of several runs, and
contenders alternate, so a burst of load elsewhere falls on all of them alike.

    python -m bench.startup [--quick] [--json FILE]    (same as python -m bench --only startup)

To compare with other code in the same run, point BENCH_STARTUP_BEFORE at a folder that holds
that code's `mpcheckout` package (e.g. `git archive <commit> mpcheckout | tar -x -C ../before`):
the three commands then also run with it first on PYTHONPATH, as "before: …".
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.harness import BenchResult, Comparison, Contender, Sample, Scale, TargetCheck, compare
from bench.payloads import write_jsonl

NAME = "startup"
BEFORE_VARIABLE = "BENCH_STARTUP_BEFORE"
TITLE = "8. Start-up of short commands"
EVENTS = 300
RUNS_PER_REPETITION = 9
QUICK_RUNS_PER_REPETITION = 1


def run(scale: Scale) -> BenchResult:
    runs = scale.pick(full=RUNS_PER_REPETITION, quick=QUICK_RUNS_PER_REPETITION)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        store = Path(folder) / "small.db"
        _build(store, Path(folder))
        environment = _clean_environment()
        before = os.environ.get(BEFORE_VARIABLE)
        _compile_bytecode(_package_folder(), *([Path(before) / "mpcheckout"] if before else []))

        def timed(
            name: str, label: str, command: Sequence[str], env: dict[str, str] = environment
        ) -> Contender:
            return Contender(name, label, lambda _: _median_run(command, folder, env, runs))

        mpcheckout = [sys.executable, "-m", "mpcheckout", "--db", str(store)]
        commands = {
            "help": ("mpcheckout --help", [*mpcheckout[:3], "--help"]),
            "status": ("mpcheckout status --json", [*mpcheckout, "status", "--json"]),
            "events": ("mpcheckout events list --json", [*mpcheckout, "events", "list", "--json"]),
        }
        contenders = [
            timed("sqlite_utils", "sqlite-utils tables", _sqlite_utils(store)),
            timed("python", "python -c pass", [sys.executable, "-c", "pass"]),
        ]
        contenders += [timed(name, label, command) for name, (label, command) in commands.items()]
        if before:
            old = {**environment, "PYTHONPATH": before}
            for name, (label, command) in commands.items():
                contenders.append(timed(f"{name}_before", f"before: {label}", command, old))
        title = f"whole-process CPU time, {EVENTS} events, median of {runs} runs per repetition"
        comparison = compare(title, "ms CPU", contenders, scale, higher_is_better=False)
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), _NOTES)


def _build(store: Path, folder: Path) -> None:
    """A store as a user makes one: a file of notifications through `mpcheckout ingest`."""
    source = write_jsonl(folder / "events.jsonl", EVENTS)
    command = [sys.executable, "-m", "mpcheckout", "--db", str(store), "ingest", str(source)]
    subprocess.run(command, cwd=folder, env=_clean_environment(), capture_output=True, check=True)


def _package_folder() -> Path:
    import mpcheckout

    return Path(mpcheckout.__file__).parent


def _compile_bytecode(*packages: Path) -> None:
    """Byte-compile the code under test first, as `pip install` does for sqlite-utils. Without
    it an editable install run with PYTHONDONTWRITEBYTECODE=1 (as on the machine below)
    compiles every mpcheckout module from source in every process: for `status --json` 0.38×
    sqlite-utils' own instruction count, which no user with a normal install pays."""
    for package in packages:
        command = [sys.executable, "-m", "compileall", "-q", str(package)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _sqlite_utils(store: Path) -> list[str]:
    return [sys.executable, "-m", "sqlite_utils", "tables", str(store)]


def _clean_environment() -> dict[str, str]:
    """No MPCHECKOUT_* setting of the caller's may change what the commands do."""
    return {name: value for name, value in os.environ.items() if not name.startswith("MPCHECKOUT_")}


def _median_run(command: Sequence[str], folder: str, environment: dict[str, str], runs: int):
    timings = [_once(command, folder, environment) for _ in range(runs)]
    cpu = statistics.median(cpu_ms for cpu_ms, _ in timings)
    return Sample(cpu, {"wall_ms": statistics.median(wall_ms for _, wall_ms in timings)})


def _once(command: Sequence[str], folder: str, environment: dict[str, str]) -> tuple[float, float]:
    """CPU time (user + system) of the whole process and its wall time, in ms. CPU time is the
    figure compared: on a shared 2-core machine a command's wall time doubles with the load
    from elsewhere, its CPU time barely moves."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, env=environment, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu * 1000, wall * 1000


def _targets(comparison: Comparison) -> list[TargetCheck]:
    checks = []
    for name in ("help", "status", "events"):
        result = comparison.get(name)
        ratio = result.median_ratio
        target = f"≤ 1.0× sqlite-utils tables: {result.label}"
        wall = result.detail_median("wall_ms")
        shown = f"{ratio:.2f}× ({result.median:.0f} ms CPU, {wall:.0f} ms wall)"
        checks.append(TargetCheck(target, shown, ratio <= 1.0))
    return checks


_NOTES = [
    "compared: CPU time (user + system) of each process; wall_ms beside it is the elapsed time",
    "every command runs as `python -m …` from the same interpreter, in a folder with no config",
    "python -c pass is the interpreter's own start-up: no command can go below it",
]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
