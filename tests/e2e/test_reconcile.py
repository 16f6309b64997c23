"""reconcile, status and alerts against a real SQLite file and the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from mpcheckout.config import load_settings
from mpcheckout.dead_letters import replay
from mpcheckout.ingest import receive_request
from mpcheckout.notifications import RawRequest
from mpcheckout.reconcile import CHECKPOINT_KEY, ReconcileRequest, run_reconcile
from mpcheckout.status import Health, build_status
from mpcheckout.store.base import DeadLetterFilter
from tests.e2e.test_workers import wait_for
from tests.sandbox_support import SANDBOX_TOKEN


@pytest.fixture
def synced(shop):
    """Sandbox time follows the test's clock, so search windows mean the same to both."""
    shop.clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    shop.control("POST", "/clock", {"now": shop.clock.now().isoformat()})
    return shop


def advance(shop, **delta) -> None:
    shop.clock.advance(**delta)
    shop.control("POST", "/clock", {"now": shop.clock.now().isoformat()})


def settings(**dotted):
    """Validated settings: defaults plus `{"alerts.cooldown": "1h"}`-style overrides."""
    return load_settings(environ={}, overrides=dotted).settings


def run(shop, request=None, config=None):
    return run_reconcile(
        shop.store,
        shop.gateway,
        shop.clock,
        config or settings(),
        "test:rec",
        request or ReconcileRequest(),
    )


def test_payments_without_any_notification_are_found_and_applied_once(synced):
    shop = synced
    shop.order("order-1")
    shop.order("order-2")
    shop.pay("order-1", notify=False)
    shop.pay("order-2", status="rejected", notify=False)
    shop.pay("walk-in", notify=False)
    advance(shop, minutes=5)
    result, _ = run(shop)
    assert result.status == "ok" and result.run.swept == 3 and result.run.drift_fixed == 3
    assert shop.status_of("order-1") == "paid" and shop.status_of("order-2") == "rejected"
    assert shop.store.get_order("walk-in").source == "mercadopago"
    advance(shop, hours=1)
    again, _ = run(shop)
    assert again.status == "ok" and again.run.drift_fixed == 0
    assert again.sweep_outcomes.get("duplicate", 0) == 3  # the overlap re-reads, changes nothing
    assert shop.count("SELECT count(*) FROM payment_logs") == 3
    assert shop.count("SELECT count(*) FROM webhook_reconciliation_logs") == 2


def test_more_than_the_offset_ceiling_is_all_found(synced):
    shop = synced
    start = shop.clock.now() - timedelta(hours=3)
    shop.control(
        "POST",
        "/payments/bulk",
        {
            "count": 10_060,
            "status": "approved",
            "external_reference_prefix": "bulk-",
            "transaction_amount": "5.00",
            "start": start.isoformat(),
            "step_seconds": 0.5,
        },
    )
    result, _ = run(shop)
    assert result.status == "ok" and result.run.swept == 10_060
    assert shop.count("SELECT count(*) FROM orders WHERE status = 'paid'") == 10_060


def test_a_sweep_failing_half_way_keeps_the_checkpoint_and_the_next_run_completes(synced):
    shop = synced
    start = shop.clock.now() - timedelta(hours=2)
    shop.control(
        "POST",
        "/payments/bulk",
        {
            "count": 150,
            "status": "approved",
            "external_reference_prefix": "p-",
            "transaction_amount": "5.00",
            "start": start.isoformat(),
            "step_seconds": 10,
        },
    )
    shop.fault(endpoint="payments.search", after=1, error_rate=1.0, error_statuses=[503])
    result, _ = run(shop)
    assert result.status == "partial" and result.run.swept == 50
    assert not result.checkpoint_advanced and shop.store.get_meta(CHECKPOINT_KEY) is None
    (row,) = shop.store.list_reconcile_runs(1)
    assert row.status == "partial" and row.errors == 1
    shop.control("DELETE", "/faults")
    advance(shop, hours=1)
    result, _ = run(shop)
    assert result.status == "ok" and result.run.swept == 150 and result.checkpoint_advanced
    assert shop.count("SELECT count(*) FROM payment_logs") == 150


def test_dry_run_changes_nothing(synced):
    shop = synced
    shop.order("order-1")
    shop.pay("order-1", notify=False)
    result, _ = run(shop, ReconcileRequest(dry_run=True))
    assert result.sweep_outcomes == {"applied": 1} and result.run.drift_fixed == 1
    assert shop.status_of("order-1") == "pending"
    assert shop.count("SELECT count(*) FROM webhook_reconciliation_logs") == 0
    assert shop.store.get_meta(CHECKPOINT_KEY) is None


def test_stale_orders_are_reported_and_old_events_archived(synced):
    shop = synced
    shop.order("forgotten")
    shop.pay("order-x")
    shop.deliver_outbox()
    shop.process()
    advance(shop, days=31)
    result, _ = run(shop)
    assert [order.id for order in result.stale_orders] == ["forgotten"]
    assert result.run.archived == 1
    assert shop.count("SELECT count(*) FROM webhook_archive") == 1


def test_status_turns_red_on_dead_letters_and_green_after_replay(synced):
    shop = synced
    shop.store.set_meta(CHECKPOINT_KEY, shop.clock.now().isoformat(), shop.clock.now())
    run(shop)  # a successful reconcile, so only the dead letters can turn it red
    for n in range(5):
        receive_request(shop.store, RawRequest(query=f"topic=payment&id={n + 1}"), shop.clock, None)
    shop.fault(endpoint="payments.get", error_rate=1.0, error_statuses=[400])
    shop.process()
    config = settings()
    report = build_status(shop.store, shop.clock, config.health, config.reconcile)
    dead = next(c for c in report.checks if c.name == "dead_letters_24h")
    assert (dead.health, dead.value, report.verdict) == (Health.RED, 5, Health.RED)
    shop.control("DELETE", "/faults")
    for n in range(5):
        shop.pay(f"o-{n}", notify=False)
    letters = shop.store.list_dead_letters(DeadLetterFilter())
    replay(shop.store, shop.clock, letters, dry_run=False)
    shop.process()
    report = build_status(shop.store, shop.clock, config.health, config.reconcile)
    assert report.verdict == Health.GREEN, report.checks


def test_a_dead_letter_fires_one_alert_to_a_webhook_and_a_command(
    synced, webhook_receiver, tmp_path
):
    shop = synced
    received = tmp_path / "alerts.jsonl"
    config = settings(
        **{
            "alerts.webhook_url": webhook_receiver.url,
            "alerts.command": f"cat >> {received}",
            "alerts.cooldown": "1h",
        }
    )
    receive_request(shop.store, RawRequest(query="topic=payment&id=77"), shop.clock, None)
    shop.fault(endpoint="payments.get", error_rate=1.0, error_statuses=[400])
    shop.process()
    _, alerts = run(shop, config=config)
    assert "dead_letters" in alerts.fired
    (request,) = [
        r
        for r in webhook_receiver.requests
        if r.json()["mpcheckout"]["condition"] == "dead_letters"
    ]
    assert "mpcheckout dead-letters list" in request.json()["text"]
    lines = [json.loads(line) for line in received.read_text().splitlines()]
    assert [line["mpcheckout"]["condition"] for line in lines].count("dead_letters") == 1
    receive_request(shop.store, RawRequest(query="topic=payment&id=78"), shop.clock, None)
    shop.process()
    advance(shop, minutes=10)
    _, again = run(shop, config=config)
    assert "dead_letters" in again.suppressed and "dead_letters" not in again.fired
    assert (
        len(
            [
                r
                for r in webhook_receiver.requests
                if r.json()["mpcheckout"]["condition"] == "dead_letters"
            ]
        )
        == 1
    )


def test_an_undeliverable_alert_is_kept_and_retried(synced, webhook_receiver):
    shop = synced
    config = settings(**{"alerts.webhook_url": webhook_receiver.url, "alerts.cooldown": "1h"})
    webhook_receiver.status = 500
    receive_request(shop.store, RawRequest(query="topic=payment&id=77"), shop.clock, None)
    shop.fault(endpoint="payments.get", error_rate=1.0, error_statuses=[400])
    shop.process()
    result, alerts = run(shop, config=config)
    assert result.status == "ok" and "dead_letters" in alerts.failed  # never breaks the job
    webhook_receiver.status = 200
    _, later = run(shop, config=config)
    assert "dead_letters" in later.retried


def test_two_reconciles_at_once_one_runs_the_other_says_so(synced):
    shop = synced
    shop.pay("order-1", notify=False)
    # Long enough that the second run starts while the first holds the lock, even on a loaded
    # machine where starting a Python process takes seconds.
    shop.fault(endpoint="payments.search", latency_ms=6000)
    env = {
        **os.environ,
        "MPCHECKOUT_LOCALE": "en",
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": shop.sandbox.url,
    }
    command = [
        sys.executable,
        "-m",
        "mpcheckout",
        "--db",
        str(shop.path),
        "reconcile",
        "--since",
        "400d",
    ]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: shop.store.get_meta("lock:reconcile") is not None)  # the first one runs
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0
    said = [err.decode() for _, err in outputs]
    assert sum("holds the lock" in text for text in said) == 1
    assert shop.count("SELECT count(*) FROM webhook_reconciliation_logs") == 1
