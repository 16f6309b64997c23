"""Claim cost per event with an empty queue table vs one holding 1,000,000 completed events:
the claim must use the (status, next_attempt_at) index range, not scan history.

    python -m bench.claim_cost [--history 1000000] [--events 10000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mpcheckout.clock import utc_iso
from mpcheckout.processor import RULES
from mpcheckout.store import open_store
from mpcheckout.store.base import EventOutcome

BATCH = 50


def fill_history(path: Path, count: int) -> None:
    """Completed events, written directly (the fastest way to a big table)."""
    stamp = utc_iso(datetime.now(UTC) - timedelta(days=1))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, payload, "
            "received_via, status, attempts, next_attempt_at, received_at, updated_at, "
            "completed_at) VALUES (?, 'payment', 'payment.created', ?, '{}', 'http', "
            "'completed', 1, ?, ?, ?, ?)",
            ((f"wh:h{n}", str(n), stamp, stamp, stamp, stamp) for n in range(count)),
        )


def add_pending(path: Path, count: int, round_number: int) -> None:
    stamp = utc_iso(datetime.now(UTC) - timedelta(seconds=1))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO webhook_queue (dedupe_key, topic, resource_id, payload, received_via, "
            "next_attempt_at, received_at, updated_at) VALUES (?, 'payment', ?, '{}', 'http', "
            "?, ?, ?)",
            ((f"wh:p{round_number}-{n}", str(n), stamp, stamp, stamp) for n in range(count)),
        )


def claim_microseconds(path: Path) -> float:
    """Claim + ack (completed, nothing to apply) every pending event; µs per event claimed."""
    store = open_store(str(path))
    claimed, claim_time = 0, 0.0
    while True:
        started = time.perf_counter()
        events = store.claim_due_events("bench", BATCH, 60, datetime.now(UTC))
        claim_time += time.perf_counter() - started
        if not events:
            break
        claimed += len(events)
        outcomes = [EventOutcome(event.id, "completed") for event in events]
        store.commit_outcomes("bench", outcomes, RULES, datetime.now(UTC))
    store.close()
    return claim_time / claimed * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty, full = Path(folder) / "empty.db", Path(folder) / "full.db"
        for path in (empty, full):
            open_store(str(path)).close()
        fill_history(full, args.history)
        costs: dict[str, list[float]] = {"empty": [], "full": []}
        for repetition in range(args.repetitions):
            for name, path in (("empty", empty), ("full", full)):
                add_pending(path, args.events, repetition)
                costs[name].append(claim_microseconds(path))
    ratios = [f / e for e, f in zip(costs["empty"], costs["full"], strict=True)]
    print(f"claim cost per event, batches of {BATCH}, {args.events:,} pending events")
    for name, label in (("empty", "0 completed"), ("full", f"{args.history:,} completed")):
        values = costs[name]
        print(
            f"{label:>20}: median {statistics.median(values):.1f} us "
            f"[{min(values):.1f}-{max(values):.1f}]"
        )
    print(
        f"ratio full/empty: median {statistics.median(ratios):.2f}x "
        f"({', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
