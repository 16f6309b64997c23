"""Refunds, cancellations and captures: what Mercado Pago checks before it changes a payment, and
the change. Pure rules over SandboxState; api.py adds idempotency and notifications.

Sources (research mp-wave2 §1-§2): the refunds reference (error codes 2063, 2024, 4040, 4041),
the test-integration refund guide (180 days after approval, 90 in Peru), the cancellation
guide and OpenAPI (pending, in_process and authorized only; result cancelled/by_collector), the
capture guides (authorized/pending_capture only; `transaction_amount` may capture less).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from . import mp_errors
from .dates import to_millis
from .render import site_of
from .state import Payment, Refund, SandboxState

REFUND_WINDOW = timedelta(days=180)
REFUND_WINDOW_BY_SITE = {"MPE": timedelta(days=90)}
CANCELLABLE = frozenset({"pending", "in_process", "authorized"})


@dataclass(frozen=True, slots=True)
class RefundRequest:
    amount: Decimal | None  # None: everything that is left
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentUpdate:
    kind: Literal["cancel", "capture"]
    amount: Decimal | None = None  # a capture's transaction_amount


def refund_request(body: Any) -> RefundRequest:
    """No body, `{}` and `{"amount": null}` ask for a full refund; `amount` must be a positive
    JSON number (a numeric string is refused with 4041, as the reference says)."""
    if body is None:
        return RefundRequest(None)
    if not isinstance(body, dict):
        raise mp_errors.bad_request("The body must be a JSON object", data="body")
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if body.get("amount") is None:
        return RefundRequest(None, metadata)
    return RefundRequest(_number(body["amount"], "amount"), metadata)


def payment_update(body: Any) -> PaymentUpdate:
    """PUT /v1/payments/{id}: `{"status": "cancelled"}` or `{"capture": true}` (optionally with
    `transaction_amount`). Other updates exist in Mercado Pago's API but not in the sandbox."""
    if not isinstance(body, dict):
        raise mp_errors.bad_request("The body must be a JSON object", data="body")
    if body.get("capture") is True and "status" not in body:
        amount = body.get("transaction_amount")
        return PaymentUpdate("capture", None if amount is None else _number(amount, "amount"))
    if body.get("status") == "cancelled" and "capture" not in body:
        return PaymentUpdate("cancel")
    message = 'The sandbox updates a payment only with {"status": "cancelled"} or {"capture": true}'
    raise mp_errors.bad_request(message, data="body")


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise mp_errors.amount_not_numeric(name)
    amount = Decimal(str(value))
    if amount <= 0:
        raise mp_errors.amount_not_positive(name)
    return amount


def refund(state: SandboxState, payment: Payment, request: RefundRequest, now: datetime) -> Refund:
    if payment.status != "approved":  # also what a fully refunded payment answers
        raise mp_errors.invalid_payment_state()
    if _too_old_to_refund(payment, now):
        raise mp_errors.payment_too_old()
    left = payment.transaction_amount - payment.refunded_amount
    amount = left if request.amount is None else request.amount
    if amount > left:
        raise mp_errors.refund_exceeds_balance()
    return state.add_refund(payment, amount, now, request.metadata)


def _too_old_to_refund(payment: Payment, now: datetime) -> bool:
    site_id = site_of(payment.currency_id)[0]
    window = REFUND_WINDOW_BY_SITE.get(site_id, REFUND_WINDOW)
    return payment.date_approved is not None and now - payment.date_approved > window


def apply_update(
    state: SandboxState, payment: Payment, update: PaymentUpdate, now: datetime
) -> None:
    if update.kind == "cancel":
        _cancel(payment)
    else:
        _capture(payment, update.amount, now)
    state.touch(payment, now)


def _cancel(payment: Payment) -> None:
    if payment.status not in CANCELLABLE:  # an approved payment needs a refund instead
        raise mp_errors.invalid_payment_state("status")
    payment.status, payment.status_detail = "cancelled", "by_collector"


def _capture(payment: Payment, amount: Decimal | None, now: datetime) -> None:
    if payment.status != "authorized":
        raise mp_errors.invalid_payment_state("capture")
    if amount is not None and amount > payment.transaction_amount:
        raise mp_errors.capture_exceeds_authorization()
    payment.status, payment.status_detail = "approved", "accredited"
    payment.captured = True
    payment.date_approved = to_millis(now)
    if amount is not None:
        payment.transaction_amount = amount
