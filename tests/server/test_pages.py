"""View models on a real SQLite store: what the status page shows, before any HTML."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from mpcheckout.config import Settings
from mpcheckout.models import Order
from mpcheckout.pages.orders import OrderFilters, orders_page
from mpcheckout.pages.summary import CHART_HOURS, summary_page
from mpcheckout.store.base import OrderFilter
from tests.server.ui_support import seed_shop

STATES = ["paid", "pending", "rejected", "refunded"]


def test_the_orders_page_lists_the_newest_orders_whatever_their_status(sqlite_store, clock):
    for n in range(130):
        created = clock.now() - timedelta(minutes=(n * 7) % 97, seconds=n % 3)
        order = Order(f"o-{n:03d}", STATES[n % 4], Decimal("1.00"), "ARS", created, created)
        sqlite_store.create_order(order)
    page = orders_page(sqlite_store, clock, OrderFilters())
    expected = sqlite_store.list_orders(OrderFilter(limit=50))
    assert [row.id for row in page.rows] == [order.id for order in expected]
    assert page.counts == {
        state: 130 // 4 + (1 if STATES.index(state) < 130 % 4 else 0) for state in STATES
    }


def test_the_summary_has_a_bar_for_every_hour_of_the_day(sqlite_store, clock):
    seed_shop(sqlite_store, clock.now() - timedelta(hours=3))
    page = summary_page(sqlite_store, clock, Settings())
    assert len(page.hours) == CHART_HOURS
    assert [h.hour for h in page.hours] == sorted({h.hour for h in page.hours})
    busy = [h for h in page.hours if h.completed or h.dead]
    assert [(h.completed, h.dead) for h in busy] == [(1, 2)]
    assert busy[0].hour == (clock.now() - timedelta(hours=3)).replace(minute=0)
    assert [a.key for a in page.attention] == ["attention.dead_letters"]
