"""Orders and their payment history, as `orders list | show` present them."""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .durations import parse_since
from .errors import NotFoundError, ValidationError
from .models import Order, OrderStatus, PaymentLog
from .store.base import OrderFilter, Store


@dataclass(slots=True, frozen=True)
class OrderDetail:
    order: Order
    payments: list[PaymentLog]


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
    return OrderDetail(order, store.payment_logs_for_order(order_id))
