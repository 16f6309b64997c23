"""5. Claim cost per event with an empty queue table vs one holding 1,000,000 completed events
(the baseline is the empty table): the claim must use the (status, next_attempt_at) index range,
not scan history. Only the claim statement's time is counted; the acks are not.

    python -m bench.claim_cost [--quick] [--json FILE]  (same as python -m bench --only claim_cost)
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import BenchResult, Contender, Sample, Scale, TargetCheck, compare
from mpcheckout.clock import utc_iso
from mpcheckout.processor import RULES
from mpcheckout.store import open_store
from mpcheckout.store.base import EventOutcome

NAME = "claim_cost"
TITLE = "5. Claim cost at 1M completed events"
BATCH = 50


def fill_history(path: Path, count: int) -> None:
    """Completed events, written directly (the fastest way to a big table)."""
    stamp = utc_iso(datetime.now(UTC) - timedelta(days=1))
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, payload, "
            "received_via, status, attempts, next_attempt_at, received_at, updated_at, "
            "completed_at) VALUES (?, 'payment', 'payment.created', ?, '{}', 'http', "
            "'completed', 1, ?, ?, ?, ?)",
            ((f"wh:h{n}", str(n), stamp, stamp, stamp, stamp) for n in range(count)),
        )


def add_pending(path: Path, count: int, round_number: int) -> None:
    stamp = utc_iso(datetime.now(UTC) - timedelta(seconds=1))
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
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


def run(scale: Scale) -> BenchResult:
    history = scale.pick(full=1_000_000, quick=5_000)
    events = scale.pick(full=10_000, quick=500)
    with tempfile.TemporaryDirectory(prefix="bench-claim-") as folder:
        empty, full = Path(folder) / "empty.db", Path(folder) / "full.db"
        for path in (empty, full):
            open_store(str(path)).close()
        fill_history(full, history)
        contenders = [
            Contender("empty", "0 completed events", lambda rep: _claims(empty, events, rep)),
            Contender(
                "full", f"{history:,} completed events", lambda rep: _claims(full, events, rep)
            ),
        ]
        title = f"claim cost per event, batches of {BATCH}, {events:,} pending events"
        comparison = compare(title, "µs/event", contenders, scale, higher_is_better=False)
    ratio = comparison.get("full").median_ratio
    target = TargetCheck(
        "≤ 1.2× the empty-table cost at 1M completed", f"{ratio:.2f}×", ratio <= 1.2
    )
    return BenchResult(NAME, TITLE, [comparison], [target])


def _claims(path: Path, events: int, repetition: int) -> Sample:
    add_pending(path, events, repetition)
    return Sample(claim_microseconds(path))


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
