"""Each event keeps its account (`user_id`) and `live_mode` as columns (issue 18): written at
ingest, filtered on by `events list`, moved with the event to the archive, and learnt from the
payload by migration 0004 for events stored before it. Every test runs on every backend."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.store import open_store
from mpcheckout.store.base import EventFilter, EventOutcome
from mpcheckout.store.migrate import migrations, split_statements
from tests.store.helpers import RULES, ipn

BEFORE_ACCOUNTS = 3  # the last migration without webhook_queue.user_id


def notification(n: int, user_id: object, live_mode: object):
    body = {"id": n, "type": "payment", "action": "payment.updated", "data": {"id": str(n)}}
    body |= {"user_id": user_id, "live_mode": live_mode}
    return parse_notification(RawRequest(body=json.dumps(body).encode()))


def ids(store, **filters) -> list[int]:
    return [int(event.resource_id) for event in store.list_events(EventFilter(**filters))]


def test_events_filter_on_their_live_mode_and_account(store, clock):
    store.enqueue_many(
        [
            notification(1, 111, False),
            notification(2, "111", True),  # a string user_id names the same account
            notification(3, 222, True),
            notification(4, None, None),
        ],
        "http",
        clock.now(),
    )
    store.enqueue_many([ipn("5")], "http", clock.now())
    assert ids(store) == [5, 4, 3, 2, 1]
    assert ids(store, live_mode=True) == [3, 2]
    assert ids(store, live_mode=False) == [1]
    assert ids(store, user_id="111") == [2, 1]
    assert ids(store, user_id="111", live_mode=True) == [2]
    assert ids(store, user_id="999") == []
    (event,) = store.list_events(EventFilter(user_id="222"))
    assert (event.user_id, event.live_mode) == ("222", True)
    assert store.get_event(event.id).user_id == "222"


def test_an_archived_event_keeps_its_account(store, clock):
    store.enqueue_many([notification(1, 333, True)], "http", clock.now())
    claimed = store.claim_due_events("w", 1, 60, clock.now())
    store.commit_outcomes("w", [EventOutcome(claimed[0].id, "completed")], RULES, clock.now())
    clock.advance(days=40)
    assert store.archive_completed(clock.now(), 10, clock.now()) == 1
    (rows,) = list(store.export_rows("webhook_archive", 10))
    assert (rows[0]["user_id"], bool(rows[0]["live_mode"])) == ("333", True)


# -- migration 0004 -------------------------------------------------------------------------
# Payloads as earlier versions stored them, and the account each must end up with.
PAYLOADS = [
    ('{"id": 1, "type": "payment", "user_id": 123456789, "live_mode": true}', "123456789"),
    ('{"id": 2, "type": "payment", "user_id": "987", "live_mode": false}', "987"),
    ('{"id": 3, "type": "payment", "user_id": ""}', None),
    ('{"id": 4, "type": "payment", "user_id": {"nested": 1}}', None),
    ('["user_id", 5]', None),  # JSON, but not an object
    ('POST /hook HTTP/1.1 "user_id": 6 {', None),  # not JSON at all, mentions user_id
    ("", None),  # an IPN's empty body
]
QUEUE_ROW = (
    "INSERT INTO webhook_queue (id, dedupe_key, topic, payload, received_via, next_attempt_at, "
    "received_at, updated_at) VALUES ({id}, 'k{id}', 'payment', {payload}, 'file', "
    "'2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z')"
)
ARCHIVE_ROW = (
    "INSERT INTO webhook_archive (id, dedupe_key, topic, payload, received_via, status, attempts, "
    "next_attempt_at, received_at, updated_at, archived_at) VALUES (100, 'k100', 'payment', "
    "{payload}, 'file', 'completed', 1, '2026-11-30T10:00:00.000000Z', "
    "'2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z')"
)


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stored_before_accounts() -> list[str]:
    rows = [
        QUEUE_ROW.format(id=n, payload=quoted(payload))
        for n, (payload, _) in enumerate(PAYLOADS, 1)
    ]
    archived = ARCHIVE_ROW.format(payload=quoted(PAYLOADS[0][0]))
    version = (
        "INSERT INTO meta (key, value, updated_at) VALUES ('schema_version', "
        f"'{BEFORE_ACCOUNTS}', '2026-11-30T10:00:00.000000Z')"
    )
    return [*rows, archived, version]


def backfilled(store) -> None:
    events = {event.id: event for event in store.list_events(EventFilter(limit=100))}
    assert {n: events[n].user_id for n in events} == {
        n: expected for n, (_, expected) in enumerate(PAYLOADS, 1)
    }
    assert [event.payload for _, event in sorted(events.items())] == [p for p, _ in PAYLOADS]
    (archived,) = list(store.export_rows("webhook_archive", 10))
    assert archived[0]["user_id"] == "123456789"
    assert [event.id for event in store.list_events(EventFilter(user_id="987"))] == [2]


def test_sqlite_migration_keeps_every_event_and_learns_accounts_from_payloads(tmp_path):
    path = tmp_path / "before.db"
    with sqlite3.connect(path) as conn:
        for migration in migrations("sqlite")[:BEFORE_ACCOUNTS]:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
        for statement in stored_before_accounts():
            conn.execute(statement)
    store = open_store(str(path))
    try:
        backfilled(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_migration_keeps_every_event_and_learns_accounts_from_payloads(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for migration in migrations("postgres")[:BEFORE_ACCOUNTS]:
            conn.execute(migration.sql.encode("utf-8"))
        for statement in stored_before_accounts():
            conn.execute(statement.encode("utf-8"))
    store = open_store(postgres_url)
    try:
        backfilled(store)
    finally:
        store.close()
