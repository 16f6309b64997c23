"""The control API under /_sandbox/ (no auth, JSON in and out): what a test or the demo does to
the world Mercado Pago would otherwise change — payments appear and move, notifications go out,
faults start and stop, time passes."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import inputs, mp_errors
from .context import SandboxContext
from .control_money import money_routes
from .dates import parse_datetime
from .faults import InvalidFaultSpecError, parse_fault_rule
from .notifier import ACTIONS, MERCHANT_ORDER_ACTIONS, NotifySpec
from .render import payment_json
from .state import Payment, PaymentDraft
from .web import context_of, numeric_id, read_json


async def create_payment(request: Request) -> JSONResponse:
    context = context_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    draft, spec = inputs.payment_draft(body), inputs.notify_spec(body.get("notify"))
    payment, _ = await create_and_notify(context, draft, spec)
    return JSONResponse(payment_json(payment, context.state), status_code=201)


async def create_and_notify(
    context: SandboxContext, draft: PaymentDraft, spec: NotifySpec | None
) -> tuple[Payment, list[dict[str, Any]]]:
    """A new payment and its signed `payment.created` notification as `spec` says (None: no
    notification); the deliveries' outbox records. The checkout page pays this way too."""
    payment = context.state.create_payment(draft, context.clock.now())
    if spec is None:
        return payment, []
    return payment, await context.notify(payment, spec, "payment.created")


async def create_bulk(request: Request) -> JSONResponse:
    context = context_of(request)
    spec = inputs.bulk_spec(await read_json(request, empty={}))
    payments = context.state.create_bulk(spec, context.clock.now())
    answer = {"created": len(payments), "first_id": payments[0].id, "last_id": payments[-1].id}
    return JSONResponse(answer, status_code=201)


async def list_payments(request: Request) -> JSONResponse:
    state = context_of(request).state
    return JSONResponse([payment_json(payment, state) for payment in state.payments.values()])


async def move_payment(request: Request) -> JSONResponse:
    context = context_of(request)
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    body = inputs.require_object(await read_json(request, empty={}))
    status, detail, at = inputs.status_change(body)
    spec = inputs.notify_spec(body.get("notify"))
    payment = context.state.move_payment(payment_id, status, detail, at or context.clock.now())
    if spec is not None:
        await context.notify(payment, spec, "payment.updated")
    return JSONResponse(payment_json(payment, context.state))


async def notify_payment(request: Request) -> JSONResponse:
    """A notify spec; with `"topic": "merchant_order"` the notification is the payment's
    merchant order's topic_merchant_order_wh (action create|update, default update)."""
    context = context_of(request)
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    payment = context.state.payment(payment_id)
    body = inputs.require_object(await read_json(request, empty={}))
    topic = body.get("topic", "payment")
    if topic not in ("payment", "merchant_order"):
        message = "topic invalid. Expected payment or merchant_order"
        raise mp_errors.bad_request(message, data="topic")
    for_order = topic == "merchant_order"
    spec = inputs.notify_spec(body, MERCHANT_ORDER_ACTIONS if for_order else ACTIONS)
    if spec is None:  # a body is an object, so this only keeps the types honest
        return JSONResponse({"deliveries": []})
    if for_order:
        order = context.state.merchant_order(payment.merchant_order_id)
        records = await context.notify_merchant_order(order, spec, spec.action or "update")
    else:
        records = await context.notify(payment, spec, "payment.updated")
    return JSONResponse({"deliveries": records})


async def api_notify(request: Request) -> JSONResponse:
    """How changes made through the API (refunds, cancels, captures) are notified:
    POST `{"notify": spec}` or `{"notify": false}`; GET shows it (null: not notified)."""
    context = context_of(request)
    if request.method == "POST":
        body = inputs.require_object(await read_json(request, empty={}))
        context.api_notify = inputs.notify_spec(body.get("notify"))
    spec = context.api_notify
    if spec is None:
        return JSONResponse({"notify": None})
    shown = {"url": spec.url, "ipn": spec.ipn, "duplicates": spec.duplicates}
    return JSONResponse({"notify": shown})


async def requests_received(request: Request) -> JSONResponse:
    """The request log, oldest first; `?endpoint=refunds.create` or `?method=POST` filter it."""
    log = context_of(request).requests
    if request.method == "DELETE":
        cleared = len(log.records())
        log.clear()
        return JSONResponse({"cleared": cleared})
    endpoint, method = request.query_params.get("endpoint"), request.query_params.get("method")
    records = [
        record.to_json()
        for record in log.records()
        if (endpoint is None or record.endpoint == endpoint)
        and (method is None or record.method == method.upper())
    ]
    return JSONResponse({"requests": records, "dropped": log.dropped})


async def outbox(request: Request) -> JSONResponse:
    box = context_of(request).outbox
    if request.method == "DELETE":
        cleared = len(box.records())
        box.clear()
        return JSONResponse({"cleared": cleared})
    return JSONResponse(box.records())


async def faults(request: Request) -> JSONResponse:
    plan = context_of(request).faults
    if request.method == "DELETE":
        plan.clear()
    elif request.method == "POST":
        body = await read_json(request, empty={})
        try:
            rules = [parse_fault_rule(spec) for spec in _as_list(body)]
        except InvalidFaultSpecError as exc:
            raise mp_errors.bad_request(exc.reason, data="faults") from None
        for rule in rules:
            plan.add(rule)
    return JSONResponse({"faults": plan.describe()})


async def clock(request: Request) -> JSONResponse:
    context = context_of(request)
    if request.method == "POST":
        _apply_clock_command(context, inputs.require_object(await read_json(request, empty={})))
    now = context.clock.now().astimezone(UTC).isoformat(timespec="milliseconds")
    return JSONResponse({"now": now.replace("+00:00", "Z"), "frozen": context.clock.frozen})


def _apply_clock_command(context: SandboxContext, body: dict[str, Any]) -> None:
    """{"real": true} unfreezes, {"now": iso} freezes, {"advance_seconds": n} moves (in that
    order when combined)."""
    if body.get("real") is True:
        context.clock.use_real_time()
    if body.get("now") is not None:
        try:
            context.clock.freeze(parse_datetime(body["now"]))
        except ValueError:
            message = "now invalid. Expected an ISO-8601 date"
            raise mp_errors.bad_request(message, data="now") from None
    advance = body.get("advance_seconds")
    if advance is not None:
        if not _is_finite_number(advance):
            raise mp_errors.bad_request("advance_seconds invalid", data="advance_seconds")
        context.clock.advance(advance)


def _is_finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


async def reset(request: Request) -> JSONResponse:
    context_of(request).reset()
    return JSONResponse({"reset": True})


def _as_list(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


def control_routes() -> list[Route]:
    return [
        Route("/_sandbox/payments", create_payment, methods=["POST"]),
        Route("/_sandbox/payments", list_payments, methods=["GET"]),
        Route("/_sandbox/payments/bulk", create_bulk, methods=["POST"]),
        Route("/_sandbox/payments/{payment_id}/status", move_payment, methods=["POST"]),
        Route("/_sandbox/payments/{payment_id}/notify", notify_payment, methods=["POST"]),
        Route("/_sandbox/outbox", outbox, methods=["GET", "DELETE"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/api-notify", api_notify, methods=["GET", "POST"]),
        Route("/_sandbox/requests", requests_received, methods=["GET", "DELETE"]),
        *money_routes(),
    ]
