"""Control API and seed file JSON -> typed requests. Every problem is an ApiError(400) in Mercado
Pago's error shape, naming the field in `cause[].data`."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from . import mp_errors
from .chargebacks import DOCUMENTATION_STATUSES, OUTCOMES, ChargebackRequest, Outcome
from .dates import parse_datetime
from .money import parse_amount
from .notifier import ACTIONS, CHARGEBACK_ACTION, NotifySpec
from .state import DEFAULT_AMOUNT, PAYMENT_STATUSES, BulkSpec, PaymentDraft

MAX_BULK = 500_000
MAX_DUPLICATES = 100


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise mp_errors.bad_request("The body must be a JSON object", data="body")
    return body


def payment_draft(body: Any) -> PaymentDraft:
    """`"capture": false` without a status makes an authorization, as POST /v1/payments does."""
    body = require_object(body)
    captured = body.get("capture")
    if captured is not None and not isinstance(captured, bool):
        raise _invalid("capture", "true or false")
    return PaymentDraft(
        external_reference=_text(body, "external_reference"),
        preference_id=_text(body, "preference_id"),
        status=_status(body, "authorized" if captured is False else "approved"),
        captured=captured,
        status_detail=_text(body, "status_detail"),
        transaction_amount=_optional_amount(body, "transaction_amount"),
        currency_id=_text(body, "currency_id"),
        date_last_updated=_datetime(body, "date_last_updated"),
        description=_text(body, "description"),
        payment_method_id=_text(body, "payment_method_id"),
        payment_type_id=_text(body, "payment_type_id"),
        payer_email=_text(body, "payer_email"),
        metadata=_metadata(body),
        id=_positive_int(body, "id"),
        date_created=_datetime(body, "date_created"),
        date_approved=_datetime(body, "date_approved"),
        live_mode=flag(body, "live_mode", False),
    )


def bulk_spec(body: Any) -> BulkSpec:
    body = require_object(body)
    count = _positive_int(body, "count")
    if count is None or count > MAX_BULK:
        raise _invalid("count", f"a whole number from 1 to {MAX_BULK}")
    step = body.get("step_seconds", 1.0)
    if isinstance(step, bool) or not isinstance(step, int | float) or not math.isfinite(step):
        raise _invalid("step_seconds", "a number of seconds")
    return BulkSpec(
        count=count,
        status=_status(body, "approved"),
        external_reference_prefix=_text(body, "external_reference_prefix") or "bulk-",
        transaction_amount=_optional_amount(body, "transaction_amount") or DEFAULT_AMOUNT,
        currency_id=_text(body, "currency_id") or "ARS",
        start=_datetime(body, "start"),
        step_seconds=float(step),
    )


def status_change(body: Any) -> tuple[str, str | None, datetime | None]:
    """(status, status_detail, date_last_updated) of POST /_sandbox/payments/{id}/status."""
    body = require_object(body)
    if "status" not in body:
        raise _invalid("status", f"one of {', '.join(PAYMENT_STATUSES)}")
    return _status(body, None), _text(body, "status_detail"), _datetime(body, "date_last_updated")


def notify_spec(value: Any, actions: tuple[str, ...] = ACTIONS) -> NotifySpec | None:
    """The `notify` field: absent or {} -> notify with defaults; false -> do not notify."""
    if value is None or value is True:
        return NotifySpec()
    if value is False:
        return None
    spec = require_object(value)
    url = _text(spec, "url")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise _invalid("url", "an http:// or https:// URL")
    action = _text(spec, "action")
    if action is not None and action not in actions:
        raise _invalid("action", f"one of {', '.join(actions)}")
    duplicates = spec.get("duplicates", 0)
    if type(duplicates) is not int or not 0 <= duplicates <= MAX_DUPLICATES:
        raise _invalid("duplicates", f"a whole number from 0 to {MAX_DUPLICATES}")
    if not isinstance(spec.get("ipn", False), bool):
        raise _invalid("ipn", "true or false")
    live_mode = spec.get("live_mode")
    if live_mode is not None and not isinstance(live_mode, bool):
        raise _invalid("live_mode", "true or false")
    ipn = spec.get("ipn", False)
    return NotifySpec(url, _text(spec, "secret"), ipn, duplicates, action, live_mode)


def chargeback_request(body: Any) -> ChargebackRequest:
    body = require_object(body)
    required = body.get("documentation_required", True)
    if not isinstance(required, bool):
        raise _invalid("documentation_required", "true or false")
    return ChargebackRequest(
        amount=_optional_amount(body, "amount"),
        reason=_text(body, "reason") or "general",
        documentation_required=required,
    )


def chargeback_resolution(body: Any) -> tuple[Outcome, str | None]:
    """(outcome, documentation_status) of POST /_sandbox/chargebacks/{id}/resolve."""
    body = require_object(body)
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise _invalid("outcome", f"one of {', '.join(OUTCOMES)}")
    status = _text(body, "documentation_status")
    if status is not None and status not in DOCUMENTATION_STATUSES:
        raise _invalid("documentation_status", f"one of {', '.join(DOCUMENTATION_STATUSES)}")
    return outcome, status


def chargeback_actions(body: dict[str, Any]) -> list[str]:
    """The notification's `actions` array; Mercado Pago's example shows changed_case_status."""
    actions = body.get("actions", [CHARGEBACK_ACTION])
    if (
        not isinstance(actions, list)
        or not actions
        or not all(isinstance(action, str) and action for action in actions)
    ):
        raise _invalid("actions", "a non-empty list of strings")
    return actions


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise _invalid(name, "true or false")
    return value


def _invalid(name: str, expected: str) -> mp_errors.ApiError:
    return mp_errors.bad_request(f"{name} invalid. Expected {expected}", data=name)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids and references may come as numbers
    if not isinstance(value, str):
        raise _invalid(name, "a string")
    return value or None


def _status(body: dict[str, Any], default: str | None) -> str:
    status = body.get("status", default)
    if status not in PAYMENT_STATUSES:
        raise _invalid("status", f"one of {', '.join(PAYMENT_STATUSES)}")
    return status


def optional_amount(body: dict[str, Any], name: str) -> Decimal | None:
    """A positive number or numeric string (the control API is lenient); None when absent."""
    return _optional_amount(body, name)


def _optional_amount(body: dict[str, Any], name: str) -> Decimal | None:
    if body.get(name) is None:
        return None
    try:
        return parse_amount(body[name])
    except ValueError:
        raise _invalid(name, "a positive number or numeric string") from None


def _datetime(body: dict[str, Any], name: str) -> datetime | None:
    if body.get(name) is None:
        return None
    try:
        return parse_datetime(body[name])
    except ValueError:
        raise _invalid(name, "an ISO-8601 date") from None


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or value <= 0:
        raise _invalid(name, "a positive whole number")
    return value


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _invalid("metadata", "a JSON object")
    return metadata
