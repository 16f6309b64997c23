"""The ASGI app of `mpcheckout serve`. Thin: each handler turns HTTP into a service call and
the result back into HTTP."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import AppError, NotFoundError, StorageError, UsageError, error_document
from ..ingest import count_rejection
from ..processor import build_processor
from ..runtime import worker_id
from . import checkout, metrics, monitoring, openapi, receiver, reports, ui
from .context import ServeOptions, ServerContext
from .responses import error_response
from .security import SecurityHeaders
from .ui.web import UiState

log = logging.getLogger("mpcheckout.server")
WEBHOOK_METHODS = ["POST", "GET"]
CLIENT_DISCONNECTED = "client_disconnected"


def build_app(ctx: ServerContext) -> Starlette:
    routes = [
        Route("/webhooks/mercadopago", receiver.receive_webhook, methods=WEBHOOK_METHODS),
        Route("/webhooks/mercadopago/reports", reports.receive_report, methods=["POST"]),
        Route("/api/checkout/webhook", receiver.receive_webhook, methods=WEBHOOK_METHODS),
        Route("/api/checkout/create-preference", checkout.create_preference, methods=["POST"]),
        Route("/api/webhooks/status", monitoring.status, methods=["GET"]),
        Route("/api/webhooks/process-queue", monitoring.process_queue, methods=["POST"]),
        Route("/api/webhooks/reconcile", monitoring.reconcile, methods=["POST"]),
        Route("/healthz", monitoring.healthz, methods=["GET"]),
        Route("/readyz", monitoring.readyz, methods=["GET"]),
        Route("/metrics", metrics.metrics, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
        *ui.routes(ctx),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        lifespan=_lifespan,
        exception_handlers={
            AppError: _app_error,
            ClientDisconnect: _client_gone,
            Exception: _unexpected,
            404: _not_found,
            405: _not_allowed,
        },
    )
    app.state.ctx = ctx
    app.state.ui = UiState(ctx)
    return app


def create_app() -> Starlette:
    """Factory for uvicorn workers: settings from the environment `serve` prepared."""
    return build_app(ServerContext.from_options(ServeOptions.from_env()))


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    ctx: ServerContext = app.state.ctx
    stop = threading.Event()
    thread = _start_processor(ctx, stop) if ctx.run_processor else None
    # Everything built so far (modules, settings, the app) lives as long as the process: keep
    # it out of the collector's scans, which otherwise stall the event loop under load
    # (measured: webhook p99 at 32 connections 21-25 ms before, see bench/README.md).
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join()  # in-flight events finish before the process exits
        ctx.close()


def _start_processor(ctx: ServerContext, stop: threading.Event) -> threading.Thread:
    processor = build_processor(
        ctx.store, ctx.runtime.gateway, ctx.clock, ctx.settings.queue, worker_id()
    )
    idle = ctx.settings.queue.idle_poll_seconds
    thread = threading.Thread(
        target=processor.watch,
        args=(stop, idle, lambda summary: None),
        name="mpcheckout-processor",
        daemon=True,
    )
    thread.start()
    return thread


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.document())


async def _app_error(request: Request, exc: Exception) -> Response:
    # Starlette calls it for AppError only (registered so), but types every handler as taking
    # any Exception.
    return error_response(cast(AppError, exc), request.app.state.ctx.t)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that hangs up before its body is complete is ordinary traffic (scanners,
    timeouts, flaky networks): one info line and a refusal counted under its own reason, never
    a traceback an operator would be paged for. Nobody reads the answer."""
    ctx: ServerContext = request.app.state.ctx
    client = receiver.client_ip(ctx, request)
    log.info(
        "client disconnected before its request was complete: %s from %s", request.url.path, client
    )
    with contextlib.suppress(StorageError):  # counting is best effort, as for every refusal
        await run_in_threadpool(count_rejection, ctx.store, ctx.clock, CLIENT_DISCONNECTED)
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    body = {
        "error": {
            "code": "internal_error",
            "message": request.app.state.ctx.t("error.internal", kind=type(exc).__name__),
        }
    }
    return JSONResponse(body, status_code=500)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(error_document(NotFoundError(), request.app.state.ctx.t), status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    error = UsageError("error.method_not_allowed")
    return JSONResponse(error_document(error, request.app.state.ctx.t), status_code=405)
