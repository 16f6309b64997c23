"""Payment notifications exactly as Mercado Pago sends them, delivered or only recorded.

Webhooks: `POST {url}?data.id={payment id}&type=payment` with `x-signature: ts=<13-digit ms>,
v1=<hmac>` over `id:{data.id};request-id:{x-request-id};ts:{ts};`, `x-request-id` (uuid4),
`x-retry`, `x-socket-timeout: 22000` and `user-agent: restclient-node/4.15.3`; body
`{"action","api_version","data":{"id"},"date_created","id","live_mode","type","user_id"}`
(docs capture mp-docs-checkout-pro-payment-notifications-pt_payment-updated.http). A redelivery
repeats the body and its notification id with a new request id and signature. The legacy IPN
twin, `?topic=payment&id=N` with `{"resource","topic"}`, is never signed (Mercado Pago docs,
"IPN"). A failed delivery is recorded with its error; it never raises.
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
from .state import COLLECTOR_ID

USER_AGENT = "restclient-node/4.15.3"
# Mercado Pago waits 22 s for an answer and says so in every request.
SOCKET_TIMEOUT_MS = "22000"
DELIVERY_TIMEOUT_SECONDS = 5.0
ACTIONS = ("payment.created", "payment.updated")


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """How to notify about one payment. `url` None: record in the outbox only."""

    url: str | None = None
    secret: str | None = None
    ipn: bool = False
    duplicates: int = 0
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """What one payment event produces: the Webhooks body and how often to send it."""

    payment_id: int
    action: str
    notification_id: int
    user_id: int
    secret: str
    sent_at: datetime
    duplicates: int = 0
    ipn: bool = False


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    kind: str  # "webhook" | "ipn"
    query: str
    headers: dict[str, str]
    body: str


def build_requests(notification: Notification) -> list[OutgoingRequest]:
    """The Webhooks request, its redeliveries, then the IPN twin when asked for."""
    body = _webhook_body(notification)
    query = urlencode({"data.id": str(notification.payment_id), "type": "payment"})
    requests = [
        OutgoingRequest("webhook", query, _signed_headers(notification, retry), body)
        for retry in range(notification.duplicates + 1)
    ]
    if notification.ipn:
        requests.append(_ipn_request(notification.payment_id))
    return requests


def _webhook_body(notification: Notification) -> str:
    document = {
        "action": notification.action,
        "api_version": "v1",
        "data": {"id": str(notification.payment_id)},
        "date_created": notification.sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "id": notification.notification_id,
        "live_mode": False,
        "type": "payment",
        "user_id": notification.user_id,
    }
    return json.dumps(document, separators=(",", ":"))


def _signed_headers(notification: Notification, retry: int) -> dict[str, str]:
    request_id = str(uuid.uuid4())
    ts = int(notification.sent_at.timestamp() * 1000)
    signature = sign(notification.secret, str(notification.payment_id), request_id, ts)
    return {
        "accept": "*/*",
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "x-request-id": request_id,
        "x-retry": str(retry),
        "x-signature": signature,
        "x-socket-timeout": SOCKET_TIMEOUT_MS,
    }


def _ipn_request(payment_id: int) -> OutgoingRequest:
    body = json.dumps({"resource": str(payment_id), "topic": "payment"}, separators=(",", ":"))
    headers = {"accept": "*/*", "content-type": "application/json", "user-agent": USER_AGENT}
    return OutgoingRequest("ipn", urlencode({"topic": "payment", "id": payment_id}), headers, body)


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
    record = {
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
    notification = Notification(
        payment_id=payment_id,
        action=action,
        notification_id=_random_notification_id(),
        user_id=COLLECTOR_ID,
        secret=secret,
        sent_at=now,
        duplicates=duplicates,
        ipn=ipn,
    )
    requests = build_requests(notification)
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
