"""The SQLite store reads on a connection of its own: a status page's queries go on while the
receiver's group commit holds the write connection, and still see every committed row."""

from __future__ import annotations

import threading

import pytest

from mpcheckout.errors import StorageError
from mpcheckout.store import open_store
from tests.store.helpers import webhook


def test_a_read_does_not_wait_for_a_write_in_progress(tmp_path, clock):
    store = open_store(str(tmp_path / "shop.db"))
    store.enqueue_many([webhook(1)], "http", clock.now())
    writing, finish = threading.Event(), threading.Event()

    def long_commit() -> None:
        with store._write() as conn:  # white box: a group commit that takes its time
            conn.execute("UPDATE meta SET updated_at = updated_at")
            writing.set()
            finish.wait(10)

    writer = threading.Thread(target=long_commit)
    writer.start()
    assert writing.wait(5)
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.append(store.lifetime_counts().events_received))
    reader.start()
    reader.join(5)
    done_while_writing = not reader.is_alive()
    finish.set()
    writer.join()
    reader.join()
    store.close()
    assert done_while_writing and seen == [1]


def test_reads_see_each_commit_at_once_and_reads_inside_a_write_see_it_uncommitted(tmp_path, clock):
    store = open_store(str(tmp_path / "shop.db"))
    for n in range(1, 4):
        store.enqueue_many([webhook(n)], "http", clock.now())
        assert store.lifetime_counts().events_received == n
    with store._write() as conn:  # white box: a migration re-reads the version this way
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        assert store.schema_version() == 999
    store.close()


def test_the_read_connection_cannot_write(tmp_path):
    store = open_store(str(tmp_path / "shop.db"))
    with pytest.raises(StorageError), store._read() as conn:
        conn.execute("DELETE FROM meta")
    assert store.schema_version() > 0
    store.close()


def test_reads_refuse_a_deleted_database_and_follow_a_restored_one(tmp_path, clock):
    path = tmp_path / "gone.db"
    store = open_store(str(path))
    store.enqueue_many([webhook(1)], "http", clock.now())
    assert store.lifetime_counts().events_received == 1
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"gone.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(StorageError) as caught:
        store.lifetime_counts()
    assert caught.value.message_key == "error.db_missing"
    open_store(str(path)).close()  # an operator restores (here: recreates) the file
    assert store.lifetime_counts().events_received == 0
    store.close()
