"""Contract of the store queries the status page and /metrics add (issue 17), on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mpcheckout.store.base import EventOutcome
from tests.store.helpers import RULES, webhook


def _settle(store, clock, kinds: list[str], seconds: float) -> None:
    claimed = store.claim_due_events("w1", len(kinds), 30, clock.now())
    outcomes = [
        EventOutcome(event.id, kind, error="x" if kind == "dead" else None, dead_reason="permanent")
        for event, kind in zip(claimed, kinds, strict=True)
    ]
    store.commit_outcomes("w1", outcomes, RULES, clock.now() + timedelta(seconds=seconds))


def test_lifetime_counts_add_up_and_count_refusals_of_all_time(store, clock):
    empty = store.lifetime_counts()
    assert (empty.events_received, empty.in_queue, empty.dead_letters) == (0, {}, 0)
    store.enqueue_many([webhook(n) for n in range(6)], "http", clock.now())
    _settle(store, clock, ["completed", "completed", "dead"], 2)
    store.claim_due_events("w1", 1, 30, clock.now())
    store.count_rejection("client_disconnected", clock.now() - timedelta(days=3))
    store.count_rejection("client_disconnected", clock.now())
    counts = store.lifetime_counts()
    assert counts.events_received == 6
    assert counts.in_queue == {"pending": 2, "processing": 1, "dead": 1}
    assert counts.dead_letters == 1
    assert counts.rejections == {"client_disconnected": 2}


def test_hourly_activity_groups_completions_and_dead_letters_by_hour(store, clock):
    store.enqueue_many([webhook(n) for n in range(3)], "http", clock.now())
    _settle(store, clock, ["completed", "completed"], 4)
    clock.advance(hours=2)
    store.enqueue_many([webhook(n) for n in range(10, 12)], "http", clock.now())
    _settle(store, clock, ["dead", "completed", "completed"], 1)
    hours = store.hourly_activity(clock.now() - timedelta(days=1), clock.now() + timedelta(hours=1))
    assert [(h.completed, h.dead) for h in hours] == [(2, 0), (2, 1)]
    first, last = hours
    assert first.latency_avg_seconds == pytest.approx(4.0, abs=0.01)
    assert last.latency_max_seconds == pytest.approx(1.0, abs=0.01)
    assert first.hour.minute == 0 and first.hour.tzinfo is not None
    assert last.hour - first.hour == timedelta(hours=2)
    assert (
        store.hourly_activity(clock.now() + timedelta(hours=2), clock.now() + timedelta(hours=5))
        == []
    )
    assert [h.completed for h in store.hourly_activity(first.hour, last.hour)] == [2]


def test_events_for_resources_looks_within_the_newest_rows(store, clock):
    store.enqueue_many(
        [webhook(n, payment_id="p-1" if n in (1, 5) else f"x{n}") for n in range(8)],
        "http",
        clock.now(),
    )
    found = store.events_for_resources(["p-1", "p-1", "nobody"], newest=100, limit=10)
    assert [e.resource_id for e in found] == ["p-1", "p-1"] and found[0].id > found[1].id
    assert [e.id for e in store.events_for_resources(["p-1"], newest=4, limit=10)] == [found[0].id]
    assert store.events_for_resources(["p-1"], newest=100, limit=1) == found[:1]
    assert store.events_for_resources([], newest=100, limit=10) == []
