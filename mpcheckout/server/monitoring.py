"""Monitoring endpoints. All behind `Authorization: Bearer <server.monitor_token>` (compared in
constant time) and absent (404) when no token is configured; health probes need none."""

from __future__ import annotations

import hmac
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AuthenticationError, LockHeldError, NotFoundError, StorageError
from ..maintenance import ready
from ..processor import ProcessSummary, build_processor
from ..reconcile import ReconcileRequest, run_reconcile
from ..runtime import worker_id
from ..status import build_status
from .context import ServerContext
from .responses import error_response, json_response

PASS_LIMIT = 1000
PASS_SECONDS = 20.0


def guard(request: Request) -> Response | None:
    """None when the caller may use monitoring; otherwise the answer to give."""
    ctx: ServerContext = request.app.state.ctx
    if ctx.monitor_token is None:
        return error_response(NotFoundError("error.not_found"), ctx.t)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = ctx.monitor_token.encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        return error_response(
            AuthenticationError("error.monitor_token"), ctx.t, {"WWW-Authenticate": "Bearer"}
        )
    return None


async def status(request: Request) -> Response:
    if refused := guard(request):
        return refused
    ctx: ServerContext = request.app.state.ctx
    settings = ctx.settings
    report = await run_in_threadpool(
        build_status, ctx.store, ctx.clock, settings.health, settings.reconcile
    )
    return json_response(report)


async def process_queue(request: Request) -> Response:
    if refused := guard(request):
        return refused
    ctx: ServerContext = request.app.state.ctx

    def one_pass() -> ProcessSummary:
        processor = build_processor(
            ctx.store, ctx.runtime.gateway, ctx.clock, ctx.settings.queue, worker_id()
        )
        return processor.run_once(limit=PASS_LIMIT, deadline=time.monotonic() + PASS_SECONDS)

    summary = await run_in_threadpool(one_pass)
    return json_response(summary)


async def reconcile(request: Request) -> Response:
    if refused := guard(request):
        return refused
    ctx: ServerContext = request.app.state.ctx
    result, _alerts = await run_in_threadpool(
        run_reconcile,
        ctx.store,
        ctx.runtime.gateway,
        ctx.clock,
        ctx.settings,
        worker_id(),
        ReconcileRequest(),
    )
    if result.lock_held:
        return error_response(LockHeldError(), ctx.t)
    return json_response(result.run)


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    try:
        version = await run_in_threadpool(ready, ctx.store)
    except StorageError as exc:
        return error_response(exc, ctx.t)
    return json_response({"status": "ready", "schema_version": version})
