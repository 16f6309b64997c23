from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..clock import parse_iso, utc_iso
from ..errors import StorageBusyError, StorageError, ValidationError
from ..models import (
    ClaimedEvent,
    DeadLetter,
    InvalidInput,
    Notification,
    Order,
    Payment,
    PaymentLog,
    QueueEvent,
    ReconcileRun,
)
from ..notifications import COALESCE_KEY_PREFIX
from .base import (
    HOURLY_LATENCY_SAMPLE,
    TABLES,
    ApplyCounts,
    CommitResult,
    DeadLetterFilter,
    EnqueueCounts,
    EventFilter,
    EventOutcome,
    HourActivity,
    LifetimeCounts,
    OrderFilter,
    PaymentRules,
    QueueSnapshot,
    RateLimitDecision,
    ReplayResult,
    StoreInfo,
    first_of_each,
)
from .migrate import latest_version, migrations, split_statements

DIALECT = "sqlite"
LATENCY_SAMPLE_LIMIT = 10_000

_QUEUE_COLUMNS = (
    "id, dedupe_key, topic, action, resource_id, live_mode, payload, headers, received_via, "
    "status, attempts, next_attempt_at, locked_by, locked_until, last_error, attempt_log, note, "
    "received_at, updated_at, completed_at"
)
_DEAD_COLUMNS = (
    "id, queue_id, dedupe_key, topic, payload, headers, reason, last_error, attempt_log, "
    "attempts, received_via, dead_at, resolved_at, resolution, note"
)
_ORDER_COLUMNS = (
    "id, status, amount, currency, title, preference_id, payment_id, payment_status, "
    "payment_updated_at, created_at, updated_at, paid_at, source"
)
_ATTEMPT_ENTRY = "json_object('attempt', attempts, 'at', :now, 'error', :error, 'worker', :worker)"


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


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _key_hash(payload: str) -> str:
    return "invalid:" + hashlib.sha256(payload.encode("utf-8", "backslashreplace")).hexdigest()


class SqliteStore:
    backend = DIALECT

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.RLock()
        self._checkpointer: _Checkpointer | None = None
        self._conn = self._connect()

    # -- plumbing ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if self._checkpointer is not None:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        self._identity = self._file_identity()
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
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
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
        with self._lock:
            self._ensure_same_file()
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()

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
        current, latest = self.schema_version(), latest_version(DIALECT)
        if current > latest:
            raise StorageError("error.schema_too_new", found=current, supported=latest)
        if current < latest and migrate:
            return self.upgrade()
        return current

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
                key = _key_hash(item.payload)
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

    # -- events ------------------------------------------------------------------------------
    def list_events(self, filters: EventFilter) -> list[QueueEvent]:
        where, params = _where(
            {
                "status = ?": filters.status,
                "topic = ?": filters.topic,
                "received_at >= ?": _ts(filters.since),
            }
        )
        sql = f"SELECT {_QUEUE_COLUMNS} FROM webhook_queue {where} ORDER BY id DESC LIMIT ?"
        with self._read() as conn:
            rows = conn.execute(sql, [*params, filters.limit]).fetchall()
        return [_queue_event(row) for row in rows]

    def get_event(self, event_id: int) -> QueueEvent | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_QUEUE_COLUMNS} FROM webhook_queue WHERE id = ?", (event_id,)
            ).fetchone()
        return _queue_event(row) if row else None

    # -- processing --------------------------------------------------------------------------
    def claim_due_events(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        with self._write() as conn:
            return _claim(conn, worker_id, limit, lease_seconds, now)

    def commit_outcomes(
        self,
        worker_id: str,
        outcomes: Sequence[EventOutcome],
        rules: PaymentRules,
        now: datetime,
        *,
        claim_limit: int = 0,
        lease_seconds: float = 0.0,
    ) -> CommitResult:
        result = CommitResult()
        if not outcomes and not claim_limit:
            return result
        stamp = utc_iso(now)
        with self._write() as conn:
            owned = self._owned(conn, worker_id, [outcome.event_id for outcome in outcomes])
            mine = [outcome for outcome in outcomes if outcome.event_id in owned]
            result.committed = [outcome.event_id for outcome in mine]
            result.lease_lost = [o.event_id for o in outcomes if o.event_id not in owned]
            for source, payments in _payments_by_source(mine).items():
                self._apply(conn, payments, rules, source, now, result.applied)
            self._write_completed(conn, [o for o in mine if o.kind == "completed"], stamp)
            self._write_retries(conn, [o for o in mine if o.kind == "retry"], worker_id, stamp)
            self._write_dead(conn, [o for o in mine if o.kind == "dead"], worker_id, stamp)
            if claim_limit:
                result.claimed = _claim(conn, worker_id, claim_limit, lease_seconds, now)
        return result

    @staticmethod
    def _owned(conn: sqlite3.Connection, worker_id: str, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT id FROM webhook_queue WHERE id IN ({marks}) "
            "AND status = 'processing' AND locked_by = ?",
            [*ids, worker_id],
        ).fetchall()
        return {row[0] for row in rows}

    @staticmethod
    def _write_completed(conn: sqlite3.Connection, done: list[EventOutcome], stamp: str) -> None:
        conn.executemany(
            "UPDATE webhook_queue SET status = 'completed', completed_at = ?, updated_at = ?, "
            "locked_by = NULL, locked_until = NULL, note = ? WHERE id = ?",
            [(stamp, stamp, outcome.note, outcome.event_id) for outcome in done],
        )

    @staticmethod
    def _write_retries(
        conn: sqlite3.Connection, retries: list[EventOutcome], worker_id: str, stamp: str
    ) -> None:
        conn.executemany(
            "UPDATE webhook_queue SET status = 'pending', next_attempt_at = :next, "
            "last_error = :error, updated_at = :now, locked_by = NULL, locked_until = NULL, "
            f"attempt_log = json_insert(coalesce(attempt_log, '[]'), '$[#]', {_ATTEMPT_ENTRY}) "
            "WHERE id = :id",
            [
                {
                    "next": utc_iso(outcome.next_attempt_at),
                    "error": outcome.error,
                    "now": stamp,
                    "worker": worker_id,
                    "id": outcome.event_id,
                }
                for outcome in retries
            ],
        )

    @staticmethod
    def _write_dead(
        conn: sqlite3.Connection, dead: list[EventOutcome], worker_id: str, stamp: str
    ) -> None:
        params = [
            {
                "error": outcome.error,
                "now": stamp,
                "worker": worker_id,
                "id": outcome.event_id,
                "reason": outcome.dead_reason,
            }
            for outcome in dead
        ]
        conn.executemany(
            "UPDATE webhook_queue SET status = 'dead', last_error = :error, updated_at = :now, "
            "locked_by = NULL, locked_until = NULL, "
            f"attempt_log = json_insert(coalesce(attempt_log, '[]'), '$[#]', {_ATTEMPT_ENTRY}) "
            "WHERE id = :id",
            params,
        )
        conn.executemany(
            "INSERT INTO webhook_dead_letter (queue_id, dedupe_key, topic, payload, headers, "
            "reason, last_error, attempt_log, attempts, received_via, dead_at) "
            "SELECT id, dedupe_key, topic, payload, headers, :reason, last_error, attempt_log, "
            "attempts, received_via, :now FROM webhook_queue WHERE id = :id",
            params,
        )

    def apply_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, source: str, now: datetime
    ) -> ApplyCounts:
        counts = ApplyCounts()
        with self._write() as conn:
            self._apply(conn, payments, rules, source, now, counts)
        return counts

    def _apply(
        self,
        conn: sqlite3.Connection,
        payments: Sequence[Payment],
        rules: PaymentRules,
        source: str,
        now: datetime,
        counts: ApplyCounts,
    ) -> None:
        """Two reads for the whole batch, decisions in memory (a later payment of the batch
        sees what an earlier one did to its order), then three batched writes."""
        if not payments:
            return
        orders = _orders_by_id(conn, {rules.order_id_for(p) for p in payments})
        logged = _logged_states(conn, {p.id for p in payments})
        stamp = utc_iso(now)
        logs, changed, created = [], {}, set()
        for payment in payments:
            if (payment.id, payment.status) in logged:
                counts.add("duplicate")
                continue
            order_id = rules.order_id_for(payment)
            decision = rules.decide(orders.get(order_id), payment, now)
            counts.add(decision.outcome.value)
            if decision.logs_payment:
                logged.add((payment.id, payment.status))
                logs.append(_log_row(payment, source, stamp))
            if decision.order is not None:
                orders[order_id] = changed[order_id] = decision.order
                if decision.order_is_new:
                    created.add(order_id)
        _write_applied(conn, logs, changed, created)

    def preview_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, now: datetime
    ) -> ApplyCounts:
        counts = ApplyCounts()
        with self._write() as conn:
            conn.execute("SAVEPOINT preview")
            self._apply(conn, payments, rules, "reconcile", now, counts)
            conn.execute("ROLLBACK TO preview")
            conn.execute("RELEASE preview")
        return counts

    def count_due_events(self, now: datetime) -> int:
        with self._read() as conn:
            return conn.execute(
                "SELECT count(*) FROM webhook_queue WHERE status IN ('pending', 'processing') "
                "AND next_attempt_at <= ?",
                (utc_iso(now),),
            ).fetchone()[0]

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
    def list_dead_letters(self, filters: DeadLetterFilter) -> list[DeadLetter]:
        where, params = _where(
            {
                "reason = ?": filters.reason,
                "topic = ?": filters.topic,
                "dead_at >= ?": _ts(filters.since),
            },
            "resolved_at IS NULL" if filters.unresolved_only else None,
        )
        limit = "" if filters.limit is None else f"LIMIT {int(filters.limit)}"
        sql = f"SELECT {_DEAD_COLUMNS} FROM webhook_dead_letter {where} ORDER BY id DESC {limit}"
        with self._read() as conn:
            return [_dead_letter(row) for row in conn.execute(sql, params).fetchall()]

    def get_dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM webhook_dead_letter WHERE id = ?", (dead_letter_id,)
            ).fetchone()
        return _dead_letter(row) if row else None

    def replay_dead_letters(self, ids: Sequence[int], now: datetime) -> list[ReplayResult]:
        stamp = utc_iso(now)
        results = []
        with self._write() as conn:
            for dead_letter_id in ids:
                results.append(self._replay_one(conn, dead_letter_id, stamp))
        return results

    @staticmethod
    def _replay_one(conn: sqlite3.Connection, dead_letter_id: int, stamp: str) -> ReplayResult:
        row = conn.execute(
            "SELECT queue_id, resolved_at FROM webhook_dead_letter WHERE id = ?",
            (dead_letter_id,),
        ).fetchone()
        if row is None:
            return ReplayResult(dead_letter_id, "not_found")
        queue_id, resolved_at = row
        if resolved_at is not None:
            return ReplayResult(dead_letter_id, "already_resolved", queue_id)
        if queue_id is None:
            return ReplayResult(dead_letter_id, "invalid_payload")
        conn.execute(
            "UPDATE webhook_queue SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "updated_at = ?, locked_by = NULL, locked_until = NULL, completed_at = NULL, "
            "received_via = 'replay' "
            "WHERE id = ? AND status = 'dead'",
            (stamp, stamp, queue_id),
        )
        conn.execute(
            "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'replayed' WHERE id = ?",
            (stamp, dead_letter_id),
        )
        return ReplayResult(dead_letter_id, "replayed", queue_id)

    def replay_invalid(
        self, dead_letter_id: int, notification: Notification, now: datetime
    ) -> ReplayResult:
        stamp = utc_iso(now)
        with self._write() as conn:
            row = conn.execute(
                "SELECT resolved_at FROM webhook_dead_letter WHERE id = ?", (dead_letter_id,)
            ).fetchone()
            if row is None:
                return ReplayResult(dead_letter_id, "not_found")
            if row[0] is not None:
                return ReplayResult(dead_letter_id, "already_resolved")
            cursor = conn.execute(
                "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, "
                "payload, headers, received_via, next_attempt_at, received_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'replay', ?, ?, ?) "
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                (
                    notification.dedupe_key,
                    notification.topic,
                    notification.action,
                    notification.resource_id,
                    None if notification.live_mode is None else int(notification.live_mode),
                    notification.payload,
                    json.dumps(notification.headers) if notification.headers else None,
                    stamp,
                    stamp,
                    stamp,
                ),
            )
            inserted = cursor.fetchone()
            conn.execute(
                "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'replayed', "
                "queue_id = ? WHERE id = ?",
                (stamp, inserted[0] if inserted else None, dead_letter_id),
            )
        return ReplayResult(dead_letter_id, "replayed", inserted[0] if inserted else None)

    def discard_dead_letter(self, dead_letter_id: int, note: str, now: datetime) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'discarded', "
                "note = ? WHERE id = ? AND resolved_at IS NULL",
                (utc_iso(now), note, dead_letter_id),
            )
            return cursor.rowcount == 1

    # -- orders ------------------------------------------------------------------------------
    def create_order(self, order: Order) -> None:
        try:
            with self._write() as conn:
                _insert_orders(conn, [_order_row(order)])
        except StorageError as exc:
            if "unique" in str(exc.params.get("reason", "")).lower():
                raise ValidationError("error.order_exists", order_id=order.id) from None
            raise

    def set_order_preference(self, order_id: str, preference_id: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE orders SET preference_id = ?, updated_at = ? WHERE id = ?",
                (preference_id, utc_iso(now), order_id),
            )

    def get_order(self, order_id: str) -> Order | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
        return _order(row) if row else None

    def list_orders(self, filters: OrderFilter) -> list[Order]:
        where, params = _where(
            {"status = ?": filters.status, "created_at >= ?": _ts(filters.since)}
        )
        sql = f"SELECT {_ORDER_COLUMNS} FROM orders {where} ORDER BY created_at DESC, id LIMIT ?"
        with self._read() as conn:
            return [_order(row) for row in conn.execute(sql, [*params, filters.limit]).fetchall()]

    def payment_logs_for_order(self, order_id: str) -> list[PaymentLog]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, payment_id, status, status_detail, external_reference, amount, "
                "currency, date_last_updated, source, recorded_at, raw FROM payment_logs "
                "WHERE external_reference = ? OR payment_id IN "
                "(SELECT payment_id FROM orders WHERE id = ?) ORDER BY id",
                (order_id, order_id),
            ).fetchall()
        return [_payment_log(row) for row in rows]

    def order_counts(self) -> dict[str, int]:
        with self._read() as conn:
            return dict(conn.execute("SELECT status, count(*) FROM orders GROUP BY status"))

    def stale_pending_orders(self, created_before: datetime, limit: int) -> list[Order]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = 'pending' "
                "AND payment_id IS NULL AND created_at < ? ORDER BY created_at LIMIT ?",
                (utc_iso(created_before), limit),
            ).fetchall()
        return [_order(row) for row in rows]

    # -- reconcile ---------------------------------------------------------------------------
    def try_lock(self, name: str, holder: str, now: datetime, stale_after: float) -> bool:
        key = f"lock:{name}"
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                since = parse_iso(json.loads(row[0])["since"])
                if since and (now - since).total_seconds() < stale_after:
                    return False
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES (?, ?, ?)",
                (key, json.dumps({"holder": holder, "since": utc_iso(now)}), utc_iso(now)),
            )
        return True

    def release_lock(self, name: str, holder: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM meta WHERE key = ? AND json_extract(value, '$.holder') = ?",
                (f"lock:{name}", holder),
            )

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES (?, ?, ?)",
                (key, value, utc_iso(now)),
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
                f"INSERT INTO webhook_archive ({_QUEUE_COLUMNS}, archived_at) "
                f"SELECT {_QUEUE_COLUMNS}, ? FROM webhook_queue WHERE id IN ({marks})",
                [utc_iso(now), *ids],
            )
            conn.execute(f"DELETE FROM webhook_queue WHERE id IN ({marks})", ids)
        return len(ids)

    def count_archivable(self, completed_before: datetime) -> int:
        with self._read() as conn:
            return conn.execute(
                "SELECT count(*) FROM webhook_queue WHERE completed_at < ? "
                "AND status = 'completed'",
                (utc_iso(completed_before),),
            ).fetchone()[0]

    def record_reconcile_run(self, run: ReconcileRun) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO webhook_reconciliation_logs (started_at, finished_at, status, "
                "leases_recovered, retried, swept, drift_fixed, archived, dead_lettered, errors, "
                "details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_iso(run.started_at),
                    _ts(run.finished_at),
                    run.status,
                    run.leases_recovered,
                    run.retried,
                    run.swept,
                    run.drift_fixed,
                    run.archived,
                    run.dead_lettered,
                    run.errors,
                    json.dumps(run.details, default=str),
                ),
            )
            return int(cursor.lastrowid)

    def list_reconcile_runs(self, limit: int) -> list[ReconcileRun]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, started_at, finished_at, status, leases_recovered, retried, swept, "
                "drift_fixed, archived, dead_lettered, errors, details "
                "FROM webhook_reconciliation_logs ORDER BY started_at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_reconcile_run(row) for row in rows]

    # -- status ------------------------------------------------------------------------------
    def queue_snapshot(
        self, now: datetime, since: datetime, latency_since: datetime
    ) -> QueueSnapshot:
        stamp, since_stamp = utc_iso(now), utc_iso(since)

        def scalar(conn: sqlite3.Connection, sql: str, *params: Any) -> Any:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

        q = "SELECT count(*) FROM webhook_queue WHERE "
        with self._read() as conn:
            latency = [
                row[0]
                for row in conn.execute(
                    "SELECT (julianday(completed_at) - julianday(received_at)) * 86400.0 "
                    "FROM webhook_queue WHERE completed_at >= ? ORDER BY completed_at DESC "
                    "LIMIT ?",
                    (utc_iso(latency_since), LATENCY_SAMPLE_LIMIT),
                )
            ]
            rejections = dict(
                conn.execute(
                    "SELECT reason, sum(count) FROM webhook_rejections WHERE hour >= ? "
                    "GROUP BY reason",
                    (since_stamp[:13],),
                )
            )
            return QueueSnapshot(
                pending_due=scalar(conn, q + "status = 'pending' AND next_attempt_at <= ?", stamp),
                pending_later=scalar(conn, q + "status = 'pending' AND next_attempt_at > ?", stamp),
                processing=scalar(conn, q + "status = 'processing'"),
                processing_expired=scalar(
                    conn, q + "status = 'processing' AND next_attempt_at <= ?", stamp
                ),
                completed_since=scalar(conn, q + "completed_at >= ?", since_stamp),
                dead_unresolved=scalar(
                    conn, "SELECT count(*) FROM webhook_dead_letter WHERE resolved_at IS NULL"
                ),
                dead_since=scalar(
                    conn,
                    "SELECT count(*) FROM webhook_dead_letter WHERE dead_at >= ? "
                    "AND resolved_at IS NULL AND reason != 'invalid'",
                    since_stamp,
                ),
                retried_since=scalar(conn, q + "status = 'pending' AND attempts > 0"),
                oldest_pending_at=parse_iso(
                    scalar(
                        conn,
                        "SELECT min(received_at) FROM webhook_queue WHERE status = 'pending'",
                    )
                ),
                next_retry_at=parse_iso(
                    scalar(
                        conn,
                        "SELECT min(next_attempt_at) FROM webhook_queue "
                        "WHERE status = 'pending' AND next_attempt_at > ?",
                        stamp,
                    )
                ),
                last_received_at=parse_iso(
                    scalar(conn, "SELECT received_at FROM webhook_queue ORDER BY id DESC LIMIT 1")
                ),
                latency_seconds=latency,
                rejections_since=rejections,
            )

    def count_rejection(self, reason: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO webhook_rejections (hour, reason, count) VALUES (?, ?, 1) "
                "ON CONFLICT (hour, reason) DO UPDATE SET count = count + 1",
                (utc_iso(now)[:13], reason),
            )

    # -- rate limits and alerts --------------------------------------------------------------
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
        reset_at = parse_iso(window_start) + timedelta(seconds=window_seconds)
        return RateLimitDecision(count <= limit, limit, max(limit - count, 0), reset_at)

    def get_alert_state(self, condition: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT last_fired_at, pending FROM alert_state WHERE condition = ?", (condition,)
            ).fetchone()
        return {"last_fired_at": parse_iso(row[0]), "pending": row[1]} if row else None

    def pending_alert_conditions(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute("SELECT condition FROM alert_state WHERE pending IS NOT NULL")
            return [row[0] for row in rows]

    def set_alert_state(
        self, condition: str, last_fired_at: datetime | None, pending: str | None, now: datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO alert_state (condition, last_fired_at, pending, "
                "updated_at) VALUES (?, ?, ?, ?)",
                (condition, _ts(last_fired_at), pending, utc_iso(now)),
            )

    # -- copy --------------------------------------------------------------------------------
    def export_rows(self, table: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        _known_table(table)
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
        _known_table(table)
        if not rows:
            return
        names = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        with self._write() as conn:
            conn.executemany(sql, [[_neutral(row[name]) for name in names] for row in rows])

    def count_rows(self, table: str) -> int:
        _known_table(table)
        with self._read() as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

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
        marks = ", ".join("?" * len(ids))
        sql = (
            f"SELECT {_QUEUE_COLUMNS} FROM webhook_queue WHERE id > "
            "(SELECT coalesce(max(id), 0) FROM webhook_queue) - ? "
            f"AND resource_id IN ({marks}) ORDER BY id DESC LIMIT ?"
        )
        with self._read() as conn:
            rows = conn.execute(sql, [newest, *ids, limit]).fetchall()
        return [_queue_event(row) for row in rows]


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


_ENQUEUE_SQL = (
    "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, payload, "
    "headers, received_via, next_attempt_at, received_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


_ROWS_PER_INSERT = 256  # 11 parameters a row, far below SQLite's 32,766


@functools.lru_cache(maxsize=64)
def _enqueue_returning_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    head = _ENQUEUE_SQL.split("VALUES")[0]
    return f"{head}VALUES {values} ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"


def _queue_row(item: Notification, received_via: str, stamp: str) -> tuple:
    return (
        item.dedupe_key,
        item.topic,
        item.action,
        item.resource_id,
        None if item.live_mode is None else int(item.live_mode),
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


def _claim(
    conn: sqlite3.Connection, worker_id: str, limit: int, lease_seconds: float, now: datetime
) -> list[ClaimedEvent]:
    """For a claimed row next_attempt_at holds the lease expiry, so one index range over
    (status, next_attempt_at) finds both due events and lost leases; no sort is needed."""
    params = {
        "now": utc_iso(now),
        "until": utc_iso(now + timedelta(seconds=lease_seconds)),
        "worker": worker_id,
        "limit": limit,
    }
    rows = conn.execute(_CLAIM_SQL, params).fetchall()
    return [ClaimedEvent(*row) for row in sorted(rows)]


def _where(conditions: dict[str, Any], fixed: str | None = None) -> tuple[str, list[Any]]:
    """`WHERE a = ? AND b >= ?` for the conditions whose value is given (None: no filter)."""
    clauses = [fixed] if fixed else []
    params = []
    for clause, value in conditions.items():
        if value not in (None, ""):
            clauses.append(clause)
            params.append(value)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _payments_by_source(outcomes: Sequence[EventOutcome]) -> dict[str, list[Payment]]:
    grouped: dict[str, list[Payment]] = {}
    for outcome in outcomes:
        if outcome.kind == "completed" and outcome.payments:
            grouped.setdefault(outcome.source, []).extend(outcome.payments)
    return grouped


def _known_table(table: str) -> None:
    if table not in TABLES:
        raise ValidationError("error.unknown_table", table=table)


def _neutral(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


_ORDER_WRITE_COLUMNS = (
    "status, amount, currency, title, preference_id, payment_id, payment_status, "
    "payment_updated_at, created_at, updated_at, paid_at, source, id"
)


def _orders_by_id(conn: sqlite3.Connection, order_ids: set[str]) -> dict[str, Order]:
    marks = ",".join("?" * len(order_ids))
    rows = conn.execute(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id IN ({marks})", list(order_ids)
    ).fetchall()
    return {row[0]: _order(row) for row in rows}


def _logged_states(conn: sqlite3.Connection, payment_ids: set[str]) -> set[tuple[str, str]]:
    marks = ",".join("?" * len(payment_ids))
    rows = conn.execute(
        f"SELECT payment_id, status FROM payment_logs WHERE payment_id IN ({marks})",
        list(payment_ids),
    ).fetchall()
    return set(rows)


def _log_row(payment: Payment, source: str, stamp: str) -> tuple:
    return (
        payment.id,
        payment.status,
        payment.status_detail,
        payment.external_reference,
        _money(payment.amount),
        payment.currency,
        _ts(payment.date_last_updated),
        source,
        json.dumps(payment.raw, default=str) if payment.raw else None,
        stamp,
    )


def _order_row(order: Order) -> tuple:
    return (
        order.status,
        _money(order.amount),
        order.currency,
        order.title,
        order.preference_id,
        order.payment_id,
        order.payment_status,
        _ts(order.payment_updated_at),
        utc_iso(order.created_at),
        utc_iso(order.updated_at),
        _ts(order.paid_at),
        order.source,
        order.id,
    )


def _write_applied(
    conn: sqlite3.Connection, logs: list[tuple], changed: dict[str, Order], created: set[str]
) -> None:
    conn.executemany(
        "INSERT INTO payment_logs (payment_id, status, status_detail, external_reference, "
        "amount, currency, date_last_updated, source, raw, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        logs,
    )
    new = [_order_row(order) for order_id, order in changed.items() if order_id in created]
    _insert_orders(conn, new)
    conn.executemany(
        "UPDATE orders SET status = ?, amount = ?, currency = ?, title = ?, preference_id = ?, "
        "payment_id = ?, payment_status = ?, payment_updated_at = ?, created_at = ?, "
        "updated_at = ?, paid_at = ?, source = ? WHERE id = ?",
        [_order_row(order) for order_id, order in changed.items() if order_id not in created],
    )


def _insert_orders(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        f"INSERT INTO orders ({_ORDER_WRITE_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _json_or(value: str | None, default: Any) -> Any:
    return json.loads(value) if value else default


def _queue_event(row: tuple) -> QueueEvent:
    return QueueEvent(
        id=row[0],
        dedupe_key=row[1],
        topic=row[2],
        action=row[3],
        resource_id=row[4],
        live_mode=None if row[5] is None else bool(row[5]),
        payload=row[6],
        headers=_json_or(row[7], {}),
        received_via=row[8],
        status=row[9],
        attempts=row[10],
        next_attempt_at=parse_iso(row[11]),
        locked_by=row[12],
        locked_until=parse_iso(row[13]),
        last_error=row[14],
        errors=_json_or(row[15], []),
        note=row[16],
        received_at=parse_iso(row[17]),
        updated_at=parse_iso(row[18]),
        completed_at=parse_iso(row[19]),
    )


def _dead_letter(row: tuple) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        queue_id=row[1],
        dedupe_key=row[2],
        topic=row[3],
        payload=row[4],
        headers=_json_or(row[5], {}),
        reason=row[6],
        last_error=row[7],
        errors=_json_or(row[8], []),
        attempts=row[9],
        received_via=row[10],
        dead_at=parse_iso(row[11]),
        resolved_at=parse_iso(row[12]),
        resolution=row[13],
        note=row[14],
    )


def _order(row: tuple) -> Order:
    return Order(
        id=row[0],
        status=row[1],
        amount=None if row[2] is None else Decimal(row[2]),
        currency=row[3],
        title=row[4],
        preference_id=row[5],
        payment_id=row[6],
        payment_status=row[7],
        payment_updated_at=parse_iso(row[8]),
        created_at=parse_iso(row[9]),
        updated_at=parse_iso(row[10]),
        paid_at=parse_iso(row[11]),
        source=row[12],
    )


def _payment_log(row: tuple) -> PaymentLog:
    return PaymentLog(
        id=row[0],
        payment_id=row[1],
        status=row[2],
        status_detail=row[3],
        external_reference=row[4],
        amount=None if row[5] is None else Decimal(row[5]),
        currency=row[6],
        date_last_updated=parse_iso(row[7]),
        source=row[8],
        recorded_at=parse_iso(row[9]),
        raw=_json_or(row[10], {}),
    )


def _reconcile_run(row: tuple) -> ReconcileRun:
    return ReconcileRun(
        id=row[0],
        started_at=parse_iso(row[1]),
        finished_at=parse_iso(row[2]),
        status=row[3],
        leases_recovered=row[4],
        retried=row[5],
        swept=row[6],
        drift_fixed=row[7],
        archived=row[8],
        dead_lettered=row[9],
        errors=row[10],
        details=_json_or(row[11], {}),
    )


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
