"""4. Two worker processes draining one queue file, for every contender (the same work as
benchmark 3, see bench/drain.py): throughput, and whether every item was handled exactly once.
A duplicate is an item handed to a worker a second time (by either worker); a lost item is one
no worker ever handled. Both workers open their queue before the clock starts, then start
together; the time runs until both have found the queue empty.

    python -m bench.workers [--quick] [--json FILE]    (same as python -m bench --only workers)
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import peers
from bench.drain import WORKERS, FakeGateway, Files, build_templates, copy_files
from bench.harness import BenchResult, Comparison, Contender, Sample, Scale, TargetCheck, compare
from bench.payloads import payment_id_of, payment_notification_lines

NAME = "workers"
TITLE = "4. Two worker processes on one file"
PROCESSES = 2
_LABELS = {
    "raw": "raw SQL baseline, 2 processes",
    "mpcheckout": "mpcheckout processor, 2 processes",
    "huey": "huey, 2 processes",
    "persist_queue": "persist-queue, 2 processes",
}
_OPEN_SECONDS, _DRAIN_SECONDS = 60, 600
# fork: the children inherit the pre-parsed gateway instead of rebuilding it.
_CONTEXT = multiprocessing.get_context("fork")


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=20_000, quick=500)
    lines = payment_notification_lines(events)
    expected = {payment_id_of(line) for line in lines}
    gateway = FakeGateway(expected)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        templates = build_templates(Path(folder), lines)
        contenders = [
            _contender(name, templates[name], Path(folder), expected, gateway)
            for name in _LABELS  # the baseline first
            if name in templates
        ]
        title = f"{events:,} payment events, {PROCESSES} processes on one file"
        comparison = compare(title, "events/s", contenders, scale)
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), _notes())


def _contender(
    name: str, template: Files, folder: Path, expected: set[str], gateway: Any
) -> Contender:
    def measure(repetition: int) -> Sample:
        files = copy_files(template, folder, f"{name}-{repetition}")
        handled, elapsed = _race(name, files, gateway)
        return Sample(len(expected) / elapsed, _counts(handled, expected))

    return Contender(name, _LABELS[name], measure)


def _race(kind: str, files: Files, gateway: Any) -> tuple[list[list[str]], float]:
    """Both workers open their queue, wait for each other and the clock, and drain."""
    ready = _CONTEXT.Barrier(PROCESSES + 1)
    results = _CONTEXT.Queue()
    processes = [
        _CONTEXT.Process(target=_work, args=(kind, files, f"w{n}", gateway, ready, results))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=_OPEN_SECONDS)
    started = time.perf_counter()
    handled = [results.get(timeout=_DRAIN_SECONDS) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    failures = [outcome for outcome in handled if isinstance(outcome, str)]
    if failures:
        raise RuntimeError(f"{kind} worker failed: {failures[0]}")
    return handled, elapsed


def _work(kind: str, files: Files, worker_id: str, gateway: Any, ready: Any, results: Any) -> None:
    """A failure is sent back as text (the parent must not wait for a list that never comes)."""
    try:
        worker = WORKERS[kind](files, worker_id, gateway)
        ready.wait(timeout=_OPEN_SECONDS)
        handled = worker.drain()
        worker.close()
        results.put(handled)
    except BaseException:
        results.put(traceback.format_exc())


def _counts(handled: list[list[str]], expected: set[str]) -> dict[str, float]:
    every = [payment_id for one_worker in handled for payment_id in one_worker]
    distinct = set(every)
    return {
        "duplicates": len(every) - len(distinct),
        "lost": len(expected - distinct),
        "smaller_share_pct": round(100 * min(len(h) for h in handled) / max(len(every), 1)),
    }


def _targets(comparison: Comparison) -> list[TargetCheck]:
    ours = comparison.get("mpcheckout")
    duplicates, lost = ours.detail_total("duplicates"), ours.detail_total("lost")
    peers_seen = [
        f"{result.name.replace('_', '-')} {result.detail_total('duplicates'):.0f}/"
        f"{result.detail_total('lost'):.0f}"
        for result in comparison.contenders
        if result.name not in ("mpcheckout", "raw")
    ]
    measured = f"{duplicates:.0f} duplicates, {lost:.0f} lost"
    if peers_seen:
        measured += f" (peers dup/lost: {', '.join(peers_seen)})"
    return [TargetCheck("0 duplicates, 0 lost", measured, duplicates == 0 and lost == 0)]


def _notes() -> list[str]:
    return [
        "duplicates / lost per repetition; smaller_share_pct: the share of items the less busy "
        "worker handled (50 = even split)",
        *peers.missing_peers_note(),
    ]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
