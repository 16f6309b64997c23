"""Fault rules: which API answers go wrong, and how. Pure decisions; middleware.py acts on them.

A rule names an endpoint (or `*`) and the share of its answers that are dropped connections,
hangs past the client's timeout, 429s with Retry-After, 5xx errors or truncated JSON, plus a fixed
latency. Each rule draws from its own `random.Random(seed)`, so a seeded rule gives the same
sequence of faults on every run. With `times`, a rule applies to the next N matching requests
only, and the kinds it names default to a rate of 1.0 ("exactly two 503s, then success").

With `after_write: true` the request is carried out first (the refund is made, the payment
cancelled) and only its answer goes wrong: the connection drops, the answer hangs, or a 5xx
replaces it. That is the case a client's retry with the same idempotency key exists for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ValidationError

ENDPOINTS = (
    "payments.get",
    "payments.search",
    "merchant_orders.get",
    "merchant_orders.search",
    "preferences.create",
    "preferences.get",
    "payments.update",
    "refunds.create",
    "refunds.list",
    "refunds.get",
    "chargebacks.get",
    "orders.create",
    "orders.get",
    "orders.search",
    "orders.process",
    "orders.capture",
    "orders.cancel",
    "orders.refund",
    "reports.create",
    "reports.list",
    "reports.download",
    "*",
)
DEFAULT_ERROR_STATUSES = (500, 502, 503)
DEFAULT_RETRY_AFTER = 1
DEFAULT_HANG_SECONDS = 30.0
MAX_LATENCY_MS = 120_000
MAX_HANG_SECONDS = 3600


class FaultKind(StrEnum):
    DROP = "drop"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    ERROR = "error"
    MALFORMED = "malformed"
    CUT = "cut"  # the full Content-Length announced, half the body sent, the connection closed


# The keys that name each kind: a rule with `times` and one of these gets that kind at 1.0.
_KIND_KEYS = {
    FaultKind.DROP: ("drop_rate",),
    FaultKind.TIMEOUT: ("timeout_rate", "hang_seconds"),
    FaultKind.RATE_LIMIT: ("rate_limit_rate", "retry_after"),
    FaultKind.ERROR: ("error_rate", "error_statuses"),
    FaultKind.MALFORMED: ("malformed_rate",),
    FaultKind.CUT: ("cut_rate",),
}
ALLOWED_KEYS = frozenset(
    {"endpoint", "latency_ms", "times", "after", "seed", "after_write"}.union(*_KIND_KEYS.values())
)


class InvalidFaultSpecError(ValidationError):
    code = "invalid_fault"
    message_key = "error.sandbox_bad_fault"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one answer: wait `latency_ms`, then apply `kind` (None: answer normally)."""

    latency_ms: float = 0.0
    kind: FaultKind | None = None
    status: int | None = None
    retry_after: int = DEFAULT_RETRY_AFTER
    hang_seconds: float = DEFAULT_HANG_SECONDS
    after_write: bool = False  # carry the request out, then spoil its answer


@dataclass(slots=True)
class FaultRule:
    endpoint: str
    rates: dict[FaultKind, float]
    latency_ms: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    retry_after: int = DEFAULT_RETRY_AFTER
    hang_seconds: float = DEFAULT_HANG_SECONDS
    times: int | None = None
    after: int = 0  # let this many matching requests through untouched first (mid-sweep faults)
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    after_write: bool = False

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)

    def draw(self) -> FaultDecision:
        """One decision; consumes one of `times` when the rule has them."""
        if self.after > 0:
            self.after -= 1
            return FaultDecision()
        if self.times is not None:
            self.times -= 1
        roll, threshold = self.rng.random(), 0.0
        for kind, rate in self.rates.items():
            threshold += rate
            if rate and roll < threshold:
                return self._decision(kind)
        return FaultDecision(latency_ms=self.latency_ms)

    def _decision(self, kind: FaultKind) -> FaultDecision:
        status = self.rng.choice(self.error_statuses) if kind is FaultKind.ERROR else None
        return FaultDecision(
            latency_ms=self.latency_ms,
            kind=kind,
            status=status,
            retry_after=self.retry_after,
            hang_seconds=self.hang_seconds,
            after_write=self.after_write,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "latency_ms": self.latency_ms,
            **{f"{kind.value}_rate": rate for kind, rate in self.rates.items()},
            "error_statuses": list(self.error_statuses),
            "retry_after": self.retry_after,
            "hang_seconds": self.hang_seconds,
            "times": self.times,
            "after": self.after,
            "seed": self.seed,
            "after_write": self.after_write,
        }


class FaultPlan:
    """The active rules, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def clear(self) -> None:
        self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [rule.describe() for rule in self._rules]

    def decide(self, endpoint: str) -> FaultDecision:
        """Every matching rule draws (so each seeded sequence stays its own); latencies add up,
        and the first rule that picks a fault decides it. Rules whose `times` ran out go."""
        latency, chosen = 0.0, None
        for rule in [rule for rule in self._rules if rule.matches(endpoint)]:
            decision = rule.draw()
            latency += decision.latency_ms
            chosen = chosen or (decision if decision.kind else None)
            if rule.times == 0:
                self._rules.remove(rule)
        if chosen is None:
            return FaultDecision(latency_ms=latency)
        return FaultDecision(
            latency,
            chosen.kind,
            chosen.status,
            chosen.retry_after,
            chosen.hang_seconds,
            chosen.after_write,
        )


def parse_fault_rule(spec: Any) -> FaultRule:
    """A FaultRule from its JSON form; raises InvalidFaultSpecError naming the first problem."""
    if not isinstance(spec, Mapping):
        raise InvalidFaultSpecError("a fault rule must be a JSON object")
    unknown = sorted(set(spec) - ALLOWED_KEYS)
    if unknown:
        raise InvalidFaultSpecError(f"unknown fault option(s): {', '.join(unknown)}")
    endpoint = spec.get("endpoint", "*")
    if endpoint not in ENDPOINTS:
        raise InvalidFaultSpecError(f"endpoint must be one of {', '.join(ENDPOINTS)}")
    times = _optional_int(spec, "times", 1, 1_000_000)
    seed = _optional_int(spec, "seed", -(2**63), 2**63)
    if not isinstance(spec.get("after_write", False), bool):
        raise InvalidFaultSpecError("after_write must be true or false")
    return FaultRule(
        endpoint=endpoint,
        rates=_rates(spec, times is not None),
        latency_ms=_number(spec, "latency_ms", 0.0, MAX_LATENCY_MS),
        error_statuses=_error_statuses(spec),
        retry_after=_required_int(spec, "retry_after", 0, 86_400, DEFAULT_RETRY_AFTER),
        hang_seconds=_number(spec, "hang_seconds", DEFAULT_HANG_SECONDS, MAX_HANG_SECONDS),
        times=times,
        after=_required_int(spec, "after", 0, 1_000_000, 0),
        seed=seed,
        rng=random.Random(seed),
        after_write=spec.get("after_write", False),
    )


def _rates(spec: Mapping[str, Any], limited: bool) -> dict[FaultKind, float]:
    named = {kind for kind, keys in _KIND_KEYS.items() if any(key in spec for key in keys)}
    if limited and not named and "latency_ms" not in spec:
        named = {FaultKind.ERROR}  # {"times": 2} alone: two server errors
    rates = {}
    for kind in FaultKind:
        default = 1.0 if limited and kind in named else 0.0
        rates[kind] = _number(spec, f"{kind.value}_rate", default, 1.0)
    if sum(rates.values()) > 1.0 + 1e-9:
        raise InvalidFaultSpecError("the fault rates of one rule add up to more than 1")
    return rates


def _error_statuses(spec: Mapping[str, Any]) -> tuple[int, ...]:
    statuses = spec.get("error_statuses", DEFAULT_ERROR_STATUSES)
    valid = isinstance(statuses, list | tuple) and statuses
    if not valid or not all(type(s) is int and 400 <= s <= 599 for s in statuses):
        raise InvalidFaultSpecError(
            "error_statuses must be a non-empty list of HTTP error statuses"
        )
    return tuple(statuses)


def _number(spec: Mapping[str, Any], name: str, default: float, maximum: float) -> float:
    value = spec.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidFaultSpecError(f"{name} must be a number")
    if not 0 <= value <= maximum:
        raise InvalidFaultSpecError(f"{name} must be between 0 and {maximum}")
    return float(value)


def _optional_int(
    spec: Mapping[str, Any], name: str, low: int, high: int, default: int | None = None
) -> int | None:
    value = spec.get(name)
    if value is None:
        return default
    if type(value) is not int or not low <= value <= high:
        raise InvalidFaultSpecError(f"{name} must be a whole number between {low} and {high}")
    return value


def _required_int(spec: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = _optional_int(spec, name, low, high, default)
    return default if value is None else value
