"""Raw request (query, headers, body) -> Notification. Pure: no I/O, no clock.

Mercado Pago sends two shapes to the same URL:
- Webhooks: JSON body `{"id", "type", "action", "data": {"id"}, ...}` and `?data.id=&type=`.
- Legacy IPN: `?topic=payment&id=N` and/or body `{"resource", "topic"}`, where a merchant_order
  resource is a full URL. IPN is still sent beside Webhooks unless the notification URL carries
  `source_news=webhooks` (Mercado Pago docs, "IPN").

Dedupe keys (DESIGN.md, pipeline step 1): a Webhooks notification is identified for ever by its
`id` with its `type`, `action` and `data.id` (the `id` alone is not safe: two documented examples
share `"id": "123456"`). A notification without an id is coalesced only with an identical one
still pending, so its key carries the COALESCE prefix and the store frees it at claim time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import ValidationError
from .models import Notification
from .records import record

MAX_NOTIFICATION_BYTES = 256 * 1024
PERMANENT_KEY_PREFIX = "wh:"
COALESCE_KEY_PREFIX = "co:"

# Ids reach API URLs and SQL filters; anything outside this set is hostile or broken.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_TOPIC_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_MAX_NUMERIC_ID = 10**128  # as many digits as _ID_PATTERN allows characters
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
QUERY_PSEUDO_HEADER = ":query"
_NOTIFICATION_PARAMETERS = frozenset({"data.id", "type", "topic", "id"})
# A merchant order changes many times and each change is announced with the same `id` and
# action `update`: such notifications coalesce only while one is pending (like IPN), so a
# later change is never mistaken for an old delivery.
MERCHANT_ORDER_WEBHOOK_TOPICS = frozenset({"topic_merchant_order_wh"})


class InvalidNotificationError(ValidationError):
    """The input is not a Mercado Pago notification; `reason` says why in one English line."""

    code = "invalid_notification"
    message_key = "error.invalid_notification"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


@record(slots=True, frozen=True)
class RawRequest:
    """What arrived: the query string, the headers and the body, exactly as received."""

    query: str = ""
    headers: Mapping[str, str] | None = None
    body: bytes = b""


def parse_notification(request: RawRequest) -> Notification:
    """Parse one request. Raises InvalidNotificationError (and nothing else) for bad input."""
    if len(request.body) > MAX_NOTIFICATION_BYTES:
        raise InvalidNotificationError(f"larger than {MAX_NOTIFICATION_BYTES} bytes")
    raw_query = request.query.lstrip("?")
    query = _query(raw_query) if raw_query else {}
    headers = (
        clean_headers(request.headers or {}, raw_query) if request.headers or raw_query else {}
    )
    text = _decode(request.body)
    if text.strip():
        body = _load_object(text)
        return _from_body(body, query, headers, text)
    return _from_query(query, headers)


def _query(raw_query: str) -> dict[str, str]:
    """The query's parameters. One that names the notification may appear once: the signature
    check reads the first `data.id` (ingest._signed_data_id) and a dict keeps the last, so
    `?data.id=<signed>&data.id=<other>` would queue a resource nobody signed."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    names = [name for name, _ in pairs if name in _NOTIFICATION_PARAMETERS]
    if len(names) != len(set(names)):
        raise InvalidNotificationError("a notification parameter is repeated in the query string")
    return dict(pairs)


def clean_headers(headers: Mapping[str, str], query: str = "") -> dict[str, str]:
    """Lower-cased header names, secrets dropped, the query string kept as `:query`."""
    cleaned = {
        str(name).lower(): str(value)
        for name, value in headers.items()
        if str(name).lower() not in _SECRET_HEADERS
    }
    if query.lstrip("?"):
        cleaned[QUERY_PSEUDO_HEADER] = query.lstrip("?")
    return cleaned


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidNotificationError("body is not UTF-8 text") from None


def _load_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: also an over-long integer
        raise InvalidNotificationError(f"malformed JSON: {exc}"[:200]) from None
    if not isinstance(value, dict):
        raise InvalidNotificationError(f"a JSON {type(value).__name__}, not an object")
    return value


def _from_body(
    body: dict[str, Any], query: dict[str, str], headers: dict[str, str], text: str
) -> Notification:
    if "type" in body or ("action" in body and "data" in body):
        return _webhook(body, query, headers, text)
    if "topic" in body and "resource" in body:
        resource = _resource_id(body["resource"])
        return _ipn(_topic(body["topic"]), resource, headers, text)
    raise InvalidNotificationError("neither a Webhooks nor an IPN notification")


def _webhook(
    body: dict[str, Any], query: dict[str, str], headers: dict[str, str], text: str
) -> Notification:
    topic = _topic(body.get("type") or query.get("type"))
    action = _action(body)
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidNotificationError("data is not an object")
    resource_id = _webhook_resource(topic, body, data or {}, query)
    notification_id = body.get("id")
    if notification_id in (None, "") or topic in MERCHANT_ORDER_WEBHOOK_TOPICS:
        key = _coalesce_key(topic, action, resource_id)
        notification_id = None
    else:
        notification_id = _scalar_id(notification_id, "id")
        key = PERMANENT_KEY_PREFIX + "|".join(
            (notification_id, topic, action or "", resource_id or "")
        )
    return Notification(
        kind="webhook",
        topic=topic,
        action=action,
        resource_id=resource_id,
        notification_id=notification_id,
        live_mode=_live_mode(body.get("live_mode")),
        user_id=_optional_scalar(body.get("user_id"), "user_id"),
        dedupe_key=key,
        payload=text,
        headers=headers,
    )


def _webhook_resource(
    topic: str, body: dict[str, Any], data: dict[str, Any], query: dict[str, str]
) -> str | None:
    """Which resource the notification names. Mercado Pago signs the query's data.id
    (ingest._signed_data_id), so that one wins: a body naming another cannot ride on a
    signature made for the query's. A merchant-order Webhooks body has no data.id at all: its
    top-level `id` is the merchant order's (research mp-wave2.md §6.3), and its `data` is
    never read for an id."""
    body_id = None if topic in MERCHANT_ORDER_WEBHOOK_TOPICS else data.get("id")
    if body_id not in (None, ""):
        _scalar_id(body_id, "data.id")  # a hostile one is refused wherever the id is taken from
    if topic in MERCHANT_ORDER_WEBHOOK_TOPICS:
        body_id = body.get("id")
    data_id = query.get("data.id") or body_id
    return _scalar_id(data_id, "data.id") if data_id not in (None, "") else None


def _action(body: dict[str, Any]) -> str | None:
    """`action`, or a chargeback notification's `actions` array (it has no `action`)."""
    actions = body.get("actions")
    if "action" in body or actions is None:
        return _optional_text(body.get("action"), "action")
    if not isinstance(actions, list) or len(actions) > 16:
        raise InvalidNotificationError("actions is not a short list")
    names = [_optional_text(item, "actions") for item in actions]
    return ",".join(name for name in names if name) or None


def _from_query(query: dict[str, str], headers: dict[str, str]) -> Notification:
    if "topic" in query and "id" in query:
        return _ipn(_topic(query["topic"]), _resource_id(query["id"]), headers, "")
    if "type" in query and "data.id" in query:
        topic, resource_id = _topic(query["type"]), _scalar_id(query["data.id"], "data.id")
        return Notification(
            kind="webhook",
            topic=topic,
            action=None,
            resource_id=resource_id,
            notification_id=None,
            live_mode=None,
            user_id=None,
            dedupe_key=_coalesce_key(topic, None, resource_id),
            payload="",
            headers=headers,
        )
    raise InvalidNotificationError("empty body and no notification in the query string")


def _ipn(topic: str, resource_id: str, headers: dict[str, str], text: str) -> Notification:
    return Notification(
        kind="ipn",
        topic=topic,
        action=None,
        resource_id=resource_id,
        notification_id=None,
        live_mode=None,
        user_id=None,
        dedupe_key=_coalesce_key(topic, None, resource_id),
        payload=text,
        headers=headers,
    )


def _coalesce_key(topic: str, action: str | None, resource_id: str | None) -> str:
    return COALESCE_KEY_PREFIX + "|".join((topic, action or "", resource_id or ""))


def _resource_id(resource: Any) -> str:
    """An IPN `resource` is a bare id or a URL ending in the id (merchant orders)."""
    if isinstance(resource, str) and "/" in resource:
        resource = resource.rstrip("/").rsplit("/", 1)[-1]
    return _scalar_id(resource, "resource")


def _scalar_id(value: Any, name: str) -> str:
    if type(value) is int and 0 <= value < _MAX_NUMERIC_ID:  # the common case: always safe
        return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidNotificationError(f"{name} is not a string or a number")
    text = str(value).strip()
    if not _ID_PATTERN.fullmatch(text):
        raise InvalidNotificationError(f"{name} has characters an id never has")
    return text


def _optional_scalar(value: Any, name: str) -> str | None:
    return None if value in (None, "") else _scalar_id(value, name)


def _optional_text(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _TOPIC_PATTERN.fullmatch(value):
        raise InvalidNotificationError(f"{name} is not a plain name")
    return value


def _topic(value: Any) -> str:
    if not isinstance(value, str) or not _TOPIC_PATTERN.fullmatch(value):
        raise InvalidNotificationError("type/topic is missing or not a plain name")
    return value


def _live_mode(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def is_coalescing_key(dedupe_key: str) -> bool:
    return dedupe_key.startswith(COALESCE_KEY_PREFIX)


def parse_http_capture(text: str) -> RawRequest:
    """A raw HTTP/1.1 request capture (request line, headers, blank line or not, body)."""
    lines = text.replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if len(parts) < 2 or parts[0].upper() not in ("POST", "GET", "PUT"):
        raise InvalidNotificationError("not an HTTP request capture")
    target = parts[1]
    query = target.split("?", 1)[1] if "?" in target else ""
    headers: dict[str, str] = {}
    index = 1
    while index < len(lines) and ":" in lines[index] and not lines[index].lstrip().startswith("{"):
        name, value = lines[index].split(":", 1)
        headers[name.strip()] = value.strip()
        index += 1
    body = "\n".join(lines[index:]).strip()
    return RawRequest(query=query, headers=headers, body=body.encode("utf-8"))
