"""Dead letters and events: lists with the CLI's filters, and one item with its attempts, its
errors, its payload (masked), and what to check for Mercado Pago's usual failures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import Clock
from ..config import Settings
from ..dead_letters import DeadLetterQuery, get_dead_letter, list_dead_letters, select_for_replay
from ..events import get_event, list_events
from ..models import DeadLetter, DeadLetterReason, EventStatus, QueueEvent
from ..store.base import Store
from .masking import clip, known_secrets, mask_headers, mask_text
from .orders import EventRow, event_row

PAGE_SIZE = 50
# What to check first, by the error code the processor recorded (errors.py) or the reason.
HINTS = {
    "mercadopago_auth": "hint.auth",
    "mercadopago_not_found": "hint.not_found",
    "mercadopago_rate_limited": "hint.rate_limited",
    "mercadopago_unavailable": "hint.unavailable",
    "mercadopago_rejected": "hint.rejected",
    "invalid": "hint.invalid",
}


@dataclass(slots=True, frozen=True)
class DeadLetterFilters:
    reason: str | None = None
    topic: str | None = None
    since: str | None = None
    include_resolved: bool = False

    def query(self, limit: int | None = PAGE_SIZE) -> DeadLetterQuery:
        return DeadLetterQuery(
            self.reason or None,
            self.topic or None,
            self.since or None,
            self.include_resolved,
            limit,
        )


@dataclass(slots=True, frozen=True)
class DeadLetterRow:
    id: int
    queue_id: int | None
    topic: str | None
    reason: str
    attempts: int
    last_error: str | None
    dead_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    hint: str | None


@dataclass(slots=True)
class DeadLettersPage:
    filters: DeadLetterFilters
    rows: list[DeadLetterRow]
    reasons: list[str]
    limit: int = PAGE_SIZE


@dataclass(slots=True)
class DeadLetterPage:
    letter: DeadLetterRow
    payload: str | None
    headers: dict[str, str]
    errors: list[dict[str, Any]]
    note: str | None
    replay_command: str
    discard_command: str


@dataclass(slots=True, frozen=True)
class EventFilters:
    status: str | None = None
    topic: str | None = None
    since: str | None = None


@dataclass(slots=True)
class EventsPage:
    filters: EventFilters
    rows: list[EventRow]
    statuses: list[str]
    limit: int = PAGE_SIZE


@dataclass(slots=True)
class EventPage:
    event: EventRow
    dedupe_key: str
    live_mode: bool | None
    next_attempt_at: datetime
    completed_at: datetime | None
    payload: str | None
    headers: dict[str, str]
    errors: list[dict[str, Any]] = field(default_factory=list)
    hint: str | None = None


@dataclass(slots=True, frozen=True)
class ReplayPlan:
    """What a replay would touch, shown before anything changes."""

    ids: list[int]
    filters: DeadLetterFilters | None


def dead_letters_page(store: Store, clock: Clock, filters: DeadLetterFilters) -> DeadLettersPage:
    letters = list_dead_letters(store, clock, filters.query())
    return DeadLettersPage(filters, [_letter_row(d) for d in letters], list(DeadLetterReason))


def dead_letter_page(store: Store, settings: Settings, dead_letter_id: int) -> DeadLetterPage:
    letter = get_dead_letter(store, dead_letter_id)
    secrets = known_secrets(settings)
    return DeadLetterPage(
        _letter_row(letter, secrets),
        _pretty(letter.payload, secrets),
        mask_headers(letter.headers, secrets),
        _errors(letter.errors, secrets),
        clip(letter.note, 500),
        f"mpcheckout dead-letters replay {letter.id} --dry-run",
        f'mpcheckout dead-letters discard {letter.id} --note "..."',
    )


def events_page(store: Store, clock: Clock, filters: EventFilters) -> EventsPage:
    events = list_events(
        store,
        clock,
        status=filters.status or None,
        topic=filters.topic or None,
        since=filters.since or None,
        limit=PAGE_SIZE,
    )
    return EventsPage(filters, [event_row(e) for e in events], list(EventStatus))


def event_page(store: Store, settings: Settings, event_id: int) -> EventPage:
    event = get_event(store, event_id)
    secrets = known_secrets(settings)
    return EventPage(
        _masked_event_row(event, secrets),
        clip(event.dedupe_key, 300) or "",
        event.live_mode,
        event.next_attempt_at,
        event.completed_at,
        _pretty(event.payload, secrets),
        mask_headers(event.headers, secrets),
        _errors(event.errors, secrets),
        hint_for(event.last_error, None),
    )


def plan_replay(
    store: Store, clock: Clock, ids: list[int], filters: DeadLetterFilters | None
) -> ReplayPlan:
    query = filters.query(None) if filters is not None else None
    letters = select_for_replay(store, clock, ids, query)
    return ReplayPlan([letter.id for letter in letters if letter.resolved_at is None], filters)


def hint_for(last_error: str | None, reason: str | None) -> str | None:
    if reason == DeadLetterReason.INVALID:
        return HINTS["invalid"]
    code = (last_error or "").split(":", 1)[0].strip()
    return HINTS.get(code)


def _letter_row(letter: DeadLetter, secrets: tuple[str, ...] = ()) -> DeadLetterRow:
    return DeadLetterRow(
        letter.id,
        letter.queue_id,
        clip(letter.topic, 100),
        letter.reason,
        letter.attempts,
        clip(mask_text(letter.last_error, secrets), 300),
        letter.dead_at,
        letter.resolved_at,
        letter.resolution,
        hint_for(letter.last_error, letter.reason),
    )


def _masked_event_row(event: QueueEvent, secrets: tuple[str, ...]) -> EventRow:
    row = event_row(event)
    return EventRow(
        row.id,
        clip(row.topic, 100) or "",
        clip(row.action, 100),
        clip(row.resource_id, 100),
        row.status,
        row.attempts,
        row.received_via,
        row.received_at,
        mask_text(row.last_error, secrets),
    )


def _pretty(payload: str | None, secrets: tuple[str, ...]) -> str | None:
    """Indented when it is JSON, as received when it is not."""
    if payload is None:
        return None
    try:
        text = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = payload
    return mask_text(text, secrets)


def _errors(errors: list[dict[str, Any]], secrets: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            key: mask_text(value, secrets) if isinstance(value, str) else value
            for key, value in item.items()
        }
        for item in errors[-20:]
    ]
