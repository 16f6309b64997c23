"""6. `status` on a big store: 1,000,000 events (completed over 30 days, a day's worth in the
last 24 h, some pending, retrying and dead), dead letters and orders. Times `mpcheckout status
--json` as a user runs it (a subprocess), the same command on an empty store (the baseline:
what Python start-up and imports cost), and the status service in-process.

    python -m bench.status [--quick] [--json FILE]    (same as python -m bench --only status)
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    below,
    compare,
)
from bench.ingest import run_measured
from mpcheckout.clock import SystemClock, utc_iso
from mpcheckout.config import HealthSettings, ReconcileSettings
from mpcheckout.status import build_status
from mpcheckout.store import open_store

NAME = "status"
TITLE = "6. status at 1M events"


def build(path: Path, events: int) -> None:
    open_store(str(path)).close()
    now = datetime.now(UTC)
    span = timedelta(days=30).total_seconds()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.executemany(
            "INSERT INTO webhook_queue (dedupe_key, topic, resource_id, payload, received_via, "
            "status, attempts, next_attempt_at, received_at, updated_at, completed_at) "
            "VALUES (?, 'payment', ?, '{}', 'http', ?, ?, ?, ?, ?, ?)",
            (_row(n, events, now, span) for n in range(events)),
        )
        conn.executemany(
            "INSERT INTO webhook_dead_letter (queue_id, payload, reason, dead_at) "
            "VALUES (?, '{}', 'exhausted', ?)",
            ((n, utc_iso(now - timedelta(hours=n))) for n in range(100)),
        )
        conn.executemany(
            "INSERT INTO orders (id, status, amount, currency, created_at, updated_at) "
            "VALUES (?, ?, '10.00', 'ARS', ?, ?)",
            (
                (f"o{n}", "paid" if n % 10 else "pending", utc_iso(now), utc_iso(now))
                for n in range(max(events // 20, 1))
            ),
        )


def _row(n: int, events: int, now: datetime, span: float) -> tuple:
    received = now - timedelta(seconds=span * (events - n) / events)
    stamp = utc_iso(received)
    if n % 200 == 0:  # 0.5 % still pending, some of them retrying later
        due = utc_iso(now + timedelta(minutes=5)) if n % 400 == 0 else stamp
        return (f"wh:{n}", str(n), "pending", n % 3, due, stamp, stamp, None)
    done = utc_iso(received + timedelta(seconds=1.5))
    return (f"wh:{n}", str(n), "completed", 1, stamp, stamp, done, done)


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=1_000_000, quick=2_000)
    with tempfile.TemporaryDirectory(prefix="bench-status-") as folder:
        big, empty = Path(folder) / "big.db", Path(folder) / "empty.db"
        started = time.perf_counter()
        build(big, events)
        built = f"built {events:,} events in {time.perf_counter() - started:.0f} s "
        built += f"({big.stat().st_size / 1e6:.0f} MB)"
        open_store(str(empty)).close()
        contenders = [
            Contender("cli_empty", "status --json, empty store", lambda _: _cli(empty, folder)),
            Contender("cli", f"status --json, {events:,} events", lambda _: _cli(big, folder)),
            Contender("service", "status service in-process", lambda _: _service(big)),
        ]
        title = f"status on {events:,} events (whole command, and the service alone)"
        comparison = compare(title, "ms", contenders, scale, higher_is_better=False)
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), [built, *_NOTES])


def _cli(path: Path, folder: str) -> Sample:
    command = [sys.executable, "-m", "mpcheckout", "--db", str(path), "status", "--json"]
    _, seconds, peak_mb = run_measured(command, Path(folder) / "status.json")
    return Sample(seconds * 1000, {"peak_rss_mb": peak_mb})


def _service(path: Path) -> Sample:
    store = open_store(str(path))
    started = time.perf_counter()
    report = build_status(store, SystemClock(), HealthSettings(), ReconcileSettings())
    elapsed = time.perf_counter() - started
    store.close()
    details = {"completed_24h": report.queue.completed_24h}
    return Sample(elapsed * 1000, details)


def _targets(comparison: Comparison) -> list[TargetCheck]:
    service, cli = comparison.get("service"), comparison.get("cli")
    start_up = comparison.get("cli_empty").median
    return [
        below("< 300 ms: status service", service.median, 300, f"{service.median:.0f} ms"),
        below(
            "< 300 ms: `status --json` whole command",
            cli.median,
            300,
            f"{cli.median:.0f} ms ({start_up:.0f} ms of it on an empty store)",
        ),
    ]


_NOTES = [
    "the baseline is the same command on an empty store: Python start-up and imports",
]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
