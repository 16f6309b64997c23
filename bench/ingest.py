"""1. Batch ingest of one JSON Lines file: `mpcheckout ingest` (the CLI in a subprocess, as a
user runs it, start-up included) vs a raw `executemany` of the same rows into the same schema
(the baseline), at 100,000 and 1,000,000 events. The CLI's peak memory (RSS) is its own, read
through bench/peak_rss.py: ingest must stream, not load the file.

    python -m bench.ingest [--quick] [--json FILE]    (same as python -m bench --only ingest)
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    at_least,
    below,
    compare,
)
from bench.payloads import write_jsonl
from mpcheckout.store import open_store

NAME = "ingest"
TITLE = "1. Batch ingest of a JSON Lines file"
PEAK_RSS_TARGET_MB = 150
PEAK_RSS_SCRIPT = Path(__file__).with_name("peak_rss.py")
_RAW_INSERT = (
    "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, payload, "
    "received_via, next_attempt_at, received_at, updated_at) VALUES "
    "(?, ?, ?, ?, ?, 'file', '2026-01-01', '2026-01-01', '2026-01-01') "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)


def run(scale: Scale) -> BenchResult:
    sizes = scale.pick(full=(100_000, 1_000_000), quick=(2_000,))
    comparisons = [_compare_size(events, scale) for events in sizes]
    return BenchResult(NAME, TITLE, comparisons, _targets(comparisons[-1]), _notes())


def _compare_size(events: int, scale: Scale) -> Comparison:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        jsonl = write_jsonl(Path(folder) / "events.jsonl", events)
        size = jsonl.stat().st_size
        contenders = [
            Contender("raw", "raw executemany", lambda _: _rate(events, _raw(jsonl, folder))),
            Contender("mpcheckout", "mpcheckout ingest (CLI)", lambda _: _cli(jsonl, folder)),
        ]
        title = f"{events:,} events, {size / 1e6:.0f} MB, {size / events:.0f} bytes each"
        return compare(title, "events/s", contenders, scale)


def _rate(events: int, seconds: float) -> Sample:
    return Sample(events / seconds, {"seconds": seconds})


def _fresh_database(folder: str, name: str) -> Path:
    database = Path(folder) / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    open_store(str(database)).close()  # same schema and pragmas as the CLI gets
    return database


def _raw(jsonl: Path, folder: str) -> float:
    """The floor: each line's key fields read with json.loads (no validation), rows streamed
    into one executemany in one transaction."""
    database = _fresh_database(folder, "raw.db")
    started = time.perf_counter()
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    with jsonl.open("rb") as lines:
        conn.executemany(_RAW_INSERT, _raw_rows(lines))
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _raw_rows(lines) -> Iterator[tuple[str, str, str | None, str, str]]:
    for line in lines:
        body = json.loads(line)
        topic = body.get("type") or body.get("topic")
        resource_id = str((body.get("data") or {}).get("id") or body.get("resource"))
        key = f"{body.get('id')}|{topic}|{body.get('action')}|{resource_id}"
        yield key, topic, body.get("action"), resource_id, line.decode()


def _cli(jsonl: Path, folder: str) -> Sample:
    database = Path(folder) / "cli.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    command = [sys.executable, "-m", "mpcheckout", "--db", str(database), "ingest", str(jsonl)]
    summary, seconds, peak_mb = run_measured([*command, "--json"], Path(folder) / "out.json")
    events = summary["received"]
    details = {"seconds": seconds, "peak_rss_mb": peak_mb, "duplicates": summary["duplicates"]}
    return Sample(events / seconds, details)


def run_measured(command: list[str], output: Path) -> tuple[dict, float, float]:
    """Run a command to completion, in `output`'s folder (where no mpcheckout.toml of the
    caller's can be picked up); its JSON output, wall seconds and peak RSS in MB."""
    report = output.with_suffix(".measured")
    wrapped = [sys.executable, str(PEAK_RSS_SCRIPT), str(report), *command]
    with output.open("wb") as sink:
        completed = subprocess.run(
            wrapped, stdout=sink, stderr=subprocess.PIPE, cwd=output.parent, check=False
        )
    if completed.returncode != 0:
        errors = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{command[3:]} failed ({completed.returncode}): {errors}")
    measured = json.loads(report.read_text())
    return json.loads(output.read_bytes()), measured["seconds"], measured["peak_rss_mb"]


def _targets(largest: Comparison) -> list[TargetCheck]:
    ours = largest.get("mpcheckout")
    peak = max(detail["peak_rss_mb"] for detail in ours.details)
    return [
        at_least("≥ 0.4× raw executemany", ours.median_ratio, 0.4, f"{ours.median_ratio:.2f}×"),
        at_least("≥ 50,000 events/s", ours.median, 50_000, f"{ours.median:,.0f}/s"),
        below(f"< {PEAK_RSS_TARGET_MB} MB peak RSS", peak, PEAK_RSS_TARGET_MB, f"{peak:.0f} MB"),
    ]


def _notes() -> list[str]:
    return [
        "targets judged on the largest size; the CLI's time includes Python start-up",
        "peak_rss_mb: the CLI process's own peak resident memory (see bench/peak_rss.py)",
    ]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
