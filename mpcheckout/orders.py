"""Orders and their payment history, as `orders list | show` present them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .clock import Clock
from .durations import parse_since
from .errors import NotFoundError, ValidationError
from .models import (
    ChargebackOutcome,
    LedgerChargeback,
    LedgerRefund,
    Order,
    OrderStatus,
    PaymentLog,
)
from .reports.records import StoredReportRow
from .store.base import OrderFilter, Store


@dataclass(slots=True, frozen=True)
class OrderMoney:
    """An order's money, derived from the ledger (never a counter bumped per event)."""

    refunded: Decimal
    remaining: Decimal | None  # amount - refunded; None when the order has no amount
    refunds: int
    chargeback: ChargebackOutcome | None  # the latest case's outcome, if any


@dataclass(slots=True, frozen=True)
class OrderDetail:
    order: Order
    payments: list[PaymentLog]
    money: OrderMoney
    refunds: list[LedgerRefund]
    chargebacks: list[LedgerChargeback]
    # Mercado Pago's settlement and release rows of the order's payments (imported reports).
    report_rows: list[StoredReportRow] = field(default_factory=list)


def money_of(
    order: Order, refunds: Sequence[LedgerRefund], chargebacks: Sequence[LedgerChargeback]
) -> OrderMoney:
    approved = [refund for refund in refunds if refund.status == "approved"]
    refunded = sum((refund.amount for refund in approved), Decimal(0))
    remaining = order.amount - refunded if order.amount is not None else None
    latest = chargebacks[0].outcome if chargebacks else None
    return OrderMoney(refunded, remaining, len(approved), latest)


def orders_money(store: Store, orders: Sequence[Order]) -> dict[str, OrderMoney]:
    """The money of listed orders: one ledger read for all of them."""
    refunds = store.refunds_for_orders([order.id for order in orders])
    by_order: dict[str, list[LedgerRefund]] = {}
    for refund in refunds:
        by_order.setdefault(refund.order_id or "", []).append(refund)
    disputed = [order for order in orders if "chargeback" in order.status]
    cases = {order.id: store.list_chargebacks(order_id=order.id, limit=1) for order in disputed}
    return {
        order.id: money_of(order, by_order.get(order.id, []), cases.get(order.id, []))
        for order in orders
    }


def list_orders(
    store: Store,
    clock: Clock,
    *,
    status: str | None = None,
    since: str | None = None,
    limit: int = 50,
) -> list[Order]:
    if status is not None and status not in set(OrderStatus):
        raise ValidationError("error.bad_status", value=status, allowed=", ".join(OrderStatus))
    moment = parse_since(since, clock.now()) if since else None
    return store.list_orders(OrderFilter(status=status, since=moment, limit=limit))


def order_detail(store: Store, order_id: str) -> OrderDetail:
    order = store.get_order(order_id)
    if order is None:
        raise NotFoundError("error.order_not_found", order_id=order_id)
    refunds = store.refunds_for_orders([order_id])
    chargebacks = store.list_chargebacks(order_id=order_id)
    money = money_of(order, refunds, chargebacks)
    payments = store.payment_logs_for_order(order_id)
    paid_by = {log.payment_id for log in payments} | ({order.payment_id} - {None})
    rows = store.report_rows_for_payments(sorted(str(p) for p in paid_by))
    return OrderDetail(order, payments, money, refunds, chargebacks, rows)
