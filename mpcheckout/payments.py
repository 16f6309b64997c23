"""How a Mercado Pago payment state changes a local order. Pure: the store calls `decide` inside
its transaction, with the order as it is there, so the read-decide-write is atomic.

Rules (DESIGN.md, pipeline step 4 and "Money"):
- status mapping (`order_state_for`): approved/authorized -> paid, but approved with detail
  partially_refunded -> partially_refunded; pending/in_process -> pending; in_mediation ->
  disputed; rejected -> rejected; cancelled -> cancelled; refunded -> refunded;
  charged_back/in_process|settled|reimbursed -> chargeback_open|lost|covered. A status or
  detail not in the table keeps the order as it is and says so (Outcome.UNKNOWN): never a guess.
- a payment state is applied once: its key is status, detail and refunded amount together.
- a state older (`date_last_updated`) than what the order already reflects changes nothing, nor
  does an Orders-API order older (`version`) than the version of it already applied;
- an approved payment whose amount or currency differs from the order's is `amount_mismatch`;
- a payment whose `external_reference` matches no order creates one (source `mercadopago`).
One rule more than DESIGN.md states: once an order is settled by one payment, another payment of
the same order (a failed retry by the buyer, a second card) is logged but never un-settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from .models import Chargeback, ChargebackOutcome, Order, OrderStatus, Payment, Refund
from .order_states import order_state_for_mp_order
from .records import record

# Status -> order state; a status whose meaning hangs on its detail maps through DETAILED.
# Mercado Pago's status table (research mp-wave2.md §1.3, §3.3, §7.10).
ORDER_STATUS_BY_PAYMENT_STATUS: dict[str, OrderStatus] = {
    "approved": OrderStatus.PAID,
    "authorized": OrderStatus.PAID,
    "pending": OrderStatus.PENDING,
    "in_process": OrderStatus.PENDING,
    "in_mediation": OrderStatus.DISPUTED,
    "rejected": OrderStatus.REJECTED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}
DETAILED: dict[tuple[str, str], OrderStatus] = {
    ("approved", "partially_refunded"): OrderStatus.PARTIALLY_REFUNDED,
    ("charged_back", "in_process"): OrderStatus.CHARGEBACK_OPEN,
    ("charged_back", "settled"): OrderStatus.CHARGEBACK_LOST,
    ("charged_back", "reimbursed"): OrderStatus.CHARGEBACK_COVERED,
}

# States in which the order's money has moved; only the payment that moved it may change them.
SETTLED = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
        OrderStatus.CHARGEBACK_OPEN,
        OrderStatus.CHARGEBACK_LOST,
        OrderStatus.CHARGEBACK_COVERED,
        OrderStatus.CHARGED_BACK,
        OrderStatus.DISPUTED,
        OrderStatus.AMOUNT_MISMATCH,
    }
)
# An order in these is paid for: its amount must match the payment's.
MONEY_RECEIVED = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED})


def order_state_for(status: str, detail: str | None) -> OrderStatus | None:
    """The order state a payment's status and detail mean, or None when mpcheckout does not
    know what they mean (a new status or detail): the order then keeps its state. A status
    only the Orders API has (`processed`, `action_required`, `expired`, `canceled`...) means
    what order_states says: one vocabulary of local states whichever API reported it."""
    detailed = DETAILED.get((status, detail or ""))
    if detailed is not None:
        return detailed
    if status == "charged_back":
        return None  # the outcome is in the detail; an unknown one is not guessed
    known = ORDER_STATUS_BY_PAYMENT_STATUS.get(status)
    return known if known is not None else order_state_for_mp_order(status, detail)


def money_notes(payment: Payment) -> list[str]:
    """What a person should know about a payment's money that no state says: a status or
    detail mpcheckout does not know (the order was kept as it is), or refunds that do not add
    up to the refunded amount Mercado Pago reports."""
    notes = []
    if order_state_for(payment.status, payment.status_detail) is None:
        state = f"{payment.status}/{payment.status_detail or '-'}"
        notes.append(f"payment {payment.id}: unknown state {state}; order kept as it was")
    listed = sum((r.amount for r in payment.refunds if r.status == "approved"), Decimal(0))
    reported = payment.refunded_amount or Decimal(0)
    if payment.refunds and listed != reported:
        notes.append(
            f"payment {payment.id}: refunds listed add up to {listed:.2f}, "
            f"Mercado Pago reports {reported:.2f} refunded"
        )
    return notes


def payment_state_key(payment: Payment) -> str:
    """A payment's whole observable money state: what makes an observation new. Two partial
    refunds leave status and detail alone but move the refunded amount."""
    refunded = payment.refunded_amount or 0
    return f"{payment.status}|{payment.status_detail or ''}|{refunded:.2f}"


class Outcome(StrEnum):
    APPLIED = "applied"  # logged, order updated
    CREATED = "created"  # logged, order created from the payment
    MISMATCH = "mismatch"  # logged, order flagged amount_mismatch
    KEPT = "kept"  # logged, order left as it is (another payment settled it, or it is newer)
    STALE = "stale"  # an older state of the payment the order reflects: nothing written
    DUPLICATE = "duplicate"  # this payment state was applied before: nothing written
    UNKNOWN = "unknown"  # logged; a status/detail mpcheckout does not know: order kept


@record(slots=True, frozen=True)
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
    if _older_version(payment, order) or (
        order.payment_id == payment.id and _older(payment, order)
    ):
        return Decision(Outcome.STALE, None)
    target = order_state_for(payment.status, payment.status_detail)
    if target is None:
        return Decision(Outcome.UNKNOWN, None)
    if _older(payment, order) or _settled_by_other(order, payment, target):
        return Decision(Outcome.KEPT, None)
    if target in MONEY_RECEIVED and _mismatch(order, payment):
        return Decision(Outcome.MISMATCH, _moved(order, payment, OrderStatus.AMOUNT_MISMATCH, now))
    return Decision(Outcome.APPLIED, _moved(order, payment, target, now))


@record(slots=True, frozen=True)
class BatchDecision:
    """What one transaction writes for a batch of payment states."""

    outcomes: tuple[Outcome, ...]  # one per payment, in batch order
    logged: tuple[Payment, ...]  # the payment states to log, in batch order
    orders: dict[str, Order]  # the order rows to write, by id, in order of first change
    created: frozenset[str]  # the ids among `orders` that are not stored yet
    refunds: tuple[tuple[Refund, str], ...] = ()  # each logged state's refunds, with its order


def decide_batch(
    payments: Sequence[Payment],
    orders: Mapping[str, Order],
    logged: Iterable[tuple[str, str]],
    now: datetime,
    order_id_for: Callable[[Payment], str] = order_id_for,
    decide: Callable[[Order | None, Payment, datetime], Decision] = decide,
) -> BatchDecision:
    """`decide` over a batch as one transaction sees it: `orders` and `logged` (payment id,
    state key) are what is stored; a later payment sees what an earlier one did to its order,
    and a state already logged, stored or earlier in the batch, is a duplicate. The refunds a
    logged state lists go to the ledger with the state's order."""
    current, seen = dict(orders), set(logged)
    outcomes: list[Outcome] = []
    logs: list[Payment] = []
    changed: dict[str, Order] = {}
    created: set[str] = set()
    refunds: list[tuple[Refund, str]] = []
    for payment in payments:
        state = (payment.id, payment_state_key(payment))
        if state in seen:
            outcomes.append(Outcome.DUPLICATE)
            continue
        order_id = order_id_for(payment)
        decision = decide(current.get(order_id), payment, now)
        outcomes.append(decision.outcome)
        if decision.logs_payment:
            seen.add(state)
            logs.append(payment)
            refunds.extend((refund, order_id) for refund in payment.refunds)
        if decision.order is not None:
            current[order_id] = changed[order_id] = decision.order
            if decision.order_is_new:
                created.add(order_id)
    return BatchDecision(tuple(outcomes), tuple(logs), changed, frozenset(created), tuple(refunds))


def chargeback_outcome(chargeback: Chargeback) -> ChargebackOutcome:
    """`coverage_applied` is null until Mercado Pago decides; true: for the seller (the money
    comes back), false: against (research mp-wave2.md §3.1)."""
    if chargeback.coverage_applied is None:
        return "open"
    return "covered" if chargeback.coverage_applied else "lost"


def _create(payment: Payment, now: datetime) -> Decision:
    target = order_state_for(payment.status, payment.status_detail) or OrderStatus.PENDING
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


def _older_version(payment: Payment, order: Order) -> bool:
    """An Orders-API order older than the version of it the order already shows: versions
    tell apart changes that share a last_updated_date."""
    if payment.mp_order_id is None or payment.mp_order_id != order.mp_order_id:
        return False
    seen, incoming = order.mp_order_version, payment.mp_order_version
    return seen is not None and incoming is not None and incoming < seen


def _settled_by_other(order: Order, payment: Payment, target: OrderStatus) -> bool:
    if order.payment_id is None or order.payment_id == payment.id:
        return False
    if order.status == OrderStatus.AMOUNT_MISMATCH and target in MONEY_RECEIVED:
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
    if status in MONEY_RECEIVED and paid_at is None:
        paid_at = payment.date_approved or now
    return replace(
        order,
        status=status,
        payment_id=payment.id,
        payment_status=payment.status,
        payment_updated_at=payment.date_last_updated or now,
        paid_at=paid_at,
        updated_at=now,
        mp_order_id=payment.mp_order_id or order.mp_order_id,
        mp_order_version=(
            payment.mp_order_version if payment.mp_order_id is not None else order.mp_order_version
        ),
    )
