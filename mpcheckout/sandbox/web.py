"""Small helpers every sandbox endpoint shares: its context, its JSON body, its error answer."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import mp_errors
from .context import SandboxContext


def context_of(request: Request) -> SandboxContext:
    return request.app.state.sandbox


async def read_json(request: Request, *, empty: Any = None) -> Any:
    """The parsed body; `empty` for an empty body; ApiError(400) for anything not JSON."""
    raw = await request.body()
    if not raw.strip():
        return empty
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise mp_errors.invalid_json_body() from None


def numeric_id(text: str, not_found: mp_errors.ApiError) -> int:
    """Resource ids are numbers; anything else cannot name a resource."""
    if not text.isdigit():
        raise not_found
    return int(text)


def error_response(error: mp_errors.ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
