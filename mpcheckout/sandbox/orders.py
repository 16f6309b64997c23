"""The Orders API (`/v1/orders`) and its control calls (`/_sandbox/orders/...`).

Every write needs `X-Idempotency-Key` (400 `empty_required_header` without one, 1-64
characters); the same key with the same request answers what the first answered without doing
it again, with another request it is 409 `idempotency_key_already_used` (the keys are the ones
payment writes use, idempotency.py). Changes made through the API are notified as the control
API's `api-notify` setting says (default: recorded in the outbox); control calls take their own
`notify` spec, as the payment control calls do.

A QR or Point order paid through the control API also gets a Payments-API payment (approved, same
amount and external_reference) named by its transaction's `reference.id`, as Mercado Pago's QR
notifications show (research mp-wave2 §5.4): the same money is visible through both APIs, and
a refund through the Orders API refunds that payment too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import inputs, mp_errors
from . import orders_state as rules
from .context import SandboxContext
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import fingerprint
from .notifier import NotifySpec
from .orders_json import (
    ORDER_ACTIONS,
    action_for,
    order_draft,
    order_json,
    order_query,
    refund_answer,
    refund_wanted,
    search_answer,
)
from .orders_state import SandboxOrder, orders_error
from .state import PaymentDraft
from .web import context_of, read_json

MAX_KEY_LENGTH = 64
LINKED_TYPES = frozenset({"qr", "point"})  # order types whose payment the Payments API shows


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: int
    answer: dict[str, Any]
    changed: SandboxOrder | None  # the order to notify about; None: nothing to notify


# -- the API ------------------------------------------------------------------------------------
async def create_order(request: Request) -> JSONResponse:
    context = context_of(request)
    base = str(request.base_url)

    def perform(body: Any) -> WriteResult:
        draft = order_draft(body)
        order = context.orders.create(draft, context.clock.now(), base)
        return WriteResult(201, order_json(order), None)

    return await _idempotent(request, perform)


async def get_order(request: Request) -> JSONResponse:
    return JSONResponse(order_json(_order_of(request)))


async def search_orders(request: Request) -> JSONResponse:
    context = context_of(request)
    query = order_query(request.query_params, context.clock.now())
    total, page = context.orders.search(query)
    return JSONResponse(search_answer(total, query, page))


def _state_change(change: Callable[[SandboxOrder, datetime], None]) -> Callable[..., Any]:
    """process, capture and cancel: no body, the order as the answer."""

    async def endpoint(request: Request) -> JSONResponse:
        context = context_of(request)

        def perform(body: Any) -> WriteResult:
            order = _order_of(request)
            change(order, context.clock.now())
            return WriteResult(200, order_json(order), order)

        return await _idempotent(request, perform)

    return endpoint


async def refund_order(request: Request) -> JSONResponse:
    """201 with the new refunds; no body or `{}` refunds everything left."""
    context = context_of(request)

    def perform(body: Any) -> WriteResult:
        order = _order_of(request)
        wanted = rules.check_refundable(order, refund_wanted(body))
        now = context.clock.now()
        references = [_refund_linked_payment(context, order, item, now) for item in wanted]
        made = rules.refund(context.orders, order, wanted, now, references)
        return WriteResult(201, refund_answer(order, made), order)

    return await _idempotent(request, perform)


def _refund_linked_payment(
    context: SandboxContext, order: SandboxOrder, wanted: rules.RefundWanted, now: datetime
) -> str | None:
    reference = order.payment(wanted.transaction_id).reference_id
    if reference is None or wanted.amount is None:
        return None
    payment = context.state.payment(int(reference))
    return str(context.state.add_refund(payment, wanted.amount, now, {}).id)


async def _idempotent(request: Request, perform: Callable[[Any], WriteResult]) -> JSONResponse:
    """Replay a known key's answer, or perform the write, remember its answer and notify. Nothing
    awaits between the key check and remembering, so one key cannot write twice."""
    context = context_of(request)
    key = _idempotency_key(request)
    body = await _read_body(request)
    request_print = fingerprint(request.method, request.url.path, body)
    try:
        stored = context.idempotency.replay(key, request_print, context.clock.now())
    except mp_errors.ApiError:
        message = "The X-Idempotency-Key sent has already been used with a different request."
        raise orders_error(409, "idempotency_key_already_used", message) from None
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status)
    result = perform(body)
    context.idempotency.remember(
        key, request_print, result.status, result.answer, context.clock.now()
    )
    if result.changed is not None and context.api_notify is not None:
        await context.notify_order(result.changed, context.api_notify, action_for(result.changed))
    return JSONResponse(result.answer, status_code=result.status)


def _idempotency_key(request: Request) -> str:
    # A key sent twice reads as both values joined, as HTTP reads it (see api.py).
    key = ", ".join(request.headers.getlist(IDEMPOTENCY_HEADER))
    if not key:
        message = "The 'X-Idempotency-Key' header is required and was not sent."
        raise orders_error(400, "empty_required_header", message)
    if len(key) > MAX_KEY_LENGTH:
        message = "The X-Idempotency-Key header accepts values between 1 and 64 characters."
        raise orders_error(400, "invalid_idempotency_key_length", message)
    return key


async def _read_body(request: Request) -> Any:
    try:
        return await read_json(request)
    except mp_errors.ApiError:
        raise orders_error(400, "json_syntax_error", "An incorrect JSON was sent.") from None


def _order_of(request: Request) -> SandboxOrder:
    return context_of(request).orders.order(request.path_params["order_id"])


# -- control calls ------------------------------------------------------------------------------
async def pay_order(request: Request) -> JSONResponse:
    """`{"status": "processed" | "failed" | "action_required", "status_detail"?, "notify":
    false | spec, "payments_api": bool (default: true for QR and Point orders), "payment_notify":
    false | spec (the Payments-API payment's own notification; default false)}`."""
    context = context_of(request)
    order = _order_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    outcome = body.get("status", "processed")
    if outcome not in rules.PAY_OUTCOMES:
        raise _invalid("status", f"one of {', '.join(rules.PAY_OUTCOMES)}")
    detail = _optional_text(body, "status_detail")
    linked = inputs.flag(body, "payments_api", order.type in LINKED_TYPES)
    spec = _order_notify_spec(body.get("notify"))
    payment_spec = inputs.notify_spec(body.get("payment_notify", False))
    await settle_order(context, order, outcome, detail, linked, spec, payment_spec)
    return JSONResponse(order_json(order))


async def settle_order(
    context: SandboxContext,
    order: SandboxOrder,
    outcome: str,
    detail: str | None,
    linked: bool,
    spec: NotifySpec | None,
    payment_spec: NotifySpec | None = None,
) -> list[dict[str, Any]]:
    """The buyer's outcome applied (raises the 409 of an order that cannot be paid), its linked
    Payments-API payments made, and the order's notification sent as `spec` says; the order
    notification's outbox records. The checkout page pays this way too."""
    now = context.clock.now()
    rules.pay(context.orders, order, outcome, detail, now)
    if linked and outcome == "processed":
        await _link_payments(context, order, payment_spec, now)
    if spec is None:
        return []
    return await context.notify_order(order, spec, spec.action or action_for(order))


async def _link_payments(
    context: SandboxContext, order: SandboxOrder, spec: NotifySpec | None, now: datetime
) -> None:
    for transaction in order.payments:
        draft = PaymentDraft(
            external_reference=order.external_reference or order.id,
            status="approved",
            transaction_amount=transaction.amount,
            currency_id=order.currency,
            metadata={"order_id": order.id, "transaction_id": transaction.id},
        )
        payment = context.state.create_payment(draft, now)
        transaction.reference_id = str(payment.id)
        if spec is not None:
            await context.notify(payment, spec, "payment.created")


async def expire_order(request: Request) -> JSONResponse:
    """An unpaid order reaches its expiration; `{"notify": false | spec}`."""
    context = context_of(request)
    order = _order_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    spec = _order_notify_spec(body.get("notify"))
    rules.expire(order, context.clock.now())
    if spec is not None:
        await context.notify_order(order, spec, spec.action or "order.expired")
    return JSONResponse(order_json(order))


async def notify_order(request: Request) -> JSONResponse:
    """Notify about an order as it is now: a notify spec (action default: its state's)."""
    context = context_of(request)
    order = _order_of(request)
    spec = _order_notify_spec(inputs.require_object(await read_json(request, empty={})))
    if spec is None:  # a body is an object, so this only keeps the types honest
        return JSONResponse({"deliveries": []})
    records = await context.notify_order(order, spec, spec.action or action_for(order))
    return JSONResponse({"deliveries": records})


async def list_orders(request: Request) -> JSONResponse:
    orders = context_of(request).orders.orders.values()
    return JSONResponse([order_json(order) for order in orders])


def _order_notify_spec(value: Any) -> NotifySpec | None:
    return inputs.notify_spec(value, ORDER_ACTIONS)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name, "a string")
    return value or None


def _invalid(name: str, expected: str) -> mp_errors.ApiError:
    return mp_errors.bad_request(f"{name} invalid. Expected {expected}", data=name)


def order_routes() -> list[Route]:
    return [
        Route("/v1/orders", create_order, methods=["POST"]),
        Route("/v1/orders", search_orders, methods=["GET"]),
        Route("/v1/orders/{order_id}", get_order, methods=["GET"]),
        Route("/v1/orders/{order_id}/process", _state_change(rules.process), methods=["POST"]),
        Route("/v1/orders/{order_id}/capture", _state_change(rules.capture), methods=["POST"]),
        Route("/v1/orders/{order_id}/cancel", _state_change(rules.cancel), methods=["POST"]),
        Route("/v1/orders/{order_id}/refund", refund_order, methods=["POST"]),
        Route("/_sandbox/orders", list_orders, methods=["GET"]),
        Route("/_sandbox/orders/{order_id}/pay", pay_order, methods=["POST"]),
        Route("/_sandbox/orders/{order_id}/expire", expire_order, methods=["POST"]),
        Route("/_sandbox/orders/{order_id}/notify", notify_order, methods=["POST"]),
    ]
