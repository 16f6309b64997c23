"""What only the SQLite backend has: a file, its mode, its pragmas, its migrations."""

from __future__ import annotations

import sqlite3
import stat

import pytest
import sqlite_utils

from mpcheckout.errors import StorageError
from mpcheckout.store import open_store
from mpcheckout.store.base import TABLES, EventFilter
from mpcheckout.store.migrate import latest_version


def test_new_database_is_private_wal_and_fully_migrated(tmp_path):
    path = tmp_path / "new.db"
    store = open_store(str(path))
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert set(TABLES) <= names


def test_blank_database_gets_exactly_the_designed_columns(tmp_path):
    path = tmp_path / "cols.db"
    open_store(str(path)).close()
    database = sqlite_utils.Database(path)
    assert set(database["webhook_queue"].columns_dict) >= {
        "id",
        "dedupe_key",
        "topic",
        "action",
        "resource_id",
        "live_mode",
        "payload",
        "headers",
        "received_via",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_by",
        "locked_until",
        "last_error",
        "received_at",
        "updated_at",
        "completed_at",
    }
    assert set(database["webhook_dead_letter"].columns_dict) >= {
        "id",
        "queue_id",
        "dedupe_key",
        "payload",
        "headers",
        "reason",
        "last_error",
        "attempts",
        "dead_at",
        "resolved_at",
        "resolution",
        "note",
    }
    assert set(database["payment_logs"].columns_dict) >= {
        "payment_id",
        "status",
        "status_detail",
        "external_reference",
        "amount",
        "currency",
        "date_last_updated",
        "source",
        "raw",
        "recorded_at",
    }
    assert database["orders"].columns_dict["amount"] is str  # TEXT: money is never REAL
    indexes = {tuple(index.columns) for index in database["webhook_queue"].indexes}
    assert ("status", "next_attempt_at") in indexes


def test_sqlite_utils_and_sqlite3_open_it_as_is(tmp_path, clock):
    from tests.store.helpers import webhook

    path = tmp_path / "open.db"
    store = open_store(str(path))
    store.enqueue_many([webhook(1)], "file", clock.now())
    store.close()
    assert sqlite_utils.Database(path)["webhook_queue"].count == 1


def test_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "future.db"
    open_store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StorageError) as caught:
        open_store(str(path))
    assert caught.value.message_key == "error.schema_too_new"
    assert caught.value.params == {"found": 999, "supported": latest_version("sqlite")}


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 100)
    with pytest.raises(StorageError) as caught:
        open_store(str(path))
    assert caught.value.message_key == "error.not_a_database"
    assert "notes" in path.read_text()  # untouched


def test_a_database_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(StorageError) as caught:
        open_store(str(tmp_path / "nowhere" / "x.db"))
    assert caught.value.message_key == "error.db_folder_missing"


def test_sqlite_url_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///rel.db").close()
    open_store(f"sqlite:///{tmp_path}/abs.db").close()
    assert (tmp_path / "rel.db").exists() and (tmp_path / "abs.db").exists()


def test_upgrade_applies_only_what_is_pending_and_is_idempotent(tmp_path):
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).close()
    store = open_store(str(blank), migrate=False)
    assert store.schema_version() == 0
    assert store.upgrade() == latest_version("sqlite")
    assert store.upgrade() == latest_version("sqlite")
    store.close()


def test_a_deleted_database_refuses_writes_instead_of_losing_them(tmp_path, clock):
    from tests.store.helpers import webhook

    path = tmp_path / "gone.db"
    store = open_store(str(path))
    path.unlink()
    with pytest.raises(StorageError) as caught:
        store.enqueue_many([webhook(1)], "http", clock.now())
    assert caught.value.message_key == "error.db_missing"
    open_store(str(path)).close()  # an operator restores (here: recreates) the file
    assert store.enqueue_many([webhook(1)], "http", clock.now()).queued == 1
    store.close()


def test_a_version_1_database_keeps_its_rows_and_never_reuses_ids_after_upgrade(tmp_path, clock):
    """Start from the old schema: 0002 rebuilds webhook_queue with every row, and seeds the id
    sequence past the archived events."""
    from mpcheckout.clock import utc_iso
    from mpcheckout.store.migrate import migrations
    from tests.store.helpers import webhook

    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(migrations("sqlite")[0].sql)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1', '2026-01-01')")
        # Three events as version 1 wrote them (today's code writes columns it lacks); the
        # first two completed and archived.
        for n in (1, 2, 3):
            conn.execute(
                "INSERT INTO webhook_queue (id, dedupe_key, topic, resource_id, payload, "
                "received_via, next_attempt_at, received_at, updated_at) "
                "VALUES (?, ?, 'payment', ?, ?, 'file', ?, ?, ?)",
                (n, f"wh:{n}", str(n), webhook(n).payload, *[utc_iso(clock.now())] * 3),
            )
        moved = "id, dedupe_key, topic, resource_id, payload, received_via, next_attempt_at"
        conn.execute(
            f"INSERT INTO webhook_archive ({moved}, status, attempts, received_at, updated_at, "
            f"archived_at) SELECT {moved}, 'completed', 1, received_at, updated_at, "
            "received_at FROM webhook_queue WHERE id < 3"
        )
        conn.execute("DELETE FROM webhook_queue WHERE id < 3")
    store = open_store(str(path))
    assert store.schema_version() == latest_version("sqlite")
    assert [e.resource_id for e in store.list_events(EventFilter())] == ["3"]
    store.enqueue_many([webhook(4)], "file", clock.now())
    newest = store.list_events(EventFilter(limit=1))[0]
    assert newest.id > 3
    store.close()
