"""A failing Mercado Pago, fault by fault: every event ends completed or dead-lettered with its
reason, none stays `processing` after its lease, and what completed is applied correctly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mpcheckout.clock import ManualClock, SystemClock
from mpcheckout.config import QueueSettings, load_settings
from mpcheckout.gateway import build_gateway
from mpcheckout.processor import build_processor
from mpcheckout.reconcile import ReconcileRequest, run_reconcile
from mpcheckout.store import open_store
from mpcheckout.store.base import DeadLetterFilter
from tests.e2e.support import gateway_settings
from tests.reliability.conftest import scale
from tests.reliability.support import count, seed_payments

EVENTS = scale(120, 1_000)
FAULTS = {
    "latency_spikes": {"latency_ms": 2500, "times": 20},  # past the 1 s read timeout
    "rate_limit_storm": {"rate_limit_rate": 0.6, "retry_after": 90},
    "timeouts": {"timeout_rate": 0.3, "hang_seconds": 3},
    "connection_resets": {"drop_rate": 0.4},
    "server_errors": {"error_rate": 0.5, "error_statuses": [500, 502, 503, 504]},
    "malformed_json": {"malformed_rate": 0.4},
    "mixed": {
        "error_rate": 0.2,
        "drop_rate": 0.1,
        "malformed_rate": 0.1,
        "rate_limit_rate": 0.1,
        "retry_after": 5,
    },
}


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_every_event_ends_completed_or_dead_lettered(fault, sandbox, http, tmp_path, figures):
    store = open_store(str(tmp_path / "faults.db"))
    clock = ManualClock(datetime.now(UTC))
    payment_ids = seed_payments(http, store, EVENTS, clock.now())
    http.post("/_sandbox/faults", json={"endpoint": "payments.get", "seed": 7, **FAULTS[fault]})
    gateway = build_gateway(
        gateway_settings(sandbox, max_retries=1, read_timeout=1.0, max_retry_wait_seconds=0),
        sleep=lambda seconds: None,
    )
    processor = build_processor(
        store, gateway, clock, QueueSettings(lease_seconds=30), "faults:1", concurrency=8
    )
    for _ in range(12):  # more passes than the schedule has steps
        processor.run_once()
        clock.advance(hours=2)  # past every retry delay and any lease
    gateway.close()
    database = tmp_path / "faults.db"
    assert (
        count(
            database, "SELECT count(*) FROM webhook_queue WHERE status IN ('pending', 'processing')"
        )
        == 0
    )
    completed = count(database, "SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
    letters = store.list_dead_letters(DeadLetterFilter(limit=None))
    figures(
        fault=fault,
        events=len(payment_ids),
        completed=completed,
        dead_lettered=len(letters),
        lost=len(payment_ids) - completed - len(letters),
    )
    assert completed + len(letters) == len(payment_ids)
    assert all(
        letter.reason in ("exhausted", "permanent") and letter.last_error for letter in letters
    )
    assert count(database, "SELECT count(*) FROM orders WHERE status = 'paid'") == completed
    assert count(database, "SELECT count(DISTINCT payment_id) FROM payment_logs") == completed
    store.close()


def test_payments_changing_state_during_the_sweep_end_up_right(sandbox, http, tmp_path):
    store = open_store(str(tmp_path / "moving.db"))
    start = datetime.now(UTC) - timedelta(hours=1)
    created = http.post(
        "/_sandbox/payments/bulk",
        json={
            "count": scale(300, 2_000),
            "status": "approved",
            "external_reference_prefix": "m-",
            "transaction_amount": "10.00",
            "start": start.isoformat(),
            "step_seconds": 1,
        },
    ).json()
    ids = list(range(created["first_id"], created["last_id"] + 1))
    http.post("/_sandbox/faults", json={"endpoint": "payments.search", "latency_ms": 40})
    settings = load_settings(
        environ={},
        overrides={
            "mercadopago.access_token": "TEST-sandbox-token-for-tests",
            "mercadopago.api_base": sandbox.url,
        },
    ).settings
    gateway = build_gateway(gateway_settings(sandbox))
    moved = ids[::3]

    def refund_while_sweeping() -> None:
        for payment_id in moved:
            http.post(
                f"/_sandbox/payments/{payment_id}/status",
                json={"status": "refunded", "notify": False},
            )

    mover = threading.Thread(target=refund_while_sweeping)
    mover.start()
    run_reconcile(store, gateway, SystemClock(), settings, "sweep:1", ReconcileRequest())
    mover.join()
    run_reconcile(store, gateway, SystemClock(), settings, "sweep:1", ReconcileRequest())
    final = {p["id"]: p["status"] for p in http.get("/_sandbox/payments").json()}
    for payment_id in ids:
        expected = "refunded" if final[payment_id] == "refunded" else "paid"
        assert store.get_order(f"m-{payment_id - ids[0]}").status == expected
    assert sum(1 for pid in ids if final[pid] == "refunded") == len(moved)
    gateway.close()
    store.close()
