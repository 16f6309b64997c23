"""Rate limits kept in the store, so every worker process and machine shares one count."""

from __future__ import annotations

from .clock import Clock
from .config import RouteLimit
from .store.base import RateLimitDecision, Store

__all__ = ["RateLimitDecision", "hit"]


def hit(
    store: Store, clock: Clock, route: str, client: str, limit: RouteLimit
) -> RateLimitDecision:
    """Count one request of `client` on `route` against a fixed window."""
    key = f"{route}:{client}"
    return store.hit_rate_limit(key, limit.limit, limit.window_seconds, clock.now())
