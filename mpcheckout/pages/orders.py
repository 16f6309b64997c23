"""Orders, money first: the list (filters as `orders list` has them, plus an order id lookup)
and one order with its payments and the events that touched it.

The money of an order is one `OrderMoney`, built from the order and its payment log in one
place: refunds, chargebacks, fees and net join it as fields when the ledger records them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..clock import Clock
from ..config import Settings
from ..models import Order, OrderStatus, PaymentLog, QueueEvent
from ..orders import list_orders, order_detail
from ..store.base import Store
from .masking import clip

PAGE_SIZE = 50
EVENT_WINDOW = 200_000  # queue rows searched for an order's events (resource_id has no index)
EVENT_LIMIT = 50
PAID_STATES = ("approved", "authorized")


@dataclass(slots=True, frozen=True)
class OrderFilters:
    status: str | None = None
    since: str | None = None
    q: str | None = None


@dataclass(slots=True, frozen=True)
class OrderRow:
    id: str
    status: str
    amount: Decimal | None
    currency: str | None
    title: str | None
    payment_id: str | None
    payment_status: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    waiting_seconds: float | None  # pending orders: how long they have waited


@dataclass(slots=True)
class OrdersPage:
    filters: OrderFilters
    rows: list[OrderRow]
    counts: dict[str, int]
    statuses: list[str]
    limit: int = PAGE_SIZE


@dataclass(slots=True, frozen=True)
class OrderMoney:
    amount: Decimal | None
    currency: str | None
    paid: Decimal  # approved payments' amounts in the order's currency


@dataclass(slots=True, frozen=True)
class PaymentRow:
    payment_id: str
    status: str
    status_detail: str | None
    amount: Decimal | None
    currency: str | None
    source: str
    date_last_updated: datetime | None
    recorded_at: datetime


@dataclass(slots=True, frozen=True)
class EventRow:
    id: int
    topic: str
    action: str | None
    resource_id: str | None
    status: str
    attempts: int
    received_via: str
    received_at: datetime
    last_error: str | None


@dataclass(slots=True)
class OrderPage:
    order: OrderRow
    money: OrderMoney
    payments: list[PaymentRow]
    events: list[EventRow]
    events_window: int = EVENT_WINDOW
    flags: list[str] = field(default_factory=list)


def orders_page(store: Store, clock: Clock, filters: OrderFilters) -> OrdersPage:
    counts = store.order_counts()
    if filters.q:
        found = store.get_order(filters.q.strip())
        orders = [found] if found else []
    elif filters.status:
        orders = list_orders(
            store, clock, status=filters.status, since=filters.since or None, limit=PAGE_SIZE
        )
    else:
        orders = _newest_of_every_status(store, clock, counts, filters.since or None)
    now = clock.now()
    return OrdersPage(filters, [order_row(o, now) for o in orders], counts, list(OrderStatus))


def _newest_of_every_status(
    store: Store, clock: Clock, counts: dict[str, int], since: str | None
) -> list[Order]:
    """The newest orders whatever their status, merged from each status's newest: orders are
    indexed by (status, created_at) only, and sorting all of them took 70 ms at 100,000
    orders, against well under 1 ms for one index range per status."""
    found = [
        order
        for status in counts
        for order in list_orders(store, clock, status=status, since=since, limit=PAGE_SIZE)
    ]
    found.sort(key=lambda order: order.id)
    found.sort(key=lambda order: order.created_at, reverse=True)  # as list_orders: newest, id
    return found[:PAGE_SIZE]


def order_page(store: Store, clock: Clock, settings: Settings, order_id: str) -> OrderPage:
    detail = order_detail(store, order_id)
    payment_ids = [log.payment_id for log in detail.payments]
    if detail.order.payment_id:
        payment_ids.append(detail.order.payment_id)
    events = store.events_for_resources(payment_ids, EVENT_WINDOW, EVENT_LIMIT)
    return OrderPage(
        order_row(detail.order, clock.now()),
        _money(detail.order, detail.payments),
        [_payment_row(log) for log in detail.payments],
        [event_row(event) for event in events],
        flags=_flags(detail.order, detail.payments),
    )


def order_row(order: Order, now: datetime) -> OrderRow:
    waiting = (now - order.created_at).total_seconds() if order.status == "pending" else None
    return OrderRow(
        order.id,
        order.status,
        order.amount,
        order.currency,
        clip(order.title),
        order.payment_id,
        order.payment_status,
        order.source,
        order.created_at,
        order.updated_at,
        order.paid_at,
        waiting,
    )


def _money(order: Order, payments: list[PaymentLog]) -> OrderMoney:
    """Each payment counted once, at its latest approved state."""
    approved: dict[str, Decimal] = {}
    for log in payments:
        if log.status in PAID_STATES and log.amount is not None and log.currency == order.currency:
            approved[log.payment_id] = log.amount
    return OrderMoney(order.amount, order.currency, sum(approved.values(), Decimal("0")))


def _flags(order: Order, payments: list[PaymentLog]) -> list[str]:
    flags = []
    if order.status == "amount_mismatch":
        flags.append("flag.amount_mismatch")
    if len({log.payment_id for log in payments}) > 1:
        flags.append("flag.several_payments")
    if any(log.raw.get("live_mode") is False for log in payments):
        flags.append("flag.test_mode")
    return flags


def _payment_row(log: PaymentLog) -> PaymentRow:
    return PaymentRow(
        log.payment_id,
        log.status,
        log.status_detail,
        log.amount,
        log.currency,
        log.source,
        log.date_last_updated,
        log.recorded_at,
    )


def event_row(event: QueueEvent) -> EventRow:
    return EventRow(
        event.id,
        event.topic,
        event.action,
        event.resource_id,
        event.status,
        event.attempts,
        event.received_via,
        event.received_at,
        clip(event.last_error, 300),
    )
