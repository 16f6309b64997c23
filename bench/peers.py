"""The queues someone could glue a webhook handler to instead of mpcheckout: huey's
SqliteStorage and persist-queue's SQLiteAckQueue, each on its own file in the benchmark's
folder, used through their public API.

Durability settings: both open their file in WAL mode; neither sets `synchronous`, so SQLite's
default applies, FULL (an fsync of the WAL at every commit), whereas mpcheckout runs WAL with
NORMAL (no fsync at commit: a committed transaction survives a crash of the process, and may be
lost only with the machine's power). huey's own `fsync` option offers only OFF or FULL and
persist-queue offers none, so "same settings" means setting NORMAL on their connection after
opening it; the benchmarks show both, and every contender's effective setting is read back from
its connection, never assumed.

Neither is required to run mpcheckout: with the `bench` extra missing, benchmarks leave the
peers out and say so.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
HUEY = "huey"
PERSIST_QUEUE = "persist-queue"
_MODULES = {HUEY: "huey", PERSIST_QUEUE: "persistqueue"}


def installed_peers() -> list[str]:
    return [peer for peer, module in _MODULES.items() if importlib.util.find_spec(module)]


def missing_peers_note() -> list[str]:
    missing = [peer for peer in _MODULES if peer not in installed_peers()]
    if not missing:
        return []
    return [f"not installed, left out: {', '.join(missing)} (pip install -e '.[bench]')"]


def settings_of(conn: sqlite3.Connection) -> str:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal.upper()} + synchronous {SYNCHRONOUS_NAMES.get(synchronous, synchronous)}"


def open_huey(path: Path, normal_sync: bool) -> Any:
    """huey's storage as SqliteHuey opens it (WAL; `fsync` unset = SQLite's default)."""
    from huey.storage import SqliteStorage

    storage = SqliteStorage(name="bench", filename=str(path))
    if normal_sync:
        storage.conn.execute("PRAGMA synchronous = NORMAL")
    return storage


def huey_connection(storage: Any) -> sqlite3.Connection:
    return storage.conn


def open_persist_queue(path: Path, normal_sync: bool) -> Any:
    """An ack queue in `path`'s folder, file `path.name` (one connection: no multithreading)."""
    from persistqueue import SQLiteAckQueue

    queue = SQLiteAckQueue(str(path.parent), db_file_name=path.name)
    if normal_sync:
        # persist-queue has no option for it: its one connection is its `_putter`.
        queue._putter.execute("PRAGMA synchronous = NORMAL")
    return queue


def persist_queue_connection(queue: Any) -> sqlite3.Connection:
    return queue._putter
