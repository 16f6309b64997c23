from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from mpcheckout.models import Notification, Order, Payment
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.payments import decide, order_id_for
from mpcheckout.store.base import PaymentRules

RULES = PaymentRules(order_id_for=order_id_for, decide=decide)


def webhook(n: int, payment_id: str | None = None, action: str = "payment.updated") -> Notification:
    body = {"id": n, "type": "payment", "action": action, "data": {"id": payment_id or str(n)}}
    return parse_notification(RawRequest(body=json.dumps(body).encode()))


def ipn(payment_id: str) -> Notification:
    return parse_notification(RawRequest(query=f"topic=payment&id={payment_id}"))


def payment(
    payment_id: str,
    status: str,
    updated: datetime,
    reference: str | None = "order-1",
    amount: str = "100.50",
    currency: str = "ARS",
) -> Payment:
    return Payment(
        id=payment_id,
        status=status,
        status_detail=None,
        external_reference=reference,
        amount=Decimal(amount),
        currency=currency,
        date_last_updated=updated,
        date_approved=updated if status == "approved" else None,
        raw={"id": int(payment_id), "status": status},
    )


def order(order_id: str, now: datetime, amount: str = "100.50", currency: str = "ARS") -> Order:
    return Order(
        id=order_id,
        status="pending",
        amount=Decimal(amount),
        currency=currency,
        created_at=now,
        updated_at=now,
    )
