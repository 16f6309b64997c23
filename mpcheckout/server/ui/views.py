"""The status page's GET handlers: parse the query, name the view model, render. Each page is
also JSON with `?format=json`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...errors import NotFoundError
from ...events import MAX_ROW_ID
from ...pages.orders import OrderFilters, order_page, orders_page
from ...pages.queue import (
    DeadLetterFilters,
    EventFilters,
    dead_letter_page,
    dead_letters_page,
    event_page,
    events_page,
)
from ...pages.reconcile import reconcile_page
from ...pages.summary import summary_page
from .render import chart
from .web import Screen, page, problem, session_of

NOTICES = ("replayed", "discarded", "reconciled", "reconcile_busy")


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:200] or None


def _notice(request: Request) -> dict[str, Any]:
    notice = request.query_params.get("notice")
    count = request.query_params.get("count", "")
    return {
        "notice": notice if notice in NOTICES else None,
        "count": int(count) if count.isascii() and count.isdigit() and len(count) < 10 else 0,
    }


async def summary(request: Request) -> Response:
    screen = Screen("summary.html", None, "ui.title.summary", "summary")
    screen.decorate = lambda model: {"chart": chart(model.hours)}
    return await page(
        request,
        lambda ctx: summary_page(ctx.store, ctx.clock, ctx.settings, ctx.status_report()),
        screen,
    )


async def orders(request: Request) -> Response:
    filters = OrderFilters(
        _query(request, "status"), _query(request, "since"), _query(request, "q")
    )
    screen = Screen("orders.html", None, "ui.title.orders", "orders")
    return await page(request, lambda ctx: orders_page(ctx.store, ctx.clock, filters), screen)


async def order(request: Request) -> Response:
    order_id = request.query_params.get("id", "")  # a query: any id survives the trip intact
    screen = Screen("order.html", None, "ui.title.order", "orders")
    return await page(
        request, lambda ctx: order_page(ctx.store, ctx.clock, ctx.settings, order_id), screen
    )


async def dead_letters(request: Request) -> Response:
    filters = DeadLetterFilters(
        _query(request, "reason"),
        _query(request, "topic"),
        _query(request, "since"),
        request.query_params.get("resolved") == "1",
    )
    screen = Screen(
        "dead_letters.html", None, "ui.title.dead_letters", "dead_letters", extra=_notice(request)
    )
    return await page(request, lambda ctx: dead_letters_page(ctx.store, ctx.clock, filters), screen)


async def dead_letter(request: Request) -> Response:
    letter_id = _row_id(request)
    if letter_id is None:
        return problem(request, session_of(request), NotFoundError("error.not_found"))
    screen = Screen(
        "dead_letter.html", None, "ui.title.dead_letter", "dead_letters", extra=_notice(request)
    )
    return await page(
        request, lambda ctx: dead_letter_page(ctx.store, ctx.settings, letter_id), screen
    )


async def events(request: Request) -> Response:
    filters = EventFilters(
        _query(request, "status"), _query(request, "topic"), _query(request, "since")
    )
    screen = Screen("events.html", None, "ui.title.events", "events")
    return await page(request, lambda ctx: events_page(ctx.store, ctx.clock, filters), screen)


async def event(request: Request) -> Response:
    event_id = _row_id(request)
    if event_id is None:
        return problem(request, session_of(request), NotFoundError("error.not_found"))
    screen = Screen("event.html", None, "ui.title.event", "events", extra=_notice(request))
    return await page(request, lambda ctx: event_page(ctx.store, ctx.settings, event_id), screen)


async def reconcile(request: Request) -> Response:
    screen = Screen(
        "reconcile.html", None, "ui.title.reconcile", "reconcile", extra=_notice(request)
    )
    return await page(request, lambda ctx: reconcile_page(ctx.store), screen)


def _row_id(request: Request) -> int | None:
    text = request.path_params["row_id"]
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    return int(text) if 0 < int(text) <= MAX_ROW_ID else None
