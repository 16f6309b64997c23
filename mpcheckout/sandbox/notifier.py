"""Notifications exactly as Mercado Pago sends them, delivered or only recorded.

Webhooks: `POST {url}?data.id={id}&type={type}` with `x-signature: ts=<13-digit ms>,v1=<hmac>`
over `id:{data.id};request-id:{x-request-id};ts:{ts};`, `x-request-id` (uuid4), `x-retry`,
`x-socket-timeout: 22000` and `user-agent: restclient-node/4.15.3`. A redelivery repeats the
body and its notification id with a new request id and signature. The legacy IPN twin,
`?topic=...&id=N` with `{"resource","topic"}`, is never signed (Mercado Pago docs, "IPN"). A
failed delivery is recorded with its error; it never raises.

Bodies, one per topic:
- payment: `{"action","api_version","data":{"id"},"date_created","id","live_mode","type",
  "user_id"}` (docs capture mp-docs-checkout-pro-payment-notifications-pt_payment-updated.http).
- topic_chargebacks_wh: an `actions` array and no `action`; `data.id` the chargeback id as an
  18-digit JSON number, `data.payment_id`; `version` a seconds timestamp; `date_updated` the Go
  zero time (Mercado Pago docs, "Chargebacks notifications", research mp-wave2 §3.2).
- topic_merchant_order_wh: no `data.id` at all; the merchant order id is the top-level `id`, a
  string, and the query's `data.id`; `action` is create/update (captures, mp-wave2 §6.3).
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from ..errors import MercadoPagoUnavailableError, UsageError
from ..signature import sign
from .dates import MERCADOPAGO_OFFSET
from .state import COLLECTOR_ID

USER_AGENT = "restclient-node/4.15.3"
# Mercado Pago waits 22 s for an answer and says so in every request.
SOCKET_TIMEOUT_MS = "22000"
DELIVERY_TIMEOUT_SECONDS = 5.0
ACTIONS = ("payment.created", "payment.updated")
MERCHANT_ORDER_ACTIONS = ("create", "update")
CHARGEBACK_ACTION = "changed_case_status"  # the one action Mercado Pago's example shows
# The sandbox's Mercado Pago application (its preferences' client_id).
APPLICATION_ID = 6245132082630004
# Chargeback notifications name the product that took the payment (20 characters in the docs).
CHECKOUT_PRO_PRODUCT_ID = "BC32A57TRPP001U8NHHG"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"
MERCHANT_ORDER_RESOURCE = "https://api.mercadolibre.com/merchant_orders/"


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """How to notify about one change. `url` None: record in the outbox only."""

    url: str | None = None
    secret: str | None = None
    ipn: bool = False
    duplicates: int = 0
    action: str | None = None
    live_mode: bool | None = None  # None: as the resource says (a payment's own live_mode)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every notification of one event shares: its id, when, the secret that signs it,
    how many redeliveries follow it, and whether the IPN twin goes too."""

    notification_id: int
    secret: str
    sent_at: datetime
    duplicates: int = 0
    ipn: bool = False
    user_id: int = COLLECTOR_ID
    live_mode: bool = False


@dataclass(frozen=True, slots=True)
class IpnTwin:
    topic: str
    id: str
    resource: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One event's Webhooks notification: the signed `data.id` of its query, its type and body,
    and the IPN twin to send after it (None: none)."""

    envelope: Envelope
    data_id: str
    type: str
    body: dict[str, Any]
    ipn: IpnTwin | None


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    kind: str  # "webhook" | "ipn"
    query: str
    headers: dict[str, str]
    body: str


def payment_notification(envelope: Envelope, payment_id: int, action: str) -> Notification:
    body = {
        "action": action,
        "api_version": "v1",
        "data": {"id": str(payment_id)},
        "date_created": envelope.sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "id": envelope.notification_id,
        "live_mode": envelope.live_mode,
        "type": "payment",
        "user_id": envelope.user_id,
    }
    twin = IpnTwin("payment", str(payment_id), str(payment_id))
    return Notification(envelope, str(payment_id), "payment", body, twin)


def chargeback_notification(
    envelope: Envelope, chargeback_id: str, payment_id: int, site_id: str, actions: list[str]
) -> Notification:
    body = {
        "actions": list(actions),
        "api_version": "v1",
        "application_id": APPLICATION_ID,
        "data": {
            "checkout": "PRO",
            "date_updated": GO_ZERO_TIME,
            "id": int(chargeback_id),  # an exact JSON integer, as Mercado Pago sends it
            "payment_id": payment_id,
            "product_id": CHECKOUT_PRO_PRODUCT_ID,
            "site_id": site_id,
            "transaction_intent_id": "",
        },
        "date_created": envelope.sent_at.astimezone(MERCADOPAGO_OFFSET).isoformat("T", "seconds"),
        "id": envelope.notification_id,
        "live_mode": envelope.live_mode,
        "type": "topic_chargebacks_wh",
        "user_id": envelope.user_id,
        "version": int(envelope.sent_at.timestamp()),
    }
    # The IPN body for chargebacks is undocumented; it follows the payment one (a bare id).
    twin = IpnTwin("chargebacks", chargeback_id, chargeback_id)
    return Notification(envelope, chargeback_id, "topic_chargebacks_wh", body, twin)


def merchant_order_notification(
    envelope: Envelope, order_id: int, action: str, status: str, application_id: str
) -> Notification:
    """No notification id of its own reaches the body: its `id` is the merchant order's."""
    body = {
        "action": action,
        "application_id": application_id,
        "data": {"currency_id": "", "marketplace": "NONE", "status": status},
        "date_created": envelope.sent_at.astimezone(MERCADOPAGO_OFFSET).isoformat(
            "T", "milliseconds"
        ),
        "id": str(order_id),
        "live_mode": envelope.live_mode,
        "status": status,
        "type": "topic_merchant_order_wh",
        "user_id": envelope.user_id,
        "version": 0 if action == "create" else 1,
    }
    twin = IpnTwin("merchant_order", str(order_id), f"{MERCHANT_ORDER_RESOURCE}{order_id}")
    return Notification(envelope, str(order_id), "topic_merchant_order_wh", body, twin)


def build_requests(notification: Notification) -> list[OutgoingRequest]:
    """The Webhooks request, its redeliveries, then the IPN twin when asked for."""
    envelope = notification.envelope
    body = json.dumps(notification.body, separators=(",", ":"))
    query = urlencode({"data.id": notification.data_id, "type": notification.type})
    requests = [
        OutgoingRequest("webhook", query, _signed_headers(notification, retry), body)
        for retry in range(envelope.duplicates + 1)
    ]
    if envelope.ipn and notification.ipn is not None:
        requests.append(_ipn_request(notification.ipn))
    return requests


def _signed_headers(notification: Notification, retry: int) -> dict[str, str]:
    envelope = notification.envelope
    request_id = str(uuid.uuid4())
    ts = int(envelope.sent_at.timestamp() * 1000)
    signature = sign(envelope.secret, notification.data_id, request_id, ts)
    return {
        "accept": "*/*",
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "x-request-id": request_id,
        "x-retry": str(retry),
        "x-signature": signature,
        "x-socket-timeout": SOCKET_TIMEOUT_MS,
    }


def _ipn_request(twin: IpnTwin) -> OutgoingRequest:
    body = json.dumps({"resource": twin.resource, "topic": twin.topic}, separators=(",", ":"))
    headers = {"accept": "*/*", "content-type": "application/json", "user-agent": USER_AGENT}
    return OutgoingRequest("ipn", urlencode({"topic": twin.topic, "id": twin.id}), headers, body)


async def deliver(
    requests: Sequence[OutgoingRequest],
    url: str | None,
    *,
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
    stop_on_failure: bool = False,
) -> list[dict[str, Any]]:
    """Send each request to `url` in order (or only record it when there is no url); one outbox
    record per request. `stop_on_failure` stops at the first receiver that cannot be reached."""
    records = []
    async with httpx.AsyncClient(timeout=timeout, verify=_tls_context()) as client:
        for request in requests:
            record = await _deliver_one(client, request, url)
            records.append(record)
            if stop_on_failure and record["error"]:
                break
    return records


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default context, built once: building it costs ~50 ms per client."""
    return httpx.create_ssl_context()


async def _deliver_one(
    client: httpx.AsyncClient, request: OutgoingRequest, url: str | None
) -> dict[str, Any]:
    target = _target(url, request.query) if url else None
    record: dict[str, Any] = {
        "kind": request.kind,
        "method": "POST",
        "path": _path(url),
        "query": _joined_query(url, request.query),
        "headers": dict(request.headers),
        "body": request.body,
        "delivered_to": target,
        "status_code": None,
        "error": None,
    }
    if target is None:
        return record
    try:
        answer = await client.post(target, content=request.body, headers=request.headers)
        record["status_code"] = answer.status_code
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return record


def _path(url: str | None) -> str:
    return (urlsplit(url).path if url else "") or "/"


def _joined_query(url: str | None, query: str) -> str:
    """Mercado Pago appends its parameters to any the notification URL already has."""
    existing = urlsplit(url).query if url else ""
    return f"{existing}&{query}" if existing else query


def _target(url: str, query: str) -> str:
    parts = urlsplit(url)
    return parts._replace(query=_joined_query(url, query), fragment="").geturl()


def send_test_notifications(
    url: str,
    payment_id: int,
    *,
    secret: str,
    action: str,
    now: datetime,
    ipn: bool = False,
    duplicates: int = 0,
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
) -> list[dict[str, Any]]:
    """Sign and deliver one payment's notifications to any receiver, no sandbox needed (for
    `mpcheckout sandbox notify`). Raises UsageError for a URL that is not http(s), and
    MercadoPagoUnavailableError when the receiver cannot be reached (delivery stops there)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError("error.sandbox_bad_url", url=url)
    envelope = Envelope(_random_notification_id(), secret, now, duplicates, ipn)
    requests = build_requests(payment_notification(envelope, payment_id, action))
    records = asyncio.run(deliver(requests, url, timeout=timeout, stop_on_failure=True))
    failed = next((record for record in records if record["error"]), None)
    if failed is not None:
        raise MercadoPagoUnavailableError(
            "error.sandbox_receiver_unreachable", url=url, reason=failed["error"]
        )
    return records


def _random_notification_id() -> int:
    """12 digits, like Mercado Pago's; random so repeated test runs are not deduplicated."""
    return 10**11 + secrets.randbelow(9 * 10**11)


class Outbox:
    """Every notification the sandbox produced, in order, as raw requests."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []

    def extend(self, records: list[dict[str, Any]]) -> None:
        self._records.extend(records)

    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def clear(self) -> None:
        self._records.clear()
