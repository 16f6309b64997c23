"""Claim + apply + ack throughput on PostgreSQL with 1, 2 and 4 worker processes, the gateway
answering instantly (bench/drain.py's FakeGateway: pre-parsed payments, in process), so
what is measured is the queue: claims, payment applies and acks through the store. Each
repetition gets a fresh schema seeded with the same events and orders; the worker counts
alternate within a repetition, so they share the machine's conditions. Figures are events/s
(median of the repetitions) and the ratio to one worker measured in the same run.

    python -m bench.postgres_workers [--url postgresql://…] [--events 20000] [--repetitions 3]
        [--workers 1,2,4] [--batch-size 50] [--profile DIR]

The URL defaults to $MPCHECKOUT_TEST_POSTGRES_URL, else the local test server. --profile
writes a cProfile of each worker of the last repetition to DIR.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import secrets
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from bench.drain import ORDERS, FakeGateway
from mpcheckout.clock import SystemClock
from mpcheckout.config import QueueSettings, redact_url
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.processor import build_processor
from mpcheckout.store import open_store
from tests.postgres_support import with_schema

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
FIRST_PAYMENT_ID = 5_000_000_000


def payment_ids(events: int) -> list[str]:
    return [str(FIRST_PAYMENT_ID + n) for n in range(events)]


def seed(url: str, events: int) -> None:
    store = open_store(url)
    now = datetime.now(UTC)
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {"id": n, "type": "payment", "action": "payment.created", "data": {"id": pid}}
                ).encode()
            )
        )
        for n, pid in enumerate(payment_ids(events))
    ]
    for start in range(0, events, 5000):
        store.enqueue_many(notifications[start : start + 5000], "file", now)
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO orders (id, status, amount, currency, created_at, updated_at) "
            "SELECT 'order-' || n, 'pending', 100.5, 'ARS', now(), now() "
            "FROM generate_series(0, %s) AS n",
            (ORDERS - 1,),
        )
        conn.execute("ANALYZE")


def work(url: str, events: int, batch_size: int, index: int, start, results, profile) -> None:
    """One worker process: get ready, wait for the others, drain the queue, report."""
    gateway = FakeGateway(payment_ids(events))
    store = open_store(url)
    processor = build_processor(
        store,
        gateway,
        SystemClock(),
        QueueSettings(),
        f"bench:{index}",
        concurrency=1,
        batch_size=batch_size,
    )
    profiler = cProfile.Profile() if profile else None
    start.wait()
    if profiler:
        profiler.enable()
    summary = processor.run_once()
    finished = time.monotonic()
    if profiler:
        profiler.disable()
        profiler.dump_stats(Path(profile) / f"worker-{index:02d}.prof")
    store.close()
    results.put((summary.completed, finished))


def run(url: str, workers: int, events: int, batch_size: int, profile: str | None) -> float:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers + 1), context.Queue()
    processes = [
        context.Process(target=work, args=(url, events, batch_size, index, start, results, profile))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.monotonic()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    done = sum(completed for completed, _ in reports)
    assert done == events == applied_once(url), (workers, done)
    return events / (max(finished for _, finished in reports) - began)


def applied_once(url: str) -> int:
    """Payment states logged: one per event, or one was lost."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM payment_logs").fetchone()[0]


def fresh_schema(base_url: str) -> tuple[str, str]:
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema, with_schema(base_url, schema)


def drop_schema(base_url: str, schema: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def server_settings(base_url: str) -> str:
    with psycopg.connect(base_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    # Claims and results commit with synchronous_commit off whatever the server's default
    # (see PostgresStore._write_pipelined); the seeding and everything else use the default.
    return f"PostgreSQL {version} (synchronous_commit={sync}), {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--url", default=os.environ.get("MPCHECKOUT_TEST_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",")]
    load_before = os.getloadavg()
    rates: dict[int, list[float]] = {count: [] for count in counts}
    for repetition in range(args.repetitions):
        for workers in counts:
            schema, url = fresh_schema(args.url)
            try:
                seed(url, args.events)
                last = repetition == args.repetitions - 1
                profile = args.profile if last else None
                rates[workers].append(run(url, workers, args.events, args.batch_size, profile))
            finally:
                drop_schema(args.url, schema)
    report(args, rates)
    # The machine may be shared: other work shows in the load and lowers every figure.
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")


def report(args: argparse.Namespace, rates: dict[int, list[float]]) -> None:
    print(
        f"{args.events:,} events, gateway answering instantly, batch {args.batch_size}, "
        f"{args.repetitions} repetitions, {server_settings(args.url)} ({redact_url(args.url)})"
    )
    single = statistics.median(rates[min(rates)])
    for workers, values in rates.items():
        median = statistics.median(values)
        print(
            f"{workers} worker(s)  median {median:>8,.0f} events/s "
            f"[{min(values):,.0f}-{max(values):,.0f}]  ratio to {min(rates)} worker "
            f"{median / single:.2f}x  per worker {median / workers:,.0f}/s"
        )


if __name__ == "__main__":
    main()
