"""The Orders API's statuses, in Mercado Pago's spellings, mapped to local order states."""

from __future__ import annotations

import pytest

from mpcheckout.models import OrderStatus
from mpcheckout.order_states import order_state_for_mp_order, pending_reason

TABLE = [
    # status, detail, local state
    ("processed", "accredited", OrderStatus.PAID),
    ("processed", "partially_refunded", OrderStatus.PARTIALLY_REFUNDED),
    # A fully refunded Checkout Pro order stays "processed"; QR and Point become "refunded".
    ("processed", "refunded", OrderStatus.REFUNDED),
    ("refunded", "refunded", OrderStatus.REFUNDED),
    ("refunded", None, OrderStatus.REFUNDED),
    ("canceled", "canceled", OrderStatus.CANCELLED),  # one "l" in the Orders API
    ("canceled", "canceled_transaction", OrderStatus.CANCELLED),
    ("expired", "expired", OrderStatus.EXPIRED),
    ("failed", "rejected_by_issuer", OrderStatus.REJECTED),
    ("failed", "high_risk", OrderStatus.REJECTED),
    ("created", "created", OrderStatus.PENDING),
    ("processing", "in_process", OrderStatus.PENDING),
    ("action_required", "waiting_payment", OrderStatus.PENDING),
    ("action_required", "waiting_capture", OrderStatus.PENDING),
    ("action_required", "waiting_transfer", OrderStatus.PENDING),
    ("charged_back", "in_process", OrderStatus.CHARGEBACK_OPEN),
    ("charged_back", "settled", OrderStatus.CHARGEBACK_LOST),
    ("charged_back", "reimbursed", OrderStatus.CHARGEBACK_COVERED),
    # Unknown: keep the order as it is, never guess.
    ("processed", None, None),
    ("processed", "something_new", None),
    ("charged_back", "something_new", None),
    ("at_terminal", "on_terminal", None),
    ("", None, None),
]


@pytest.mark.parametrize(("status", "detail", "expected"), TABLE)
def test_each_orders_status_and_detail_means_one_local_state(status, detail, expected):
    assert order_state_for_mp_order(status, detail) == expected


def test_the_values_are_the_ones_the_store_keeps():
    assert [state.value for state in TABLE_STATES] == [
        "paid",
        "partially_refunded",
        "refunded",
        "cancelled",
        "expired",
        "rejected",
        "pending",
        "chargeback_open",
        "chargeback_lost",
        "chargeback_covered",
    ]


TABLE_STATES = list(dict.fromkeys(expected for _, _, expected in TABLE if expected is not None))


@pytest.mark.parametrize(
    ("status", "detail", "reason"),
    [
        ("action_required", "waiting_payment", "waiting_payment"),
        ("action_required", "waiting_capture", "waiting_capture"),
        ("processing", "in_process", "in_process"),
        ("created", "created", None),  # "created/created" says nothing more
        ("processed", "accredited", None),  # not waiting
        ("action_required", None, None),
    ],
)
def test_a_waiting_order_keeps_why_it_waits(status, detail, reason):
    assert pending_reason(status, detail) == reason
