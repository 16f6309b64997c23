"""PostgreSQL backend: psycopg 3 with a connection pool. The contract is base.py; the semantics
are sqlite.py's. Where one server and many workers need more than SQLite's single writer:
- claims lock rows with `FOR UPDATE SKIP LOCKED`, so workers on several machines claim at once
  and never wait on, or take, each other's rows;
- every writer of an order first takes a transaction advisory lock on its id (sorted, so two
  batches never deadlock): read-decide-write stays atomic as under SQLite's write lock, and two
  workers creating the same order from two payments queue up instead of colliding;
- the reconcile run lock is a session advisory lock (see try_lock).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from ..clock import utc_iso
from ..config import redact_url
from ..errors import ConfigurationError, StorageBusyError, StorageError, ValidationError
from ..models import ClaimedEvent, InvalidInput, Notification, Order, QueueEvent
from ..notifications import COALESCE_KEY_PREFIX
from ..payments import BatchDecision
from ..reports.records import ReportFileRecord, ReportImportCounts
from .base import (
    PRIMARY_KEYS,
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
from .migrate import latest_version, migrations
from .rows import (
    NATIVE_DECODER,
    ORDERS,
    PAYMENT_LOG_WRITE,
    QUEUE,
    Encoder,
    Readers,
    ReportBatch,
    ReportEncoding,
    Row,
    order_values,
    payment_log_values,
    unchanged,
)

DIALECT = "postgres"
CONNECT_TIMEOUT_SECONDS = 10
POOL_WAIT_SECONDS = 30.0
# Set on every pooled session (SET, not startup options, which PgBouncer refuses). UTC, so that
# timestamps come back as aware UTC datetimes. Custom plans: the tables start empty and grow by
# thousands of rows a minute, and a generic plan cached while payment_logs was small keeps
# scanning it whole (measured: 12 ms instead of 2 ms per batch lookup at 10,000 rows).
_SESSION_SETTINGS = "SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan"

# Two-key advisory lock spaces (PostgreSQL keeps them apart from one-key locks).
ORDER_LOCKS = 0x6D70_6F72  # "mpor": one lock per order id, taken by every order writer
INVALID_LOCKS = 0x6D70_6976  # "mpiv": one per invalid-input key, so it is stored only once

# The identity sequence a table's imported ids come from: archived events keep queue ids, so
# the queue's sequence must also move past every archived id.
_ID_SEQUENCE_OF = {
    "payment_logs": "payment_logs",
    "webhook_queue": "webhook_queue",
    "webhook_archive": "webhook_queue",
    "webhook_dead_letter": "webhook_dead_letter",
    "webhook_reconciliation_logs": "webhook_reconciliation_logs",
}


def open_postgres(url: str, pool_size: int = 8, migrate: bool = True) -> PostgresStore:
    """Connect, refuse a schema newer than this code, apply pending migrations when asked."""
    store = PostgresStore(url, pool_size)
    try:
        store.start(migrate)
    except BaseException:
        store.close()
        raise
    return store


def connection_string(url: str) -> str:
    """The URL as libpq parameters, plus a connect timeout (libpq waits for ever by default)
    and a name in pg_stat_activity. A URL libpq cannot parse is reported without echoing it
    (it may hold a password)."""
    try:
        params = conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://", 1))
    except psycopg.Error:
        raise ConfigurationError("error.bad_database_url", url=redact_url(url)) from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    params.setdefault("application_name", "mpcheckout")
    return make_conninfo("", **params)


def translate(exc: psycopg.Error | PoolTimeout, location: str, secret: str | None) -> StorageError:
    reason = _first_line(str(exc)) or type(exc).__name__
    if secret:
        reason = reason.replace(secret, "…")
    if isinstance(exc, PoolTimeout):
        return StorageError("error.db_unreachable", path=location, reason=reason)
    busy = (
        pg_errors.LockNotAvailable,
        pg_errors.DeadlockDetected,
        pg_errors.SerializationFailure,
        pg_errors.QueryCanceled,
    )
    if isinstance(exc, busy):
        return StorageBusyError(path=location)
    if isinstance(exc, pg_errors.DiskFull):
        return StorageError("error.db_full", path=location)
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
        return StorageError("error.db_readonly", path=location)
    if isinstance(exc, psycopg.OperationalError):
        return StorageError("error.db_unreachable", path=location, reason=reason)
    return StorageError("error.storage", reason=reason)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


# PostgreSQL text cannot hold NUL and JSONB refuses \u0000; both are spelt `\x00`, the way
# ingest already spells bytes it cannot decode, so such an input is still kept.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _text(value: str | None) -> str | None:
    return value.replace("\x00", "\\x00") if value and "\x00" in value else value


def _json_text(value: Any) -> str | None:
    return None if value is None else _clean_json(json.dumps(value, default=str))


def _clean_json(text: str) -> str:
    return _JSON_NUL.sub(r"\1\\\\x00", text) if "\\u0000" in text else text


_ENCODER = Encoder(time=unchanged, money=unchanged, json=_json_text, text=_text)
_RECORDS = Readers(NATIVE_DECODER)


def _one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The row of a statement that always returns one."""
    row = cursor.fetchone()
    if row is None:
        raise StorageError("error.storage", reason="a statement returned no row")
    return tuple(row)


@lru_cache(maxsize=256)
def _native(sql: str) -> str:
    """A portable statement of core.py (`?` placeholders) in psycopg's `%s`."""
    return sql.replace("?", "%s")


def _configure_session(conn: psycopg.Connection) -> None:
    conn.execute(_SESSION_SETTINGS)


def _pipeline(conn: psycopg.Connection) -> contextlib.AbstractContextManager[Any]:
    return conn.pipeline() if psycopg.Pipeline.is_supported() else contextlib.nullcontext()


def _lock_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) - 2**31  # a signed int4, as the lock function takes


def _lock_all(conn: psycopg.Connection, space: int, names: Iterable[str]) -> None:
    """Transaction advisory locks, in key order so that two transactions never deadlock."""
    keys = sorted({_lock_key(name) for name in names})
    if keys:
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, key) FROM unnest(%b::int[]) AS key", (space, keys)
        )


@dataclass(slots=True)
class _RunLock:
    holder: str
    since: datetime
    conn: psycopg.Connection


class PostgresStore(StoreCore):
    backend = DIALECT
    report_encoding: ReportEncoding = "native"
    records = _RECORDS
    encode = _ENCODER
    latency_sql = (
        "SELECT extract(epoch FROM completed_at - received_at) FROM webhook_queue "
        "WHERE completed_at >= ? ORDER BY completed_at DESC LIMIT ?"
    )

    def __init__(self, url: str, pool_size: int) -> None:
        self.location = redact_url(url)
        self._conninfo = connection_string(url)
        password = conninfo_to_dict(self._conninfo).get("password")
        self._secret = None if password is None else str(password)
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._run_locks: dict[str, _RunLock] = {}
        self._run_locks_guard = threading.Lock()
        self._column_types: dict[str, dict[str, str]] = {}

    # -- plumbing ----------------------------------------------------------------------------
    def start(self, migrate: bool) -> None:
        """Check the schema on a first connection of its own, so that a refused or unreachable
        server is reported with libpq's own reason at once (the pool would retry in the
        background until its timeout); then open the pool."""
        with self._translated(), psycopg.connect(self._conninfo, autocommit=True) as conn:
            self._check_schema(conn, migrate)
        self._pool = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=max(self._pool_size, 1),
            kwargs={"autocommit": True},
            configure=_configure_session,
            timeout=POOL_WAIT_SECONDS,
            name="mpcheckout",
            open=True,
        )

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            raise translate(exc, self.location, self._secret) from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with self._translated(), self._connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        with self._translated(), self._connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def _write_pipelined(self, *, redoable: bool = False) -> Iterator[psycopg.Connection]:
        """A transaction in pipeline mode: statements go out without waiting for each answer
        and the connection waits only where a result is read, so a commit with its next claim
        costs four round trips instead of a dozen. Only for code that reads results with
        fetch*, never rowcount (not known before the pipeline syncs).

        `redoable`: the worker's claims and results. They commit without waiting for the WAL
        flush, because losing the last fraction of a second of them to a server crash only
        sends those events round again: a lost claim is refused at commit as a lost lease, a
        lost result leaves the event leased until it expires, and applying its payment again
        is idempotent (its log row was lost with it). That is the durability SQLite gives the
        same work (WAL, synchronous=NORMAL), and it takes an fsync off every batch. Intake,
        whose loss Mercado Pago would never redeliver, always waits for the flush."""
        with (
            self._translated(),
            self._connection() as conn,
            _pipeline(conn),
            conn.transaction(),
        ):
            if redoable:
                conn.execute("SET LOCAL synchronous_commit = off")
            yield conn

    def _connection(self) -> contextlib.AbstractContextManager[psycopg.Connection]:
        return self._require_pool().connection()

    def _require_pool(self) -> ConnectionPool:
        if self._pool is None:
            raise StorageError("error.storage", reason="the store is closed")
        return self._pool

    # -- primitives for StoreCore ------------------------------------------------------------
    def _rows(self, sql: str, *params: Any) -> list[Row]:
        with self._read() as conn:
            return conn.execute(_native(sql), params).fetchall()

    def _change(self, sql: str, *params: Any) -> list[Row]:
        with self._write() as conn:
            cursor = conn.execute(_native(sql), params)
            return cursor.fetchall() if cursor.description else []

    @contextlib.contextmanager
    def _batch(self, *, redoable: bool = False) -> Iterator[Batch]:
        with self._write_pipelined(redoable=redoable) as conn:
            yield _PostgresBatch(conn)

    @contextlib.contextmanager
    def _preview_batch(self) -> Iterator[Batch]:
        with (
            self._translated(),
            self._connection() as conn,
            conn.transaction(force_rollback=True),
        ):
            yield _PostgresBatch(conn)

    def start_maintenance(self) -> None:
        """Nothing to do: the server checkpoints and vacuums on its own."""

    def close(self) -> None:
        with self._run_locks_guard:
            held, self._run_locks = list(self._run_locks.items()), {}
        pool, self._pool = self._pool, None
        for name, lock in held:
            # Unlocked explicitly, not left to the session's end: the server frees a closed
            # session's locks only once its backend has exited, a moment after we moved on.
            _unlock_and_return(name, lock.conn, pool)
        if pool is not None:
            pool.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._read() as conn:
            return _version(conn)

    def _check_schema(self, conn: psycopg.Connection[Any], migrate: bool) -> int:
        latest = latest_version(DIALECT)
        return checked_version(_version(conn), latest, migrate, lambda: _migrate(conn))

    def upgrade(self) -> int:
        with self._read() as conn:
            return _migrate(conn)

    def info(self) -> StoreInfo:
        with self._read() as conn:
            existing = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM unnest(%b::text[]) AS name "
                    "WHERE to_regclass(name) IS NOT NULL",
                    (list(TABLES),),
                )
            ]
            counts = _row_counts(conn, existing)
            size = _one(
                conn.execute(
                    "SELECT sum(pg_total_relation_size(to_regclass(name)))::bigint "
                    "FROM unnest(%b::text[]) AS name",
                    (existing,),
                )
            )[0]
            version = _version(conn)
        return StoreInfo(DIALECT, self.location, version, int(size or 0), counts)

    # -- intake ------------------------------------------------------------------------------
    def enqueue_many(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> EnqueueCounts:
        queued = self.enqueue_each(notifications, received_via, now)
        return EnqueueCounts(queued=sum(queued), duplicates=len(queued) - sum(queued))

    def enqueue_each(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> list[bool]:
        if not notifications:
            return []
        with self._write() as conn:
            rows = conn.execute(
                _ENQUEUE_SQL, {**_queue_columns(notifications), "via": received_via, "now": now}
            ).fetchall()
        return first_of_each(notifications, {row[0] for row in rows})

    def record_invalid_many(self, inputs: Sequence[InvalidInput], now: datetime) -> int:
        stamp = utc_iso(now)
        keys = [invalid_key(item.payload) for item in inputs]
        stored = 0
        with self._write() as conn:
            _lock_all(conn, INVALID_LOCKS, keys)
            for key, item in zip(keys, inputs, strict=True):
                cursor = conn.execute(
                    "INSERT INTO webhook_dead_letter (dedupe_key, payload, headers, reason, "
                    "last_error, attempt_log, received_via, dead_at) "
                    "SELECT %(key)s, %(payload)s, %(headers)s::jsonb, 'invalid', %(error)s, "
                    "jsonb_build_array(jsonb_build_object('at', %(stamp)s::text, "
                    "'error', %(error)s::text)), %(via)s, %(now)s "
                    "WHERE NOT EXISTS (SELECT 1 FROM webhook_dead_letter "
                    "WHERE dedupe_key = %(key)s AND resolved_at IS NULL)",
                    {
                        "key": key,
                        "payload": _text(item.payload),
                        "headers": _json_text(item.headers) if item.headers else None,
                        "error": _text(item.error),
                        "stamp": stamp,
                        "via": item.received_via,
                        "now": now,
                    },
                )
                stored += cursor.rowcount
        return stored

    # -- events ------------------------------------------------------------------------------
    # -- processing --------------------------------------------------------------------------
    def recover_expired_leases(self, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(
                "UPDATE webhook_queue SET status = 'pending', last_error = 'lease expired', "
                "updated_at = %(now)s, attempt_log = coalesce(attempt_log, '[]'::jsonb) || "
                "jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', "
                "%(stamp)s::text, 'error', 'lease expired', 'worker', locked_by)), "
                "locked_by = NULL, locked_until = NULL "
                "WHERE status = 'processing' AND next_attempt_at <= %(now)s",
                {"now": now, "stamp": utc_iso(now)},
            ).rowcount

    # -- dead letters ------------------------------------------------------------------------
    def replay_dead_letters(self, ids: Sequence[int], now: datetime) -> list[ReplayResult]:
        with self._write() as conn:
            letters = {
                row[0]: (row[1], row[2])
                for row in conn.execute(
                    "SELECT id, queue_id, resolved_at FROM webhook_dead_letter "
                    "WHERE id = ANY(%b::bigint[]) ORDER BY id FOR UPDATE",
                    (sorted(set(ids)),),
                )
            }
            return [_replay_one(conn, letters, dead_letter_id, now) for dead_letter_id in ids]

    def replay_invalid(
        self, dead_letter_id: int, notification: Notification, now: datetime
    ) -> ReplayResult:
        with self._write() as conn:
            row = conn.execute(
                "SELECT resolved_at FROM webhook_dead_letter WHERE id = %s FOR UPDATE",
                (dead_letter_id,),
            ).fetchone()
            if row is None:
                return ReplayResult(dead_letter_id, "not_found")
            if row[0] is not None:
                return ReplayResult(dead_letter_id, "already_resolved")
            inserted = conn.execute(
                "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, "
                "user_id, payload, headers, received_via, next_attempt_at, received_at, "
                "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, 'replay', %s, %s, %s) "
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                (
                    notification.dedupe_key,
                    notification.topic,
                    notification.action,
                    notification.resource_id,
                    notification.live_mode,
                    notification.user_id,
                    _text(notification.payload),
                    _json_text(notification.headers) if notification.headers else None,
                    now,
                    now,
                    now,
                ),
            ).fetchone()
            queue_id = inserted[0] if inserted else None
            conn.execute(
                "UPDATE webhook_dead_letter SET resolved_at = %s, resolution = 'replayed', "
                "queue_id = %s WHERE id = %s",
                (now, queue_id, dead_letter_id),
            )
        return ReplayResult(dead_letter_id, "replayed", queue_id)

    # -- orders ------------------------------------------------------------------------------
    def create_order(self, order: Order) -> None:
        with self._write() as conn:
            _lock_all(conn, ORDER_LOCKS, [order.id])
            inserted = conn.execute(
                f"INSERT INTO orders ({ORDERS.sql}) "
                f"VALUES ({', '.join(['%s'] * len(ORDERS.names))}) ON CONFLICT (id) DO NOTHING",
                order_values(order, _ENCODER),
            ).rowcount
            if not inserted:
                raise ValidationError("error.order_exists", order_id=order.id)

    def set_order_preference(self, order_id: str, preference_id: str, now: datetime) -> None:
        with self._write() as conn:
            _lock_all(conn, ORDER_LOCKS, [order_id])
            conn.execute(
                "UPDATE orders SET preference_id = %s, updated_at = %s WHERE id = %s",
                (preference_id, now, order_id),
            )

    # -- reconcile ---------------------------------------------------------------------------
    def try_lock(self, name: str, holder: str, now: datetime, stale_after: float) -> bool:
        """A session advisory lock, held on a connection kept out of the pool until release.
        A holder that dies takes its session with it and PostgreSQL frees the lock at once, so
        across processes no `stale_after` is needed (nor honoured: a live holder keeps it).
        Within this process the holder and its start are known, so a stale one is handed over
        as sqlite.py does."""
        with self._run_locks_guard:
            held = self._run_locks.get(name)
            if held is not None:
                if not lock_free(held.holder, held.since, now, stale_after):
                    return False
                held.holder, held.since = holder, now
                return True
            conn = self._take_run_lock(name)
            if conn is None:
                return False
            self._run_locks[name] = _RunLock(holder, now, conn)
            return True

    def _take_run_lock(self, name: str) -> psycopg.Connection | None:
        pool = self._require_pool()
        with self._translated():
            conn = pool.getconn()
            try:
                taken = conn.execute(_RUN_LOCK_SQL.format(op="pg_try_advisory_lock"), (name,))
                if _one(taken)[0]:
                    return conn
            except BaseException:
                conn.close()
                pool.putconn(conn)
                raise
            pool.putconn(conn)
            return None

    def release_lock(self, name: str, holder: str) -> None:
        with self._run_locks_guard:
            held = self._run_locks.get(name)
            if held is None or held.holder != holder:
                return
            del self._run_locks[name]
        _unlock_and_return(name, held.conn, self._pool)

    def archive_completed(self, completed_before: datetime, limit: int, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(
                "WITH moved AS (DELETE FROM webhook_queue WHERE id IN ("
                "SELECT id FROM webhook_queue WHERE completed_at < %(before)s "
                "AND status = 'completed' ORDER BY completed_at LIMIT %(limit)s "
                f"FOR UPDATE SKIP LOCKED) RETURNING {QUEUE.sql}) "
                f"INSERT INTO webhook_archive ({QUEUE.sql}, archived_at) "
                f"SELECT {QUEUE.sql}, %(now)s FROM moved",
                {"before": completed_before, "limit": limit, "now": now},
            ).rowcount

    # -- rate limits and alerts --------------------------------------------------------------
    def hit_rate_limit(
        self, key: str, limit: int, window_seconds: int, now: datetime
    ) -> RateLimitDecision:
        with self._write() as conn:
            window_start, count = _one(
                conn.execute(
                    "INSERT INTO rate_limits AS r (key, window_start, count) "
                    "VALUES (%(key)s, %(now)s, 1) ON CONFLICT (key) DO UPDATE SET "
                    "count = CASE WHEN r.window_start <= %(expired)s THEN 1 ELSE r.count + 1 END, "
                    "window_start = CASE WHEN r.window_start <= %(expired)s THEN %(now)s "
                    "ELSE r.window_start END RETURNING window_start, count",
                    {"key": key, "now": now, "expired": now - timedelta(seconds=window_seconds)},
                )
            )
        return rate_decision(window_start, count, limit, window_seconds)

    # -- reports -----------------------------------------------------------------------------
    def import_report(
        self, file: ReportFileRecord, batches: Iterable[ReportBatch], now: datetime
    ) -> ReportImportCounts:
        with self._write() as conn:
            known = conn.execute("SELECT 1 FROM report_files WHERE sha256 = %s", (file.sha256,))
            file_known = known.fetchone() is not None
            cursor, sql = conn.cursor(), _native(INSERT_REPORT_ROW_SQL)

            def insert(batch: ReportBatch) -> int:
                cursor.executemany(sql, batch.rows)
                return max(cursor.rowcount, 0)

            counts = insert_report_batches(batches, insert, file_known)
            conn.execute(_native(INSERT_REPORT_FILE_SQL), file_row(file, counts, _ENCODER))
        return counts

    # -- copy --------------------------------------------------------------------------------
    def export_rows(self, table: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        keys = PRIMARY_KEYS[known_table(table)]
        order = ", ".join(keys)
        after: tuple[Any, ...] | None = None
        while True:
            where = "" if after is None else f"WHERE ({order}) > ({', '.join(['%s'] * len(keys))})"
            with self._read() as conn:
                cursor = conn.execute(
                    f"SELECT * FROM {table} {where} ORDER BY {order} LIMIT %s",
                    [*(after or ()), batch_size],
                )
                names = [column.name for column in cursor.description or ()]
                rows = [dict(zip(names, map(neutral, row), strict=True)) for row in cursor]
            if not rows:
                return
            after = tuple(rows[-1][key] for key in keys)
            yield rows

    def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        known_table(table)
        if not rows:
            return
        names = list(rows[0])
        convert = [self._importer(table, name) for name in names]
        values = [[fn(row[name]) for fn, name in zip(convert, names, strict=True)] for row in rows]
        marks = ", ".join(["%s"] * len(names))
        with self._write() as conn:
            conn.cursor().executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values
            )
            sequence_table = _ID_SEQUENCE_OF.get(table)
            if sequence_table and "id" in rows[0]:
                _advance_sequence(conn, sequence_table, max(int(row["id"]) for row in rows))

    def _importer(self, table: str, column: str) -> Callable[[Any], Any]:
        """Neutral value -> what this column takes: 0/1 -> boolean, JSON text stays text for
        PostgreSQL to parse (minus what JSONB refuses); text and ISO times go as they are and
        the server casts them to the column's type."""
        if table not in self._column_types:
            with self._read() as conn:
                self._column_types[table] = dict(
                    conn.execute(
                        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                        (table,),
                    ).fetchall()
                )
        kind = self._column_types[table].get(column)
        if kind == "boolean":
            return lambda value: None if value is None else bool(int(value))
        if kind == "jsonb":
            return lambda value: None if value is None else _clean_json(_json_source(value))
        return lambda value: _text(value) if isinstance(value, str) else value

    # -- doctor ------------------------------------------------------------------------------
    def diagnose(self) -> StoreDiagnosis:
        with self._read() as conn:
            version = _version(conn)
        return StoreDiagnosis(DIALECT, self.location, version, None, None, None)

    # -- status page and metrics (issue 17) ----------------------------------------------
    def lifetime_counts(self) -> LifetimeCounts:
        received = self._count(
            "SELECT greatest(coalesce((SELECT max(id) FROM webhook_queue), 0), "
            "coalesce((SELECT max(id) FROM webhook_archive), 0))"
        )
        in_queue = {
            str(status): int(count)
            for status, count in self._rows(
                "SELECT status, count(*) FROM webhook_queue "
                "WHERE status IN ('pending', 'processing', 'dead') GROUP BY status"
            )
        }
        dead = self._count("SELECT count(*) FROM webhook_dead_letter WHERE reason != 'invalid'")
        rejections = {
            str(reason): int(count)
            for reason, count in self._rows(
                "SELECT reason, sum(count) FROM webhook_rejections GROUP BY reason"
            )
        }
        return LifetimeCounts(received, in_queue, dead, rejections)

    def hourly_activity(self, since: datetime, until: datetime) -> list[HourActivity]:
        with self._read() as conn:
            done = conn.execute(
                "SELECT date_trunc('hour', completed_at AT TIME ZONE 'UTC') AS hour, count(*), "
                "avg(extract(epoch FROM completed_at - received_at)), "
                "max(extract(epoch FROM completed_at - received_at)) "
                "FROM webhook_queue WHERE completed_at >= %s AND completed_at < %s GROUP BY hour",
                (since, until),
            ).fetchall()
            dead = dict(
                conn.execute(
                    "SELECT date_trunc('hour', dead_at AT TIME ZONE 'UTC') AS hour, count(*) "
                    "FROM webhook_dead_letter WHERE dead_at >= %s AND dead_at < %s GROUP BY hour",
                    (since, until),
                ).fetchall()
            )
        by_hour = {hour: (count, avg, top) for hour, count, avg, top in done}

        def seconds(value: object) -> float | None:
            return None if value is None else float(str(value))

        return [
            HourActivity(
                hour.replace(tzinfo=UTC),
                int(by_hour.get(hour, (0, None, None))[0]),
                int(dead.get(hour, 0)),
                seconds(by_hour.get(hour, (0, None, None))[1]),
                seconds(by_hour.get(hour, (0, None, None))[2]),
            )
            for hour in sorted(set(by_hour) | set(dead))
        ]

    def events_for_resources(
        self, resource_ids: Sequence[str], newest: int, limit: int
    ) -> list[QueueEvent]:
        ids = list(dict.fromkeys(resource_ids))
        if not ids:
            return []
        sql = (
            f"SELECT {QUEUE.sql} FROM webhook_queue WHERE id > "
            "(SELECT coalesce(max(id), 0) FROM webhook_queue) - ? "
            "AND resource_id = ANY(?) ORDER BY id DESC LIMIT ?"
        )
        return [self.records.queue_event(row) for row in self._rows(sql, newest, ids, limit)]


# -- schema ----------------------------------------------------------------------------------
_MIGRATION_LOCK_KEY = "hashtextextended('mpcheckout:migrate:' || current_schema(), 0)"


def _version(conn: psycopg.Connection) -> int:
    if _one(conn.execute("SELECT to_regclass('meta')"))[0] is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _migrate(conn: psycopg.Connection) -> int:
    """Each pending migration and its version record in one transaction, under an advisory
    lock, so that processes opening a new database at once migrate it once: a waiter re-reads
    the version when it gets the lock. The lock is a session lock taken before the transaction
    begins: a transaction that waited inside itself would still see the catalog as it was
    (a cached "no such table") and create the tables again. The file runs whole: PostgreSQL
    takes several statements at once (and a DO block's inner `;` would defeat splitting)."""
    conn.execute(f"SELECT pg_advisory_lock({_MIGRATION_LOCK_KEY})")
    try:
        for migration in migrations(DIALECT):
            with conn.transaction():
                if _version(conn) >= migration.version:
                    continue
                conn.execute(migration.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO meta (key, value, updated_at) "
                    "VALUES ('schema_version', %s, now()) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value, updated_at = now()",
                    (str(migration.version),),
                )
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.execute(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK_KEY})")
    return _version(conn)


def _row_counts(conn: psycopg.Connection, tables: Sequence[str]) -> dict[str, int]:
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {name}" for name in tables)
    return {name: count for name, count in conn.execute(sql)}


_RUN_LOCK_SQL = (
    "SELECT {op}(hashtextextended('mpcheckout:run-lock:' || current_schema() || ':' || %s, 0))"
)


# -- intake ----------------------------------------------------------------------------------
_ENQUEUE_SQL = """
    INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, user_id,
        payload, headers, received_via, next_attempt_at, received_at, updated_at)
    SELECT k, t, a, r, l, u, p, h::jsonb, %(via)s, %(now)s, %(now)s, %(now)s
    FROM unnest(%(keys)b::text[], %(topics)b::text[], %(actions)b::text[],
        %(resources)b::text[], %(live)b::boolean[], %(users)b::text[], %(payloads)b::text[],
        %(headers)b::text[])
        WITH ORDINALITY AS n(k, t, a, r, l, u, p, h, position)
    ORDER BY position
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
"""


def _queue_columns(notifications: Sequence[Notification]) -> dict[str, list[Any]]:
    return {
        "keys": [item.dedupe_key for item in notifications],
        "topics": [item.topic for item in notifications],
        "actions": [item.action for item in notifications],
        "resources": [item.resource_id for item in notifications],
        "live": [item.live_mode for item in notifications],
        "users": [item.user_id for item in notifications],
        "payloads": [_text(item.payload) for item in notifications],
        "headers": [_json_text(item.headers) if item.headers else None for item in notifications],
    }


def _unlock_and_return(name: str, conn: psycopg.Connection, pool: ConnectionPool | None) -> None:
    released = False
    with contextlib.suppress(psycopg.Error):
        unlock = _RUN_LOCK_SQL.format(op="pg_advisory_unlock")
        released = bool(_one(conn.execute(unlock, (name,)))[0])
    if not released:
        conn.close()  # never hand a session that may still hold the lock back to the pool
    if pool is not None:
        pool.putconn(conn)


# -- processing ------------------------------------------------------------------------------
_CLAIM_SQL = f"""
    WITH expired AS (
        SELECT id FROM webhook_queue WHERE status = 'processing' AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    ), due AS (
        SELECT id FROM webhook_queue WHERE status = 'pending' AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    ), picked AS (
        SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT %(limit)s
    )
    UPDATE webhook_queue AS q SET
        attempt_log = CASE WHEN q.status = 'processing' THEN coalesce(q.attempt_log, '[]'::jsonb)
            || jsonb_build_array(jsonb_build_object('attempt', q.attempts, 'at', %(stamp)s::text,
            'error', 'lease expired', 'worker', q.locked_by)) ELSE q.attempt_log END,
        status = 'processing', attempts = q.attempts + 1, locked_by = %(worker)s,
        locked_until = %(until)s, next_attempt_at = %(until)s, updated_at = %(now)s,
        dedupe_key = CASE WHEN left(q.dedupe_key, 3) = '{COALESCE_KEY_PREFIX}'
            AND strpos(q.dedupe_key, '#') = 0 THEN q.dedupe_key || '#' || q.id
            ELSE q.dedupe_key END
    FROM picked WHERE q.id = picked.id
    RETURNING q.id, q.topic, q.action, q.resource_id, q.attempts, q.received_via
"""


class _PostgresBatch:
    """The batch statements (core.Batch) on a pipelined transaction: statements go out without
    waiting, and the connection waits only where a result is read."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def owned(self, worker_id: str, ids: list[int]) -> set[int]:
        """Locked until commit, in id order. It waits rather than skips: a claim that scanned
        one of these rows as pending in an older snapshot keeps a lock on it until it commits
        (PostgreSQL locks a row before rechecking it), and skipping would refuse a lease that
        is still ours. Claims never wait, so this cannot deadlock with them; a reclaimed row
        fails the recheck and is refused."""
        if not ids:
            return set()
        rows = self.conn.execute(
            "SELECT id FROM webhook_queue WHERE id = ANY(%b::bigint[]) AND status = 'processing' "
            "AND locked_by = %s ORDER BY id FOR UPDATE",
            (ids, worker_id),
        ).fetchall()
        return {row[0] for row in rows}

    def lock_orders(self, order_ids: Iterable[str]) -> None:
        _lock_all(self.conn, ORDER_LOCKS, order_ids)

    def read_state(
        self, order_ids: set[str], payment_ids: set[str]
    ) -> tuple[dict[str, Order], set[tuple[str, str]]]:
        """Both reads are sent before either is awaited."""
        orders = self.conn.execute(
            f"SELECT {ORDERS.sql} FROM orders WHERE id = ANY(%b::text[])", (list(order_ids),)
        )
        logged = self.conn.execute(
            "SELECT payment_id, state_key FROM payment_logs WHERE payment_id = ANY(%b::text[])",
            (list(payment_ids),),
        )
        by_id = {row[0]: _RECORDS.order(row) for row in orders.fetchall()}
        return by_id, {(row[0], row[1]) for row in logged.fetchall()}

    def write_applied(self, decided: BatchDecision, source: str, now: datetime) -> None:
        """ON CONFLICT on the log is a backstop only: the order locks already serialise one
        payment's states (a payment always maps to the same order), and make the orders'
        upsert exact."""
        logs = [payment_log_values(p, source, now, _ENCODER) for p in decided.logged]
        if logs:
            self.conn.execute(_INSERT_LOGS_SQL, _columns(logs))
        orders = [order_values(order, _ENCODER) for order in decided.orders.values()]
        if orders:
            self.conn.execute(_UPSERT_ORDERS_SQL, _columns(orders))

    def run_many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(_native(sql), rows)

    def write_outcomes(self, outcomes: list[EventOutcome], worker_id: str, now: datetime) -> None:
        done = [o for o in outcomes if o.kind == "completed"]
        retries = [o for o in outcomes if o.kind == "retry"]
        dead = [o for o in outcomes if o.kind == "dead"]
        common = {"now": now, "stamp": utc_iso(now), "worker": worker_id}
        if done:
            notes = [_text(o.note) for o in done]
            self.conn.execute(_COMPLETED_SQL, {**common, "ids": _ids(done), "notes": notes})
        if retries:
            nexts = [o.next_attempt_at for o in retries]
            errors = [_text(o.error) for o in retries]
            self.conn.execute(
                _RETRY_SQL,
                {**common, "ids": _ids(retries), "nexts": nexts, "errors": errors}
                | {"hints": _hints(retries)},
            )
        if dead:
            errors = [_text(o.error) for o in dead]
            reasons = [o.dead_reason for o in dead]
            self.conn.execute(
                _DEAD_SQL,
                {**common, "ids": _ids(dead), "errors": errors, "reasons": reasons}
                | {"hints": _hints(dead)},
            )

    def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        """Expired leases first, then due events, each read in (status, next_attempt_at) index
        order; SKIP LOCKED passes over rows another worker is claiming or committing right
        now. For a claimed row next_attempt_at holds the lease expiry, as on SQLite."""
        params = {
            "now": now,
            "stamp": utc_iso(now),
            "until": now + timedelta(seconds=lease_seconds),
            "worker": worker_id,
            "limit": limit,
        }
        rows = self.conn.execute(_CLAIM_SQL, params).fetchall()
        return [ClaimedEvent(*row) for row in sorted(rows)]


def _ids(outcomes: list[EventOutcome]) -> list[int]:
    return [outcome.event_id for outcome in outcomes]


def _hints(outcomes: list[EventOutcome]) -> list[str | None]:
    return [_json_text(outcome.hint) if outcome.hint else None for outcome in outcomes]


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


_COMPLETED_SQL = (
    "UPDATE webhook_queue AS q SET status = 'completed', completed_at = %(now)s, "
    "updated_at = %(now)s, locked_by = NULL, locked_until = NULL, note = u.note "
    "FROM unnest(%(ids)b::bigint[], %(notes)b::text[]) AS u(id, note) WHERE q.id = u.id"
)
_INSERT_LOGS_SQL = (
    f"INSERT INTO payment_logs ({', '.join(PAYMENT_LOG_WRITE)}) "
    "SELECT p, s, d, r, a, c, u, src, at, raw::jsonb, refunded, k FROM unnest(%b::text[], "
    "%b::text[], %b::text[], %b::text[], %b::numeric[], %b::text[], %b::timestamptz[], "
    "%b::text[], %b::timestamptz[], %b::text[], %b::numeric[], %b::text[]) "
    "AS l(p, s, d, r, a, c, u, src, at, raw, refunded, k) "
    "ON CONFLICT (payment_id, state_key) DO NOTHING"
)
_UPSERT_ORDERS_SQL = (
    f"INSERT INTO orders ({ORDERS.sql}) SELECT * FROM unnest(%b::text[], %b::text[], "
    "%b::numeric[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
    "%b::timestamptz[], %b::timestamptz[], %b::timestamptz[], %b::timestamptz[], "
    "%b::text[], %b::text[], %b::bigint[]) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in ORDERS.names[1:])
)

_FAILED_SET = (
    "updated_at = %(now)s, locked_by = NULL, locked_until = NULL, "
    "attempt_log = coalesce(q.attempt_log, '[]'::jsonb) || jsonb_build_array(jsonb_build_object("
    "'attempt', q.attempts, 'at', %(stamp)s::text, 'error', u.error, 'worker', %(worker)s::text) "
    "|| coalesce(u.hint::jsonb, '{}'::jsonb))"  # a 404's hint (hints.py) joins its entry
)
_RETRY_SQL = (
    "UPDATE webhook_queue AS q SET status = 'pending', next_attempt_at = u.next, "
    f"last_error = u.error, {_FAILED_SET} FROM unnest(%(ids)b::bigint[], "
    "%(nexts)b::timestamptz[], %(errors)b::text[], %(hints)b::text[]) AS u(id, next, error, hint) "
    "WHERE q.id = u.id"
)
_DEAD_SQL = f"""
    WITH dead AS (
        UPDATE webhook_queue AS q SET status = 'dead', last_error = u.error, {_FAILED_SET}
        FROM unnest(%(ids)b::bigint[], %(errors)b::text[], %(reasons)b::text[],
            %(hints)b::text[]) WITH ORDINALITY AS u(id, error, reason, hint, position)
        WHERE q.id = u.id
        RETURNING q.id, q.dedupe_key, q.topic, q.payload, q.headers, u.reason, q.last_error,
            q.attempt_log, q.attempts, q.received_via, u.position
    )
    INSERT INTO webhook_dead_letter (queue_id, dedupe_key, topic, payload, headers, reason,
        last_error, attempt_log, attempts, received_via, dead_at)
    SELECT id, dedupe_key, topic, payload, headers, reason, last_error, attempt_log, attempts,
        received_via, %(now)s FROM dead ORDER BY position
"""


def _replay_one(
    conn: psycopg.Connection,
    letters: dict[int, tuple[int | None, datetime | None]],
    dead_letter_id: int,
    now: datetime,
) -> ReplayResult:
    refused = replay_refusal(dead_letter_id, letters.get(dead_letter_id))
    if refused is not None:
        return refused
    queue_id = letters[dead_letter_id][0]
    conn.execute(
        "UPDATE webhook_queue SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, "
        "updated_at = %(now)s, locked_by = NULL, locked_until = NULL, completed_at = NULL, "
        "received_via = 'replay' WHERE id = %(queue_id)s AND status = 'dead'",
        {"now": now, "queue_id": queue_id},
    )
    conn.execute(
        "UPDATE webhook_dead_letter SET resolved_at = %s, resolution = 'replayed' WHERE id = %s",
        (now, dead_letter_id),
    )
    letters[dead_letter_id] = (queue_id, now)  # the same id twice in one call: replayed once
    return ReplayResult(dead_letter_id, "replayed", queue_id)


# -- copy ------------------------------------------------------------------------------------
def _json_source(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _advance_sequence(conn: psycopg.Connection, table: str, top: int) -> None:
    """Move the table's identity past imported ids (never back), so new rows do not collide."""
    conn.execute(
        "SELECT setval(seq, %(top)s) FROM (SELECT pg_get_serial_sequence(%(table)s, 'id')"
        "::regclass AS seq) AS s WHERE %(top)s > coalesce(pg_sequence_last_value(seq), 0)",
        {"table": table, "top": top},
    )
