"""Several machines, simulated: `mpcheckout process` worker processes, each with its own worker
id (host:pid), sharing one PostgreSQL database, fetching from the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from mpcheckout.clock import SystemClock
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.runtime import worker_id
from mpcheckout.store import open_store
from tests.postgres_support import count
from tests.sandbox_support import SANDBOX_TOKEN

pytestmark = pytest.mark.postgres

LEASE_SECONDS = 60
# Short, so that a killed worker's events come back within the test, yet several times what a
# live worker's batch of 10 takes even on a loaded machine.
SHORT_LEASE_SECONDS = 5
WAIT_LIMIT_SECONDS = 50


def seed(sandbox, url: str, events: int) -> None:
    """`events` approved payments in the sandbox and one queued notification for each."""
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=30) as control:
        created = control.post(
            "/payments/bulk",
            json={
                "count": events,
                "status": "approved",
                "external_reference_prefix": "order-",
                "transaction_amount": "10.00",
                "currency_id": "ARS",
            },
        ).json()
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {"id": payment_id, "type": "payment", "data": {"id": str(payment_id)}}
                ).encode()
            )
        )
        for payment_id in range(created["first_id"], created["last_id"] + 1)
    ]
    store = open_store(url)
    for start in range(0, len(notifications), 5000):
        store.enqueue_many(notifications[start : start + 5000], "http", SystemClock().now())
    store.close()


def worker(sandbox, url: str, *args: str, lease: int = LEASE_SECONDS) -> subprocess.Popen:
    env = {
        **os.environ,
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": sandbox.url,
        "MPCHECKOUT_MERCADOPAGO__MAX_RETRIES": "0",
        "MPCHECKOUT_QUEUE__LEASE_SECONDS": str(lease),
        "MPCHECKOUT_QUEUE__IDLE_POLL_SECONDS": "0.1",
        "MPCHECKOUT_LOCALE": "en",
    }
    command = [sys.executable, "-m", "mpcheckout", "--db", url, "process", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, limit: float = WAIT_LIMIT_SECONDS) -> None:
    """Wait for a state other processes reach (not for time to pass), bounded."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def completed(url: str) -> int:
    return count(url, "SELECT count(*) FROM webhook_queue WHERE status = 'completed'")


def assert_each_payment_applied_once(url: str, events: int) -> None:
    assert completed(url) == events  # none lost
    assert count(url, "SELECT count(*) FROM payment_logs") == events
    assert count(url, "SELECT count(DISTINCT payment_id) FROM payment_logs") == events
    assert count(url, "SELECT count(*) FROM orders WHERE status = 'paid'") == events


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(1_000, id="1k"),
        # The sandbox answers ~500 payment lookups a second on a 2-CPU machine (one Python
        # process), so 20,000 events take 35-60 s however fast the queue is: slow.
        pytest.param(20_000, id="20k", marks=[pytest.mark.slow, pytest.mark.timeout(300)]),
    ],
)
def test_four_workers_drain_the_queue_each_event_claimed_by_one(sandbox, postgres_url, events):
    seed(sandbox, postgres_url, events)
    workers = [
        worker(sandbox, postgres_url, "--concurrency", "8", "--batch-size", "50", "--json")
        for _ in range(4)
    ]
    summaries = []
    for process in workers:
        stdout, stderr = process.communicate(timeout=WAIT_LIMIT_SECONDS + events / 200)
        assert process.returncode == 0, stderr.decode()
        summaries.append(json.loads(stdout))
    assert sum(summary["claimed"] for summary in summaries) == events
    assert all(summary["claimed"] > 0 for summary in summaries), "every worker took part"
    assert count(postgres_url, "SELECT count(*) FROM webhook_queue WHERE attempts != 1") == 0
    assert_each_payment_applied_once(postgres_url, events)


def test_a_killed_worker_s_events_are_finished_by_the_others_after_its_lease(sandbox, postgres_url):
    events = 1_200
    seed(sandbox, postgres_url, events)
    workers = [
        worker(
            sandbox,
            postgres_url,
            *("--watch", "--concurrency", "4", "--batch-size", "10"),
            lease=SHORT_LEASE_SECONDS,
        )
        for _ in range(4)
    ]
    victim, survivors = workers[0], workers[1:]
    victim_id = worker_id().rsplit(":", 1)[0] + f":{victim.pid}"
    holds = "SELECT count(*) FROM webhook_queue WHERE status = 'processing' AND locked_by = %s"
    wait_for(lambda: completed(postgres_url) >= events // 5)
    wait_for(lambda: count(postgres_url, holds, victim_id) > 0)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    wait_for(lambda: completed(postgres_url) == events)
    for process in survivors:
        process.send_signal(signal.SIGTERM)
    for process in survivors:
        _, stderr = process.communicate(timeout=WAIT_LIMIT_SECONDS)
        assert process.returncode == 0, stderr.decode()
        assert "Traceback" not in stderr.decode()
    reclaimed = count(
        postgres_url,
        "SELECT count(*) FROM webhook_queue WHERE attempts = 2 AND attempt_log @> %s::jsonb",
        json.dumps([{"error": "lease expired", "worker": victim_id}]),
    )
    assert reclaimed > 0, "the dead worker held leases that others finished"
    assert count(postgres_url, "SELECT count(*) FROM webhook_queue WHERE attempts = 2") == reclaimed
    assert count(postgres_url, "SELECT count(*) FROM webhook_queue WHERE attempts > 2") == 0
    assert_each_payment_applied_once(postgres_url, events)
