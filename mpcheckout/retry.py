"""The retry policy: when a failed event is tried again, and when it goes to a person. Pure.

DESIGN.md, pipeline step 3: transient failures (timeouts, connection errors, 5xx, 429) retry
after 1, 2, 4, 8, 16, 32 minutes (configurable, optional jitter, never sooner than the server's
Retry-After); the failure after the last step dead-letters with reason `exhausted`. Permanent
failures (400, 401/403, a malformed resource) dead-letter at once with reason `permanent`. A 404
is retried on the schedule's first steps, because Mercado Pago can notify before the payment is
readable, and is permanent after that.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import ExternalServiceError, MercadoPagoNotFoundError
from .models import DeadLetterReason

MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(slots=True, frozen=True)
class RetryDecision:
    retry: bool
    next_attempt_at: datetime | None = None
    dead_reason: DeadLetterReason | None = None


class RetryPolicy:
    def __init__(
        self,
        schedule: Sequence[timedelta],
        *,
        jitter: float = 0.0,
        not_found_retries: int = 2,
        rng: random.Random | None = None,
    ) -> None:
        if not schedule:
            raise ValueError("a retry schedule needs at least one step")
        self.schedule = tuple(schedule)
        self.jitter = jitter
        self.not_found_retries = not_found_retries
        self._rng = rng or random.Random()

    @classmethod
    def from_minutes(cls, minutes: Sequence[float], **kwargs: Any) -> RetryPolicy:
        return cls([timedelta(minutes=step) for step in minutes], **kwargs)

    @property
    def max_attempts(self) -> int:
        """Attempts an always-failing event gets: the first try plus one per schedule step."""
        return len(self.schedule) + 1

    def decide(self, attempts: int, error: BaseException, now: datetime) -> RetryDecision:
        """What to do after the `attempts`-th attempt (1-based) failed with `error`."""
        if not is_transient(error):
            not_found = isinstance(error, MercadoPagoNotFoundError)
            if not (not_found and attempts <= self.not_found_retries):
                return RetryDecision(False, dead_reason=DeadLetterReason.PERMANENT)
        if attempts > len(self.schedule):
            return RetryDecision(False, dead_reason=DeadLetterReason.EXHAUSTED)
        return RetryDecision(True, next_attempt_at=now + self.delay(attempts, error))

    def delay(self, attempts: int, error: BaseException | None = None) -> timedelta:
        step = self.schedule[min(attempts, len(self.schedule)) - 1]
        if self.jitter:
            step *= 1 + self._rng.uniform(0, self.jitter)
        retry_after = _retry_after(error)
        if retry_after is not None:
            step = max(step, retry_after)
        return step


def _retry_after(error: BaseException | None) -> timedelta | None:
    """The server's Retry-After when it is a positive number, at most MAX_RETRY_AFTER (a
    header of 1e300, NaN or "soon" must not crash the worker or park an event for ever)."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None  # `not value > 0` also catches NaN
    return timedelta(seconds=min(value, MAX_RETRY_AFTER.total_seconds()))


def is_transient(error: BaseException) -> bool:
    """Our gateway errors say so; anything else is unexpected here (a bug, a parse surprise),
    so it is retried on the schedule rather than dead-lettered at once: a fix can land first."""
    if isinstance(error, ExternalServiceError):
        return error.transient
    return True
