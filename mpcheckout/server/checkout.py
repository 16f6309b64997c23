"""POST /api/checkout/create-preference: a cart in, a pending order and a Checkout Pro link out.
Rate limited per client IP in the store (shared by every worker)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import ratelimit
from ..checkout import CheckoutResult, checkout_api, create_checkout, parse_cart, webhook_url
from ..durations import parse_duration
from ..errors import AppError, RateLimitError, ValidationError
from .context import ServerContext
from .receiver import client_ip, read_limited
from .responses import error_response, json_response, rate_limit_headers

ROUTE = "create_preference"
MAX_CART_BYTES = 64 * 1024


async def create_preference(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    client = client_ip(ctx, request)
    headers: dict[str, str] = {}
    limit = ctx.settings.server.rate_limits.get(ROUTE)
    if limit is not None:
        decision = await run_in_threadpool(
            ratelimit.hit, ctx.store, ctx.clock, ROUTE, client, limit
        )
        headers = rate_limit_headers(decision, ctx.clock.now())
        if not decision.allowed:
            return error_response(RateLimitError(), ctx.t, headers)
    try:
        result = await run_in_threadpool(_create, ctx, await _cart(request))
    except AppError as exc:
        return error_response(exc, ctx.t, headers)
    return json_response(
        {
            "order_id": result.order_id,
            "preference_id": result.preference_id,
            "init_point": result.init_point,
            "sandbox_init_point": result.sandbox_init_point,
            "amount": result.amount,
            "currency": result.currency,
            "api": result.api,
            "mp_order_id": result.mp_order_id,
        },
        headers=headers,
    )


async def _cart(request: Request) -> dict[str, Any]:
    body = await read_limited(request, MAX_CART_BYTES)
    try:
        cart = json.loads(body) if body else None
    except (ValueError, RecursionError):
        cart = None
    if not isinstance(cart, dict):
        raise ValidationError("error.cart_not_json")
    return cart


def _create(ctx: ServerContext, cart: dict[str, Any]) -> CheckoutResult:
    items = parse_cart(cart.get("items"))
    reference = cart.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValidationError("error.bad_reference", reference=str(reference)[:64])
    expires = _expires_in(ctx, cart.get("expires_in"))
    api = checkout_api(cart.get("api"), ctx.settings.checkout.api)
    return create_checkout(
        ctx.store,
        ctx.runtime.gateway,
        ctx.clock,
        items,
        reference=reference,
        notification_url=webhook_url(ctx.settings.server.public_url),
        expires_in=expires,
        api=api,
    )


def _expires_in(ctx: ServerContext, value: object) -> timedelta | None:
    """A positive duration whose end a datetime can hold ("99999999999999d" overflows)."""
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            delta = parse_duration(value)
            ctx.clock.now() + delta
        except OverflowError:
            pass
        else:
            if delta > timedelta(0):
                return delta
    raise ValidationError("error.bad_duration", value=str(value)[:32])
