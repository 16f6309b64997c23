"""`status` on a big store: 1,000,000 events (completed over 30 days, a day's worth in the last
24 h, some pending, retrying and dead), orders and reconcile history. Times the status service
in-process and `mpcheckout status --json` as a user runs it.

    python -m bench.status [--events 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mpcheckout.clock import SystemClock, utc_iso
from mpcheckout.config import HealthSettings, ReconcileSettings
from mpcheckout.status import build_status
from mpcheckout.store import open_store


def build(path: Path, events: int) -> None:
    open_store(str(path)).close()
    now = datetime.now(UTC)
    span = timedelta(days=30).total_seconds()
    with sqlite3.connect(path) as conn:
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
                for n in range(50_000)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.db"
        started = time.perf_counter()
        build(path, args.events)
        print(
            f"built {args.events:,} events in {time.perf_counter() - started:.1f} s "
            f"({path.stat().st_size / 1e6:.0f} MB)"
        )
        store = open_store(str(path))
        service = []
        for _ in range(args.repetitions):
            started = time.perf_counter()
            report = build_status(store, SystemClock(), HealthSettings(), ReconcileSettings())
            service.append((time.perf_counter() - started) * 1000)
        store.close()
        command = [sys.executable, "-m", "mpcheckout", "--db", str(path), "status", "--json"]
        cli = []
        for _ in range(args.repetitions):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cli.append((time.perf_counter() - started) * 1000)
    print(
        f"status service: median {statistics.median(service):.0f} ms "
        f"[{min(service):.0f}-{max(service):.0f}]  (completed 24 h: "
        f"{report.queue.completed_24h:,}, latency sample {report.queue.latency_sample:,})"
    )
    print(
        f"`mpcheckout status --json` whole command incl. Python start-up: median "
        f"{statistics.median(cli):.0f} ms [{min(cli):.0f}-{max(cli):.0f}]"
    )


if __name__ == "__main__":
    main()
