"""What a write to Mercado Pago must be refused before it is sent, and how its idempotency key
is derived (research mp-wave2.md §7.1-§7.3, §7.8, §7.9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.actions import (
    amount_for_api,
    cancel_refusal,
    capture_refusal,
    capture_warning,
    plan_refund,
    refund_refusal,
)
from mpcheckout.models import Payment

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def approved(refunded="0", approved_days_ago=3, currency="ARS"):
    return Payment(
        id="555",
        status="approved",
        status_detail="accredited",
        external_reference="order-9",
        amount=Decimal("100.00"),
        currency=currency,
        date_last_updated=NOW,
        date_approved=NOW - timedelta(days=approved_days_ago),
        refunded_amount=Decimal(refunded),
        raw={"date_created": (NOW - timedelta(days=approved_days_ago)).isoformat()},
    )


def refusal_key(payment, amount):
    refusal = refund_refusal(payment, None if amount is None else Decimal(amount), NOW)
    return refusal.message_key if refusal else None


@pytest.mark.parametrize(
    ("payment", "amount", "expected"),
    [
        (approved(), "10", None),
        (approved(), None, None),
        (approved(refunded="90"), "10", None),
        (approved(refunded="90"), "10.01", "action.refund_too_much"),
        (approved(refunded="100"), None, "action.nothing_left"),
        (approved(), "0", "action.amount_not_positive"),
        (approved(), "-5", "action.amount_not_positive"),
        (approved(), "10.005", "action.amount_precision"),
        (approved(), "NaN", "action.amount_not_positive"),
        (approved(approved_days_ago=181), "10", "action.refund_too_old"),
        (approved(approved_days_ago=179), "10", None),
        (approved(approved_days_ago=91, currency="PEN"), "10", "action.refund_too_old"),
        (replace(approved(), status="rejected"), "10", "action.refund_not_approved"),
        (replace(approved(), status="pending"), None, "action.refund_not_approved"),
    ],
)
def test_refund_refusals(payment, amount, expected):
    assert refusal_key(payment, amount) == expected


def test_cancel_only_what_has_not_been_paid():
    assert cancel_refusal(replace(approved(), status="pending")) is None
    assert cancel_refusal(replace(approved(), status="authorized")) is None
    assert cancel_refusal(approved()).message_key == "action.cancel_use_refund"
    rejected = replace(approved(), status="rejected")
    assert cancel_refusal(rejected).message_key == "action.cancel_not_allowed"


def test_capture_only_an_authorization_and_never_more_than_it():
    held = replace(approved(), status="authorized", status_detail="pending_capture")
    assert capture_refusal(held, None) is None
    assert capture_refusal(held, Decimal("100")) is None
    assert capture_refusal(held, Decimal("100.01")).message_key == "action.capture_too_much"
    assert capture_refusal(approved(), None).message_key == "action.capture_not_authorized"


def test_capture_warns_past_the_markets_hold():
    brazil = replace(approved(approved_days_ago=6, currency="BRL"), status="authorized")
    argentina = replace(approved(approved_days_ago=6), status="authorized")
    assert capture_warning(brazil, NOW).message_key == "action.capture_past_hold"
    assert capture_warning(argentina, NOW) is None


def test_the_same_refund_asked_twice_has_one_key_and_the_next_partial_another():
    first = plan_refund(approved(), "order-9", Decimal("10"))
    again = plan_refund(approved(), "order-9", Decimal("10.00"))
    after_it = plan_refund(approved(refunded="10"), "order-9", Decimal("10"))
    assert first.key == again.key
    assert first.key != after_it.key
    assert len(first.key) == 64


def test_a_full_refund_posts_no_body_and_moves_what_is_left():
    plan = plan_refund(approved(refunded="30"), "order-9", None)
    assert plan.body is None
    assert plan.effective_amount == Decimal("70.00")


def test_amounts_reach_the_api_as_numbers_rounded_to_cents():
    assert amount_for_api(Decimal("10.10")) == 10.1
    plan = plan_refund(approved(), "order-9", Decimal("10.10"))
    assert plan.body == {"amount": 10.1}
