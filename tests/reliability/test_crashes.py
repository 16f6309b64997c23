"""Crashes: processes SIGKILLed at random points (seeded). Afterwards nothing is lost, nothing is
applied twice, every order matches Mercado Pago, and SQLite's integrity check passes."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mpcheckout.clock import ManualClock
from mpcheckout.config import QueueSettings
from mpcheckout.gateway import build_gateway
from mpcheckout.ingest import BATCH_SIZE
from mpcheckout.processor import build_processor
from mpcheckout.reconcile import CHECKPOINT_KEY
from mpcheckout.store import open_store
from tests.e2e.support import gateway_settings
from tests.reliability.conftest import scale
from tests.reliability.support import (
    count,
    count_when_ready,
    env_for,
    mpcheckout,
    seed_payments,
    wait_for,
)

EVENTS = scale(1_500, 10_000)
ROUNDS = scale(4, 20)
SEED = 20261128


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.url, timeout=30) as client:
        yield client


def finish_in_process(store, sandbox, lease_seconds: float) -> None:
    """What a surviving worker does once the dead one's leases expired."""
    clock = ManualClock(datetime.now(UTC) + timedelta(seconds=lease_seconds + 1))
    gateway = build_gateway(gateway_settings(sandbox, max_retries=1))
    processor = build_processor(store, gateway, clock, QueueSettings(), "survivor:1", concurrency=8)
    while processor.run_once().claimed:
        pass
    gateway.close()


def lost_and_duplicated(database) -> tuple[int, int]:
    lost = count(
        database, "SELECT count(*) FROM webhook_queue WHERE status NOT IN ('completed', 'dead')"
    )
    duplicated = count(database, "SELECT count(*) FROM payment_logs") - count(
        database, "SELECT count(DISTINCT payment_id) FROM payment_logs"
    )
    return lost, duplicated


def assert_consistent(database, http, payment_ids) -> None:
    assert lost_and_duplicated(database) == (0, 0), "an event was lost or applied twice"
    assert count(database, "SELECT count(*) FROM webhook_queue WHERE status = 'dead'") == 0
    assert count(database, "SELECT count(*) FROM payment_logs") == len(payment_ids)
    assert count(database, "SELECT count(DISTINCT payment_id) FROM payment_logs") == len(
        payment_ids
    ), "a payment state was applied twice"
    final = {str(p["id"]): p["status"] for p in http.get("/_sandbox/payments").json()}
    with sqlite3.connect(database) as conn:
        orders = dict(conn.execute("SELECT payment_id, status FROM orders"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(orders) == len(payment_ids)
    assert all(final[pid] == "approved" and orders[pid] == "paid" for pid in payment_ids)


def test_workers_killed_at_random_points_lose_nothing(sandbox, http, tmp_path, figures):
    database = tmp_path / "crash.db"
    store = open_store(str(database))
    payment_ids = seed_payments(http, store, EVENTS, datetime.now(UTC))
    http.post("/_sandbox/faults", json={"endpoint": "payments.get", "latency_ms": 3})
    rng = random.Random(SEED)
    lease = 2
    env = env_for(sandbox, MPCHECKOUT_QUEUE__LEASE_SECONDS=str(lease))
    done = 0
    for _ in range(ROUNDS):
        target = done + rng.randint(1, max(EVENTS // ROUNDS, 2))
        worker = mpcheckout(
            database,
            env,
            "process",
            "--watch",
            "--concurrency",
            str(rng.choice([1, 4, 8])),
            "--batch-size",
            str(rng.choice([7, 50])),
        )
        wait_for(
            lambda target=target, worker=worker: (
                worker.poll() is not None
                or count(database, "SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
                >= target
            )
        )
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        done = count(database, "SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
    http.delete("/_sandbox/faults")
    finish_in_process(store, sandbox, lease)
    store.close()
    lost, duplicated = lost_and_duplicated(database)
    figures(rounds=ROUNDS, events=EVENTS, kills=ROUNDS, lost=lost, duplicated=duplicated)
    assert_consistent(database, http, payment_ids)


def test_ingest_killed_mid_file_keeps_whole_batches_and_resumes(sandbox, tmp_path, figures):
    from bench.payloads import write_jsonl

    database = tmp_path / "ingest.db"
    lines = scale(30_000, 200_000)
    source = write_jsonl(tmp_path / "big.jsonl", lines)
    distinct = len(set(source.read_text().splitlines()))
    kill_after = random.Random(SEED).randint(1, lines // 2)  # somewhere in the first half
    ingest = mpcheckout(database, env_for(sandbox), "ingest", str(source))
    wait_for(
        lambda: (
            ingest.poll() is not None
            or count_when_ready(database, "SELECT count(*) FROM webhook_queue") >= kill_after
        )
    )
    assert ingest.poll() is None, "the ingest finished before it could be killed"
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    kept = count(database, "SELECT count(*) FROM webhook_queue")
    all_lines = source.read_text().splitlines()
    whole_batches = {
        len(set(all_lines[: k * BATCH_SIZE])) for k in range(len(all_lines) // BATCH_SIZE + 2)
    }
    assert kept in whole_batches, "a batch was half written"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rerun = mpcheckout(database, env_for(sandbox), "ingest", str(source), "--json")
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    summary = json.loads(stdout)
    stored = count(database, "SELECT count(*) FROM webhook_queue")
    figures(lines=lines, kept_at_kill=kept, stored=stored, lost=distinct - stored)
    assert stored == distinct  # each line once
    assert summary["queued"] == distinct - kept
    assert summary["duplicates"] == lines - summary["queued"]


def test_reconcile_killed_mid_sweep_keeps_the_checkpoint_and_the_next_run_completes(
    sandbox, http, tmp_path, figures
):
    database = tmp_path / "reconcile.db"
    payments = scale(600, 5_000)
    start = datetime.now(UTC) - timedelta(hours=3)
    http.post(
        "/_sandbox/payments/bulk",
        json={
            "count": payments,
            "status": "approved",
            "external_reference_prefix": "r-",
            "transaction_amount": "10.00",
            "start": start.isoformat(),
            "step_seconds": 1,
        },
    )
    http.post("/_sandbox/faults", json={"endpoint": "payments.search", "latency_ms": 150})
    env = env_for(sandbox)
    run = mpcheckout(database, env, "reconcile", "--quiet")
    wait_for(lambda: count_when_ready(database, "SELECT count(*) FROM payment_logs") >= 50)
    run.send_signal(signal.SIGKILL)
    run.wait()
    store = open_store(str(database))
    assert store.get_meta(CHECKPOINT_KEY) is None
    assert store.get_meta("lock:reconcile") is not None  # the dead run's lock is left behind
    store.close()
    http.delete("/_sandbox/faults")
    again = mpcheckout(database, env, "reconcile", "--json")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    report = json.loads(stdout)
    applied = count(database, "SELECT count(*) FROM payment_logs")
    figures(payments=payments, applied=applied, missed=payments - applied)
    assert report["status"] == "ok" and report["checkpoint_advanced"]
    assert count(database, "SELECT count(*) FROM payment_logs") == payments
    assert count(database, "SELECT count(*) FROM orders WHERE status = 'paid'") == payments
