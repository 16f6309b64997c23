"""What wraps every request: an `x-request-id` on every answer (Mercado Pago sends one), the
request log and the fault plan for the API endpoints, then the Bearer token check. The control
API under /_sandbox/ is neither logged, faulted nor authenticated."""

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
from .account import SandboxAccount
from .connection import close_connection
from .context import SandboxContext
from .faults import FaultDecision, FaultKind
from .other_accounts import answer_for_other_account
from .requestlog import RequestRecord, header_map

CONTROL_PREFIX = "/_sandbox/"
_ENDPOINTS = (
    ("GET", re.compile(r"^/v1/payments/search/?$"), "payments.search"),
    ("GET", re.compile(r"^/v1/payments/[^/]+/?$"), "payments.get"),
    ("PUT", re.compile(r"^/v1/payments/[^/]+/?$"), "payments.update"),
    ("POST", re.compile(r"^/v1/payments/[^/]+/refunds/?$"), "refunds.create"),
    ("GET", re.compile(r"^/v1/payments/[^/]+/refunds/?$"), "refunds.list"),
    ("GET", re.compile(r"^/v1/payments/[^/]+/refunds/[^/]+/?$"), "refunds.get"),
    ("GET", re.compile(r"^/v1/chargebacks/[^/]+/?$"), "chargebacks.get"),
    ("GET", re.compile(r"^/merchant_orders/search/?$"), "merchant_orders.search"),
    ("GET", re.compile(r"^/merchant_orders/[^/]+/?$"), "merchant_orders.get"),
    ("POST", re.compile(r"^/checkout/preferences/?$"), "preferences.create"),
    ("GET", re.compile(r"^/checkout/preferences/[^/]+/?$"), "preferences.get"),
    ("POST", re.compile(r"^/v1/orders/?$"), "orders.create"),
    ("GET", re.compile(r"^/v1/orders/?$"), "orders.search"),
    ("GET", re.compile(r"^/v1/orders/[^/]+/?$"), "orders.get"),
    ("POST", re.compile(r"^/v1/orders/[^/]+/process/?$"), "orders.process"),
    ("POST", re.compile(r"^/v1/orders/[^/]+/capture/?$"), "orders.capture"),
    ("POST", re.compile(r"^/v1/orders/[^/]+/cancel/?$"), "orders.cancel"),
    ("POST", re.compile(r"^/v1/orders/[^/]+/refund/?$"), "orders.refund"),
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
    def __init__(self, app: ASGIApp, context: SandboxContext) -> None:
        self.app = app
        self.context = context
        self._token = context.access_token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_request_id(send)
        if scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_of(scope["method"], scope["path"])
        record = self._log(scope, endpoint)
        buffered = await _BufferedReceive.read_body(receive)
        record.body = buffered.body.decode("utf-8", "replace")
        decision = self.context.faults.decide(endpoint) if endpoint else FaultDecision()
        if decision.kind is not None:
            record.fault = decision.kind.value + ("_after_write" if decision.after_write else "")
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        send = _recording_status(send, record)
        if decision.after_write and decision.kind is not None:
            await self._spoil_after_write(decision, scope, buffered, send)
        else:
            await self._answer(decision, scope, buffered, send)

    def _log(self, scope: Scope, endpoint: str | None) -> RequestRecord:
        return self.context.requests.open(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            header_map(scope["headers"]),
            self.context.clock.now(),
            endpoint,
        )

    async def _spoil_after_write(
        self, decision: FaultDecision, scope: Scope, receive: _BufferedReceive, send: Send
    ) -> None:
        """Carry the request out with its answer held back, then give the client the fault
        instead (a timeout that the client outwaits gets the held answer)."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self._authorized(scope, receive, hold)
        if decision.kind is FaultKind.TIMEOUT:
            if not await receive.wait_for_disconnect(decision.hang_seconds):
                for message in held:
                    await send(message)
            return
        await self._answer(decision, scope, receive, send, run_app=False)

    async def _answer(
        self,
        decision: FaultDecision,
        scope: Scope,
        receive: _BufferedReceive,
        send: Send,
        run_app: bool = True,
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
        elif kind is FaultKind.MALFORMED and run_app:
            await self._authorized(scope, receive, _truncating(send))
        elif kind is FaultKind.MALFORMED:
            await _send_json(send, 200, b'{"')
        else:
            await self._authorized(scope, receive, send)

    async def _authorized(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self._auth_error(scope)
        if error is not None and (account := self._other_account(scope)) is not None:
            await self._answer_other_account(account, scope, send)
            return
        if error is not None:
            await send_api_error(send, error)
            return
        await self.app(scope, receive, send)

    def _other_account(self, scope: Scope) -> SandboxAccount | None:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        return self.context.other_accounts.get(token.strip().decode("latin-1"))

    async def _answer_other_account(
        self, account: SandboxAccount, scope: Scope, send: Send
    ) -> None:
        endpoint = endpoint_of(scope["method"], scope["path"])
        try:
            body = answer_for_other_account(account, endpoint, scope["path"])
        except mp_errors.ApiError as refused:
            await send_api_error(send, refused)
            return
        await _send_json(send, 200, json.dumps(body).encode())

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


def _recording_status(send: Send, record: RequestRecord) -> Send:
    async def send_and_record(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
        await send(message)

    return send_and_record


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

    def __init__(self, receive: Receive, body: bytes = b"") -> None:
        self._receive = receive
        self._buffer: deque[Message] = deque()
        self.body = body

    @classmethod
    async def read_body(cls, receive: Receive) -> _BufferedReceive:
        """Read the whole request body now (so the log has it whatever happens next) and
        replay it to the app as one message."""
        chunks, tail = [], []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                tail.append(message)  # the client left mid-body
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        buffered = cls(receive, b"".join(chunks))
        buffered._buffer.append({"type": "http.request", "body": buffered.body, "more_body": False})
        buffered._buffer.extend(tail)
        return buffered

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
