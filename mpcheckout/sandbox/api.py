"""The Mercado Pago API endpoints the project uses: payments (get, search), merchant orders,
Checkout Pro preferences (create, get). Authentication and faults happen in middleware.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import mp_errors
from .preferences import build_preference
from .render import merchant_order_json, payment_json, preference_json
from .search import parse_search_query
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


async def create_preference(request: Request) -> JSONResponse:
    context = context_of(request)
    preference = build_preference(await read_json(request), context.clock.now())
    context.state.add_preference(preference)
    return JSONResponse(preference_json(preference), status_code=201)


async def get_preference(request: Request) -> JSONResponse:
    context = context_of(request)
    preference = context.state.preference(request.path_params["preference_id"])
    return JSONResponse(preference_json(preference))


def api_routes() -> list[Route]:
    return [
        Route("/v1/payments/search", search_payments, methods=["GET"]),
        Route("/v1/payments/{payment_id}", get_payment, methods=["GET"]),
        Route("/merchant_orders/{order_id}", get_merchant_order, methods=["GET"]),
        Route("/checkout/preferences", create_preference, methods=["POST"]),
        Route("/checkout/preferences/{preference_id}", get_preference, methods=["GET"]),
    ]
