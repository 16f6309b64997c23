"""An Orders-API order read as the payment state the ledger applies: the same local state as
the Orders mapping gives, the Payments API's words where they mean the same, the payment and
refund ids of the Payments API where the order names them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mpcheckout.models import MpOrder, MpOrderPayment, MpOrderRefund
from mpcheckout.order_payments import payment_for_mp_order, payments_spelling
from mpcheckout.order_states import order_state_for_mp_order
from mpcheckout.payments import order_state_for, payment_state_key
from tests.unit.test_order_states import TABLE

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "detail", "expected"), TABLE)
def test_the_payments_spelling_means_the_same_local_state(status, detail, expected):
    spelled = payments_spelling(status, detail)
    assert order_state_for(*spelled) == order_state_for_mp_order(status, detail) == expected


@pytest.mark.parametrize(
    ("status", "detail", "spelled"),
    [
        ("processed", "accredited", ("approved", "accredited")),
        ("processed", "partially_refunded", ("approved", "partially_refunded")),
        ("processed", "refunded", ("refunded", "refunded")),
        ("refunded", "refunded", ("refunded", "refunded")),
        ("canceled", "canceled", ("cancelled", "canceled")),
        ("failed", "high_risk", ("rejected", "high_risk")),
        ("action_required", "waiting_payment", ("action_required", "waiting_payment")),
    ],
)
def test_statuses_take_the_payments_words_where_they_mean_the_same(status, detail, spelled):
    assert payments_spelling(status, detail) == spelled


def order(status="processed", detail="accredited", reference=None, refunds=(), version=3):
    transaction = MpOrderPayment(
        "PAY01TX", Decimal("100.00"), Decimal("100.00"), status, detail, reference
    )
    return MpOrder(
        id="ORD01ORDER",
        status=status,
        status_detail=detail,
        external_reference="shop-1",
        total_amount=Decimal("100.00"),
        total_paid_amount=Decimal("100.00"),
        currency="ARS",
        type="qr" if reference else "online",
        version=version,
        last_updated_date=NOW,
        created_date=NOW,
        transactions=(transaction,),
        refunds=refunds,
        raw={"id": "ORD01ORDER"},
    )


def test_an_online_order_is_its_transaction_with_its_version():
    refund = MpOrderRefund("REF01A", "PAY01TX", Decimal("25.50"), "processed", None)
    payment = payment_for_mp_order(order(detail="partially_refunded", refunds=(refund,)))
    assert (payment.id, payment.mp_order_id, payment.mp_order_version) == (
        "PAY01TX",
        "ORD01ORDER",
        3,
    )
    assert payment_state_key(payment) == "approved|partially_refunded|25.50"
    assert [(r.id, r.payment_id, r.amount, r.status) for r in payment.refunds] == [
        ("REF01A", "PAY01TX", Decimal("25.50"), "approved")
    ]


def test_a_qr_order_is_the_payments_api_payment_it_names():
    refund = MpOrderRefund("REF01A", "PAY01TX", Decimal("10.00"), "processed", "778")
    payment = payment_for_mp_order(
        order(detail="partially_refunded", reference="92937960454", refunds=(refund,))
    )
    assert payment.id == "92937960454"
    assert [(r.id, r.payment_id) for r in payment.refunds] == [("778", "92937960454")]


def test_an_order_nobody_paid_yet_is_its_own_id():
    unpaid = MpOrder(
        id="ORD01NEW",
        status="created",
        status_detail="created",
        external_reference="shop-2",
        total_amount=Decimal("5.00"),
        total_paid_amount=None,
        currency="BRL",
        type="online",
        version=1,
        last_updated_date=NOW,
        created_date=NOW,
    )
    payment = payment_for_mp_order(unpaid)
    assert (payment.id, payment.status, payment.date_approved) == ("ORD01NEW", "created", None)
