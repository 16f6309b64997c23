"""Orders API JSON: requests in (create, search, refund), orders out, and the `type: "order"`
notification. Amounts are strings both ways; a JSON number where an amount belongs is refused.

Shapes (research mp-wave2 §5; the Orders reference examples): an order answers `id`, `type`,
`user_id` as a string, `total_amount`/`total_paid_amount` as strings, `status`,
`status_detail`, `transactions: {payments: [...], refunds: [...]}`; a refund answers 201 with
`{id, status, status_detail, transactions: {refunds: [the new ones]}}`; a search answers
`{"data": [...], "paging": {"total", "offset", "limit"}}`. Assumptions where the reference is
silent: GET also carries `version` (the notification snapshot does); the checkout URL is both
`checkout_url` (the SDK example reads it) and `init_point` (the Checkout Pro page names it,
research §8.3), pointing at the sandbox's own checkout page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .dates import parse_search_date
from .notifier import APPLICATION_ID, Envelope, Notification
from .orders_state import (
    ORDER_TYPES,
    OrderDraft,
    OrderPayment,
    OrderQuery,
    OrderRefund,
    RefundWanted,
    SandboxOrder,
    format_amount,
    orders_error,
    parse_amount,
    property_value,
)
from .render import site_of
from .state import COLLECTOR_ID, DEFAULT_CURRENCY

ORDER_ACTIONS = (
    "order.processed",
    "order.action_required",
    "order.refunded",
    "order.canceled",
    "order.expired",
    "order.failed",
)
MAX_LIMIT = 100
DEFAULT_LIMIT = 30  # the OpenAPI's default; the newer page_size defaults to 20
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,150}$")
_ECHOED = ("description", "items", "payer", "config", "shipment", "additional_info")
_MODES = {"processing_mode": ("automatic", "manual"), "capture_mode": ("automatic", "manual")}
_SORTABLE = ("created_date", "last_updated_date")


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- requests ------------------------------------------------------------------------------------
def order_draft(body: Any) -> OrderDraft:
    """POST /v1/orders. Raises OrdersApiError(400) naming the first problem."""
    if not isinstance(body, dict):
        raise orders_error(400, "json_syntax_error", "The body must be a JSON object.")
    missing = [name for name in ("type", "total_amount") if body.get(name) is None]
    if missing:
        message = "There are some required properties missing."
        raise orders_error(400, "required_properties", message, *missing)
    if body["type"] not in ORDER_TYPES:
        raise property_value("type", f"one of {', '.join(ORDER_TYPES)}")
    total = parse_amount(body["total_amount"], "total_amount")
    payments = _payment_requests(body.get("transactions"))
    if payments and sum(amount for amount, _ in payments) != total:
        message = 'The "total_amount" is not the sum of "transactions.payments.amount".'
        raise orders_error(400, "invalid_total_amount", message)
    return OrderDraft(
        type=body["type"],
        total_amount=total,
        external_reference=_reference(body.get("external_reference")),
        currency=_text(body, "currency") or DEFAULT_CURRENCY,
        processing_mode=_mode(body, "processing_mode"),
        capture_mode=_mode(body, "capture_mode"),
        notification_url=_text(body, "notification_url"),
        payments=payments,
        fields={name: body[name] for name in _ECHOED if name in body},
    )


def _payment_requests(transactions: Any) -> list[tuple[Decimal, dict[str, Any]]]:
    if transactions is None:
        return []
    payments = transactions.get("payments") if isinstance(transactions, dict) else None
    if not isinstance(payments, list):
        raise property_value("transactions", "an object with a payments list")
    requests = []
    for index, payment in enumerate(payments):
        if not isinstance(payment, dict):
            raise property_value(f"transactions.payments[{index}]", "an object")
        amount = parse_amount(payment.get("amount"), f"transactions.payments[{index}].amount")
        method = payment.get("payment_method")
        requests.append((amount, method if isinstance(method, dict) else {}))
    return requests


def _reference(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _REFERENCE.match(value):
        raise property_value("external_reference", "up to 150 letters, digits, - or _")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise orders_error(400, "property_type", f"{name} must be a string.", f"{name}: string")
    return value or None


def _mode(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "automatic")
    if value not in _MODES[name] and not (name == "capture_mode" and value == "automatic_async"):
        raise property_value(name, f"one of {', '.join(_MODES[name])}")
    return "automatic" if value == "automatic_async" else str(value)


def refund_wanted(body: Any) -> list[RefundWanted] | None:
    """No body or `{}`: everything. `{"transactions": [{"id": "PAY…", "amount": "25.00"}]}`:
    those (an item without amount: all that is left of that transaction)."""
    if body is None or body == {}:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("transactions"), list):
        raise property_value("transactions", "a list of {id, amount}")
    wanted = []
    for index, item in enumerate(body["transactions"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise property_value(f"transactions[{index}].id", "a transaction id")
        amount = item.get("amount")
        name = f"transactions[{index}].amount"
        parsed = None if amount is None else parse_amount(amount, name)
        wanted.append(RefundWanted(item["id"], parsed))
    return wanted or None


def order_query(params: Any, now: datetime) -> OrderQuery:
    """GET /v1/orders: begin_date and end_date required; `limit`/`offset` (OpenAPI, SDK) or
    `page`/`page_size` (the newer reference); `sort_by` created_date|last_updated_date and
    `sort_order` asc|desc (default: newest created first)."""
    if params.get("begin_date") is None or params.get("end_date") is None:
        message = 'The "begin_date" and "end_date" parameters are missing.'
        raise orders_error(400, "missing_required_params", message)
    try:
        begin = parse_search_date(params["begin_date"], now)
        end = parse_search_date(params["end_date"], now)
    except ValueError:
        raise _invalid_parameter("begin_date/end_date must be RFC 3339 dates") from None
    limit, offset = _paging(params)
    sort_by = params.get("sort_by", "created_date")
    sort_order = params.get("sort_order", "desc")
    if sort_by not in _SORTABLE or sort_order not in ("asc", "desc"):
        raise _invalid_parameter("sort_by or sort_order")
    return OrderQuery(
        begin=begin,
        end=end,
        external_reference=params.get("external_reference"),
        status=params.get("status"),
        type=params.get("type"),
        sort_by=sort_by,
        descending=sort_order == "desc",
        offset=offset,
        limit=limit,
    )


def _paging(params: Any) -> tuple[int, int]:
    if params.get("page") is not None or params.get("page_size") is not None:
        size = _whole(params.get("page_size"), 20, 1, MAX_LIMIT, "page_size")
        page = _whole(params.get("page"), 1, 1, 10**6, "page")
        return size, (page - 1) * size
    limit = _whole(params.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit")
    return limit, _whole(params.get("offset"), 0, 0, 10**7, "offset")


def _whole(text: str | None, default: int, low: int, high: int, name: str) -> int:
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise _invalid_parameter(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _invalid_parameter(detail: str) -> Exception:
    return orders_error(400, "invalid_parameter", "An invalid value was sent.", detail)


# -- answers ------------------------------------------------------------------------------------
def order_json(order: SandboxOrder) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": order.id,
        "type": order.type,
        "processing_mode": order.processing_mode,
        "capture_mode": order.capture_mode,
        "external_reference": order.external_reference,
        "total_amount": format_amount(order.total_amount),
        "total_paid_amount": format_amount(order.total_paid_amount),
        "currency": order.currency,
        "country_code": site_of(order.currency)[0],
        "user_id": str(COLLECTOR_ID),
        "integration_data": {"application_id": str(APPLICATION_ID)},
        "status": order.status,
        "status_detail": order.status_detail,
        "version": order.version,
        "created_date": utc_text(order.created_date),
        "last_updated_date": utc_text(order.last_updated_date),
        "checkout_url": order.checkout_url,
        "init_point": order.checkout_url,
        **order.fields,
        "transactions": _transactions(order.payments, order.refunds),
    }
    if order.notification_url:
        document["notification_url"] = order.notification_url
    return document


def _transactions(payments: list[OrderPayment], refunds: list[OrderRefund]) -> dict[str, Any]:
    document: dict[str, Any] = {"payments": [_payment_json(payment) for payment in payments]}
    if refunds:
        document["refunds"] = [refund_json(refund) for refund in refunds]
    return document


def _payment_json(payment: OrderPayment) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": payment.id,
        "amount": format_amount(payment.amount),
        "paid_amount": format_amount(payment.paid_amount),
        "status": payment.status,
        "status_detail": payment.status_detail,
        "payment_method": payment.payment_method,
    }
    if payment.reference_id is not None:
        # QR notifications carry the Payments-API id here (research mp-wave2 §5.4).
        document["reference"] = {"id": payment.reference_id}
    return document


def refund_json(refund: OrderRefund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "transaction_id": refund.transaction_id,
        "reference_id": refund.reference_id,
        "amount": format_amount(refund.amount),
        "status": refund.status,
    }


def refund_answer(order: SandboxOrder, made: list[OrderRefund]) -> dict[str, Any]:
    return {
        "id": order.id,
        "status": order.status,
        "status_detail": order.status_detail,
        "transactions": {"refunds": [refund_json(refund) for refund in made]},
    }


def search_answer(total: int, query: OrderQuery, page: list[SandboxOrder]) -> dict[str, Any]:
    return {
        "data": [order_json(order) for order in page],
        "paging": {"total": total, "offset": query.offset, "limit": query.limit},
    }


# -- notifications ------------------------------------------------------------------------------
def action_for(order: SandboxOrder) -> str:
    """The notification an order's current state sends."""
    if order.status == "refunded" or order.status_detail in ("refunded", "partially_refunded"):
        return "order.refunded"
    if order.status in ("processed", "action_required", "canceled", "expired", "failed"):
        return f"order.{order.status}"
    return "order.action_required"  # created/processing: nothing happened that names itself


def order_notification(envelope: Envelope, order: SandboxOrder, action: str) -> Notification:
    """`{action, api_version, application_id, data: snapshot, date_created, id, live_mode,
    type: "order", user_id}`, ids as strings and the snapshot's `version` an integer
    (research mp-wave2 §5.5; docs capture mp-docs-qr-order-notifications-pt). No IPN twin:
    the Orders API has none."""
    snapshot = {
        "id": order.id,
        "external_reference": order.external_reference,
        "status": order.status,
        "status_detail": order.status_detail,
        "total_amount": format_amount(order.total_amount),
        "total_paid_amount": format_amount(order.total_paid_amount),
        "transactions": _transactions(order.payments, order.refunds),
        "type": order.type,
        "version": order.version,
    }
    body = {
        "action": action,
        "api_version": "v1",
        "application_id": str(APPLICATION_ID),
        "data": snapshot,
        "date_created": _nanoseconds(envelope.sent_at),
        "id": str(envelope.notification_id),
        "live_mode": False,
        "type": "order",
        "user_id": str(envelope.user_id),
    }
    return Notification(envelope, order.id, "order", body, None)


def _nanoseconds(moment: datetime) -> str:
    """`2025-03-24T18:49:40.164000000Z`: Orders notifications write nanoseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
