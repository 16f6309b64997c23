"""`X-Idempotency-Key` on the write endpoints, as Mercado Pago documents it.

The same key with the same request answers what the first request answered, without doing it
again; the same key with another request is a 409 `idempotency_key_already_used`; a key is
remembered for 24 hours (Orders API reference; /v1/payments' own replay answer is undocumented,
research mp-wave2 §1.4). Only successful answers are remembered: a refused request changed
nothing, so the same key may be tried again.

The request's fingerprint is its method, path and JSON body by meaning: no body and `{}` are
one request (both a full refund), and so are `{"amount": 10}` and `{"amount": 10.0}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import mp_errors

KEY_LIFETIME = timedelta(hours=24)
HEADER = "x-idempotency-key"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: Any
    stored_at: datetime


def fingerprint(method: str, path: str, body: Any) -> str:
    return json.dumps([method, path.rstrip("/"), _canonical(body)], sort_keys=True)


def _canonical(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, int | float | dict | list):
        return value
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return f"number:{Decimal(str(value)).normalize()}"


class IdempotencyKeys:
    def __init__(self) -> None:
        self._answers: dict[str, StoredAnswer] = {}

    def replay(self, key: str, request: str, now: datetime) -> StoredAnswer | None:
        """The answer stored for `key`, None when the key is new (or expired). Raises the 409
        ApiError when the key was used for another request."""
        stored = self._answers.get(key)
        if stored is None or now - stored.stored_at > KEY_LIFETIME:
            return None
        if stored.fingerprint != request:
            raise mp_errors.idempotency_key_reused()
        return stored

    def remember(self, key: str, request: str, status: int, body: Any, now: datetime) -> None:
        self._answers[key] = StoredAnswer(request, status, body, now)

    def clear(self) -> None:
        self._answers.clear()
