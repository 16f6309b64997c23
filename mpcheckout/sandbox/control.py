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
from .dates import parse_datetime
from .faults import InvalidFaultSpecError, parse_fault_rule
from .render import payment_json
from .web import context_of, numeric_id, read_json


async def create_payment(request: Request) -> JSONResponse:
    context = context_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    draft, spec = inputs.payment_draft(body), inputs.notify_spec(body.get("notify"))
    payment = context.state.create_payment(draft, context.clock.now())
    if spec is not None:
        await context.notify(payment, spec, "payment.created")
    return JSONResponse(payment_json(payment, context.state), status_code=201)


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
    context = context_of(request)
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    payment = context.state.payment(payment_id)
    spec = inputs.notify_spec(inputs.require_object(await read_json(request, empty={})))
    records = await context.notify(payment, spec, "payment.updated") if spec else []
    return JSONResponse({"deliveries": records})


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
    ]
