"""The money ledger's contract, on every backend: payment states applied once per whole money
state, refunds once per refund id, chargebacks once per id and never turned back, and writes
to Mercado Pago stored before they are sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mpcheckout.models import ActionPlan, Chargeback, Payment, Refund
from mpcheckout.store.base import EventOutcome
from tests.store.helpers import RULES, order, webhook

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def refund(refund_id: str, amount: str, at: datetime, status: str = "approved") -> Refund:
    return Refund(refund_id, "901", Decimal(amount), status, "collector", at, {"id": refund_id})


def paid(updated: datetime, *refunds: Refund) -> Payment:
    refunded = sum((r.amount for r in refunds if r.status == "approved"), Decimal(0))
    detail = "accredited"
    status = "approved"
    if refunds:
        detail = "refunded" if refunded == Decimal("100.50") else "partially_refunded"
        status = "refunded" if detail == "refunded" else "approved"
    return Payment(
        id="901",
        status=status,
        status_detail=detail,
        external_reference="order-1",
        amount=Decimal("100.50"),
        currency="ARS",
        date_last_updated=updated,
        date_approved=NOW,
        raw={"id": 901},
        refunded_amount=refunded,
        refunds=refunds,
    )


def test_two_partial_refunds_then_the_rest_each_applied_once(store):
    store.create_order(order("order-1", NOW))
    first = refund("r1", "10.25", NOW + timedelta(minutes=1))
    second = refund("r2", "20", NOW + timedelta(minutes=2))
    rest = refund("r3", "70.25", NOW + timedelta(minutes=3))
    states = [
        paid(NOW),
        paid(NOW + timedelta(minutes=1), first),
        paid(NOW + timedelta(minutes=2), first, second),
        paid(NOW + timedelta(minutes=3), first, second, rest),
    ]
    for state in states:
        applied = store.apply_payments([state, state], RULES, "webhook", NOW)
        assert applied.by_outcome.get("duplicate") == 1
        again = store.apply_payments([state], RULES, "webhook", NOW)
        assert again.by_outcome == {"duplicate": 1}
    assert store.get_order("order-1").status == "refunded"
    refunds = store.refunds_for_orders(["order-1"])
    assert [(r.id, r.amount) for r in refunds] == [
        ("r1", Decimal("10.25")),
        ("r2", Decimal("20")),
        ("r3", Decimal("70.25")),
    ]
    assert store.refunded_totals() == {"ARS": (3, Decimal("100.50"))}
    assert len(store.payment_logs_for_order("order-1")) == 4


def test_a_refund_that_settles_later_changes_status_not_its_first_sighting(store):
    store.create_order(order("order-1", NOW))
    pending = refund("r1", "5", NOW, status="in_process")
    store.apply_payments([paid(NOW, pending)], RULES, "webhook", NOW)
    later = NOW + timedelta(hours=1)
    done = replace(pending, status="approved")
    store.apply_payments([paid(later, done)], RULES, "webhook", later)
    (stored,) = store.refunds_for_orders(["order-1"])
    assert stored.status == "approved"
    assert stored.first_seen_at == NOW


def chargeback(coverage: bool | None, updated: datetime) -> Chargeback:
    return Chargeback(
        id="234000062890459123",
        payment_ids=("901",),
        amount=Decimal("100.50"),
        currency="ARS",
        coverage_applied=coverage,
        coverage_eligible=True,
        documentation_required=coverage is None,
        documentation_status="pending" if coverage is None else "valid",
        documentation_deadline=NOW + timedelta(days=10),
        date_created=NOW,
        date_last_updated=updated,
        live_mode=False,
        raw={"id": "234000062890459123"},
    )


def complete(store, event_id: int, payment: Payment, cb: Chargeback, now: datetime) -> None:
    store.enqueue_many([webhook(event_id)], "http", now)
    (claimed,) = store.claim_due_events("w", 10, 60, now)
    outcome = EventOutcome(claimed.id, "completed", payments=(payment,), chargebacks=(cb,))
    store.commit_outcomes("w", [outcome], RULES, now)


def test_a_chargeback_is_kept_under_its_exact_id_and_never_turned_back(store):
    store.create_order(order("order-1", NOW))
    complete(store, 1, paid(NOW), chargeback(None, NOW), NOW)
    covered_at = NOW + timedelta(days=2)
    complete(store, 2, paid(NOW), chargeback(True, covered_at), covered_at)
    complete(store, 3, paid(NOW), chargeback(None, NOW), covered_at)  # a stale fetch, late
    stored = store.get_chargeback("234000062890459123")
    assert stored.outcome == "covered"
    assert stored.order_id == "order-1"
    assert stored.first_seen_at == NOW
    assert store.list_chargebacks(open_only=True) == []
    assert [c.id for c in store.list_chargebacks(order_id="order-1")] == [stored.id]


def test_each_new_chargeback_is_announced_once(store):
    complete(store, 1, paid(NOW), chargeback(None, NOW), NOW)
    (due,) = store.chargebacks_to_alert(10)
    store.mark_chargebacks_alerted([due.id], NOW)
    assert store.chargebacks_to_alert(10) == []


def plan(amount: str | None, key: str = "k" * 64) -> ActionPlan:
    value = None if amount is None else Decimal(amount)
    body = None if value is None else {"amount": float(value)}
    return ActionPlan("refund", "901", "order-1", value, Decimal("10.00"), "ARS", body, key)


def test_a_write_is_stored_once_and_found_open_until_answered(store):
    first = store.record_action(plan("10.00"), NOW)
    assert first == plan("10.00")
    assert store.record_action(replace(plan("10.00"), currency="XXX"), NOW).currency == "ARS"
    assert store.find_open_action("refund", "901", Decimal("10")) == first
    assert store.find_open_action("refund", "901", None) is None
    store.finish_action(first.key, "done", "r1", None, NOW)
    assert store.find_open_action("refund", "901", Decimal("10")) is None


def test_a_full_refund_write_keeps_no_body(store):
    stored = store.record_action(plan(None, key="f" * 64), NOW)
    assert stored.body is None
    assert store.find_open_action("refund", "901", None) == stored
