"""The Store methods `doctor` reads (event_origins, diagnose), run against every backend."""

from __future__ import annotations

import json
from datetime import timedelta

from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.store.base import EventOrigin
from mpcheckout.store.migrate import latest_version
from tests.store.helpers import ipn


def notification(n: int, user_id: object, live_mode: bool | None):
    body = {"id": n, "type": "payment", "action": "payment.updated", "data": {"id": str(n)}}
    if user_id is not None:
        body["user_id"] = user_id
    if live_mode is not None:
        body["live_mode"] = live_mode
    return parse_notification(RawRequest(body=json.dumps(body).encode()))


def test_event_origins_counts_accounts_and_modes_of_recent_events_only(store, clock):
    old = [notification(1, 111, False)]
    store.enqueue_many(old, "file", clock.now() - timedelta(days=2))
    recent = [
        notification(2, 111, False),
        notification(3, "111", False),  # a string id is the same account
        notification(4, 222, True),
        notification(5, None, None),
    ]
    store.enqueue_many(recent, "http", clock.now())
    store.enqueue_many([ipn("77")], "http", clock.now())  # no JSON body: unknown origin
    found = store.event_origins(clock.now() - timedelta(days=1), limit=100)
    assert found.scanned == 5 and not found.limit_reached
    assert found.origins == (
        EventOrigin("111", False, 2),
        EventOrigin(None, None, 2),
        EventOrigin("222", True, 1),
    )


def test_event_origins_reads_at_most_limit_events(store, clock):
    batch = [notification(n, 111, False) for n in range(1, 8)]
    store.enqueue_many(batch, "http", clock.now())
    found = store.event_origins(clock.now() - timedelta(days=1), limit=5)
    assert found.scanned == 5 and found.limit_reached
    assert found.origins == (EventOrigin("111", False, 5),)
    assert store.event_origins(clock.now() + timedelta(seconds=1), limit=5).origins == ()


def test_diagnose_reports_the_schema_and_what_the_backend_has(store):
    diagnosis = store.diagnose()
    assert diagnosis.backend == store.backend
    assert diagnosis.schema_version == latest_version(store.backend)
    if store.backend == "sqlite":
        assert (diagnosis.journal_mode, diagnosis.quick_check) == ("wal", "ok")
        assert diagnosis.file_mode == 0o600
    else:
        assert (diagnosis.journal_mode, diagnosis.quick_check, diagnosis.file_mode) == (
            None,
            None,
            None,
        )
        assert "postgres" in diagnosis.location
