"""What the two SQL backends share: helpers, the flow of a worker's batch, and the queries that
read the same in both dialects. Each backend keeps its dialect's SQL and its transactions and
supplies the few primitives `StoreCore` runs on. Portable statements here are written with `?`
placeholders; the PostgreSQL store turns them into `%s`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from ..clock import utc_iso
from ..errors import StorageError, ValidationError
from ..models import (
    ActionPlan,
    Chargeback,
    ClaimedEvent,
    DeadLetter,
    LedgerChargeback,
    LedgerRefund,
    Order,
    Payment,
    PaymentLog,
    QueueEvent,
    ReconcileRun,
)
from ..payments import BatchDecision, chargeback_outcome, decide_batch
from ..reports.records import (
    MoneyDay,
    PaidOrder,
    PaymentMoney,
    ReportFileRecord,
    ReportImportCounts,
    ReportNotificationRecord,
    StoredReportRow,
)
from .base import (
    TABLES,
    ApplyCounts,
    CommitResult,
    DeadLetterFilter,
    EventFilter,
    EventOrigins,
    EventOutcome,
    OrderFilter,
    PaymentRules,
    QueueSnapshot,
    RateLimitDecision,
    ReplayResult,
    tally_origins,
)
from .rows import (
    ACTION_PLANS,
    CHARGEBACKS,
    DEAD_LETTERS,
    MONEY_DAYS,
    MONEY_PAYMENTS,
    ORDERS,
    PAYMENT_LOGS,
    QUEUE,
    RECONCILE_RUNS,
    REFUNDS,
    REPORT_FILES,
    REPORT_NOTIFICATIONS,
    REPORT_ROWS,
    Columns,
    Encoder,
    Readers,
    ReportBatch,
    Row,
    action_values,
    chargeback_values,
    reconcile_run_values,
    refund_values,
    report_file_values,
)

LATENCY_SAMPLE = 10_000  # latest processing latencies `status` reads
_SNAPSHOT_COUNTS = (
    "pending_due",
    "pending_later",
    "processing",
    "processing_expired",
    "completed_since",
    "dead_unresolved",
    "dead_since",
    "retried_since",
)
_SNAPSHOT_TIMES = ("oldest_pending_at", "next_retry_at", "last_received_at")
# QueueSnapshot's figures in field order, each an index range, never a full scan. Parameters:
# now, now, now, since, since, now.
_SNAPSHOT_SQL = """
    SELECT
        (SELECT count(*) FROM webhook_queue WHERE status = 'pending' AND next_attempt_at <= ?),
        (SELECT count(*) FROM webhook_queue WHERE status = 'pending' AND next_attempt_at > ?),
        (SELECT count(*) FROM webhook_queue WHERE status = 'processing'),
        (SELECT count(*) FROM webhook_queue
            WHERE status = 'processing' AND next_attempt_at <= ?),
        (SELECT count(*) FROM webhook_queue WHERE completed_at >= ?),
        (SELECT count(*) FROM webhook_dead_letter WHERE resolved_at IS NULL),
        (SELECT count(*) FROM webhook_dead_letter WHERE dead_at >= ?
            AND resolved_at IS NULL AND reason <> 'invalid'),
        (SELECT count(*) FROM webhook_queue WHERE status = 'pending' AND attempts > 0),
        (SELECT min(received_at) FROM webhook_queue WHERE status = 'pending'),
        (SELECT min(next_attempt_at) FROM webhook_queue
            WHERE status = 'pending' AND next_attempt_at > ?),
        (SELECT received_at FROM webhook_queue ORDER BY id DESC LIMIT 1)
"""
# A payment whose two sides disagree (money_payments). SQLite's migration 0007 indexes exactly
# this expression (money_payments_open): keep the two the same, or the query scans the table.
MONEY_MISMATCH = """(
    settlements > 0 AND order_id IS NULL AND logged = 0
    OR settlements > 0 AND order_amount_text IS NOT NULL AND order_amount IS DISTINCT FROM gross
    OR settlements > 0 AND order_currency <> currency
    OR refunded IS DISTINCT FROM ledger_refunded
    OR chargeback_rows > 0 AND ledger_chargebacks = 0
        AND coalesce(order_status, '') NOT IN
            ('chargeback_open', 'chargeback_lost', 'chargeback_covered', 'charged_back')
    OR gross IS NULL OR charged_back IS NULL OR refunded IS NULL OR ledger_refunded IS NULL
)"""
R = TypeVar("R")


def known_table(table: str) -> str:
    """The table name, once it is one of ours (it is spliced into SQL)."""
    if table not in TABLES:
        raise ValidationError("error.unknown_table", table=table)
    return table


def neutral(value: Any) -> Any:
    """What SQLite stores, the form `export_rows` hands out: ISO `Z` text times, decimal
    strings, JSON text, 0/1 flags."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def invalid_key(payload: str) -> str:
    """The dedupe key of an unparseable input: identical inputs are kept once."""
    import hashlib  # here, as socket below: opening a store for a read does not need them

    return "invalid:" + hashlib.sha256(payload.encode("utf-8", "backslashreplace")).hexdigest()


def where(*candidates: tuple[str, Any]) -> tuple[str, list[Any]]:
    """`WHERE a = ? AND b >= ?` from (clause, value) pairs whose value is given (None or "":
    no filter); a clause without a `?` needs only a true value."""
    clauses, params = [], []
    for clause, value in candidates:
        if value is None or value == "":
            continue
        clauses.append(clause)
        if "?" in clause:
            params.append(value)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def checked_version(current: int, latest: int, migrate: bool, upgrade: Callable[[], int]) -> int:
    """Refuse a database newer than this code; apply pending migrations when asked."""
    if current > latest:
        raise StorageError("error.schema_too_new", found=current, supported=latest)
    if current < latest and migrate:
        return upgrade()
    return current


def rejection_hour(moment: datetime) -> str:
    """The hour a refused request is counted under: `2026-01-15T12`."""
    return utc_iso(moment)[:13]


def holder_gone(holder: str) -> bool:
    """Whether a lock holder named `host:pid` (runtime.worker_id) was a process on this host
    that no longer exists (killed mid-run). Another host's process, or a name of another form,
    cannot be told: False."""
    import socket

    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


def lock_free(holder: str, since: datetime | None, now: datetime, stale_after: float) -> bool:
    """Whether a held run lock may be taken: held longer than `stale_after` seconds, or by a
    process of this host that is gone."""
    if since is None or (now - since).total_seconds() >= stale_after:
        return True
    return holder_gone(holder)


def replay_refusal(
    dead_letter_id: int, letter: tuple[int | None, Any] | None
) -> ReplayResult | None:
    """Why a dead letter (its queue_id, resolved_at) cannot be sent back to the queue: unknown,
    already resolved, or an invalid input with no queue row. None when it can."""
    if letter is None:
        return ReplayResult(dead_letter_id, "not_found")
    queue_id, resolved_at = letter
    if resolved_at is not None:
        return ReplayResult(dead_letter_id, "already_resolved", queue_id)
    if queue_id is None:
        return ReplayResult(dead_letter_id, "invalid_payload")
    return None


def rate_decision(
    window_start: datetime, count: int, limit: int, window_seconds: int
) -> RateLimitDecision:
    reset_at = window_start + timedelta(seconds=window_seconds)
    return RateLimitDecision(count <= limit, limit, max(limit - count, 0), reset_at)


def payments_by_source(outcomes: Sequence[EventOutcome]) -> dict[str, list[Payment]]:
    grouped: dict[str, list[Payment]] = {}
    for outcome in outcomes:
        if outcome.kind == "completed" and outcome.payments:
            grouped.setdefault(outcome.source, []).extend(outcome.payments)
    return grouped


# Report rows and files: a row once per identity, a file once per hash (see store/base.py).
INSERT_REPORT_ROW_SQL = (
    f"INSERT INTO report_rows ({REPORT_ROWS.sql}) "
    f"VALUES ({', '.join('?' * len(REPORT_ROWS.names))}) ON CONFLICT (row_key) DO NOTHING"
)
INSERT_REPORT_FILE_SQL = (
    f"INSERT INTO report_files ({REPORT_FILES.sql}) "
    f"VALUES ({', '.join('?' * len(REPORT_FILES.names))}) ON CONFLICT (sha256) DO NOTHING"
)
CHUNK = 500  # ids per `IN (...)`: far below either backend's limit on parameters


def chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


def insert_report_batches(
    batches: Iterable[ReportBatch], insert: Callable[[ReportBatch], int], file_known: bool
) -> ReportImportCounts:
    """Feed each batch to `insert`, which writes its rows and returns how many were new."""
    read = added = flagged = 0
    for batch in batches:
        added += insert(batch)
        read += len(batch.rows)
        flagged += batch.flagged
    return ReportImportCounts(read, added, flagged, file_known)


def file_row(record: ReportFileRecord, counts: ReportImportCounts, encode: Encoder) -> Row:
    counted = ReportFileRecord(
        **{
            **{name: getattr(record, name) for name in REPORT_FILES.names},
            "rows_read": counts.rows_read,
            "rows_added": counts.rows_added,
            "rows_flagged": counts.rows_flagged,
        }
    )
    return report_file_values(counted, encode)


class Batch(Protocol):
    """One backend's statements for applying payments and writing back a worker's batch, on
    the connection of one open transaction."""

    def owned(self, worker_id: str, ids: list[int]) -> set[int]:
        """The ids still leased to the worker, locked until the transaction ends."""

    def lock_orders(self, order_ids: Iterable[str]) -> None:
        """Serialise writers of these orders until the transaction ends (a no-op where the
        transaction already holds the only write lock)."""

    def read_state(
        self, order_ids: set[str], payment_ids: set[str]
    ) -> tuple[dict[str, Order], set[tuple[str, str]]]:
        """The stored orders by id, and the (payment id, status) pairs already logged."""

    def write_applied(self, decided: BatchDecision, source: str, now: datetime) -> None:
        """Write the log rows and order rows of a batch's decisions."""

    def write_outcomes(self, outcomes: list[EventOutcome], worker_id: str, now: datetime) -> None:
        """Mark events completed, pending again or dead, as their outcomes say."""

    def run_many(self, sql: str, rows: Sequence[Row]) -> None:
        """One portable statement (`?` placeholders) for each row, in this transaction."""

    def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        """As Store.claim_due_events, inside this transaction."""


def apply_in(
    batch: Batch,
    payments: Sequence[Payment],
    rules: PaymentRules,
    source: str,
    now: datetime,
    counts: ApplyCounts,
    encode: Encoder,
) -> None:
    """Two reads for the whole batch, decisions in memory, then batched writes."""
    if not payments:
        return
    orders, logged = batch.read_state(
        {rules.order_id_for(p) for p in payments}, {p.id for p in payments}
    )
    decided = decide_batch(payments, orders, logged, now, rules.order_id_for, rules.decide)
    for outcome in decided.outcomes:
        counts.add(outcome.value)
    batch.write_applied(decided, source, now)
    refunds = [refund_values(r, order_id, now, encode) for r, order_id in decided.refunds]
    batch.run_many(UPSERT_REFUND_SQL, refunds)


# A refund is recorded once under its id; a later state of it (in_process -> approved) moves
# its status, never its first sighting.
UPSERT_REFUND_SQL = (
    f"INSERT INTO refunds ({REFUNDS.sql}, updated_at, raw) VALUES ({', '.join('?' * 10)}) "
    "ON CONFLICT (id) DO UPDATE SET status = excluded.status, amount = excluded.amount, "
    "order_id = coalesce(refunds.order_id, excluded.order_id), "
    "updated_at = excluded.updated_at, raw = excluded.raw"
)
UPSERT_CHARGEBACK_SQL = (
    f"INSERT INTO chargebacks ({', '.join(CHARGEBACKS.names[:-1])}, raw) "
    f"VALUES ({', '.join('?' * len(CHARGEBACKS.names))}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{name} = excluded.{name}"
        for name in CHARGEBACKS.names[1:-3]
        if name not in ("payment_id", "order_id")
    )
    + ", payment_id = coalesce(excluded.payment_id, chargebacks.payment_id)"
    + ", order_id = coalesce(excluded.order_id, chargebacks.order_id)"
    + ", updated_at = excluded.updated_at, raw = excluded.raw"
    # A fetch that lost the race to a later one must not turn the clock back.
    + " WHERE excluded.date_last_updated IS NULL OR chargebacks.date_last_updated IS NULL"
    + " OR excluded.date_last_updated >= chargebacks.date_last_updated"
)


def chargeback_rows(
    outcomes: Sequence[EventOutcome], rules: PaymentRules, now: datetime, encode: Encoder
) -> list[Row]:
    """Each completed outcome's chargebacks, tied to the order of the payment they dispute."""
    rows = []
    for outcome in outcomes:
        if outcome.kind != "completed":
            continue
        by_id = {payment.id: payment for payment in outcome.payments}
        for chargeback in outcome.chargebacks:
            rows.append(_chargeback_row(chargeback, by_id, rules, now, encode))
    return rows


def _chargeback_row(
    chargeback: Chargeback,
    payments: dict[str, Payment],
    rules: PaymentRules,
    now: datetime,
    encode: Encoder,
) -> Row:
    payment_id = next(iter(chargeback.payment_ids), None)
    payment = payments.get(payment_id) if payment_id else None
    order_id = rules.order_id_for(payment) if payment is not None else None
    outcome = chargeback_outcome(chargeback)
    return chargeback_values(chargeback, payment_id, order_id, outcome, now, encode)


class StoreCore:
    """The Store methods both backends run alike, on primitives each backend supplies."""

    records: Readers
    encode: Encoder
    marker: str  # the dialect's positional placeholder

    # -- primitives ---------------------------------------------------------------------------
    def _rows(self, sql: str, *params: Any) -> list[Row]:
        raise NotImplementedError

    def _change(self, sql: str, *params: Any) -> list[Row]:
        """Run one writing statement in its own transaction; the rows it returns."""
        raise NotImplementedError

    def _batch(self, *, redoable: bool = False) -> AbstractContextManager[Batch]:
        """A write transaction for a batch; `redoable`: its loss to a crash only sends the
        worker's events round again."""
        raise NotImplementedError

    def _preview_batch(self) -> AbstractContextManager[Batch]:
        """A transaction that is rolled back whatever happens in it."""
        raise NotImplementedError

    def _first(self, read: Callable[[Row], R], sql: str, *params: Any) -> R | None:
        rows = self._rows(sql, *params)
        return read(rows[0]) if rows else None

    def _rows_where_in(
        self,
        columns: Columns[R],
        read: Callable[[Row], R],
        table: str,
        where: tuple[str, Sequence[str]],
    ) -> list[R]:
        """The records of `table` whose column `where[0]` is one of `where[1]`, in chunks."""
        column, values = where
        found: list[R] = []
        for part in chunks(values):
            sql = (
                f"SELECT {columns.sql} FROM {table} "
                f"WHERE {column} IN ({', '.join('?' * len(part))})"
            )
            found.extend(read(row) for row in self._rows(sql, *part))
        return found

    def _count(self, sql: str, *params: Any) -> int:
        return int(self._rows(sql, *params)[0][0])

    # -- events -------------------------------------------------------------------------------
    def list_events(self, filters: EventFilter) -> list[QueueEvent]:
        clauses, params = where(
            ("status = ?", filters.status),
            ("topic = ?", filters.topic),
            ("received_at >= ?", self.encode.time(filters.since)),
            ("live_mode = ?", self.encode.flag(filters.live_mode)),
            ("user_id = ?", filters.user_id),
        )
        sql = f"SELECT {QUEUE.sql} FROM webhook_queue {clauses} ORDER BY id DESC LIMIT ?"
        return [self.records.queue_event(row) for row in self._rows(sql, *params, filters.limit)]

    def get_event(self, event_id: int) -> QueueEvent | None:
        sql = f"SELECT {QUEUE.sql} FROM webhook_queue WHERE id = ?"
        return self._first(self.records.queue_event, sql, event_id)

    # -- processing ---------------------------------------------------------------------------
    def claim_due_events(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        with self._batch(redoable=True) as batch:
            return batch.claim(worker_id, limit, lease_seconds, now)

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
        with self._batch(redoable=True) as batch:
            owned = batch.owned(worker_id, [outcome.event_id for outcome in outcomes])
            mine = [outcome for outcome in outcomes if outcome.event_id in owned]
            result.committed = [outcome.event_id for outcome in mine]
            result.lease_lost = [o.event_id for o in outcomes if o.event_id not in owned]
            by_source = payments_by_source(mine)
            batch.lock_orders(rules.order_id_for(p) for ps in by_source.values() for p in ps)
            for source, payments in by_source.items():
                apply_in(batch, payments, rules, source, now, result.applied, self.encode)
            batch.run_many(UPSERT_CHARGEBACK_SQL, chargeback_rows(mine, rules, now, self.encode))
            batch.write_outcomes(mine, worker_id, now)
            if claim_limit:
                result.claimed = batch.claim(worker_id, claim_limit, lease_seconds, now)
        return result

    def apply_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, source: str, now: datetime
    ) -> ApplyCounts:
        counts = ApplyCounts()
        with self._batch() as batch:
            batch.lock_orders(map(rules.order_id_for, payments))
            apply_in(batch, payments, rules, source, now, counts, self.encode)
        return counts

    def preview_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, now: datetime
    ) -> ApplyCounts:
        counts = ApplyCounts()
        with self._preview_batch() as batch:
            batch.lock_orders(map(rules.order_id_for, payments))
            apply_in(batch, payments, rules, "reconcile", now, counts, self.encode)
        return counts

    def count_due_events(self, now: datetime) -> int:
        return self._count(
            "SELECT count(*) FROM webhook_queue WHERE status IN ('pending', 'processing') "
            "AND next_attempt_at <= ?",
            self.encode.time(now),
        )

    # -- dead letters -------------------------------------------------------------------------
    def list_dead_letters(self, filters: DeadLetterFilter) -> list[DeadLetter]:
        clauses, params = where(
            ("resolved_at IS NULL", filters.unresolved_only or None),
            ("reason = ?", filters.reason),
            ("topic = ?", filters.topic),
            ("dead_at >= ?", self.encode.time(filters.since)),
        )
        limit = "" if filters.limit is None else f"LIMIT {int(filters.limit)}"
        sql = (
            f"SELECT {DEAD_LETTERS.sql} FROM webhook_dead_letter {clauses} ORDER BY id DESC {limit}"
        )
        return [self.records.dead_letter(row) for row in self._rows(sql, *params)]

    def get_dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        sql = f"SELECT {DEAD_LETTERS.sql} FROM webhook_dead_letter WHERE id = ?"
        return self._first(self.records.dead_letter, sql, dead_letter_id)

    def discard_dead_letter(self, dead_letter_id: int, note: str, now: datetime) -> bool:
        discarded = self._change(
            "UPDATE webhook_dead_letter SET resolved_at = ?, resolution = 'discarded', "
            "note = ? WHERE id = ? AND resolved_at IS NULL RETURNING id",
            self.encode.time(now),
            self.encode.text(note),
            dead_letter_id,
        )
        return len(discarded) == 1

    # -- orders -------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> Order | None:
        sql = f"SELECT {ORDERS.sql} FROM orders WHERE id = ?"
        return self._first(self.records.order, sql, order_id)

    def list_orders(self, filters: OrderFilter) -> list[Order]:
        clauses, params = where(
            ("status = ?", filters.status),
            ("created_at >= ?", self.encode.time(filters.since)),
        )
        sql = f"SELECT {ORDERS.sql} FROM orders {clauses} ORDER BY created_at DESC, id LIMIT ?"
        return [self.records.order(row) for row in self._rows(sql, *params, filters.limit)]

    def payment_logs_for_order(self, order_id: str) -> list[PaymentLog]:
        rows = self._rows(
            f"SELECT {PAYMENT_LOGS.sql} FROM payment_logs WHERE external_reference = ? "
            "OR payment_id IN (SELECT payment_id FROM orders WHERE id = ?) ORDER BY id",
            order_id,
            order_id,
        )
        return [self.records.payment_log(row) for row in rows]

    def order_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) FROM orders GROUP BY status")
        return {status: int(count) for status, count in rows}

    def stale_pending_orders(self, created_before: datetime, limit: int) -> list[Order]:
        rows = self._rows(
            f"SELECT {ORDERS.sql} FROM orders WHERE status = 'pending' "
            "AND payment_id IS NULL AND created_at < ? ORDER BY created_at LIMIT ?",
            self.encode.time(created_before),
            limit,
        )
        return [self.records.order(row) for row in rows]

    def count_stale_pending_orders(self, created_before: datetime, limit: int) -> int:
        # Counting inside a LIMITed subquery stops at `limit`: each row costs a table lookup
        # (payment_id is not in the index), ~4 ms per 10,000 stale orders uncapped.
        rows = self._rows(
            "SELECT count(*) FROM (SELECT 1 FROM orders WHERE status = 'pending' "
            "AND payment_id IS NULL AND created_at < ? LIMIT ?) AS stale",
            self.encode.time(created_before),
            limit,
        )
        return int(rows[0][0])

    def mp_orders_to_revisit(
        self, statuses: Sequence[str], created_since: datetime, limit: int
    ) -> list[str]:
        if not statuses:
            return []
        marks = ", ".join("?" * len(statuses))
        rows = self._rows(
            f"SELECT mp_order_id FROM orders WHERE mp_order_id IS NOT NULL "
            f"AND status IN ({marks}) AND created_at >= ? ORDER BY created_at DESC, id LIMIT ?",
            *statuses,
            self.encode.time(created_since),
            limit,
        )
        return [str(row[0]) for row in rows]

    # -- reconcile ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", key)
        return str(rows[0][0]) if rows else None  # the column is NOT NULL

    def set_meta(self, key: str, value: str, now: datetime) -> None:
        self._change(
            "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            key,
            value,
            self.encode.time(now),
        )

    def count_archivable(self, completed_before: datetime) -> int:
        return self._count(
            "SELECT count(*) FROM webhook_queue WHERE completed_at < ? AND status = 'completed'",
            self.encode.time(completed_before),
        )

    def record_reconcile_run(self, run: ReconcileRun) -> int:
        names = RECONCILE_RUNS.names[1:]
        rows = self._change(
            f"INSERT INTO webhook_reconciliation_logs ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))}) RETURNING id",
            *reconcile_run_values(run, self.encode),
        )
        return int(rows[0][0])

    def list_reconcile_runs(self, limit: int) -> list[ReconcileRun]:
        rows = self._rows(
            f"SELECT {RECONCILE_RUNS.sql} FROM webhook_reconciliation_logs "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            limit,
        )
        return [self.records.reconcile_run(row) for row in rows]

    # -- status -------------------------------------------------------------------------------
    latency_sql: str  # completed_at - received_at in seconds, for completed_at >= ?, LIMIT ?

    def queue_snapshot(
        self, now: datetime, since: datetime, latency_since: datetime
    ) -> QueueSnapshot:
        at, since_at = self.encode.time(now), self.encode.time(since)
        figures = self._rows(_SNAPSHOT_SQL, at, at, at, since_at, since_at, at)[0]
        decode_time = self.records.decode.time
        latency = self._rows(self.latency_sql, self.encode.time(latency_since), LATENCY_SAMPLE)
        rejections = self._rows(
            "SELECT reason, sum(count) FROM webhook_rejections WHERE hour >= ? GROUP BY reason",
            rejection_hour(since),
        )
        counted: dict[str, Any] = dict(zip(_SNAPSHOT_COUNTS, map(int, figures[:8]), strict=True))
        times: dict[str, Any] = dict(
            zip(_SNAPSHOT_TIMES, map(decode_time, figures[8:]), strict=True)
        )
        return QueueSnapshot(
            **counted,
            **times,
            latency_seconds=[float(seconds) for (seconds,) in latency],
            rejections_since={reason: int(count) for reason, count in rejections},
        )

    def count_rejection(self, reason: str, now: datetime) -> None:
        self._change(
            "INSERT INTO webhook_rejections (hour, reason, count) VALUES (?, ?, 1) "
            "ON CONFLICT (hour, reason) DO UPDATE SET count = webhook_rejections.count + 1",
            rejection_hour(now),
            reason,
        )

    # -- doctor and status: whose events ------------------------------------------------------
    def event_origins(self, since: datetime, limit: int) -> EventOrigins:
        # Grouped in SQL over the newest `limit` rows (the primary key's order): milliseconds
        # whatever the queue's size, and no payload is read.
        groups = self._rows(
            "SELECT user_id, live_mode, CASE WHEN received_at >= ? THEN 1 ELSE 0 END AS recent, "
            "count(*) FROM (SELECT user_id, live_mode, received_at FROM webhook_queue "
            "ORDER BY id DESC LIMIT ?) AS newest GROUP BY user_id, live_mode, recent",
            self.encode.time(since),
            limit,
        )
        flag = self.records.decode.flag
        return tally_origins([(u, flag(mode), recent, n) for u, mode, recent, n in groups], limit)

    # -- alerts -------------------------------------------------------------------------------
    def get_alert_state(self, condition: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT last_fired_at, pending FROM alert_state WHERE condition = ?", condition
        )
        if not rows:
            return None
        return {"last_fired_at": self.records.decode.time(rows[0][0]), "pending": rows[0][1]}

    def pending_alert_conditions(self) -> list[str]:
        rows = self._rows("SELECT condition FROM alert_state WHERE pending IS NOT NULL")
        return [str(row[0]) for row in rows]

    def set_alert_state(
        self, condition: str, last_fired_at: datetime | None, pending: str | None, now: datetime
    ) -> None:
        self._change(
            "INSERT INTO alert_state (condition, last_fired_at, pending, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (condition) DO UPDATE SET "
            "last_fired_at = excluded.last_fired_at, pending = excluded.pending, "
            "updated_at = excluded.updated_at",
            condition,
            self.encode.time(last_fired_at),
            self.encode.text(pending),
            self.encode.time(now),
        )

    # -- copy ---------------------------------------------------------------------------------
    def count_rows(self, table: str) -> int:
        return self._count(f"SELECT count(*) FROM {known_table(table)}")

    # -- the money ledger ---------------------------------------------------------------------
    def refunds_for_orders(self, order_ids: Sequence[str]) -> list[LedgerRefund]:
        if not order_ids:
            return []
        marks = ", ".join("?" * len(order_ids))
        sql = (
            f"SELECT {REFUNDS.sql} FROM refunds WHERE order_id IN ({marks}) "
            "ORDER BY date_created, id"
        )
        return [self.records.refund(row) for row in self._rows(sql, *order_ids)]

    def refunded_totals(self) -> dict[str, tuple[int, Decimal]]:
        # Summed here, in Decimal: SQLite's sum() would go through REAL.
        rows = self._rows(
            "SELECT o.currency, r.amount FROM refunds AS r LEFT JOIN orders AS o "
            "ON o.id = r.order_id WHERE r.status = 'approved'"
        )
        decode = self.records.decode.money
        totals: dict[str, tuple[int, Decimal]] = {}
        for currency, amount in rows:
            count, total = totals.get(currency or "", (0, Decimal(0)))
            totals[currency or ""] = (count + 1, total + (decode(amount) or Decimal(0)))
        return totals

    def list_chargebacks(
        self, *, open_only: bool = False, order_id: str | None = None, limit: int = 100
    ) -> list[LedgerChargeback]:
        clauses, params = where(
            ("outcome = ?", "open" if open_only else None), ("order_id = ?", order_id)
        )
        sql = (
            f"SELECT {CHARGEBACKS.sql} FROM chargebacks {clauses} "
            "ORDER BY first_seen_at DESC, id LIMIT ?"
        )
        return [self.records.chargeback(row) for row in self._rows(sql, *params, limit)]

    def get_chargeback(self, chargeback_id: str) -> LedgerChargeback | None:
        sql = f"SELECT {CHARGEBACKS.sql} FROM chargebacks WHERE id = ?"
        return self._first(self.records.chargeback, sql, chargeback_id)

    def chargebacks_to_alert(self, limit: int) -> list[LedgerChargeback]:
        sql = (
            f"SELECT {CHARGEBACKS.sql} FROM chargebacks WHERE alerted_at IS NULL "
            "ORDER BY first_seen_at, id LIMIT ?"
        )
        return [self.records.chargeback(row) for row in self._rows(sql, limit)]

    def mark_chargebacks_alerted(self, ids: Sequence[str], now: datetime) -> None:
        for chargeback_id in ids:
            self._change(
                "UPDATE chargebacks SET alerted_at = ? WHERE id = ? AND alerted_at IS NULL",
                self.encode.time(now),
                chargeback_id,
            )

    def record_action(self, plan: ActionPlan, now: datetime) -> ActionPlan:
        self._change(
            "INSERT INTO mp_actions (" + ACTION_PLANS.sql + ", status, attempts, created_at, "
            "updated_at) VALUES (" + ", ".join("?" * 12) + ") ON CONFLICT (idempotency_key) "
            "DO UPDATE SET attempts = mp_actions.attempts + 1, updated_at = excluded.updated_at",
            *action_values(plan, now, self.encode),
        )
        sql = f"SELECT {ACTION_PLANS.sql} FROM mp_actions WHERE idempotency_key = ?"
        stored = self._first(self.records.action_plan, sql, plan.key)
        assert stored is not None  # written just above, and never deleted
        return stored

    def find_open_action(
        self, kind: str, payment_id: str, amount: Decimal | None
    ) -> ActionPlan | None:
        sql = (
            f"SELECT {ACTION_PLANS.sql} FROM mp_actions WHERE payment_id = ? AND kind = ? "
            "AND status = 'open' ORDER BY created_at"
        )
        for row in self._rows(sql, payment_id, kind):
            plan = self.records.action_plan(row)
            if plan.amount == amount:
                return plan
        return None

    def finish_action(
        self, key: str, status: str, result_id: str | None, error: str | None, now: datetime
    ) -> None:
        self._change(
            "UPDATE mp_actions SET status = ?, result_id = ?, last_error = ?, updated_at = ? "
            "WHERE idempotency_key = ?",
            status,
            result_id,
            error,
            self.encode.time(now),
            key,
        )

    def note_action_attempt(self, key: str, error: str | None, now: datetime) -> None:
        self._change(
            "UPDATE mp_actions SET last_error = ?, updated_at = ? WHERE idempotency_key = ?",
            error,
            self.encode.time(now),
            key,
        )

    # -- settlement and release reports --------------------------------------------------------
    def report_file(self, sha256: str) -> ReportFileRecord | None:
        sql = f"SELECT {REPORT_FILES.sql} FROM report_files WHERE sha256 = ?"
        return self._first(self.records.report_file, sql, sha256)

    def list_report_files(self, limit: int) -> list[ReportFileRecord]:
        sql = (
            f"SELECT {REPORT_FILES.sql} FROM report_files ORDER BY imported_at DESC, sha256 LIMIT ?"
        )
        return [self.records.report_file(row) for row in self._rows(sql, limit)]

    def report_rows_between(self, since: datetime, until: datetime) -> list[StoredReportRow]:
        sql = (
            f"SELECT {REPORT_ROWS.sql} FROM report_rows WHERE row_date >= ? AND row_date < ? "
            "ORDER BY row_date, row_key"
        )
        rows = self._rows(sql, self.encode.time(since), self.encode.time(until))
        return [self.records.report_row(row) for row in rows]

    def report_rows_for_payments(self, payment_ids: Sequence[str]) -> list[StoredReportRow]:
        found = self._rows_where_in(
            REPORT_ROWS, self.records.report_row, "report_rows", ("source_id", payment_ids)
        )
        return sorted(found, key=lambda row: (row.row_date is None, row.row_date, row.row_key))

    def money_days(self, first_day: str, last_day: str) -> list[MoneyDay]:
        sql = (
            f"SELECT {MONEY_DAYS.sql} FROM money_days WHERE day >= ? AND day <= ? "
            "ORDER BY day, currency"
        )
        return [self.records.money_day(row) for row in self._rows(sql, first_day, last_day)]

    def money_mismatches(self) -> list[PaymentMoney]:
        sql = f"SELECT {MONEY_PAYMENTS.sql} FROM money_payments WHERE {MONEY_MISMATCH}"
        return [self.records.payment_money(row) for row in self._rows(sql)]

    def unsettled_payments(self, since: datetime, until: datetime) -> list[PaidOrder]:
        rows = self._rows(
            "SELECT order_id, payment_id, order_amount_text, order_currency, order_status, "
            "paid_at FROM money_payments "
            "WHERE settlements = 0 AND paid_at IS NOT NULL AND paid_at >= ? AND paid_at < ? "
            "ORDER BY paid_at, payment_id",
            self.encode.time(since),
            self.encode.time(until),
        )
        return self._paid_orders(rows)

    def paid_orders(self, since: datetime, until: datetime) -> list[PaidOrder]:
        rows = self._rows(
            "SELECT id, payment_id, amount, currency, status, paid_at FROM orders "
            "WHERE paid_at >= ? AND paid_at < ? AND payment_id IS NOT NULL ORDER BY paid_at, id",
            self.encode.time(since),
            self.encode.time(until),
        )
        return self._paid_orders(rows)

    def _paid_orders(self, rows: list[Row]) -> list[PaidOrder]:
        money, time = self.records.decode.money, self.records.decode.time
        found = []
        for order_id, payment_id, amount, currency, status, paid_at in rows:
            moment = time(paid_at)
            assert moment is not None  # selected by paid_at >= ?
            found.append(PaidOrder(order_id, payment_id, money(amount), currency, status, moment))
        return found

    def seen_payments(self, payment_ids: Sequence[str]) -> dict[str, str | None]:
        seen: dict[str, str | None] = {}
        for part in chunks(payment_ids):
            marks = ", ".join("?" * len(part))
            for payment_id, order_id in self._rows(
                f"SELECT payment_id, id FROM orders WHERE payment_id IN ({marks})", *part
            ):
                seen[payment_id] = order_id
            for payment_id, reference in self._rows(
                "SELECT DISTINCT payment_id, external_reference FROM payment_logs "
                f"WHERE payment_id IN ({marks})",
                *part,
            ):
                if seen.get(payment_id) is None:
                    seen[payment_id] = reference or f"mp-{payment_id}"
        return seen

    def report_notification(self, transaction_id: str) -> ReportNotificationRecord | None:
        sql = (
            f"SELECT {REPORT_NOTIFICATIONS.sql} FROM report_notifications WHERE transaction_id = ?"
        )
        return self._first(self.records.report_notification, sql, transaction_id)

    def record_report_notification(self, record: ReportNotificationRecord) -> bool:
        added = self._change(
            f"INSERT INTO report_notifications ({REPORT_NOTIFICATIONS.sql}) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (transaction_id) DO NOTHING "
            "RETURNING transaction_id",
            record.transaction_id,
            record.report_type,
            record.status,
            record.files,
            record.rows_added,
            self.encode.time(record.received_at),
        )
        return len(added) == 1
