"""Writes to Mercado Pago (refund, cancel, capture): checked first, keyed, stored, re-fetched.

One path for every write (DESIGN.md, "Money"):
1. GET the payment and refuse, without any write call, what Mercado Pago would refuse
   (research mp-wave2.md §7.1, §7.8, §7.9) — a refusal costs the operator nothing.
2. Derive the idempotency key from the action itself and commit it in `mp_actions` *before* the
   request. A request whose answer never came stays open; the same command run again finds it
   and resends the same key, so Mercado Pago answers the refund it already made instead of
   making a second one. Only a definite answer (2xx, or a 4xx refusal) closes it.
3. Never trust the answer alone: re-fetch the payment and apply it through the ledger, exactly
   as a webhook would be applied.

The key follows Mercado Pago's own WooCommerce plugin (cart-woocommerce RefundHandler):
sha256(payment | amount | order | refunded before) — the same refund asked twice yields the
same key; two sequential partial refunds of the same amount yield different keys.

Orders-API orders (`ORD…` ids) take the same path: GET /v1/orders/{id}, read as the payment
state it is (order_payments.py), checked (refund only a processed order and at most what is
left; cancel only a created or action_required one), keyed, stored, sent to
`/v1/orders/{id}/refund` (no body: everything; a part: the transaction and a string amount) or
`/cancel`, and re-fetched. Creating one (`checkout link --api orders`) is a stored write too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from .errors import (
    ActionRefusedError,
    AnswerLostError,
    ExternalServiceError,
    OrderAnswerLostError,
    ValidationError,
)
from .models import ActionKind, ActionPlan, MpOrder, MpOrderRefund, Payment, Refusal
from .order_payments import payment_for_mp_order
from .payments import order_id_for
from .processor import RULES, describe_error
from .store.base import Store

CENT = Decimal("0.01")

# Refunds: 180 days after approval in every market but Peru (90); devsite-docs
# guides/snippets/test-integration/refunds.en.md. Markets are told apart by currency: a payment
# carries no site id.
REFUND_WINDOW_DAYS = 180
REFUND_WINDOW_DAYS_BY_CURRENCY = {"PEN": 90}
# Authorizations are held 7 days in AR/MX, 5 in BR, 22 in PE (reserve/capture guides).
CAPTURE_HOLD_DAYS = 7
CAPTURE_HOLD_DAYS_BY_CURRENCY = {"BRL": 5, "PEN": 22, "ARS": 7, "MXN": 7}
CANCELLABLE = frozenset({"pending", "in_process", "authorized"})
ORDER_PREFIX = "ORD"  # Orders-API ids (research mp-wave2 §5.2); payments are digits
ORDER_CANCELLABLE = frozenset({"created", "action_required"})
ORDER_REFUNDABLE = frozenset({("processed", "accredited"), ("processed", "partially_refunded")})


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def amount_for_api(amount: Decimal) -> float:
    """Mercado Pago wants a JSON number (cause 4041 otherwise) and the SDK cannot encode a
    Decimal: a float of the amount rounded to cents is exact enough to round-trip."""
    return float(cents(amount))


def refunded_so_far(payment: Payment) -> Decimal:
    return payment.refunded_amount or Decimal(0)


def remaining_to_refund(payment: Payment) -> Decimal:
    return (payment.amount or Decimal(0)) - refunded_so_far(payment)


def idempotency_key(kind: ActionKind, payment_id: str, *parts: str) -> str:
    """64 hex characters: inside the 1-64 the SDK and Mercado Pago accept."""
    text = "|".join((kind, payment_id, *parts))
    return hashlib.sha256(text.encode()).hexdigest()


def amount_refusal(amount: Decimal | None) -> Refusal | None:
    """An amount must be positive and in cents: rounding an operator's 10.005 either way
    would move money nobody asked for."""
    if amount is None:
        return None
    if not amount.is_finite() or amount <= 0:
        return Refusal("action.amount_not_positive", {"amount": amount})
    if amount != cents(amount):
        return Refusal("action.amount_precision", {"amount": amount})
    return None


def refund_refusal(payment: Payment, amount: Decimal | None, now: datetime) -> Refusal | None:
    if payment.status != "approved":
        return Refusal("action.refund_not_approved", {"status": _state(payment)})
    window = REFUND_WINDOW_DAYS_BY_CURRENCY.get(payment.currency or "", REFUND_WINDOW_DAYS)
    approved = payment.date_approved
    if approved is not None and now - approved > timedelta(days=window):
        return Refusal("action.refund_too_old", {"days": window, "approved": approved.date()})
    remaining = remaining_to_refund(payment)
    if remaining <= 0:
        return Refusal("action.nothing_left", {"refunded": cents(refunded_so_far(payment))})
    bad_amount = amount_refusal(amount)
    if bad_amount is not None:
        return bad_amount
    if amount is not None and amount > remaining:
        params = {"amount": cents(amount), "remaining": cents(remaining)}
        return Refusal("action.refund_too_much", params)
    return None


def cancel_refusal(payment: Payment) -> Refusal | None:
    if payment.status == "approved":
        return Refusal("action.cancel_use_refund", {"status": _state(payment)})
    if payment.status not in CANCELLABLE:
        return Refusal("action.cancel_not_allowed", {"status": _state(payment)})
    return None


def capture_refusal(payment: Payment, amount: Decimal | None) -> Refusal | None:
    if payment.status != "authorized":
        return Refusal("action.capture_not_authorized", {"status": _state(payment)})
    bad_amount = amount_refusal(amount)
    if bad_amount is not None:
        return bad_amount
    if amount is not None and payment.amount is not None and amount > payment.amount:
        params = {"amount": cents(amount), "authorized": cents(payment.amount)}
        return Refusal("action.capture_too_much", params)
    return None


def capture_warning(payment: Payment, now: datetime) -> Refusal | None:
    """Past the market's hold an authorization may already be gone: say so, still try."""
    hold = CAPTURE_HOLD_DAYS_BY_CURRENCY.get(payment.currency or "", CAPTURE_HOLD_DAYS)
    created = _date_created(payment)
    if created is not None and now - created > timedelta(days=hold):
        return Refusal("action.capture_past_hold", {"days": hold})
    return None


def plan_refund(payment: Payment, order_id: str | None, amount: Decimal | None) -> ActionPlan:
    moved = cents(amount) if amount is not None else remaining_to_refund(payment)
    before = cents(refunded_so_far(payment))
    key = idempotency_key("refund", payment.id, f"{moved:.2f}", order_id or "", f"{before:.2f}")
    body = None if amount is None else {"amount": amount_for_api(amount)}
    return ActionPlan("refund", payment.id, order_id, amount, moved, payment.currency, body, key)


def plan_cancel(payment: Payment, order_id: str | None) -> ActionPlan:
    key = idempotency_key("cancel", payment.id, order_id or "")
    body = {"status": "cancelled"}
    return ActionPlan("cancel", payment.id, order_id, None, None, payment.currency, body, key)


def plan_capture(
    payment: Payment, order_id: str | None, amount: Decimal | None, now: datetime
) -> ActionPlan:
    moved = cents(amount) if amount is not None else payment.amount
    key = idempotency_key("capture", payment.id, f"{moved or 0:.2f}", order_id or "")
    body: dict[str, Any] = {"capture": True}
    if amount is not None:
        body["transaction_amount"] = amount_for_api(amount)
    warning = capture_warning(payment, now)
    return ActionPlan(
        "capture", payment.id, order_id, amount, moved, payment.currency, body, key, warning
    )


def _state(payment: Payment) -> str:
    return f"{payment.status}/{payment.status_detail}" if payment.status_detail else payment.status


def _date_created(payment: Payment) -> datetime | None:
    from .clock import parse_iso

    value = payment.raw.get("date_created")
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


# -- the write path ----------------------------------------------------------------------------


class ActionGateway(Protocol):
    """What a write needs of the gateway."""

    def get_payment(self, payment_id: str) -> Payment: ...

    def refund_payment(self, payment_id: str, body: dict[str, Any] | None, key: str) -> Any: ...

    def update_payment(self, payment_id: str, body: dict[str, Any], key: str) -> Any: ...

    def get_order(self, order_id: str) -> MpOrder: ...

    def refund_order(
        self, order_id: str, body: dict[str, Any] | None, idempotency_key: str
    ) -> tuple[MpOrderRefund, ...]: ...

    def cancel_order(self, order_id: str, idempotency_key: str) -> MpOrder: ...


@dataclass(slots=True, frozen=True)
class ActionRequest:
    kind: ActionKind
    payment_id: str
    amount: Decimal | None = None


@dataclass(slots=True, frozen=True)
class PreparedAction:
    """A checked plan, and whether it resends a write whose answer never came."""

    plan: ActionPlan
    payment: Payment
    resend: bool


@dataclass(slots=True, frozen=True)
class ActionResult:
    plan: ActionPlan
    answered: bool  # Mercado Pago answered the write (False: the answer was lost)
    resent: bool
    result_id: str | None
    payment: Payment  # as re-fetched after the write
    applied: dict[str, int]


def prepare_action(
    store: Store, gateway: ActionGateway, request: ActionRequest, now: datetime
) -> PreparedAction:
    """GET the payment, then either the open write of the same request (its key is reused
    as stored) or a new plan, refused here — raising ActionRefusedError, nothing written —
    when Mercado Pago would refuse it."""
    if is_mp_order(request.payment_id):
        return _prepare_order_action(store, gateway, request)
    payment = gateway.get_payment(request.payment_id)
    order_id = order_id_for(payment)
    stored = store.find_open_action(request.kind, payment.id, request.amount)
    if stored is not None:
        return PreparedAction(stored, payment, resend=True)
    refusal = _refusal(request, payment, now)
    if refusal is not None:
        raise ActionRefusedError(refusal.message_key, **refusal.params)
    return PreparedAction(_plan(request, payment, order_id, now), payment, resend=False)


def is_mp_order(resource_id: str) -> bool:
    return resource_id.startswith(ORDER_PREFIX)


def _prepare_order_action(
    store: Store, gateway: ActionGateway, request: ActionRequest
) -> PreparedAction:
    order = gateway.get_order(request.payment_id)
    payment = payment_for_mp_order(order)
    stored = store.find_open_action(request.kind, order.id, request.amount)
    if stored is not None:
        return PreparedAction(stored, payment, resend=True)
    refusal = order_refusal(request, order)
    if refusal is not None:
        raise ActionRefusedError(refusal.message_key, **refusal.params)
    plan = plan_order_action(request, order, order_id_for(payment))
    return PreparedAction(plan, payment, resend=False)


def execute_action(
    store: Store, gateway: ActionGateway, prepared: PreparedAction, now: datetime
) -> ActionResult:
    """Commit the key, send the write once, then re-fetch and apply through the ledger."""
    plan = store.record_action(prepared.plan, now)
    answered, result_id, failure = _send(gateway, plan)
    if answered:
        status: Literal["done", "refused"] = "refused" if failure else "done"
        store.finish_action(plan.key, status, result_id, _describe(failure), now)
    else:
        store.note_action_attempt(plan.key, _describe(failure), now)
    fresh = _refetch(gateway, plan.payment_id)
    applied = store.apply_payments([fresh], RULES, "action", now)
    if failure is not None and answered:
        raise failure
    result = ActionResult(
        plan, answered, prepared.resend, result_id, fresh, dict(applied.by_outcome)
    )
    if not answered:
        raise AnswerLostError(result, failure)
    return result


def _send(gateway: ActionGateway, plan: ActionPlan) -> tuple[bool, str | None, Exception | None]:
    """(answered, result id, error). A timeout or a dropped connection is not an answer: the
    write may have happened, so the action stays open for the same key to be resent."""
    try:
        if is_mp_order(plan.payment_id):
            return True, _send_order_write(gateway, plan), None
        if plan.kind == "refund":
            refund = gateway.refund_payment(plan.payment_id, plan.body, plan.key)
            return True, getattr(refund, "id", None), None
        gateway.update_payment(plan.payment_id, plan.body or {}, plan.key)
        return True, plan.payment_id, None
    except ExternalServiceError as exc:
        if exc.status is None or exc.transient:
            return False, None, exc
        return True, None, exc


def _refetch(gateway: ActionGateway, resource_id: str) -> Payment:
    if is_mp_order(resource_id):
        return payment_for_mp_order(gateway.get_order(resource_id))
    return gateway.get_payment(resource_id)


def _send_order_write(gateway: ActionGateway, plan: ActionPlan) -> str | None:
    if plan.kind == "refund":
        made = gateway.refund_order(plan.payment_id, plan.body, plan.key)
        return made[0].id if made else None
    return gateway.cancel_order(plan.payment_id, plan.key).id


# -- Orders-API orders --------------------------------------------------------------------------


def order_refusal(request: ActionRequest, order: MpOrder) -> Refusal | None:
    """What Mercado Pago would refuse of an order (research mp-wave2 §5.2, the Orders pages):
    a refund of an order not processed or already refunded, more than is left, or a cancel
    of an order past created/action_required. Capture is not offered for orders."""
    state = f"{order.status}/{order.status_detail}" if order.status_detail else order.status
    if request.kind == "capture":
        return Refusal("action.orders_no_capture", {"status": state})
    if request.kind == "cancel":
        if order.status in ORDER_CANCELLABLE:
            return None
        key = (
            "action.cancel_use_refund"
            if order.status == "processed"
            else "action.cancel_not_allowed"
        )
        return Refusal(key, {"status": state})
    if (order.status, order.status_detail) not in ORDER_REFUNDABLE:
        return Refusal("action.refund_not_approved", {"status": state})
    remaining = order_remaining(order)
    if remaining <= 0:
        return Refusal("action.nothing_left", {"refunded": cents(order.refunded_amount)})
    bad_amount = amount_refusal(request.amount)
    if bad_amount is not None:
        return bad_amount
    if request.amount is not None and request.amount > remaining:
        return Refusal("action.refund_too_much", {"amount": request.amount, "remaining": remaining})
    return None


def order_remaining(order: MpOrder) -> Decimal:
    paid = order.total_paid_amount or order.total_amount
    return paid - order.refunded_amount


def plan_order_action(request: ActionRequest, order: MpOrder, order_id: str) -> ActionPlan:
    """A refund of everything left sends no body; a part names the transaction and gives the
    amount as a string ("25.00"), as the Orders API takes amounts."""
    if request.kind == "cancel":
        key = idempotency_key("cancel", order.id, order_id)
        return ActionPlan("cancel", order.id, order_id, None, None, order.currency, None, key)
    amount = request.amount
    moved = cents(amount) if amount is not None else order_remaining(order)
    before = cents(order.refunded_amount)
    key = idempotency_key("refund", order.id, f"{moved:.2f}", order_id, f"{before:.2f}")
    body: dict[str, Any] | None = None
    if amount is not None:
        transaction = order.transactions[0].id if order.transactions else ""
        body = {"transactions": [{"id": transaction, "amount": f"{cents(amount):.2f}"}]}
    return ActionPlan("refund", order.id, order_id, amount, moved, order.currency, body, key)


def plan_create_order(
    reference: str, amount: Decimal, currency: str, body: dict[str, Any]
) -> ActionPlan:
    """Creating an Orders-API order, keyed by what it is: the same order asked again (a retry
    after a lost answer) sends the same key and Mercado Pago answers the order it made."""
    key = idempotency_key("create_order", reference, f"{cents(amount):.2f}", currency)
    return ActionPlan("create_order", reference, reference, None, amount, currency, body, key)


def send_create_order(
    store: Store, gateway: CreateOrderGateway, plan: ActionPlan, now: datetime
) -> MpOrder:
    """Commit the key, then POST /v1/orders once. A lost answer leaves the write open and
    raises OrderAnswerLostError: the same command run again resends the stored key."""
    plan = store.record_action(plan, now)
    try:
        created = gateway.create_order(plan.body or {}, plan.key)
    except ExternalServiceError as exc:
        if exc.status is None or exc.transient:
            store.note_action_attempt(plan.key, _describe(exc), now)
            raise OrderAnswerLostError(plan.payment_id, exc) from exc
        store.finish_action(plan.key, "refused", None, _describe(exc), now)
        raise
    store.finish_action(plan.key, "done", created.id, None, now)
    return created


class CreateOrderGateway(Protocol):
    def create_order(self, body: Mapping[str, Any], idempotency_key: str) -> MpOrder: ...


def _refusal(request: ActionRequest, payment: Payment, now: datetime) -> Refusal | None:
    if request.kind == "refund":
        return refund_refusal(payment, request.amount, now)
    if request.kind == "cancel":
        return cancel_refusal(payment)
    return capture_refusal(payment, request.amount)


def _plan(request: ActionRequest, payment: Payment, order_id: str, now: datetime) -> ActionPlan:
    if request.kind == "refund":
        return plan_refund(payment, order_id, request.amount)
    if request.kind == "cancel":
        return plan_cancel(payment, order_id)
    return plan_capture(payment, order_id, request.amount, now)


def _describe(error: Exception | None) -> str | None:
    return None if error is None else describe_error(error)


def needs_confirmation(plan: ActionPlan, confirm_above: Decimal) -> bool:
    """Money that moves above the shop's threshold is asked about first (a cancel moves none)."""
    return plan.effective_amount is not None and plan.effective_amount > confirm_above


def parse_amount(text: str | None) -> Decimal | None:
    """An operator's amount: a decimal with a dot (or a decimal comma), never a float."""
    if text is None:
        return None
    try:
        return Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        raise ValidationError("action.bad_amount", amount=text) from None
