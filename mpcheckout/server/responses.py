"""JSON answers: the error document of DESIGN.md, and RateLimit headers."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from ..errors import AppError, error_document
from ..i18n import Translator
from ..models import to_jsonable
from ..ratelimit import RateLimitDecision


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(to_jsonable(body), status_code=status, headers=headers)


def error_response(
    exc: AppError, t: Translator, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_document(exc, t), status_code=exc.http_status, headers=headers)


def rate_limit_headers(decision: RateLimitDecision, now: datetime) -> dict[str, str]:
    """IETF draft RateLimit fields, plus Retry-After when the request is refused."""
    reset = max(math.ceil((decision.reset_at - now).total_seconds()), 0)
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(reset),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(reset)
    return headers
