"""The Mercado Pago API endpoints the project uses: payments (get, search, cancel, capture),
refunds (create, list, get), chargebacks (get), merchant orders, Checkout Pro preferences
(create, get). Authentication, the request log and faults happen in middleware.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import mp_errors, payment_writes
from .context import SandboxContext
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import fingerprint
from .preferences import build_preference
from .render import (
    chargeback_json,
    merchant_order_json,
    payment_json,
    preference_json,
    refund_json,
)
from .search import parse_search_query
from .state import Payment
from .web import context_of, numeric_id, read_json


async def get_payment(request: Request) -> JSONResponse:
    context = context_of(request)
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    return JSONResponse(payment_json(context.state.payment(payment_id), context.state))


async def search_payments(request: Request) -> JSONResponse:
    context = context_of(request)
    query = parse_search_query(request.query_params, context.clock.now())
    total, page = context.search.run(query)
    return JSONResponse(
        {
            "paging": {"total": total, "limit": query.limit, "offset": query.offset},
            "results": [payment_json(payment, context.state) for payment in page],
        }
    )


async def get_merchant_order(request: Request) -> JSONResponse:
    context = context_of(request)
    text = request.path_params["order_id"]
    order_id = numeric_id(text, mp_errors.merchant_order_not_found(text))
    return JSONResponse(merchant_order_json(context.state.merchant_order(order_id), context.state))


async def search_merchant_orders(request: Request) -> JSONResponse:
    """`{"elements", "total", "next_offset"}`, not the payment search's results/paging (sdk-python
    mock merchant_order_search.json; the OpenAPI is wrong here). Filters: external_reference,
    preference_id, status; `limit` (default 30, at most 100, an assumption) and `offset`."""
    context = context_of(request)
    params = request.query_params
    limit = _bounded_int(params.get("limit"), 30, 1, 100, "limit")
    offset = _bounded_int(params.get("offset"), 0, 0, 10_000, "offset")
    wanted = {name: params.get(name) for name in ("external_reference", "preference_id")}
    matching = []
    for order in context.state.merchant_orders.values():
        document = merchant_order_json(order, context.state)
        if all(value is None or document[name] == value for name, value in wanted.items()) and (
            params.get("status") in (None, document["status"])
        ):
            matching.append(document)
    page = matching[offset : offset + limit]
    return JSONResponse(
        {"elements": page, "total": len(matching), "next_offset": offset + len(page)}
    )


def _bounded_int(text: str | None, default: int, low: int, high: int, name: str) -> int:
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise mp_errors.bad_request(f"{name} invalid", data=name)
    return int(text)


async def create_preference(request: Request) -> JSONResponse:
    context = context_of(request)
    preference = build_preference(await read_json(request), context.clock.now())
    context.state.add_preference(preference)
    return JSONResponse(preference_json(preference, str(request.base_url)), status_code=201)


async def get_preference(request: Request) -> JSONResponse:
    context = context_of(request)
    preference = context.state.preference(request.path_params["preference_id"])
    return JSONResponse(preference_json(preference, str(request.base_url)))


def _payment_of(request: Request) -> Payment:
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    return context_of(request).state.payment(payment_id)


async def create_refund(request: Request) -> JSONResponse:
    """201 and the refund; the key is required (Mercado Pago made it mandatory in 2023)."""
    context = context_of(request)

    def perform(body: Any, payment: Payment) -> dict[str, Any]:
        wanted = payment_writes.refund_request(body)
        made = payment_writes.refund(context.state, payment, wanted, context.clock.now())
        return refund_json(made)

    return await _idempotent_write(request, perform, status=201, key_required=True)


async def update_payment(request: Request) -> JSONResponse:
    """Cancel or capture; answers the payment. The key is optional here, honoured if sent."""
    context = context_of(request)

    def perform(body: Any, payment: Payment) -> dict[str, Any]:
        update = payment_writes.payment_update(body)
        payment_writes.apply_update(context.state, payment, update, context.clock.now())
        return payment_json(payment, context.state)

    return await _idempotent_write(request, perform, status=200, key_required=False)


async def _idempotent_write(
    request: Request,
    perform: Callable[[Any, Payment], dict[str, Any]],
    *,
    status: int,
    key_required: bool,
) -> JSONResponse:
    """Replay a known key's answer, or perform the write, remember its answer under the key and
    notify `payment.updated`. Nothing awaits between the key check and remembering the
    answer, so two requests with one key cannot both write."""
    context = context_of(request)
    # A key sent twice is read as HTTP reads it, both values joined: a client whose SDK adds its
    # own random key beside the one it meant (research mp-wave2 §0.4) gets no replay, as it
    # would not from Mercado Pago.
    key = ", ".join(request.headers.getlist(IDEMPOTENCY_HEADER))
    if not key and key_required:
        raise mp_errors.idempotency_key_missing()
    payment = _payment_of(request)
    body = await read_json(request)
    request_print = fingerprint(request.method, request.url.path, body)
    if key:
        stored = context.idempotency.replay(key, request_print, context.clock.now())
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status)
    answer = perform(body, payment)
    if key:
        context.idempotency.remember(key, request_print, status, answer, context.clock.now())
    await context.notify_api_change(payment)
    return JSONResponse(answer, status_code=status)


async def list_refunds(request: Request) -> JSONResponse:
    """A JSON array (the OpenAPI says an object; the SDK's recorded answer is an array)."""
    return JSONResponse([refund_json(refund) for refund in _payment_of(request).refunds])


async def get_refund(request: Request) -> JSONResponse:
    payment = _payment_of(request)
    text = request.path_params["refund_id"]
    refund_id = numeric_id(text, mp_errors.refund_not_found())
    for refund in payment.refunds:
        if refund.id == refund_id:
            return JSONResponse(refund_json(refund))
    raise mp_errors.refund_not_found()


async def get_chargeback(request: Request) -> JSONResponse:
    context: SandboxContext = context_of(request)
    chargeback = context.state.chargeback(request.path_params["chargeback_id"])
    return JSONResponse(chargeback_json(chargeback))


def api_routes() -> list[Route]:
    return [
        Route("/v1/payments/search", search_payments, methods=["GET"]),
        Route("/v1/payments/{payment_id}", get_payment, methods=["GET"]),
        Route("/v1/payments/{payment_id}", update_payment, methods=["PUT"]),
        Route("/v1/payments/{payment_id}/refunds", create_refund, methods=["POST"]),
        Route("/v1/payments/{payment_id}/refunds", list_refunds, methods=["GET"]),
        Route("/v1/payments/{payment_id}/refunds/{refund_id}", get_refund, methods=["GET"]),
        Route("/v1/chargebacks/{chargeback_id}", get_chargeback, methods=["GET"]),
        Route("/merchant_orders/search", search_merchant_orders, methods=["GET"]),
        Route("/merchant_orders/{order_id}", get_merchant_order, methods=["GET"]),
        Route("/checkout/preferences", create_preference, methods=["POST"]),
        Route("/checkout/preferences/{preference_id}", get_preference, methods=["GET"]),
    ]
