"""Real worker processes on one SQLite file: killed mid-batch, and two at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from mpcheckout.notifications import RawRequest, parse_notification
from tests.sandbox_support import SANDBOX_TOKEN

WAIT_LIMIT_SECONDS = 60


def seed(shop, count: int) -> list[str]:
    """`count` approved payments in the sandbox and one queued notification for each."""
    shop.clock.set(datetime.now(UTC))
    created = shop.control(
        "POST",
        "/payments/bulk",
        {
            "count": count,
            "status": "approved",
            "external_reference_prefix": "order-",
            "transaction_amount": "10.00",
            "currency_id": "ARS",
        },
    )
    ids = [str(n) for n in range(created["first_id"], created["last_id"] + 1)]
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {
                        "id": 7_000 + index,
                        "type": "payment",
                        "action": "payment.created",
                        "data": {"id": payment_id},
                    }
                ).encode()
            )
        )
        for index, payment_id in enumerate(ids)
    ]
    shop.store.enqueue_many(notifications, "http", shop.clock.now())
    return ids


def worker(shop, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": shop.sandbox.url,
        "MPCHECKOUT_MERCADOPAGO__MAX_RETRIES": "0",
        "MPCHECKOUT_QUEUE__LEASE_SECONDS": "60",
    }
    command = [sys.executable, "-m", "mpcheckout", "--db", str(shop.path), "process", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, limit: float = WAIT_LIMIT_SECONDS) -> None:
    """Wait for a state another process reaches (not for time to pass), bounded."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(shop):
    ids = seed(shop, 300)
    shop.fault(endpoint="payments.get", latency_ms=30)
    process = worker(shop, "--concurrency", "4", "--batch-size", "20")
    wait_for(
        lambda: shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'completed'") >= 40
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    held = shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'processing'")
    finished = shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
    assert held > 0, "the worker died holding leases"
    shop.control("DELETE", "/faults")
    shop.clock.set(datetime.now(UTC) + timedelta(seconds=61))  # the dead worker's leases expire
    summary = shop.process()
    assert shop.count("SELECT count(*) FROM webhook_queue WHERE status != 'completed'") == 0
    assert shop.count("SELECT count(*) FROM payment_logs") == len(ids)
    assert shop.count("SELECT count(DISTINCT payment_id) FROM payment_logs") == len(ids)
    assert shop.count("SELECT count(*) FROM orders WHERE status = 'paid'") == len(ids)
    recovered = shop.count(
        "SELECT count(*) FROM webhook_queue WHERE attempt_log LIKE '%lease expired%'"
    )
    assert recovered == held
    assert summary.claimed == len(ids) - finished


def test_two_workers_on_one_file_never_claim_the_same_event(shop):
    ids = seed(shop, 400)
    # Long enough (400 x 20 ms / 8 fetchers = 1 s) that the second worker's start-up, slow on
    # a loaded machine, is not over before the first one has drained everything.
    shop.fault(endpoint="payments.get", latency_ms=20)
    first = worker(shop, "--concurrency", "8", "--batch-size", "10", "--json")
    second = worker(shop, "--concurrency", "8", "--batch-size", "10", "--json")
    summaries = []
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=WAIT_LIMIT_SECONDS)
        assert process.returncode == 0, stderr.decode()
        summaries.append(json.loads(stdout))
    assert sum(s["claimed"] for s in summaries) == len(ids)
    assert all(s["claimed"] > 0 for s in summaries), "both workers took part"
    assert shop.count("SELECT count(*) FROM webhook_queue WHERE attempts != 1") == 0
    assert shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'completed'") == len(ids)
    assert shop.count("SELECT count(*) FROM payment_logs") == len(ids)


def test_watch_keeps_processing_and_stops_cleanly_on_sigterm(shop):
    ids = seed(shop, 40)
    shop.fault(endpoint="payments.get", latency_ms=20)
    process = worker(shop, "--watch", "--concurrency", "4", "--json")
    wait_for(
        lambda: (
            shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'completed'") == len(ids)
        )
    )
    more = seed(shop, 10)  # arrives while it watches
    wait_for(
        lambda: (
            shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
            == len(ids) + len(more)
        )
    )
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=WAIT_LIMIT_SECONDS)
    assert process.returncode == 0, stderr.decode()
    assert json.loads(stdout)["completed"] == len(ids) + len(more)
    assert shop.count("SELECT count(*) FROM webhook_queue WHERE status = 'processing'") == 0
