"""What only the PostgreSQL backend has: its DDL, a server several processes share (concurrent
migrations, claims, order writes and rate limits), advisory run locks, and URLs with passwords."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import psycopg
import pytest

from mpcheckout.errors import StorageError
from mpcheckout.store import open_store
from mpcheckout.store.base import TABLES, EventOutcome
from mpcheckout.store.migrate import latest_version
from tests.postgres_support import count
from tests.store.helpers import RULES, order, payment, webhook

pytestmark = pytest.mark.postgres


def column_types(url: str, table: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s",
                (table,),
            ).fetchall()
        )


def test_a_blank_database_gets_the_same_tables_with_postgresql_types(postgres_url):
    open_store(postgres_url).close()
    for table in TABLES:
        assert column_types(postgres_url, table), table
    queue = column_types(postgres_url, "webhook_queue")
    assert queue["payload"] == "text"  # the raw body, byte for byte
    assert queue["headers"] == queue["attempt_log"] == "jsonb"
    assert queue["live_mode"] == "boolean" and queue["id"] == "bigint"
    assert queue["next_attempt_at"] == "timestamp with time zone"
    assert column_types(postgres_url, "orders")["amount"] == "numeric"
    assert column_types(postgres_url, "payment_logs")["raw"] == "jsonb"
    assert column_types(postgres_url, "webhook_reconciliation_logs")["details"] == "jsonb"
    with psycopg.connect(postgres_url) as conn:
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            )
        }
    assert any("(status, next_attempt_at)" in index for index in indexes)


def test_several_processes_opening_a_new_database_migrate_it_once(postgres_url):
    start = Barrier(6)

    def open_at_once(_: int) -> int:
        start.wait()
        store = open_store(postgres_url)
        try:
            return store.schema_version()
        finally:
            store.close()

    with ThreadPoolExecutor(6) as pool:
        versions = list(pool.map(open_at_once, range(6)))
    assert versions == [latest_version("postgres")] * 6
    assert count(postgres_url, "SELECT count(*) FROM meta") == 1


def test_upgrade_from_blank_and_again_is_idempotent(postgres_url):
    store = open_store(postgres_url, migrate=False)
    assert store.schema_version() == 0 and store.info().row_counts == {}
    assert store.upgrade() == store.upgrade() == latest_version("postgres")
    store.close()


def test_a_database_newer_than_the_code_is_refused(postgres_url):
    open_store(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    for migrate in (True, False):
        with pytest.raises(StorageError) as caught:
            open_store(postgres_url, migrate=migrate)
        assert caught.value.message_key == "error.schema_too_new"
        assert caught.value.params == {"found": 999, "supported": latest_version("postgres")}


def test_info_reports_size_and_counts_without_the_password(postgres_url, clock):
    secret_url = postgres_url.replace("://postgres@", "://postgres:s3cr3t-pw@")
    store = open_store(secret_url)  # trust authentication ignores the password
    store.enqueue_many([webhook(1), webhook(2)], "http", clock.now())
    info = store.info()
    store.close()
    assert info.backend == "postgres" and "s3cr3t" not in info.location
    assert "postgres:…@" in info.location
    assert info.size_bytes > 0 and info.row_counts["webhook_queue"] == 2
    assert set(info.row_counts) == set(TABLES)


def test_errors_never_show_the_password(postgres_database):
    missing = postgres_database.rsplit("/", 1)[0] + "/no_such_database_here"
    url = missing.replace("://postgres@", "://postgres:s3cr3t-pw@")
    with pytest.raises(StorageError) as caught:
        open_store(url)
    assert caught.value.message_key == "error.db_unreachable"
    assert "s3cr3t" not in str(caught.value.params) and "no_such_database_here" in str(
        caught.value.params
    )


def test_an_unreachable_server_is_reported_at_once():
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        open_store("postgresql://postgres:pw@127.0.0.1:9/nothing")
    assert caught.value.message_key == "error.db_unreachable"
    assert time.monotonic() - started < 5
    assert "pw" not in caught.value.params["path"]


def test_concurrent_workers_never_claim_the_same_event(postgres_url, clock):
    stores = [open_store(postgres_url) for _ in range(4)]
    stores[0].enqueue_many([webhook(n) for n in range(400)], "file", clock.now())
    start = Barrier(4)

    def drain(index: int) -> list[int]:
        start.wait()
        taken = []
        while batch := stores[index].claim_due_events(f"w{index}", 7, 60, clock.now()):
            taken += [event.id for event in batch]
        return taken

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(drain, range(4)))
    for store in stores:
        store.close()
    every = [event_id for taken in claims for event_id in taken]
    assert len(every) == len(set(every)) == 400
    assert count(postgres_url, "SELECT count(*) FROM webhook_queue WHERE attempts != 1") == 0


def test_two_workers_creating_the_same_order_at_once_queue_up(postgres_url, clock):
    stores = [open_store(postgres_url) for _ in range(2)]
    start = Barrier(2)

    def apply(index: int) -> dict[str, int]:
        start.wait()
        late = payment(f"90{index}", "approved", clock.now(), reference="web-1")
        return stores[index].apply_payments([late], RULES, "webhook", clock.now()).by_outcome

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(apply, range(2)))
    for store in stores:
        store.close()
    assert sorted(next(iter(o)) for o in outcomes) == ["created", "kept"]
    assert count(postgres_url, "SELECT count(*) FROM payment_logs") == 2


def test_a_commit_racing_a_reclaim_is_refused_or_wins_never_both(postgres_url, clock):
    first, second = open_store(postgres_url), open_store(postgres_url)
    first.enqueue_many([webhook(n, str(900 + n)) for n in range(50)], "file", clock.now())
    mine = first.claim_due_events("w1", 50, 30, clock.now())
    later = clock.now() + timedelta(seconds=31)
    start = Barrier(2)

    def late_commit() -> list[int]:
        start.wait()
        outcomes = [EventOutcome(e.id, "completed") for e in mine]
        return first.commit_outcomes("w1", outcomes, RULES, later).committed

    def reclaim() -> list[int]:
        start.wait()
        return [e.id for e in second.claim_due_events("w2", 50, 30, later)]

    with ThreadPoolExecutor(2) as pool:
        committed, reclaimed = (
            f.result() for f in [pool.submit(late_commit), pool.submit(reclaim)]
        )
    first.close()
    second.close()
    assert not set(committed) & set(reclaimed)
    assert len(committed) + len(reclaimed) == 50


def test_rate_limit_is_atomic_across_connections(postgres_url, clock):
    stores = [open_store(postgres_url) for _ in range(4)]
    start = Barrier(4)

    def hit(index: int) -> list[bool]:
        start.wait()
        return [stores[index].hit_rate_limit("ip:1", 10, 60, clock.now()).allowed for _ in range(8)]

    with ThreadPoolExecutor(4) as pool:
        allowed = [flag for flags in pool.map(hit, range(4)) for flag in flags]
    for store in stores:
        store.close()
    assert allowed.count(True) == 10


def test_run_lock_is_exclusive_across_processes_until_released(postgres_url, clock):
    first, second = open_store(postgres_url), open_store(postgres_url)
    assert first.try_lock("reconcile", "host-a:1", clock.now(), stale_after=3600)
    assert not second.try_lock("reconcile", "host-b:2", clock.now(), stale_after=3600)
    assert second.try_lock("other", "host-b:2", clock.now(), stale_after=3600)
    first.release_lock("reconcile", "host-a:1")
    assert second.try_lock("reconcile", "host-b:2", clock.now(), stale_after=3600)
    second.close()  # a holder that goes away releases the lock with its session
    assert first.try_lock("reconcile", "host-a:1", clock.now(), stale_after=3600)
    first.close()


HOLD_LOCK = """
import sys, time
from datetime import UTC, datetime
from mpcheckout.store import open_store
store = open_store(sys.argv[1])
assert store.try_lock("reconcile", "doomed:1", datetime.now(UTC), stale_after=7200)
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_holder_frees_the_run_lock_without_waiting_for_stale_after(postgres_url, clock):
    open_store(postgres_url).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, postgres_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        store = open_store(postgres_url)
        assert not store.try_lock("reconcile", "me:1", clock.now(), stale_after=7200)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 10  # the server notices the closed socket, not a clock
        while not store.try_lock("reconcile", "me:1", clock.now(), stale_after=7200):
            assert time.monotonic() < deadline, "the dead holder's lock was never released"
            time.sleep(0.02)
        store.close()
    finally:
        holder.kill()
        holder.wait()


def test_orders_written_while_payments_apply_keep_both_changes(postgres_url, clock):
    store = open_store(postgres_url)
    store.create_order(order("order-1", clock.now()))
    store.apply_payments([payment("900", "approved", clock.now())], RULES, "webhook", clock.now())
    store.set_order_preference("order-1", "pref-9", clock.now())
    kept = store.get_order("order-1")
    store.close()
    assert (kept.status, kept.preference_id) == ("paid", "pref-9")
