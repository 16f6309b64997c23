"""The webhook receiver: answer Mercado Pago in milliseconds, let no forgery in, lose nothing.

200 only once the event is stored (a duplicate is stored already: 200 too). A storage failure
answers 503 so that Mercado Pago redelivers. No API call on this path (Mercado Pago gives up
after 22 s); processing re-fetches the payment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import ratelimit
from ..errors import AppError, RateLimitError, StorageError, ValidationError
from ..ingest import admit, count_rejection, keep_invalid
from ..notifications import InvalidNotificationError, RawRequest
from ..signature import SignatureError
from .context import ServerContext
from .responses import error_response, rate_limit_headers

log = logging.getLogger("mpcheckout.server")

# The two answers Mercado Pago gets almost every time, rendered once.
_QUEUED = json.dumps({"status": "queued"}, separators=(",", ":")).encode()
_DUPLICATE = json.dumps({"status": "duplicate"}, separators=(",", ":")).encode()


class PayloadTooLargeError(ValidationError):
    code = "payload_too_large"
    message_key = "error.payload_too_large"
    http_status = 413


class ClientNotAllowedError(AppError):
    code = "forbidden"
    message_key = "error.ip_not_allowed"
    http_status = 403


async def receive_webhook(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    client = client_ip(ctx, request)
    if not ctx.resolver.allowed(client):
        return await _refuse(ctx, ClientNotAllowedError(), "ip_not_allowed", client)
    body = await read_limited(request, ctx.settings.server.max_body_bytes)
    if body is None:
        limit = ctx.settings.server.max_body_bytes
        return await _refuse(ctx, PayloadTooLargeError(limit=limit), "too_large", client)
    raw = RawRequest(query=query_string(request), headers=_headers(request), body=body)
    try:
        notification = admit(raw, ctx.policy)
        queued = await ctx.intake.submit_async(notification, asyncio.get_running_loop())
    except SignatureError as exc:
        return await _bad_signature(ctx, exc, client)
    except InvalidNotificationError as exc:
        return await _invalid(ctx, raw, exc, client)
    except StorageError as exc:
        return _not_stored(ctx, exc)
    return Response(_QUEUED if queued else _DUPLICATE, media_type="application/json")


def _not_stored(ctx: ServerContext, exc: StorageError) -> Response:
    log.error("webhook not stored (%s); answering 503 so Mercado Pago redelivers", exc.code)
    return error_response(exc, ctx.t, {"Retry-After": "60"})


async def _invalid(
    ctx: ServerContext, raw: RawRequest, exc: InvalidNotificationError, client: str
) -> Response:
    try:
        await run_in_threadpool(keep_invalid, ctx.store, ctx.clock, raw, exc.reason)
    except StorageError as storage:
        return _not_stored(ctx, storage)
    return await _refuse(ctx, exc, "invalid", client)


def query_string(request: Request) -> str:
    """The raw query string, as `request.url.query` gives it without building the whole URL
    (a measurable share of a request's time at thousands per second)."""
    raw: bytes = request.scope.get("query_string", b"")
    return raw.decode("utf-8", "replace")


def client_ip(ctx: ServerContext, request: Request) -> str:
    peer = request.client.host if request.client else None
    return ctx.resolver.client_ip(peer, request.headers.get("x-forwarded-for"))


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds `limit` (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(request: Request) -> dict[str, str]:
    """Repeated headers are joined, so a second x-signature makes the value malformed (and
    refused) instead of silently replacing the first."""
    joined: dict[str, str] = {}
    for name, value in request.headers.items():
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


async def _bad_signature(ctx: ServerContext, exc: SignatureError, client: str) -> Response:
    limit = ctx.settings.server.rate_limits.get("bad_signature")
    if limit is not None:
        try:
            decision = await run_in_threadpool(
                ratelimit.hit, ctx.store, ctx.clock, "bad_signature", client, limit
            )
        except StorageError:
            decision = None
        if decision is not None and not decision.allowed:
            headers = rate_limit_headers(decision, ctx.clock.now())
            return await _refuse(ctx, RateLimitError(), "rate_limited", client, headers)
    return await _refuse(ctx, exc, f"signature_{exc.reason.value}", client)


async def _refuse(
    ctx: ServerContext,
    exc: AppError,
    reason: str,
    client: str,
    headers: dict[str, str] | None = None,
) -> Response:
    log.warning("webhook refused: %s from %s", reason, client)
    with contextlib.suppress(StorageError):  # counting is best effort; the refusal stands
        await run_in_threadpool(count_rejection, ctx.store, ctx.clock, reason)
    return error_response(exc, ctx.t, headers)
