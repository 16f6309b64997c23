from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..clock import parse_iso, utc_iso
from ..errors import StorageBusyError, StorageError, ValidationError
from ..models import ClaimedEvent, InvalidInput, Notification, Order, QueueEvent
from ..notifications import COALESCE_KEY_PREFIX
from ..payments import BatchDecision
from ..reports.records import ReportFileRecord, ReportImportCounts
from .base import (
    HOURLY_LATENCY_SAMPLE,
    TABLES,
    EnqueueCounts,
    EventOutcome,
    HourActivity,
    LifetimeCounts,
    RateLimitDecision,
    ReplayResult,
    StoreDiagnosis,
    StoreInfo,
    first_of_each,
)
from .core import (
    INSERT_REPORT_FILE_SQL,
    INSERT_REPORT_ROW_SQL,
    Batch,
    StoreCore,
    checked_version,
    file_row,
    insert_report_batches,
    invalid_key,
    known_table,
    lock_free,
    neutral,
    rate_decision,
    replay_refusal,
)
from .migrate import latest_version, migrations, split_statements
from .rows import (
    ORDERS,
    PAYMENT_LOG_WRITE,
    QUEUE,
    TEXT_DECODER,
    TEXT_ENCODER,
    Readers,
    ReportBatch,
    ReportEncoding,
    Row,
    order_values,
    payment_log_values,
)
from .sqlite_money import (
    LAST_ROWID,
    MERGE_DAYS,
    SUMMARIZE_DAYS,
    SUMMARIZE_PAYMENTS,
    day_rows,
    day_sums,
)

DIALECT = "sqlite"
_RECORDS = Readers(TEXT_DECODER)


def _summarize_report_rows(conn: sqlite3.Connection, after_rowid: int) -> None:
    """Add the report rows written after `after_rowid` to the money summaries (0007)."""
    conn.execute(SUMMARIZE_DAYS, (after_rowid,))
    conn.execute(SUMMARIZE_PAYMENTS, (after_rowid,))


def open_sqlite(path: Path, busy_timeout_ms: int = 5000, migrate: bool = True) -> SqliteStore:
    """Open (creating with mode 0600) a SQLite store and apply pending migrations."""
    path = Path(path)
    if not path.parent.is_dir():
        raise StorageError("error.db_folder_missing", path=str(path), folder=str(path.parent))
    if path.is_dir():
        raise StorageError("error.not_a_database", path=str(path))
    _create_private(path)
    store = SqliteStore(path, busy_timeout_ms)
    try:
        store.check_schema(migrate=migrate)
    except BaseException:
        store.close()
        raise
    return store


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does (SQLite would honour the umask); WAL and SHM
    files inherit the database file's mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def translate(exc: sqlite3.Error, path: Path) -> StorageError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StorageBusyError(path=str(path))
    if "readonly" in text or "read-only" in text:
        return StorageError("error.db_readonly", path=str(path))
    if "full" in text:
        return StorageError("error.db_full", path=str(path))
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return StorageError("error.not_a_database", path=str(path))
    if "unable to open" in text or "disk i/o" in text:
        return StorageError("error.db_unreachable", path=str(path), reason=str(exc))
    return StorageError("error.storage", reason=str(exc))


class SqliteStore(StoreCore):
    backend = DIALECT
    report_encoding: ReportEncoding = "text"
    records = _RECORDS
    encode = TEXT_ENCODER
    latency_sql = (
        "SELECT (julianday(completed_at) - julianday(received_at)) * 86400.0 "
        "FROM webhook_queue WHERE completed_at >= ? ORDER BY completed_at DESC LIMIT ?"
    )

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.RLock()  # the write connection
        self._writing = threading.local()  # how deep this thread is inside `_lock`
        self._checkpointer: _Checkpointer | None = None
        self._conn = self._connect()
        # Reads have a connection of their own (see `_read`), opened on first use.
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._reader_identity: tuple[int, int] | None = None

    # -- plumbing ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = self._open_connection()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if self._checkpointer is not None:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc, self.path) from None
        self._identity = self._file_identity()
        return conn

    def _open_connection(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        return conn

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_dev, stat.st_ino)

    def _ensure_same_file(self) -> None:
        """A database deleted or replaced under a running process must not swallow writes into
        an unlinked inode: refuse while it is gone, reopen when another file took its place."""
        identity = self._file_identity()
        if identity == self._identity:
            return
        if identity is None:
            raise StorageError("error.db_missing", path=str(self.path))
        self._conn.close()
        self._conn = self._connect()
        self.check_schema(migrate=True)

    @contextlib.contextmanager
    def _holding_write_lock(self) -> Iterator[None]:
        with self._lock:
            self._writing.depth = getattr(self._writing, "depth", 0) + 1
            try:
                yield
            finally:
                self._writing.depth -= 1

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._holding_write_lock():
            self._ensure_same_file()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise translate(exc, self.path) from None
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """Reads run on their own connection, each block in one snapshot. On the write
        connection, a status page's ~25 ms of queries held every group commit of the receiver
        behind them (intake 0.80x while /ui/ and /metrics were polled); WAL lets readers and the
        writer work at once. Inside this thread's own write, reads use the write connection:
        only it sees what the write has not committed yet."""
        if getattr(self._writing, "depth", 0):
            with self._lock:
                try:
                    yield self._conn
                except sqlite3.Error as exc:
                    raise translate(exc, self.path) from None
            return
        identity = self._current_file()
        with self._read_lock:
            conn = self._reader_for(identity)
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")  # read only: nothing to keep
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None

    def _current_file(self) -> tuple[int, int]:
        """The database file's identity, once the write connection is on that file too (a
        replaced file is reopened and migrated there first)."""
        identity = self._file_identity()
        if identity is None:
            raise StorageError("error.db_missing", path=str(self.path))
        if identity != self._identity:
            with self._holding_write_lock():
                self._ensure_same_file()
        return identity

    def _reader_for(self, identity: tuple[int, int]) -> sqlite3.Connection:
        if self._reader is not None and self._reader_identity == identity:
            return self._reader
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        reader = self._open_connection()
        try:
            reader.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            reader.close()
            raise translate(exc, self.path) from None
        self._reader, self._reader_identity = reader, identity
        return reader

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        with self._read_lock:
            if self._reader is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._reader.close()
                self._reader = None

    def start_maintenance(self) -> None:
        """A checkpoint writes WAL pages into the database and fsyncs: hundreds of ms on a
        slow disk. Left to autocheckpoint it runs inside whichever commit crosses the limit,
        and every request waiting on that commit waits too (measured: p99 390 ms at 4,600
        webhooks/s). A PASSIVE checkpoint on its own connection does not block writers."""
        with self._lock:
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self.path, self._busy_timeout_ms)
                self._conn.execute("PRAGMA wal_autocheckpoint = 0")

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._read() as conn:
            return self._version(conn)

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def check_schema(self, migrate: bool) -> int:
        """Refuse a database newer than this code; apply pending migrations when asked."""
        latest = latest_version(DIALECT)
        return checked_version(self.schema_version(), latest, migrate, self.upgrade)

    def upgrade(self) -> int:
        """Apply every pending migration, each with its version record in one transaction."""
        for migration in migrations(DIALECT):
            with self._write() as conn:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                if self._version(conn) >= migration.version:
                    continue
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value, updated_at) "
                    "VALUES ('schema_version', ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    (str(migration.version),),
                )
        return self.schema_version()

    def info(self) -> StoreInfo:
        import sqlite_utils  # only here: 0.25 s of start-up every command would pay otherwise

        with self._read() as conn:
            database = sqlite_utils.Database(conn)
            existing = set(database.table_names())
            counts = {name: database[name].count for name in TABLES if name in existing}
            version = self._version(conn)
        size = sum(
            candidate.stat().st_size
            for candidate in (self.path, Path(f"{self.path}-wal"))
            if candidate.exists()
        )
        return StoreInfo(DIALECT, str(self.path.resolve()), version, size, counts)

    # -- intake ------------------------------------------------------------------------------
    def enqueue_many(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> EnqueueCounts:
        stamp = utc_iso(now)
        rows = [_queue_row(item, received_via, stamp) for item in notifications]
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(_ENQUEUE_SQL, rows)
            queued = conn.total_changes - before
        return EnqueueCounts(queued=queued, duplicates=len(rows) - queued)

    def enqueue_each(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> list[bool]:
        stamp = utc_iso(now)
        inserted: set[str] = set()
        with self._write() as conn:
            # One multi-row statement per chunk, not one per row: this runs on the group
            # commit's thread, and every Python-level step there holds the GIL the server's
            # event loop needs.
            for start in range(0, len(notifications), _ROWS_PER_INSERT):
                chunk = notifications[start : start + _ROWS_PER_INSERT]
                values = [v for item in chunk for v in _queue_row(item, received_via, stamp)]
                cursor = conn.execute(_enqueue_returning_sql(len(chunk)), values)
                inserted.update(key for (key,) in cursor)
        return first_of_each(notifications, inserted)

    def record_invalid_many(self, inputs: Sequence[InvalidInput], now: datetime) -> int:
        stamp = utc_iso(now)
        stored = 0
        with self._write() as conn:
            for item in inputs:
                key = invalid_key(item.payload)
                cursor = conn.execute(
                    "INSERT INTO webhook_dead_letter (dedupe_key, payload, headers, reason, "
                    "last_error, attempt_log, received_via, dead_at) "
                    "SELECT ?, ?, ?, 'invalid', ?, json_array(json_object('at', ?, 'error', ?)), "
                    "?, ? WHERE NOT EXISTS (SELECT 1 FROM webhook_dead_letter "
                    "WHERE dedupe_key = ? AND resolved_at IS NULL)",
                    (
                        key,
                        item.payload,
                        json.dumps(item.headers) if item.headers else None,
                        item.error,
                        stamp,
                        item.error,
                        item.received_via,
                        stamp,
                        key,
                    ),
                )
                stored += cursor.rowcount
        return stored

    # -- primitives for StoreCore ------------------------------------------------------------
    def _rows(self, sql: str, *params: Any) -> list[Row]:
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    def _change(self, sql: str, *params: Any) -> list[Row]:
        with self._write() as conn:
            return conn.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _batch(self, *, redoable: bool = False) -> Iterator[Batch]:
        # WAL with synchronous=NORMAL already gives every commit the durability PostgreSQL's
        # store asks for with `redoable`.
        with self._write() as conn:
            yield _SqliteBatch(conn)

    @contextlib.contextmanager
    def _preview_batch(self) -> Iterator[Batch]:
        with self._write() as conn:
            conn.execute("SAVEPOINT preview")
            yield _SqliteBatch(conn)
            conn.execute("ROLLBACK TO preview")
            conn.execute("RELEASE preview")

    # -- processing --------------------------------------------------------------------------
    def recover_expired_leases(self, now: datetime) -> int:
        stamp = utc_iso(now)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE webhook_queue SET status = 'pending', last_error = 'lease expired', "
                "updated_at = :now, attempt_log = json_insert(coalesce(attempt_log, '[]'), "
                "'$[#]', json_object('attempt', attempts, 'at', :now, 'error', 'lease expired', "
                "'worker', locked_by)), locked_by = NULL, locked_until = NULL "
                "WHERE status = 'processing' AND next_attempt_at <= :now",
                {"now": stamp},
            )
            return cursor.rowcount

    # -- dead letters ------------------------------------------------------------------------
    def replay_dead_letters(self, ids: Sequence[int], now: datetime) -> list[ReplayResult]:
        stamp = utc_iso(now)
        with self._write() as conn:
            return [_replay_one(conn, dead_letter_id, stamp) for dead_letter_id in ids]

    def replay_invalid(
        self, dead_letter_id: int, notification: Notification, now: datetime
    ) -> ReplayResult:
        stamp = utc_iso(now)
        with self._write() as conn:
            row = conn.execute(
                "SELECT resolved_at FROM webhook_dead_letter WHERE id = ?", (dead_letter_id,)
            ).fetchone()
            if row is None or row[0] is not None:
                return ReplayResult(dead_letter_id, "already_resolved" if row else "not_found")
            inserted = conn.execute(
                f"{_ENQUEUE_SQL} RETURNING id",
                _queue_row(notification, "replay", stamp),
            ).fetchone()
            queue_id = inserted[0] if inserted else None
            conn.execute(
                "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'replayed', "
                "queue_id = ? WHERE id = ?",
                (stamp, queue_id, dead_letter_id),
            )
        return ReplayResult(dead_letter_id, "replayed", queue_id)

    # -- orders ------------------------------------------------------------------------------
    def create_order(self, order: Order) -> None:
        try:
            with self._write() as conn:
                _insert_orders(conn, [order_values(order, TEXT_ENCODER)])
        except StorageError as exc:
            if "unique" in str(exc.params.get("reason", "")).lower():
                raise ValidationError("error.order_exists", order_id=order.id) from None
            raise

    def set_order_preference(self, order_id: str, preference_id: str, now: datetime) -> None:
        self._change(
            "UPDATE orders SET preference_id = ?, updated_at = ? WHERE id = ?",
            preference_id,
            utc_iso(now),
            order_id,
        )

    # -- reconcile ---------------------------------------------------------------------------
    def try_lock(self, name: str, holder: str, now: datetime, stale_after: float) -> bool:
        key = f"lock:{name}"
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row and not _lock_free(json.loads(row[0]), now, stale_after):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES (?, ?, ?)",
                (key, json.dumps({"holder": holder, "since": utc_iso(now)}), utc_iso(now)),
            )
        return True

    def release_lock(self, name: str, holder: str) -> None:
        self._change(
            "DELETE FROM meta WHERE key = ? AND json_extract(value, '$.holder') = ?",
            f"lock:{name}",
            holder,
        )

    def archive_completed(self, completed_before: datetime, limit: int, now: datetime) -> int:
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM webhook_queue WHERE completed_at < ? AND status = 'completed' "
                    "ORDER BY completed_at LIMIT ?",
                    (utc_iso(completed_before), limit),
                )
            ]
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            conn.execute(
                f"INSERT INTO webhook_archive ({QUEUE.sql}, archived_at) "
                f"SELECT {QUEUE.sql}, ? FROM webhook_queue WHERE id IN ({marks})",
                [utc_iso(now), *ids],
            )
            conn.execute(f"DELETE FROM webhook_queue WHERE id IN ({marks})", ids)
        return len(ids)

    # -- rate limits -------------------------------------------------------------------------
    def hit_rate_limit(
        self, key: str, limit: int, window_seconds: int, now: datetime
    ) -> RateLimitDecision:
        expired_before = utc_iso(now - timedelta(seconds=window_seconds))
        with self._write() as conn:
            window_start, count = conn.execute(
                "INSERT INTO rate_limits (key, window_start, count) VALUES (:key, :now, 1) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN window_start <= :expired THEN 1 ELSE count + 1 END, "
                "window_start = CASE WHEN window_start <= :expired THEN :now ELSE window_start END "
                "RETURNING window_start, count",
                {"key": key, "now": utc_iso(now), "expired": expired_before},
            ).fetchone()
        started = parse_iso(window_start) or now  # the column is NOT NULL
        return rate_decision(started, count, limit, window_seconds)

    # -- copy --------------------------------------------------------------------------------
    def export_rows(self, table: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        known_table(table)
        last = -1
        while True:
            with self._read() as conn:
                cursor = conn.execute(
                    f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?",
                    (last, batch_size),
                )
                names = [column[0] for column in cursor.description]
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if not rows:
                return
            last = rows[-1]["_rowid"]
            yield [{k: v for k, v in row.items() if k != "_rowid"} for row in rows]

    def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        known_table(table)
        if not rows:
            return
        names = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        with self._write() as conn:
            last = conn.execute(LAST_ROWID).fetchone()[0]
            conn.executemany(sql, [[neutral(row[name]) for name in names] for row in rows])
            if table == "report_rows":
                _summarize_report_rows(conn, last)

    # -- reports -----------------------------------------------------------------------------
    def import_report(
        self, file: ReportFileRecord, batches: Iterable[ReportBatch], now: datetime
    ) -> ReportImportCounts:
        with self._write() as conn:
            known = conn.execute("SELECT 1 FROM report_files WHERE sha256 = ?", (file.sha256,))
            file_known = known.fetchone() is not None

            def insert(batch: ReportBatch) -> int:
                # Summed batch by batch, so that a helper process parsing the file is never
                # left waiting on one long summary at the end (mpcheckout/report_helper.py).
                last = conn.execute(LAST_ROWID).fetchone()[0]
                added = conn.executemany(INSERT_REPORT_ROW_SQL, batch.rows).rowcount
                if added == len(batch.rows):  # all new: sum them as they are, in Python
                    conn.executemany(MERGE_DAYS, day_rows(day_sums(batch.rows)))
                else:  # some rows were known: sum what was written
                    conn.execute(SUMMARIZE_DAYS, (last,))
                conn.execute(SUMMARIZE_PAYMENTS, (last,))
                return added

            counts = insert_report_batches(batches, insert, file_known)
            conn.execute(INSERT_REPORT_FILE_SQL, file_row(file, counts, TEXT_ENCODER))
        return counts

    # -- doctor ------------------------------------------------------------------------------
    def diagnose(self) -> StoreDiagnosis:
        with self._read() as conn:
            version = self._version(conn)
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
            # quick_check(1): the first problem is enough to say "not ok"; O(size), no index
            # cross-checks (integrity_check's cost).
            check = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        mode = self.path.stat().st_mode & 0o777
        return StoreDiagnosis(DIALECT, str(self.path.resolve()), version, journal, check, mode)

    # -- status page and metrics (issue 17) ----------------------------------------------
    def lifetime_counts(self) -> LifetimeCounts:
        with self._read() as conn:
            received = conn.execute(
                "SELECT max(coalesce((SELECT max(id) FROM webhook_queue), 0), "
                "coalesce((SELECT max(id) FROM webhook_archive), 0))"
            ).fetchone()[0]
            in_queue = dict(
                conn.execute(
                    "SELECT status, count(*) FROM webhook_queue "
                    "WHERE status IN ('pending', 'processing', 'dead') GROUP BY status"
                )
            )
            dead = conn.execute(
                "SELECT count(*) FROM webhook_dead_letter WHERE reason != 'invalid'"
            ).fetchone()[0]
            rejections = dict(
                conn.execute("SELECT reason, sum(count) FROM webhook_rejections GROUP BY reason")
            )
        return LifetimeCounts(received, in_queue, dead, rejections)

    def hourly_activity(self, since: datetime, until: datetime) -> list[HourActivity]:
        # One index range per hour: counting 33,000 index entries grouped by substr() took
        # 9 ms and averaging every row's latency 39 ms; 24 ranges plus 24 samples take ~3 ms.
        hours = []
        hour = since.replace(minute=0, second=0, microsecond=0)
        with self._read() as conn:
            dead = dict(
                conn.execute(
                    "SELECT substr(dead_at, 1, 13) AS hour, count(*) FROM webhook_dead_letter "
                    "WHERE dead_at >= ? AND dead_at < ? GROUP BY hour",
                    (utc_iso(since), utc_iso(until)),
                )
            )
            while hour < until:
                low, high = (
                    utc_iso(max(hour, since)),
                    utc_iso(min(hour + timedelta(hours=1), until)),
                )
                hours.append(_hour_activity(conn, hour, low, high, dead.get(utc_iso(hour)[:13], 0)))
                hour += timedelta(hours=1)
        return [item for item in hours if item.completed or item.dead]

    def events_for_resources(
        self, resource_ids: Sequence[str], newest: int, limit: int
    ) -> list[QueueEvent]:
        ids = list(dict.fromkeys(resource_ids))
        if not ids:
            return []
        sql = (
            f"SELECT {QUEUE.sql} FROM webhook_queue WHERE id > "
            "(SELECT coalesce(max(id), 0) FROM webhook_queue) - ? "
            f"AND resource_id IN ({', '.join('?' * len(ids))}) ORDER BY id DESC LIMIT ?"
        )
        return [self.records.queue_event(row) for row in self._rows(sql, newest, *ids, limit)]


class _Checkpointer:
    """PASSIVE WAL checkpoints every `interval` seconds from a thread with its own connection."""

    def __init__(self, path: Path, busy_timeout_ms: int, interval: float = 0.5) -> None:
        self._path, self._timeout, self._interval = path, busy_timeout_ms / 1000, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = None
        while not self._stop.wait(self._interval):
            try:
                conn = conn or sqlite3.connect(
                    self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                # The file may be gone or replaced (the main connection tells its callers);
                # reconnect on the next round.
                with contextlib.suppress(sqlite3.Error):
                    if conn is not None:
                        conn.close()
                conn = None
        if conn is not None:
            conn.close()


_ENQUEUE_HEAD = (
    "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, user_id, "
    "payload, headers, received_via, next_attempt_at, received_at, updated_at)"
)
_ON_DUPLICATE = "ON CONFLICT (dedupe_key) DO NOTHING"
_ENQUEUE_SQL = f"{_ENQUEUE_HEAD} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {_ON_DUPLICATE}"
_ROWS_PER_INSERT = 256  # 12 parameters a row, far below SQLite's 32,766


@functools.lru_cache(maxsize=64)
def _enqueue_returning_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return f"{_ENQUEUE_HEAD} VALUES {values} {_ON_DUPLICATE} RETURNING dedupe_key"


def _queue_row(item: Notification, received_via: str, stamp: str) -> tuple[Any, ...]:
    return (
        item.dedupe_key,
        item.topic,
        item.action,
        item.resource_id,
        None if item.live_mode is None else int(item.live_mode),
        item.user_id,
        item.payload,
        json.dumps(item.headers) if item.headers else None,
        received_via,
        stamp,
        stamp,
        stamp,
    )


_CLAIM_SQL = f"""
    UPDATE webhook_queue SET
        attempt_log = CASE WHEN status = 'processing' THEN json_insert(
            coalesce(attempt_log, '[]'), '$[#]', json_object('attempt', attempts,
            'at', :now, 'error', 'lease expired', 'worker', locked_by))
            ELSE attempt_log END,
        status = 'processing', attempts = attempts + 1, locked_by = :worker,
        locked_until = :until, next_attempt_at = :until, updated_at = :now,
        dedupe_key = CASE WHEN substr(dedupe_key, 1, 3) = '{COALESCE_KEY_PREFIX}'
            AND instr(dedupe_key, '#') = 0 THEN dedupe_key || '#' || id
            ELSE dedupe_key END
    WHERE id IN (
        SELECT id FROM (SELECT id FROM webhook_queue WHERE status = 'processing'
                        AND next_attempt_at <= :now LIMIT :limit)
        UNION ALL
        SELECT id FROM (SELECT id FROM webhook_queue WHERE status = 'pending'
                        AND next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit)
        LIMIT :limit)
    RETURNING id, topic, action, resource_id, attempts, received_via
"""
# A 404's hint (hints.py) is merged into its attempt's entry; other failures add nothing.
_ATTEMPT_ENTRY = (
    "json_patch(json_object('attempt', attempts, 'at', :now, 'error', :error, 'worker', :worker), "
    "coalesce(:hint, '{}'))"
)
_FAILED_SET = (
    "updated_at = :now, locked_by = NULL, locked_until = NULL, "
    f"attempt_log = json_insert(coalesce(attempt_log, '[]'), '$[#]', {_ATTEMPT_ENTRY})"
)


class _SqliteBatch:
    """The batch statements (core.Batch). SQLite's write lock already serialises every
    writer, so orders need no locks of their own."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def owned(self, worker_id: str, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT id FROM webhook_queue WHERE id IN ({marks}) "
            "AND status = 'processing' AND locked_by = ?",
            [*ids, worker_id],
        ).fetchall()
        return {row[0] for row in rows}

    def lock_orders(self, order_ids: Iterable[str]) -> None:
        pass

    def read_state(
        self, order_ids: set[str], payment_ids: set[str]
    ) -> tuple[dict[str, Order], set[tuple[str, str]]]:
        orders = self.conn.execute(
            f"SELECT {ORDERS.sql} FROM orders WHERE id IN ({','.join('?' * len(order_ids))})",
            list(order_ids),
        ).fetchall()
        logged = self.conn.execute(
            "SELECT payment_id, state_key FROM payment_logs "
            f"WHERE payment_id IN ({','.join('?' * len(payment_ids))})",
            list(payment_ids),
        ).fetchall()
        return {row[0]: _RECORDS.order(row) for row in orders}, set(logged)

    def write_applied(self, decided: BatchDecision, source: str, now: datetime) -> None:
        """Log rows, new orders, changed orders: three batched statements."""
        self.conn.executemany(
            f"INSERT INTO payment_logs ({', '.join(PAYMENT_LOG_WRITE)}) "
            f"VALUES ({', '.join('?' * len(PAYMENT_LOG_WRITE))})",
            [payment_log_values(p, source, now, TEXT_ENCODER) for p in decided.logged],
        )
        rows = {key: order_values(order, TEXT_ENCODER) for key, order in decided.orders.items()}
        _insert_orders(self.conn, [row for key, row in rows.items() if key in decided.created])
        self.conn.executemany(
            f"UPDATE orders SET {', '.join(f'{name} = ?' for name in ORDERS.names[1:])} "
            "WHERE id = ?",
            [(*row[1:], row[0]) for key, row in rows.items() if key not in decided.created],
        )

    def run_many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            self.conn.executemany(sql, rows)

    def write_outcomes(self, outcomes: list[EventOutcome], worker_id: str, now: datetime) -> None:
        stamp = utc_iso(now)
        self.conn.executemany(
            "UPDATE webhook_queue SET status = 'completed', completed_at = ?, updated_at = ?, "
            "locked_by = NULL, locked_until = NULL, note = ? WHERE id = ?",
            [(stamp, stamp, o.note, o.event_id) for o in outcomes if o.kind == "completed"],
        )
        retries = [_failure(o, worker_id, stamp) for o in outcomes if o.kind == "retry"]
        dead = [_failure(o, worker_id, stamp) for o in outcomes if o.kind == "dead"]
        self.conn.executemany(
            "UPDATE webhook_queue SET status = 'pending', next_attempt_at = :next, "
            f"last_error = :error, {_FAILED_SET} WHERE id = :id",
            retries,
        )
        self.conn.executemany(
            f"UPDATE webhook_queue SET status = 'dead', last_error = :error, {_FAILED_SET} "
            "WHERE id = :id",
            dead,
        )
        self.conn.executemany(
            "INSERT INTO webhook_dead_letter (queue_id, dedupe_key, topic, payload, headers, "
            "reason, last_error, attempt_log, attempts, received_via, dead_at) "
            "SELECT id, dedupe_key, topic, payload, headers, :reason, last_error, attempt_log, "
            "attempts, received_via, :now FROM webhook_queue WHERE id = :id",
            dead,
        )

    def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        """For a claimed row next_attempt_at holds the lease expiry, so one index range over
        (status, next_attempt_at) finds both due events and lost leases; no sort is needed."""
        params = {
            "now": utc_iso(now),
            "until": utc_iso(now + timedelta(seconds=lease_seconds)),
            "worker": worker_id,
            "limit": limit,
        }
        rows = self.conn.execute(_CLAIM_SQL, params).fetchall()
        return [ClaimedEvent(*row) for row in sorted(rows)]


def _failure(outcome: EventOutcome, worker_id: str, stamp: str) -> dict[str, Any]:
    return {
        "next": TEXT_ENCODER.time(outcome.next_attempt_at),
        "error": outcome.error,
        "now": stamp,
        "worker": worker_id,
        "id": outcome.event_id,
        "reason": outcome.dead_reason,
        "hint": json.dumps(outcome.hint) if outcome.hint else None,
    }


def _insert_orders(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" * len(ORDERS.names))
    conn.executemany(f"INSERT INTO orders ({ORDERS.sql}) VALUES ({marks})", rows)


def _replay_one(conn: sqlite3.Connection, dead_letter_id: int, stamp: str) -> ReplayResult:
    row = conn.execute(
        "SELECT queue_id, resolved_at FROM webhook_dead_letter WHERE id = ?",
        (dead_letter_id,),
    ).fetchone()
    refused = replay_refusal(dead_letter_id, row)
    if refused is not None:
        return refused
    queue_id = row[0]
    conn.execute(
        "UPDATE webhook_queue SET status = 'pending', attempts = 0, next_attempt_at = ?, "
        "updated_at = ?, locked_by = NULL, locked_until = NULL, completed_at = NULL, "
        "received_via = 'replay' WHERE id = ? AND status = 'dead'",
        (stamp, stamp, queue_id),
    )
    conn.execute(
        "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'replayed' WHERE id = ?",
        (stamp, dead_letter_id),
    )
    return ReplayResult(dead_letter_id, "replayed", queue_id)


def _lock_free(lock: dict[str, Any], now: datetime, stale_after: float) -> bool:
    return lock_free(str(lock.get("holder", "")), parse_iso(lock.get("since")), now, stale_after)


def _hour_activity(
    conn: sqlite3.Connection, hour: datetime, low: str, high: str, dead: int
) -> HourActivity:
    completed = conn.execute(
        "SELECT count(*) FROM webhook_queue WHERE completed_at >= ? AND completed_at < ?",
        (low, high),
    ).fetchone()[0]
    average = longest = None
    if completed:
        average, longest = conn.execute(
            "SELECT avg(seconds), max(seconds) FROM (SELECT "
            "(julianday(completed_at) - julianday(received_at)) * 86400.0 AS seconds "
            "FROM webhook_queue WHERE completed_at >= ? AND completed_at < ? LIMIT ?)",
            (low, high, HOURLY_LATENCY_SAMPLE),
        ).fetchone()
    return HourActivity(hour, completed, dead, average, longest)
