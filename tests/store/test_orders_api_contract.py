"""Orders-API orders in the ledger, on every backend: each version applied once, an older
version never undoes a newer one (even at the same last_updated_date), refunds end `refunded`
whichever way the order spells it, a QR order and its Payments-API payment are one payment,
and the open Orders-API orders are found again for reconcile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.models import ActionPlan, MpOrder, MpOrderPayment, MpOrderRefund, Payment, Refund
from mpcheckout.order_payments import payment_for_mp_order
from tests.store.helpers import RULES, order

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def mp_order(
    version: int,
    status: str = "processed",
    detail: str = "accredited",
    refunds: tuple[str, ...] = (),
    kind: str = "online",
    reference: str | None = None,
) -> MpOrder:
    # A QR order's refund names the Payments-API refund behind it (55<n>).
    made = tuple(
        MpOrderRefund(f"REF01{n}", "PAY01TX", Decimal(amount), "processed", reference and f"55{n}")
        for n, amount in enumerate(refunds)
    )
    return MpOrder(
        id="ORD01ORDER",
        status=status,
        status_detail=detail,
        external_reference="order-1",
        total_amount=Decimal("100.50"),
        total_paid_amount=Decimal("100.50"),
        currency="ARS",
        type=kind,
        version=version,
        last_updated_date=NOW,  # every version at one instant: only `version` tells them apart
        created_date=NOW,
        transactions=(
            MpOrderPayment("PAY01TX", Decimal("100.50"), None, status, detail, reference),
        ),
        refunds=made,
        raw={"id": "ORD01ORDER", "version": version},
    )


def apply(store, *orders: MpOrder) -> dict[str, int]:
    payments = [payment_for_mp_order(o) for o in orders]
    return store.apply_payments(payments, RULES, "webhook", NOW).by_outcome


def test_a_paid_order_is_applied_once_and_remembers_its_version(store):
    store.create_order(order("order-1", NOW))
    assert apply(store, mp_order(2)) == {"applied": 1}
    assert apply(store, mp_order(2)) == {"duplicate": 1}
    stored = store.get_order("order-1")
    assert (stored.status, stored.payment_id) == ("paid", "PAY01TX")
    assert (stored.mp_order_id, stored.mp_order_version) == ("ORD01ORDER", 2)


def test_an_older_version_changes_nothing_at_the_same_instant(store):
    store.create_order(order("order-1", NOW))
    apply(store, mp_order(3, detail="partially_refunded", refunds=("10.50",)))
    assert apply(store, mp_order(2)) == {"stale": 1}
    stored = store.get_order("order-1")
    assert (stored.status, stored.mp_order_version) == ("partially_refunded", 3)


@pytest.mark.parametrize(
    ("kind", "full"), [("online", ("processed", "refunded")), ("qr", ("refunded", "refunded"))]
)
def test_a_partial_then_a_full_refund_end_refunded_either_way(store, kind, full):
    store.create_order(order("order-1", NOW))
    reference = "9001" if kind == "qr" else None
    states = [
        mp_order(2, kind=kind, reference=reference),
        mp_order(3, "processed", "partially_refunded", ("25.50",), kind, reference),
        mp_order(4, *full, refunds=("25.50", "75.00"), kind=kind, reference=reference),
    ]
    for state in states:
        assert apply(store, state, state) == {"applied": 1, "duplicate": 1}
    assert store.get_order("order-1").status == "refunded"
    refunds = store.refunds_for_orders(["order-1"])
    assert sum(r.amount for r in refunds) == Decimal("100.50")
    assert len(refunds) == 2


def test_a_qr_order_and_its_payments_api_payment_are_one_payment(store):
    store.create_order(order("order-1", NOW))
    qr = mp_order(3, "processed", "partially_refunded", ("10.00",), "qr", "9001")
    adapted = payment_for_mp_order(qr)
    same_money = Payment(
        id="9001",
        status="approved",
        status_detail="partially_refunded",
        external_reference="order-1",
        amount=Decimal("100.50"),
        currency="ARS",
        date_last_updated=NOW,
        date_approved=NOW,
        raw={"id": 9001},
        refunded_amount=Decimal("10.00"),
        refunds=(Refund("550", "9001", Decimal("10.00"), "approved", "collector", NOW),),
    )
    counts = store.apply_payments([same_money], RULES, "webhook", NOW).by_outcome
    assert counts == {"applied": 1}
    assert store.apply_payments([adapted], RULES, "webhook", NOW).by_outcome == {"duplicate": 1}
    assert len(store.payment_logs_for_order("order-1")) == 1
    assert [r.id for r in store.refunds_for_orders(["order-1"])] == ["550"]


def test_open_orders_api_orders_are_listed_for_a_second_look(store):
    store.create_order(order("order-1", NOW))
    store.create_order(replace(order("order-2", NOW), mp_order_id="ORD01LINK"))
    store.create_order(replace(order("order-3", NOW - timedelta(days=40)), mp_order_id="ORD01OLD"))
    apply(store, mp_order(2))
    statuses = ("pending", "paid")
    found = store.mp_orders_to_revisit(statuses, NOW - timedelta(days=30), 10)
    assert found == ["ORD01ORDER", "ORD01LINK"] or found == ["ORD01LINK", "ORD01ORDER"]
    assert store.mp_orders_to_revisit(("pending",), NOW - timedelta(days=30), 10) == ["ORD01LINK"]
    assert store.mp_orders_to_revisit(statuses, NOW - timedelta(days=30), 1) != []
    assert store.mp_orders_to_revisit((), NOW, 10) == []


def test_creating_an_order_is_a_stored_write(store):
    plan = ActionPlan(
        "create_order",
        "order-9",
        "order-9",
        None,
        Decimal("12.00"),
        "ARS",
        {"type": "online", "total_amount": "12.00"},
        "k" * 64,
    )
    assert store.record_action(plan, NOW) == plan
    assert store.find_open_action("create_order", "order-9", None) == plan
    store.finish_action(plan.key, "done", "ORD01MADE", None, NOW)
    assert store.find_open_action("create_order", "order-9", None) is None
