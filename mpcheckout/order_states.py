"""What an Orders-API order's status and detail mean for the local order. Pure.

The Orders API spells things its own way (research mp-wave2 §5.3): `canceled` with one "l"
(payments say `cancelled`); a fully refunded Checkout Pro order stays `processed` with detail
`refunded`, while QR and Point orders become status `refunded`; `action_required/*`, `created`
and `processing` wait for someone (the buyer, a capture, the terminal), and the reason is the
detail, which `pending_reason` keeps for display. Chargebacks read like the Payments API's
(`charged_back/in_process|settled|reimbursed`, §3.3): the mapping keeps one vocabulary of local
states whichever API reported the money. Anything not in the tables is None: the order keeps its
state and the caller logs what it saw, never a guess.
"""

from __future__ import annotations

from .models import OrderStatus

# Statuses whose meaning does not depend on the detail.
BY_STATUS: dict[str, OrderStatus] = {
    "created": OrderStatus.PENDING,
    "processing": OrderStatus.PENDING,
    "action_required": OrderStatus.PENDING,
    "refunded": OrderStatus.REFUNDED,  # QR and Point: the whole order went back
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,  # the Payments API's spelling, should it ever appear
    "expired": OrderStatus.EXPIRED,
    "failed": OrderStatus.REJECTED,
}
# Statuses whose meaning is in the detail.
BY_STATUS_AND_DETAIL: dict[tuple[str, str], OrderStatus] = {
    ("processed", "accredited"): OrderStatus.PAID,
    ("processed", "partially_refunded"): OrderStatus.PARTIALLY_REFUNDED,
    ("processed", "refunded"): OrderStatus.REFUNDED,  # Checkout Pro: still "processed"
    ("charged_back", "in_process"): OrderStatus.CHARGEBACK_OPEN,
    ("charged_back", "settled"): OrderStatus.CHARGEBACK_LOST,
    ("charged_back", "reimbursed"): OrderStatus.CHARGEBACK_COVERED,
}
WAITING = frozenset({"created", "processing", "action_required"})


def order_state_for_mp_order(status: str, detail: str | None) -> OrderStatus | None:
    """The local order state an Orders-API status and detail mean, or None when unknown."""
    detailed = BY_STATUS_AND_DETAIL.get((status, detail or ""))
    if detailed is not None:
        return detailed
    return BY_STATUS.get(status)


def pending_reason(status: str, detail: str | None) -> str | None:
    """Why a waiting order waits (`waiting_payment`, `waiting_capture`, `in_process`...), shown
    beside `pending`; None for an order that is not waiting or gives no reason."""
    if status not in WAITING or not detail or detail == status:
        return None
    return detail
