"""The sandbox's checkout pages: where a preference's `sandbox_init_point` and an Orders-API
order's `checkout_url` lead. A person sees the items and the amount and pays approved, rejected,
or leaves it pending (cash); each button does what the control API does (control.py
`create_and_notify`, orders.py `settle_order`), so the payment is made and its signed
notification sent exactly as a test would make and send them. The notification goes where
Mercado Pago would send it: the preference's or order's `notification_url` (none: recorded in
the outbox only, and `mpcheckout reconcile` finds the payment).

Plain server-rendered HTML: a form POST per choice, then a redirect back to the page (a reload
never pays twice), no script, no external request, every value escaped. English only: the
sandbox is a developer's tool and speaks English, as Mercado Pago's API errors do."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import mp_errors
from .context import SandboxContext
from .control import create_and_notify
from .notifier import NotifySpec
from .orders import LINKED_TYPES, settle_order
from .orders_state import SandboxOrder, format_amount
from .state import Payment, PaymentDraft, Preference
from .web import context_of

MAX_FORM_BYTES = 2048
# What each button makes: a payment status (preferences) or an order outcome (Orders API).
PAYMENT_CHOICES = {"approved": "approved", "rejected": "rejected", "pending": "pending"}
ORDER_CHOICES = {"approved": "processed", "rejected": "failed", "pending": "action_required"}
# A cash voucher per currency (Mercado Pago's ticket methods), so "pending" reads as cash.
CASH_METHODS = {
    "ARS": "rapipago",
    "BRL": "bolbradesco",
    "MXN": "oxxo",
    "COP": "efecty",
    "CLP": "servipag",
    "PEN": "pagoefectivo_atm",
    "UYU": "abitab",
}
ZERO_DECIMAL_CURRENCIES = frozenset({"CLP", "COP"})
HEADERS = {
    # Inline style, no script at all; forms post only here; never framed.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it, Chromium sends `Origin: null` on the page's own form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(slots=True)
class CheckoutView:
    """What the page shows, for a preference or an order alike."""

    kind: str  # "preference" | "order"
    id: str
    items: list[dict[str, str]]
    total: str
    external_reference: str | None
    notification_url: str | None
    payable: bool = True
    status: str | None = None  # the order's status; None for a preference
    payments: list[Payment] = field(default_factory=list)
    notice: str | None = None
    delivery: str | None = None
    error: str | None = None


# -- preferences --------------------------------------------------------------------------------
async def preference_page(request: Request) -> Response:
    context = context_of(request)
    try:
        preference = context.state.preference(request.path_params["preference_id"])
    except mp_errors.ApiError:
        return _not_found("checkout link", request.path_params["preference_id"])
    view = _preference_view(context, preference)
    paid = _known_payment(context, preference, request.query_params.get("payment", ""))
    if paid is not None:
        view.notice = f"Payment {paid.id}: {paid.status} ({paid.status_detail})"
        view.delivery = _delivery_text(request.query_params.get("notified", ""))
    return _render(view)


async def pay_preference(request: Request) -> Response:
    context = context_of(request)
    try:
        preference = context.state.preference(request.path_params["preference_id"])
    except mp_errors.ApiError:
        return _not_found("checkout link", request.path_params["preference_id"])
    choice = await _choice(request)
    if choice is None:
        return _refused(_preference_view(context, preference))
    spec = NotifySpec(url=preference.notification_url)
    try:
        payment, records = await create_and_notify(context, _draft(preference, choice), spec)
    except mp_errors.ApiError as exc:  # e.g. a preference without an external_reference
        view = _preference_view(context, preference)
        view.error = exc.message
        return _render(view, exc.status)
    query = {"payment": payment.id, "notified": _delivered(records)}
    return RedirectResponse(f"{request.url.path}?{urlencode(query)}", status_code=303)


def _draft(preference: Preference, choice: str) -> PaymentDraft:
    status = PAYMENT_CHOICES[choice]
    if status == "pending":
        method = CASH_METHODS.get(preference.currency_id, "ticket")
        return PaymentDraft(
            preference_id=preference.id,
            status=status,
            payment_method_id=method,
            payment_type_id="ticket",
        )
    return PaymentDraft(
        preference_id=preference.id,
        status=status,
        payment_method_id="visa",
        payment_type_id="credit_card",
    )


def _preference_view(context: SandboxContext, preference: Preference) -> CheckoutView:
    currency = preference.currency_id
    items = [
        {
            "title": str(item["title"]),
            "quantity": str(item["quantity"]),
            "unit_price": _money(Decimal(str(item["unit_price"])), currency),
            "subtotal": _money(Decimal(str(item["unit_price"])) * item["quantity"], currency),
        }
        for item in preference.items
    ]
    payments = [p for p in context.state.payments.values() if p.preference_id == preference.id]
    return CheckoutView(
        "preference",
        preference.id,
        items,
        _money(preference.total, currency),
        preference.external_reference,
        preference.notification_url,
        payments=payments,
    )


def _known_payment(context: SandboxContext, preference: Preference, text: str) -> Payment | None:
    if not (text.isascii() and text.isdigit() and len(text) < 20):
        return None
    payment = context.state.payments.get(int(text))
    return payment if payment is not None and payment.preference_id == preference.id else None


# -- Orders API ---------------------------------------------------------------------------------
async def order_page(request: Request) -> Response:
    try:
        order = context_of(request).orders.order(request.path_params["order_id"])
    except mp_errors.ApiError:
        return _not_found("order", request.path_params["order_id"])
    if not _wants_html(request):  # a script: what to pay, and how
        return JSONResponse(_order_json(order))
    view = _order_view(order)
    if request.query_params.get("paid") == "1":
        view.notice = f"Order {order.id}: {order.status} ({order.status_detail})"
        view.delivery = _delivery_text(request.query_params.get("notified", ""))
    return _render(view)


async def pay_order(request: Request) -> Response:
    context = context_of(request)
    try:
        order = context.orders.order(request.path_params["order_id"])
    except mp_errors.ApiError:
        return _not_found("order", request.path_params["order_id"])
    choice = await _choice(request)
    if choice is None:
        return _refused(_order_view(order))
    spec = NotifySpec(url=order.notification_url)
    linked = order.type in LINKED_TYPES
    try:
        records = await settle_order(context, order, ORDER_CHOICES[choice], None, linked, spec)
    except mp_errors.ApiError as exc:  # 409: no longer payable (paid, failed, cancelled)
        view = _order_view(order)
        view.error = exc.message
        return _render(view, exc.status)
    query = {"paid": 1, "notified": _delivered(records)}
    return RedirectResponse(f"{request.url.path}?{urlencode(query)}", status_code=303)


def _order_view(order: SandboxOrder) -> CheckoutView:
    items = [
        {
            "title": str(item.get("title") or item.get("description") or "—"),
            "quantity": str(item.get("quantity", 1)),
            "unit_price": _money(_decimal(item.get("unit_price")), order.currency),
            "subtotal": "",
        }
        for item in order.fields.get("items") or []
        if isinstance(item, dict)
    ]
    return CheckoutView(
        "order",
        order.id,
        items,
        _money(order.total_amount, order.currency),
        order.external_reference,
        order.notification_url,
        payable=order.status in ("created", "action_required"),
        status=f"{order.status} ({order.status_detail})",
    )


def _order_json(order: SandboxOrder) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "status": order.status,
        "total_amount": format_amount(order.total_amount),
        "currency": order.currency,
        "pay": f"POST /_sandbox/orders/{order.id}/pay",
    }


# -- shared -------------------------------------------------------------------------------------
def _wants_html(request: Request) -> bool:
    """Browsers ask for text/html; a script (or `?format=json`) gets the order's JSON, as this
    URL answered before it was a page."""
    if request.query_params.get("format") == "json":
        return False
    return "text/html" in request.headers.get("accept", "")


async def _choice(request: Request) -> str | None:
    """The button pressed, from a form posted by a page of this sandbox (another origin, a
    missing or unknown choice: None)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = dict(parse_qsl(body.decode("utf-8", "replace")))
    choice = fields.get("outcome", "")
    return choice if choice in PAYMENT_CHOICES else None


def _delivered(records: list[dict[str, Any]]) -> str:
    """The first delivery's fate, as a word the page may show: an HTTP status, `failed`, or
    `outbox` (no notification_url: recorded only)."""
    if not records or records[0]["delivered_to"] is None:
        return "outbox"
    status = records[0]["status_code"]
    return str(status) if status is not None else "failed"


def _delivery_text(word: str) -> str | None:
    if word == "outbox":
        return (
            "No notification_url: the notification is only in the sandbox's outbox. "
            "`mpcheckout reconcile` finds the payment."
        )
    if word == "failed":
        return "The notification could not be delivered (is the receiver running?)."
    if word.isascii() and word.isdigit() and len(word) == 3:
        return f"Signed notification delivered: HTTP {word}."
    return None


def _money(amount: Decimal, currency: str) -> str:
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return f"{currency} {amount:,.{places}f}"


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


def _refused(view: CheckoutView) -> Response:
    view.error = "Choose one of the buttons on this page."
    return _render(view, 400)


def _not_found(what: str, name: str) -> Response:
    html = _environment().get_template("not_found.html").render(what=what, name=name)
    return HTMLResponse(html, status_code=404, headers=HEADERS)


def _render(view: CheckoutView, status: int = 200) -> Response:
    html = _environment().get_template("checkout.html").render(page=view)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("mpcheckout.sandbox", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def checkout_routes() -> list[Route]:
    return [
        Route("/_sandbox/preferences/{preference_id}/checkout", preference_page, methods=["GET"]),
        Route("/_sandbox/preferences/{preference_id}/checkout", pay_preference, methods=["POST"]),
        Route("/_sandbox/orders/{order_id}/checkout", order_page, methods=["GET"]),
        Route("/_sandbox/orders/{order_id}/checkout", pay_order, methods=["POST"]),
    ]
