"""The one mapping from a Mercado Pago payment's status and detail to an order's state, and
what makes a payment state new (research mp-wave2.md §7.10)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.models import Order, OrderStatus, Payment
from mpcheckout.payments import Outcome, decide, order_state_for, payment_state_key

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("approved", "accredited", OrderStatus.PAID),
        ("approved", None, OrderStatus.PAID),
        ("approved", "partially_refunded", OrderStatus.PARTIALLY_REFUNDED),
        ("authorized", "pending_capture", OrderStatus.PAID),
        ("pending", "pending_waiting_payment", OrderStatus.PENDING),
        ("in_process", "pending_contingency", OrderStatus.PENDING),
        ("rejected", "cc_rejected_other_reason", OrderStatus.REJECTED),
        ("cancelled", "by_collector", OrderStatus.CANCELLED),
        ("cancelled", "expired", OrderStatus.CANCELLED),
        ("refunded", "refunded", OrderStatus.REFUNDED),
        ("refunded", "by_admin", OrderStatus.REFUNDED),
        ("in_mediation", None, OrderStatus.DISPUTED),
        ("charged_back", "in_process", OrderStatus.CHARGEBACK_OPEN),
        ("charged_back", "settled", OrderStatus.CHARGEBACK_LOST),
        ("charged_back", "reimbursed", OrderStatus.CHARGEBACK_COVERED),
        ("charged_back", "something_new", None),
        ("charged_back", None, None),
        ("a_status_from_2030", "whatever", None),
    ],
)
def test_each_status_and_detail_maps_to_one_state(status, detail, expected):
    assert order_state_for(status, detail) == expected


def payment(status="approved", detail="accredited", refunded="0", updated=NOW, amount="100"):
    return Payment(
        id="77",
        status=status,
        status_detail=detail,
        external_reference="order-1",
        amount=Decimal(amount),
        currency="ARS",
        date_last_updated=updated,
        date_approved=NOW - timedelta(days=1),
        refunded_amount=Decimal(refunded),
    )


def paid_order(status=OrderStatus.PAID):
    return Order(
        id="order-1",
        status=status,
        amount=Decimal("100"),
        currency="ARS",
        created_at=NOW - timedelta(days=2),
        updated_at=NOW - timedelta(days=1),
        payment_id="77",
        payment_status="approved",
        payment_updated_at=NOW - timedelta(hours=1),
        paid_at=NOW - timedelta(days=1),
    )


def test_two_partial_refunds_are_two_states_but_a_redelivery_is_the_same():
    first = payment(detail="partially_refunded", refunded="10")
    second = payment(detail="partially_refunded", refunded="25.5")
    assert payment_state_key(first) != payment_state_key(second)
    assert payment_state_key(first) == payment_state_key(
        payment(detail="partially_refunded", refunded="10.00")
    )


def test_a_partial_refund_moves_a_paid_order_and_keeps_when_it_was_paid():
    decision = decide(paid_order(), payment(detail="partially_refunded", refunded="10"), NOW)
    assert decision.outcome == Outcome.APPLIED
    assert decision.order.status == OrderStatus.PARTIALLY_REFUNDED
    assert decision.order.paid_at == NOW - timedelta(days=1)


def test_an_unknown_detail_keeps_the_order_and_says_so():
    decision = decide(paid_order(), payment(status="charged_back", detail="brand_new"), NOW)
    assert decision.outcome == Outcome.UNKNOWN
    assert decision.order is None
    assert decision.logs_payment


def test_a_chargeback_covered_after_open():
    opened = decide(paid_order(), payment(status="charged_back", detail="in_process"), NOW)
    assert opened.order.status == OrderStatus.CHARGEBACK_OPEN
    later = payment(status="charged_back", detail="reimbursed", updated=NOW + timedelta(days=3))
    covered = decide(opened.order, later, NOW + timedelta(days=3))
    assert covered.order.status == OrderStatus.CHARGEBACK_COVERED


def test_an_older_state_of_the_same_payment_is_stale():
    order = decide(paid_order(), payment(detail="partially_refunded", refunded="10"), NOW).order
    old = payment(updated=NOW - timedelta(hours=5))
    assert decide(order, old, NOW).outcome == Outcome.STALE


def test_a_person_is_told_of_an_unknown_state_and_of_refunds_that_do_not_add_up():
    from mpcheckout.models import Refund
    from mpcheckout.payments import money_notes

    listed = Refund("r1", "77", Decimal("10"), "approved", "collector", NOW)
    short = replace(payment(detail="partially_refunded", refunded="15"), refunds=(listed,))
    assert money_notes(payment()) == []
    assert money_notes(replace(short, refunded_amount=Decimal("10"))) == []
    assert "add up to 10.00, Mercado Pago reports 15.00" in money_notes(short)[0]
    unknown = money_notes(payment(status="charged_back", detail="brand_new"))
    assert "unknown state charged_back/brand_new" in unknown[0]
