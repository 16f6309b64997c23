"""The control API's money side: what happens to a payment outside the shop's own calls. A
refund made in Mercado Pago's panel, a chargeback opened and decided, a merchant-order
notification. Each change is notified as its `notify` field says (default: to the outbox)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import inputs, mp_errors, payment_writes
from .chargebacks import open_chargeback, resolve_chargeback
from .context import SandboxContext
from .notifier import MERCHANT_ORDER_ACTIONS, NotifySpec
from .render import chargeback_json, refund_json
from .state import Chargeback, Payment
from .web import context_of, numeric_id, read_json


def _payment_of(request: Request) -> Payment:
    payment_id = numeric_id(request.path_params["payment_id"], mp_errors.payment_not_found())
    return context_of(request).state.payment(payment_id)


async def refund_payment(request: Request) -> JSONResponse:
    """A refund made in Mercado Pago's panel: the API's rules, no idempotency key.
    Body: `{"amount"?: n, "notify"?: spec|false}`."""
    context = context_of(request)
    payment = _payment_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    spec = inputs.notify_spec(body.get("notify"))
    wanted = payment_writes.RefundRequest(inputs.optional_amount(body, "amount"))
    refund = payment_writes.refund(context.state, payment, wanted, context.clock.now())
    if spec is not None:
        await context.notify(payment, spec, "payment.updated")
    return JSONResponse(refund_json(refund), status_code=201)


async def charge_back(request: Request) -> JSONResponse:
    """Body: `{"amount"?, "reason"?, "documentation_required"?: true, "actions"?: [...],
    "notify"?: spec|false, "notify_payment"?: true}`."""
    context = context_of(request)
    payment = _payment_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    wanted = inputs.chargeback_request(body)
    spec, actions = inputs.notify_spec(body.get("notify")), inputs.chargeback_actions(body)
    notify_payment = inputs.flag(body, "notify_payment", True)
    chargeback = open_chargeback(context.state, payment, wanted, context.clock.now())
    await _notify_chargeback(context, chargeback, payment, spec, actions, notify_payment)
    return JSONResponse(chargeback_json(chargeback), status_code=201)


async def resolve(request: Request) -> JSONResponse:
    """Body: `{"outcome": "settled"|"reimbursed", "documentation_status"?, "actions"?,
    "notify"?, "notify_payment"?}`."""
    context = context_of(request)
    chargeback = context.state.chargeback(request.path_params["chargeback_id"])
    body = inputs.require_object(await read_json(request, empty={}))
    outcome, documentation_status = inputs.chargeback_resolution(body)
    spec, actions = inputs.notify_spec(body.get("notify")), inputs.chargeback_actions(body)
    notify_payment = inputs.flag(body, "notify_payment", True)
    now = context.clock.now()
    payment = resolve_chargeback(context.state, chargeback, outcome, documentation_status, now)
    await _notify_chargeback(context, chargeback, payment, spec, actions, notify_payment)
    return JSONResponse(chargeback_json(chargeback))


async def _notify_chargeback(
    context: SandboxContext,
    chargeback: Chargeback,
    payment: Payment,
    spec: NotifySpec | None,
    actions: list[str],
    notify_payment: bool,
) -> None:
    """The case's topic_chargebacks_wh notification, then (as the payments topic reports every
    status change) the payment's payment.updated."""
    if spec is None:
        return
    await context.notify_chargeback(chargeback, spec, actions)
    if notify_payment:
        payment_spec = NotifySpec(spec.url, spec.secret, spec.ipn)
        await context.notify(payment, payment_spec, "payment.updated")


async def notify_chargeback(request: Request) -> JSONResponse:
    """Send a chargeback's notification again (body: a notify spec plus `actions`)."""
    context = context_of(request)
    chargeback = context.state.chargeback(request.path_params["chargeback_id"])
    body = inputs.require_object(await read_json(request, empty={}))
    spec, actions = inputs.notify_spec(body), inputs.chargeback_actions(body)
    records = await context.notify_chargeback(chargeback, spec, actions) if spec else []
    return JSONResponse({"deliveries": records})


async def list_chargebacks(request: Request) -> JSONResponse:
    chargebacks = context_of(request).state.chargebacks.values()
    return JSONResponse([chargeback_json(chargeback) for chargeback in chargebacks])


async def notify_merchant_order(request: Request) -> JSONResponse:
    """A topic_merchant_order_wh notification (body: a notify spec; action create|update,
    default update)."""
    context = context_of(request)
    text = request.path_params["order_id"]
    order = context.state.merchant_order(numeric_id(text, mp_errors.merchant_order_not_found(text)))
    body = inputs.require_object(await read_json(request, empty={}))
    spec = inputs.notify_spec(body, MERCHANT_ORDER_ACTIONS)
    records = []
    if spec is not None:
        records = await context.notify_merchant_order(order, spec, spec.action or "update")
    return JSONResponse({"deliveries": records})


def money_routes() -> list[Route]:
    return [
        Route("/_sandbox/payments/{payment_id}/refunds", refund_payment, methods=["POST"]),
        Route("/_sandbox/payments/{payment_id}/chargebacks", charge_back, methods=["POST"]),
        Route("/_sandbox/chargebacks", list_chargebacks, methods=["GET"]),
        Route("/_sandbox/chargebacks/{chargeback_id}/resolve", resolve, methods=["POST"]),
        Route("/_sandbox/chargebacks/{chargeback_id}/notify", notify_chargeback, methods=["POST"]),
        Route(
            "/_sandbox/merchant_orders/{order_id}/notify", notify_merchant_order, methods=["POST"]
        ),
    ]
