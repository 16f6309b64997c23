"""How a Mercado Pago payment state changes a local order. Pure: the store calls `decide` inside
its transaction, with the order as it is there, so the read-decide-write is atomic.

Rules (DESIGN.md, pipeline step 4):
- status mapping: approved/authorized -> paid; pending/in_process -> pending; in_mediation ->
  disputed; rejected -> rejected; cancelled -> cancelled; refunded -> refunded; charged_back ->
  charged_back.
- a state older (`date_last_updated`) than what the order already reflects changes nothing;
- an approved payment whose amount or currency differs from the order's is `amount_mismatch`;
- a payment whose `external_reference` matches no order creates one (source `mercadopago`).
One rule more than DESIGN.md states: once an order is settled by one payment, another payment of
the same order (a failed retry by the buyer, a second card) is logged but never un-settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .models import Order, OrderStatus, Payment

ORDER_STATUS_BY_PAYMENT_STATUS: dict[str, OrderStatus] = {
    "approved": OrderStatus.PAID,
    "authorized": OrderStatus.PAID,
    "pending": OrderStatus.PENDING,
    "in_process": OrderStatus.PENDING,
    "in_mediation": OrderStatus.DISPUTED,
    "rejected": OrderStatus.REJECTED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
    "charged_back": OrderStatus.CHARGED_BACK,
}

# States in which the order's money has moved; only the payment that moved it may change them.
SETTLED = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.REFUNDED,
        OrderStatus.CHARGED_BACK,
        OrderStatus.DISPUTED,
        OrderStatus.AMOUNT_MISMATCH,
    }
)


class Outcome(StrEnum):
    APPLIED = "applied"  # logged, order updated
    CREATED = "created"  # logged, order created from the payment
    MISMATCH = "mismatch"  # logged, order flagged amount_mismatch
    KEPT = "kept"  # logged, order left as it is (another payment settled it, or it is newer)
    STALE = "stale"  # an older state of the payment the order reflects: nothing written
    DUPLICATE = "duplicate"  # this (payment, status) was applied before: nothing written


@dataclass(slots=True, frozen=True)
class Decision:
    outcome: Outcome
    order: Order | None  # the order row to write, or None to leave it untouched
    order_is_new: bool = False

    @property
    def logs_payment(self) -> bool:
        return self.outcome not in (Outcome.STALE, Outcome.DUPLICATE)


def order_id_for(payment: Payment) -> str:
    """Our order id is Mercado Pago's external_reference; a payment without one gets its own."""
    return payment.external_reference or f"mp-{payment.id}"


def decide(order: Order | None, payment: Payment, now: datetime) -> Decision:
    if order is None:
        return _create(payment, now)
    if order.payment_id == payment.id and _older(payment, order):
        return Decision(Outcome.STALE, None)
    target = ORDER_STATUS_BY_PAYMENT_STATUS.get(payment.status)
    if target is None or _older(payment, order) or _settled_by_other(order, payment, target):
        return Decision(Outcome.KEPT, None)
    if target == OrderStatus.PAID and _mismatch(order, payment):
        return Decision(Outcome.MISMATCH, _moved(order, payment, OrderStatus.AMOUNT_MISMATCH, now))
    return Decision(Outcome.APPLIED, _moved(order, payment, target, now))


@dataclass(slots=True, frozen=True)
class BatchDecision:
    """What one transaction writes for a batch of payment states."""

    outcomes: tuple[Outcome, ...]  # one per payment, in batch order
    logged: tuple[Payment, ...]  # the payment states to log, in batch order
    orders: dict[str, Order]  # the order rows to write, by id, in order of first change
    created: frozenset[str]  # the ids among `orders` that are not stored yet


def decide_batch(
    payments: Sequence[Payment],
    orders: Mapping[str, Order],
    logged: Iterable[tuple[str, str]],
    now: datetime,
    order_id_for: Callable[[Payment], str] = order_id_for,
    decide: Callable[[Order | None, Payment, datetime], Decision] = decide,
) -> BatchDecision:
    """`decide` over a batch as one transaction sees it: `orders` and `logged` (payment id,
    status) are what is stored; a later payment sees what an earlier one did to its order, and
    a state already logged, stored or earlier in the batch, is a duplicate."""
    current, seen = dict(orders), set(logged)
    outcomes: list[Outcome] = []
    logs: list[Payment] = []
    changed: dict[str, Order] = {}
    created: set[str] = set()
    for payment in payments:
        if (payment.id, payment.status) in seen:
            outcomes.append(Outcome.DUPLICATE)
            continue
        order_id = order_id_for(payment)
        decision = decide(current.get(order_id), payment, now)
        outcomes.append(decision.outcome)
        if decision.logs_payment:
            seen.add((payment.id, payment.status))
            logs.append(payment)
        if decision.order is not None:
            current[order_id] = changed[order_id] = decision.order
            if decision.order_is_new:
                created.add(order_id)
    return BatchDecision(tuple(outcomes), tuple(logs), changed, frozenset(created))


def _create(payment: Payment, now: datetime) -> Decision:
    target = ORDER_STATUS_BY_PAYMENT_STATUS.get(payment.status, OrderStatus.PENDING)
    blank = Order(
        id=order_id_for(payment),
        status=OrderStatus.PENDING,
        amount=payment.amount,
        currency=payment.currency,
        created_at=now,
        updated_at=now,
        source="mercadopago",
    )
    return Decision(Outcome.CREATED, _moved(blank, payment, target, now), order_is_new=True)


def _older(payment: Payment, order: Order) -> bool:
    seen, incoming = order.payment_updated_at, payment.date_last_updated
    return seen is not None and incoming is not None and incoming < seen


def _settled_by_other(order: Order, payment: Payment, target: OrderStatus) -> bool:
    if order.payment_id is None or order.payment_id == payment.id:
        return False
    if order.status == OrderStatus.AMOUNT_MISMATCH and target == OrderStatus.PAID:
        return False  # a correct second payment may settle an order the first one got wrong
    return order.status in SETTLED


def _mismatch(order: Order, payment: Payment) -> bool:
    if order.amount is not None and payment.amount is not None and order.amount != payment.amount:
        return True
    if order.currency and payment.currency:
        return order.currency.upper() != payment.currency.upper()
    return False


def _moved(order: Order, payment: Payment, status: OrderStatus, now: datetime) -> Order:
    paid_at = order.paid_at
    if status == OrderStatus.PAID and paid_at is None:
        paid_at = payment.date_approved or now
    return replace(
        order,
        status=status,
        payment_id=payment.id,
        payment_status=payment.status,
        payment_updated_at=payment.date_last_updated or now,
        paid_at=paid_at,
        updated_at=now,
    )
