"""What wraps every request: an `x-request-id` on every answer (Mercado Pago sends one), the
fault plan for the API endpoints, then the Bearer token check. The control API under /_sandbox/
is neither faulted nor authenticated."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import uuid
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import mp_errors
from .connection import close_connection
from .faults import FaultDecision, FaultKind, FaultPlan

CONTROL_PREFIX = "/_sandbox/"
_ENDPOINTS = (
    ("GET", re.compile(r"^/v1/payments/search/?$"), "payments.search"),
    ("GET", re.compile(r"^/v1/payments/[^/]+/?$"), "payments.get"),
    ("GET", re.compile(r"^/merchant_orders/[^/]+/?$"), "merchant_orders.get"),
    ("POST", re.compile(r"^/checkout/preferences/?$"), "preferences.create"),
    ("GET", re.compile(r"^/checkout/preferences/[^/]+/?$"), "preferences.get"),
)
# How long a dropped connection waits for the client to notice before giving up on it.
_DROP_GRACE_SECONDS = 5.0


def endpoint_of(method: str, path: str) -> str | None:
    """The fault-rule name of an API request (`payments.get`, ...), None for anything else."""
    for endpoint_method, pattern, name in _ENDPOINTS:
        if method == endpoint_method and pattern.match(path):
            return name
    return None


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, faults: FaultPlan, access_token: str) -> None:
        self.app = app
        self.faults = faults
        self._token = access_token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_request_id(send)
        if scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_of(scope["method"], scope["path"])
        decision = self.faults.decide(endpoint) if endpoint else FaultDecision()
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        await self._answer(decision, scope, _BufferedReceive(receive), send)

    async def _answer(
        self, decision: FaultDecision, scope: Scope, receive: _BufferedReceive, send: Send
    ) -> None:
        kind = decision.kind
        if kind is FaultKind.DROP and close_connection():
            await receive.wait_for_disconnect(_DROP_GRACE_SECONDS)
        elif kind is FaultKind.DROP:  # no socket to close (not under our server): fail loudly
            await send_api_error(send, mp_errors.server_error(502))
        elif kind is FaultKind.TIMEOUT:
            if not await receive.wait_for_disconnect(decision.hang_seconds):
                await self._authorized(scope, receive, send)
        elif kind is FaultKind.RATE_LIMIT:
            await send_api_error(send, mp_errors.rate_limited(decision.retry_after))
        elif kind is FaultKind.ERROR:
            await send_api_error(send, mp_errors.server_error(decision.status or 500))
        elif kind is FaultKind.MALFORMED:
            await self._authorized(scope, receive, _truncating(send))
        else:
            await self._authorized(scope, receive, send)

    async def _authorized(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self._auth_error(scope)
        if error is not None:
            await send_api_error(send, error)
            return
        await self.app(scope, receive, send)

    def _auth_error(self, scope: Scope) -> mp_errors.ApiError | None:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return mp_errors.missing_token()
        if not hmac.compare_digest(token.strip(), self._token):
            return mp_errors.invalid_token()
        return None


async def send_api_error(send: Send, error: mp_errors.ApiError) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await _send_json(send, error.status, body, headers)


async def _send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _with_request_id(send: Send) -> Send:
    async def send_with_request_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"x-request-id" for name, _ in headers):
                headers.append((b"x-request-id", str(uuid.uuid4()).encode()))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_request_id


def _truncating(send: Send) -> Send:
    """Collect the real answer, then send it as a 200 whose JSON body stops halfway."""
    captured: dict[str, Any] = {"body": b""}

    async def send_truncated(message: Message) -> None:
        if message["type"] == "http.response.start":
            return
        captured["body"] += message.get("body", b"")
        if not message.get("more_body", False):
            body = captured["body"]
            await _send_json(send, 200, body[: len(body) // 2] if len(body) > 4 else b'{"')

    return send_truncated


class _BufferedReceive:
    """A `receive` that can wait for the client to hang up while keeping the request body, so a
    hung request can still be answered afterwards."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffer: deque[Message] = deque()

    async def __call__(self) -> Message:
        if self._buffer:
            return self._buffer.popleft()
        return await self._receive()

    async def wait_for_disconnect(self, seconds: float) -> bool:
        """True when the client disconnected within `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    message = await self._receive()
                    if message["type"] == "http.disconnect":
                        return True
                    self._buffer.append(message)
        except TimeoutError:
            return False
