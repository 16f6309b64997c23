"""The sandbox's ASGI app: Mercado Pago's endpoints and the control API in one Starlette app,
behind the middleware that adds request ids, faults and the token check. Every error, even an
unknown route, answers in Mercado Pago's error shape."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from . import mp_errors
from .account import account_routes, with_clock_date
from .api import api_routes
from .checkout_page import checkout_routes
from .context import SandboxContext
from .control import control_routes
from .middleware import SandboxMiddleware
from .orders import order_routes
from .other_accounts import other_account_routes
from .web import error_response


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, mp_errors.ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(mp_errors.route_not_found())
    return error_response(mp_errors.ApiError(exc.status_code, "bad_request", str(exc.detail)))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return error_response(mp_errors.server_error(500))


def build_app(context: SandboxContext) -> ASGIApp:
    app = Starlette(
        routes=[
            *api_routes(),
            *control_routes(),
            *account_routes(),
            *order_routes(),
            *checkout_routes(),
            *other_account_routes(),
        ],
        exception_handlers={
            mp_errors.ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.sandbox = context
    return with_clock_date(SandboxMiddleware(app, context), context.clock)
