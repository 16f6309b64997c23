"""Batch ingest of one JSON Lines file: `mpcheckout ingest` (the CLI, in a subprocess, as a user
runs it) vs a raw `executemany` of the same rows into the same schema, measured in one run.

    python -m bench.ingest [--events 100000] [--repetitions 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.payloads import write_jsonl
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.store import open_store


def run_cli(jsonl: Path, database: Path) -> tuple[float, dict, int]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "mpcheckout", "--db", str(database), "ingest", str(jsonl), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return elapsed, json.loads(completed.stdout), usage


def run_raw(jsonl: Path, database: Path) -> float:
    """The floor: rows prepared as cheaply as possible (no validation), one executemany."""
    open_store(str(database)).close()  # same schema, same pragmas
    started = time.perf_counter()
    rows = []
    with jsonl.open("rb") as handle:
        for line in handle:
            body = json.loads(line)
            topic = body.get("type") or body.get("topic")
            resource_id = str((body.get("data") or {}).get("id") or body.get("resource"))
            key = f"{body.get('id')}|{topic}|{body.get('action')}|{resource_id}"
            rows.append((key, topic, body.get("action"), resource_id, line.decode()))
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, payload, "
        "received_via, next_attempt_at, received_at, updated_at) VALUES "
        "(?, ?, ?, ?, ?, 'file', '2026-01-01', '2026-01-01', '2026-01-01') "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        rows,
    )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def run_parse_only(jsonl: Path) -> float:
    started = time.perf_counter()
    with jsonl.open("rb") as handle:
        for line in handle:
            parse_notification(RawRequest(body=line.rstrip(b"\n")))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        jsonl = write_jsonl(Path(folder) / "events.jsonl", args.events)
        size_mb = jsonl.stat().st_size / 1e6
        print(
            f"{args.events:,} notifications, {size_mb:.1f} MB, "
            f"{jsonl.stat().st_size / args.events:.0f} bytes each"
        )
        cli_times, raw_times, summary, peak = [], [], {}, 0
        for repetition in range(args.repetitions):
            raw_times.append(run_raw(jsonl, Path(folder) / f"raw{repetition}.db"))
            elapsed, summary, peak = run_cli(jsonl, Path(folder) / f"cli{repetition}.db")
            cli_times.append(elapsed)
        parse = run_parse_only(jsonl)
    cli_median, raw_median = statistics.median(cli_times), statistics.median(raw_times)
    print(
        f"mpcheckout ingest (CLI, incl. start-up): median {cli_median:.2f} s "
        f"[{min(cli_times):.2f}-{max(cli_times):.2f}] = {args.events / cli_median:,.0f} events/s"
    )
    print(
        f"raw executemany baseline:                median {raw_median:.2f} s "
        f"[{min(raw_times):.2f}-{max(raw_times):.2f}] = {args.events / raw_median:,.0f} events/s"
    )
    print(f"ratio mpcheckout / raw throughput: {raw_median / cli_median:.2f}x")
    print(f"parse only: {args.events / parse:,.0f} events/s; peak RSS of the CLI: {peak} MB")
    print(
        f"summary: queued {summary['queued']:,}, duplicates {summary['duplicates']:,}, "
        f"invalid {summary['invalid']}"
    )


if __name__ == "__main__":
    main()
