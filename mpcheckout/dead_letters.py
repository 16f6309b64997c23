"""Dead letters: what could not be processed, kept for a person. List, show, replay, discard.
Nothing is deleted; a replayed or discarded dead letter stays, marked resolved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .clock import Clock
from .durations import parse_since
from .errors import NotFoundError, ValidationError
from .events import MAX_ROW_ID
from .models import DeadLetter, DeadLetterReason
from .notifications import (
    QUERY_PSEUDO_HEADER,
    InvalidNotificationError,
    RawRequest,
    parse_notification,
)
from .store.base import DeadLetterFilter, ReplayResult, Store


@dataclass(slots=True, frozen=True)
class DeadLetterQuery:
    reason: str | None = None
    topic: str | None = None
    since: str | None = None
    include_resolved: bool = False
    limit: int | None = 100


@dataclass(slots=True)
class ReplaySummary:
    dry_run: bool
    results: list[ReplayResult] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for item in self.results if item.result == result)


def list_dead_letters(store: Store, clock: Clock, query: DeadLetterQuery) -> list[DeadLetter]:
    if query.reason is not None and query.reason not in set(DeadLetterReason):
        allowed = ", ".join(DeadLetterReason)
        raise ValidationError("error.bad_reason", value=query.reason, allowed=allowed)
    since = parse_since(query.since, clock.now()) if query.since else None
    filters = DeadLetterFilter(
        reason=query.reason,
        topic=query.topic,
        since=since,
        unresolved_only=not query.include_resolved,
        limit=query.limit,
    )
    return store.list_dead_letters(filters)


def get_dead_letter(store: Store, dead_letter_id: int) -> DeadLetter:
    exists = 0 < dead_letter_id <= MAX_ROW_ID
    letter = store.get_dead_letter(dead_letter_id) if exists else None
    if letter is None:
        raise NotFoundError("error.dead_letter_not_found", dead_letter_id=dead_letter_id)
    return letter


def select_for_replay(
    store: Store, clock: Clock, ids: Sequence[int], query: DeadLetterQuery | None
) -> list[DeadLetter]:
    """The dead letters a replay would touch: the ids given, or every unresolved match."""
    if query is not None:
        unlimited = DeadLetterQuery(query.reason, query.topic, query.since, False, None)
        return list_dead_letters(store, clock, unlimited)
    return [get_dead_letter(store, dead_letter_id) for dead_letter_id in ids]


def replay(
    store: Store, clock: Clock, letters: Sequence[DeadLetter], dry_run: bool
) -> ReplaySummary:
    """Back to pending with attempts reset (queue-backed), or re-parsed and queued anew
    (`invalid` ones whose payload now parses). Replaying twice is harmless."""
    summary = ReplaySummary(dry_run=dry_run)
    if dry_run:
        summary.results = [
            ReplayResult(letter.id, "would_replay", letter.queue_id) for letter in letters
        ]
        return summary
    now = clock.now()
    queued = [letter.id for letter in letters if letter.reason != DeadLetterReason.INVALID]
    summary.results.extend(store.replay_dead_letters(queued, now))
    for letter in letters:
        if letter.reason == DeadLetterReason.INVALID:
            summary.results.append(_replay_invalid(store, letter, now))
    return summary


def _replay_invalid(store: Store, letter: DeadLetter, now: datetime) -> ReplayResult:
    if letter.resolved_at is not None:
        return ReplayResult(letter.id, "already_resolved", letter.queue_id)
    headers = {k: v for k, v in letter.headers.items() if k != QUERY_PSEUDO_HEADER}
    request = RawRequest(
        query=letter.headers.get(QUERY_PSEUDO_HEADER, ""),
        headers=headers,
        body=letter.payload.encode("utf-8", "backslashreplace"),
    )
    try:
        notification = parse_notification(request)
    except InvalidNotificationError:
        return ReplayResult(letter.id, "invalid_payload")
    return store.replay_invalid(letter.id, notification, now)


def discard(store: Store, clock: Clock, dead_letter_id: int, note: str) -> DeadLetter:
    if not note.strip():
        raise ValidationError("error.discard_needs_note")
    letter = get_dead_letter(store, dead_letter_id)
    if not store.discard_dead_letter(dead_letter_id, note.strip(), clock.now()):
        raise ValidationError(
            "error.dead_letter_resolved",
            dead_letter_id=dead_letter_id,
            resolution=letter.resolution or "-",
        )
    return get_dead_letter(store, dead_letter_id)
