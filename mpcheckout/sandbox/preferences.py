"""POST /checkout/preferences input: validate as Mercado Pago does, then build the Preference.

Error codes are the documented ones of the preferences API (`invalid_items` "unit_price
invalid.", `invalid_back_urls`, `invalid_expiration_date_from`, ...): one cause per problem, the
first one's description as the message."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from .dates import mercadopago_datetime, parse_datetime, to_millis
from .mp_errors import ApiError, Cause
from .state import COLLECTOR_ID, DEFAULT_CURRENCY, Preference

MAX_TEXT = 256
# Fields a preference request may set that the answer echoes as given.
ECHOED_FIELDS = (
    "external_reference",
    "notification_url",
    "back_urls",
    "auto_return",
    "payer",
    "metadata",
    "expires",
    "binary_mode",
    "statement_descriptor",
    "payment_methods",
    "additional_info",
    "marketplace_fee",
)
_DATE_FIELDS = ("expiration_date_from", "expiration_date_to", "date_of_expiration")
_OBJECT_FIELDS = ("payer", "metadata", "payment_methods")


def build_preference(body: Any, now: datetime) -> Preference:
    """A new Preference from a request body; raises ApiError(400) listing every problem."""
    causes = request_problems(body)
    if causes:
        raise ApiError(400, str(causes[0].code), causes[0].description, causes)
    items = [_normalized_item(item) for item in body["items"]]
    fields = {name: body[name] for name in ECHOED_FIELDS if name in body}
    for name in _DATE_FIELDS:
        if body.get(name):
            fields[name] = mercadopago_datetime(parse_datetime(body[name]))
    return Preference(
        id=f"{COLLECTOR_ID}-{uuid.uuid4()}",
        items=items,
        total=sum((Decimal(str(i["unit_price"])) * i["quantity"] for i in items), Decimal(0)),
        currency_id=items[0]["currency_id"],
        date_created=to_millis(now),
        fields=fields,
    )


def request_problems(body: Any) -> list[Cause]:
    if not isinstance(body, dict):
        return [Cause("invalid_items", "items needed. The body must be a JSON object", "body")]
    causes = _items_problems(body.get("items"))
    if "back_urls" in body and not _is_url_map(body["back_urls"]):
        causes.append(Cause("invalid_back_urls", "back_urls invalid. Wrong format.", "back_urls"))
    for name in _OBJECT_FIELDS:
        if body.get(name) is not None and not _is_map(body[name]):
            causes.append(Cause(f"invalid_{name}", f"{name} invalid. Must be an object", name))
    for name in _DATE_FIELDS:
        if body.get(name) is not None and not _is_date(body[name]):
            causes.append(Cause(f"invalid_{name}", f"{name} invalid.", name))
    reference = body.get("external_reference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > MAX_TEXT):
        causes.append(
            Cause("invalid_external_reference", "external_reference invalid.", "external_reference")
        )
    return causes


def _items_problems(items: Any) -> list[Cause]:
    if not isinstance(items, list) or not items:
        return [Cause("invalid_items", "items needed. Send a non-empty list of items", "items")]
    causes = []
    for index, item in enumerate(items):
        causes += _item_problems(item, f"items[{index}]")
    currencies = {item.get("currency_id") or DEFAULT_CURRENCY for item in items if _is_map(item)}
    if not causes and len(currencies) > 1:
        causes.append(
            Cause("invalid_items", "currency_id invalid. All items need the same", "items")
        )
    return causes


def _item_problems(item: Any, path: str) -> list[Cause]:
    if not _is_map(item):
        return [Cause("invalid_items", "item invalid. Must be an object", path)]
    checks = [
        ("title", _is_text(item.get("title")) and bool(item["title"].strip()), "title invalid."),
        ("quantity", _is_positive_int(item.get("quantity")), "quantity invalid."),
        ("unit_price", _is_positive_number(item.get("unit_price")), "unit_price invalid."),
        ("currency_id", _is_optional_currency(item.get("currency_id")), "currency_id invalid."),
        ("id", _is_optional_text(item.get("id")), "id invalid."),
        ("description", _is_optional_text(item.get("description")), "description invalid."),
    ]
    return [
        Cause("invalid_items", message, f"{path}.{name}") for name, ok, message in checks if not ok
    ]


def _normalized_item(item: dict[str, Any]) -> dict[str, Any]:
    # The shape of an item in Mercado Pago's answer (sdk-java preference_base.json).
    return {
        "id": item.get("id") or "",
        "category_id": item.get("category_id") or "",
        "currency_id": item.get("currency_id") or DEFAULT_CURRENCY,
        "description": item.get("description") or "",
        "picture_url": item.get("picture_url") or "",
        "title": item["title"],
        "quantity": item["quantity"],
        "unit_price": item["unit_price"],
    }


def _is_map(value: Any) -> bool:
    return isinstance(value, dict)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _is_optional_text(value: Any) -> bool:
    return value is None or _is_text(value)


def _is_positive_int(value: Any) -> bool:
    return type(value) is int and value > 0


def _is_positive_number(value: Any) -> bool:
    return type(value) in (int, float) and value > 0 and value != float("inf")


def _is_optional_currency(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) == 3 and value.isalpha())


def _is_url_map(value: Any) -> bool:
    return _is_map(value) and all(isinstance(url, str) for url in value.values())


def _is_date(value: Any) -> bool:
    try:
        parse_datetime(value)
    except ValueError:
        return False
    return True
