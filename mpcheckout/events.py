"""Services behind `mpcheckout events list | show`."""

from __future__ import annotations

from .clock import Clock
from .durations import parse_since
from .errors import NotFoundError, ValidationError
from .models import EventStatus, QueueEvent
from .store.base import EventFilter, Store

MAX_LIST_LIMIT = 10_000


def list_events(
    store: Store,
    clock: Clock,
    *,
    status: str | None = None,
    topic: str | None = None,
    since: str | None = None,
    limit: int = 50,
    live_mode: str | None = None,
    user_id: str | None = None,
) -> list[QueueEvent]:
    if status is not None and status not in set(EventStatus):
        raise ValidationError("error.bad_status", value=status, allowed=", ".join(EventStatus))
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationError("error.bad_limit", value=limit, maximum=MAX_LIST_LIMIT)
    moment = parse_since(since, clock.now()) if since else None
    filters = EventFilter(
        status=status,
        topic=topic,
        since=moment,
        limit=limit,
        live_mode=parse_live_mode(live_mode),
        user_id=user_id.strip() if user_id else None,
    )
    return store.list_events(filters)


def parse_live_mode(value: str | None) -> bool | None:
    """`--live-mode true|false` (None: either)."""
    if value is None:
        return None
    if value.strip().lower() not in ("true", "false"):
        raise ValidationError("error.bad_live_mode", value=value)
    return value.strip().lower() == "true"


MAX_ROW_ID = 2**63 - 1  # SQLite and PostgreSQL integer ids; a larger one cannot exist


def get_event(store: Store, event_id: int) -> QueueEvent:
    event = store.get_event(event_id) if 0 < event_id <= MAX_ROW_ID else None
    if event is None:
        raise NotFoundError("error.event_not_found", event_id=event_id)
    return event
