"""An Orders-API order read as the Payment record the ledger already applies. Pure.

One adapter instead of a second ledger: exactly-once (the payment state key), stale states
(`date_last_updated`, and the order's `version`), amount checks, orders created from Mercado
Pago and the refund ledger all work on orders as they do on payments.

- The payment id is the order's transaction (`PAY01…`), or, when the transaction names the
  Payments-API payment behind it (`reference.id`, QR and Point orders; research mp-wave2
  §5.4), THAT payment's id, so the same money notified through both APIs is one payment: its
  states carry the same key and the second arrival is a duplicate. An order without a
  transaction yet (a Checkout Pro order nobody paid) is its own `ORD…` id.
- Statuses are spelled as the Payments API spells the same meaning (`processed/accredited` ->
  `approved/accredited`, `canceled` -> `cancelled`, `failed` -> `rejected`, Checkout Pro's
  `processed/refunded` and QR's `refunded` -> `refunded/refunded`); what the Payments API has no
  word for (`action_required`, `created`, `expired`...) keeps the Orders spelling, which
  payments.order_state_for reads through order_states. Either way the local state is the one
  order_states.order_state_for_mp_order gives (tests/unit/test_order_payments.py holds it).
- Refunds are `REF01…`, or the Payments-API refund they name (`reference_id`) for a linked
  payment, again so one refund is one ledger row; Orders' `processed` is the ledger's
  `approved`.
"""

from __future__ import annotations

from .models import MpOrder, MpOrderPayment, MpOrderRefund, Payment, Refund

# Orders (status, detail) -> the Payments API's words for the same state.
SAME_MEANING: dict[tuple[str, str], tuple[str, str]] = {
    ("processed", "accredited"): ("approved", "accredited"),
    ("processed", "partially_refunded"): ("approved", "partially_refunded"),
    ("processed", "refunded"): ("refunded", "refunded"),
}
SAME_STATUS = {"canceled": "cancelled", "failed": "rejected", "refunded": "refunded"}
REFUND_STATUS = {"processed": "approved"}


def payments_spelling(status: str, detail: str | None) -> tuple[str, str | None]:
    """The Payments API's status and detail for an Orders status and detail."""
    same = SAME_MEANING.get((status, detail or ""))
    if same is not None:
        return same
    return SAME_STATUS.get(status, status), detail


def payment_id_for(order: MpOrder) -> str:
    transaction = _first(order)
    if transaction is None:
        return order.id
    return transaction.reference_id or transaction.id


def payment_for_mp_order(order: MpOrder) -> Payment:
    status, detail = payments_spelling(order.status, order.status_detail)
    payment_id = payment_id_for(order)
    linked = _first(order) is not None and payment_id != _transaction_id(order)
    paid = order.status in ("processed", "refunded")
    return Payment(
        id=payment_id,
        status=status,
        status_detail=detail,
        external_reference=order.external_reference,
        amount=order.total_amount,
        currency=order.currency,
        date_last_updated=order.last_updated_date,
        date_approved=order.last_updated_date if paid else None,
        raw=order.raw,
        refunded_amount=order.refunded_amount,
        refunds=tuple(_refund(refund, payment_id, linked) for refund in order.refunds),
        mp_order_id=order.id,
        mp_order_version=order.version,
    )


def _first(order: MpOrder) -> MpOrderPayment | None:
    # Checkout Pro and QR orders carry one payment transaction; a second one (manual mode
    # splits) is not money mpcheckout tracks apart yet: the order's totals are used.
    return order.transactions[0] if order.transactions else None


def _transaction_id(order: MpOrder) -> str | None:
    first = _first(order)
    return first.id if first is not None else None


def _refund(refund: MpOrderRefund, payment_id: str, linked: bool) -> Refund:
    named = refund.reference_id if linked and (refund.reference_id or "").isdigit() else None
    status = refund.status or "processed"
    return Refund(
        id=named or refund.id,
        payment_id=payment_id,
        amount=refund.amount,
        status=REFUND_STATUS.get(status, status),
        source_type=None,
        date_created=None,
        raw={"id": refund.id, "transaction_id": refund.transaction_id},
    )
