"""The Store contract. Every backend (sqlite.py, postgres.py) implements exactly this; the
services know nothing else of storage. Each method says what is atomic and what it returns when
there is nothing. Timestamps in and out are timezone-aware UTC datetimes; money is Decimal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from ..models import (
    ActionPlan,
    Chargeback,
    ClaimedEvent,
    DeadLetter,
    DeadLetterReason,
    InvalidInput,
    LedgerChargeback,
    LedgerRefund,
    Notification,
    Order,
    Payment,
    PaymentLog,
    QueueEvent,
    ReconcileRun,
)
from ..payments import Decision
from ..records import record
from ..reports.records import (
    MoneyDay,
    PaidOrder,
    PaymentMoney,
    ReportFileRecord,
    ReportImportCounts,
    ReportNotificationRecord,
    StoredReportRow,
)
from .rows import ReportBatch, ReportEncoding

# Every table of the schema, in copy order, with how one of its rows is told apart (what
# `db copy --force` and the PostgreSQL import match on).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "orders": ("id",),
    "payment_logs": ("id",),
    "webhook_queue": ("id",),
    "webhook_archive": ("id",),
    "webhook_dead_letter": ("id",),
    "webhook_reconciliation_logs": ("id",),
    "rate_limits": ("key",),
    "webhook_rejections": ("hour", "reason"),
    "alert_state": ("condition",),
    "meta": ("key",),
    "refunds": ("id",),
    "chargebacks": ("id",),
    "mp_actions": ("idempotency_key",),
    "report_files": ("sha256",),
    "report_rows": ("row_key",),
    "report_notifications": ("transaction_id",),
}
TABLES = tuple(PRIMARY_KEYS)
HOURLY_LATENCY_SAMPLE = 200  # completions per hour whose latency the status page averages

# What a worker decided for one claimed event (EventOutcome.kind).
OutcomeKind = Literal["completed", "retry", "dead"]
# How one dead letter's replay went (ReplayResult.result); `would_replay` is a dry run's.
ReplayKind = Literal["replayed", "already_resolved", "not_found", "invalid_payload", "would_replay"]

PaymentDecider = Callable[[Order | None, Payment, datetime], Decision]
OrderIdFor = Callable[[Payment], str]


@record(slots=True, frozen=True)
class PaymentRules:
    """The business rules the store runs inside its transaction (see payments.py)."""

    order_id_for: OrderIdFor
    decide: PaymentDecider


@record(slots=True, frozen=True)
class EnqueueCounts:
    queued: int
    duplicates: int


@record(slots=True, frozen=True)
class EventFilter:
    status: str | None = None
    topic: str | None = None
    since: datetime | None = None
    limit: int = 50
    live_mode: bool | None = None  # None: either (and events that never said)
    user_id: str | None = None  # the account the notification names


@record(slots=True, frozen=True)
class DeadLetterFilter:
    reason: str | None = None
    topic: str | None = None
    since: datetime | None = None
    unresolved_only: bool = True
    limit: int | None = 100


@record(slots=True, frozen=True)
class OrderFilter:
    status: str | None = None
    since: datetime | None = None
    limit: int = 50


@record(slots=True, frozen=True)
class EventOutcome:
    """What a worker decided for one claimed event.

    `kind` is "completed" (apply `payments`, mark done), "retry" (pending again at
    `next_attempt_at`) or "dead" (dead-letter with `dead_reason`). `error` is kept in the
    event's attempt log, and so are `hint`'s fields (a 404's likely cause, hints.py) when given.
    """

    event_id: int
    kind: OutcomeKind
    payments: tuple[Payment, ...] = ()
    chargebacks: tuple[Chargeback, ...] = ()  # recorded with the order of the payment disputed
    error: str | None = None
    next_attempt_at: datetime | None = None
    dead_reason: DeadLetterReason | None = None
    note: str | None = None
    source: str = "webhook"  # payment_logs.source for the payments a completed event applies
    hint: dict[str, Any] | None = None  # merged into the attempt's log entry


@record(slots=True)
class ApplyCounts:
    """How applying payments went, by payments.Outcome value."""

    by_outcome: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, count: int = 1) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + count

    def merge(self, other: ApplyCounts) -> None:
        for outcome, count in other.by_outcome.items():
            self.add(outcome, count)


@record(slots=True)
class CommitResult:
    committed: list[int] = field(default_factory=list)
    lease_lost: list[int] = field(default_factory=list)
    applied: ApplyCounts = field(default_factory=ApplyCounts)
    claimed: list[ClaimedEvent] = field(default_factory=list)


@record(slots=True, frozen=True)
class ReplayResult:
    dead_letter_id: int
    result: ReplayKind
    queue_id: int | None = None


@record(slots=True, frozen=True)
class StoreInfo:
    backend: str
    location: str
    schema_version: int
    size_bytes: int | None
    row_counts: dict[str, int]


@record(slots=True, frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime


@record(slots=True, frozen=True)
class QueueSnapshot:
    """Figures for `status`, each read with an index range, never a full scan. `dead_since`
    counts unresolved dead letters of processing failures (not `invalid` input) since `since`:
    replaying them clears the health check."""

    pending_due: int
    pending_later: int
    processing: int
    processing_expired: int
    completed_since: int
    dead_unresolved: int
    dead_since: int
    retried_since: int
    oldest_pending_at: datetime | None
    next_retry_at: datetime | None
    last_received_at: datetime | None
    latency_seconds: list[float]
    rejections_since: dict[str, int]


@record(slots=True, frozen=True)
class LifetimeCounts:
    events_received: int
    in_queue: dict[str, int]  # "pending" | "processing" | "dead" -> events now in that state
    dead_letters: int
    rejections: dict[str, int]


@record(slots=True, frozen=True)
class HourActivity:
    hour: datetime  # the UTC hour's start
    completed: int
    dead: int
    latency_avg_seconds: float | None
    latency_max_seconds: float | None


class Store(Protocol):
    backend: str
    report_encoding: ReportEncoding  # how import_report takes report rows

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release connections. Idempotent."""

    def start_maintenance(self) -> None:
        """Run backend housekeeping in the background for a long-running process (SQLite: WAL
        checkpoints on their own connection, off the commit path). Idempotent; stopped by
        close(). A no-op where nothing needs it."""

    def info(self) -> StoreInfo:
        """Backend, location (password redacted), schema version, size in bytes (None when the
        backend cannot tell) and the row count of every table."""

    def schema_version(self) -> int:
        """The applied migration number; 0 for an empty database."""

    def upgrade(self) -> int:
        """Apply every pending migration, each together with its version record in one
        transaction; safe when several processes open a new database at once. Returns the
        version reached."""

    # -- intake ------------------------------------------------------------------------------
    def enqueue_many(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> EnqueueCounts:
        """Insert notifications as pending events due `now`, skipping any whose dedupe key is
        already queued. Atomic: all of the batch or none. Returns queued and duplicate counts."""

    def enqueue_each(
        self, notifications: Sequence[Notification], received_via: str, now: datetime
    ) -> list[bool]:
        """As `enqueue_many` (one transaction for all), telling for each notification, in order,
        whether it was queued (True) or is a duplicate (False): the receiver answers each
        request of a group commit on its own."""

    def record_invalid_many(self, inputs: Sequence[InvalidInput], now: datetime) -> int:
        """Keep unparseable inputs as dead letters with reason `invalid`. An input identical to
        an unresolved invalid dead letter is not stored twice. Atomic. Returns rows stored."""

    # -- events ------------------------------------------------------------------------------
    def list_events(self, filters: EventFilter) -> list[QueueEvent]:
        """Events newest first (by received_at), every given filter applied (`live_mode` and
        `user_id` match the event's own columns; an event that never said matches neither
        value). Empty list when none match."""

    def get_event(self, event_id: int) -> QueueEvent | None:
        """One event with its attempt log, or None."""

    # -- processing --------------------------------------------------------------------------
    def claim_due_events(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedEvent]:
        """Lease up to `limit` events that are due (pending with next_attempt_at <= now) or
        whose lease expired, expired leases first. One atomic statement: no event is handed to
        two workers. Each claimed event gets attempts + 1, locked_by = worker_id and a lease
        until now + lease_seconds; a coalescing dedupe key is released so that a new identical
        notification queues again. Empty list when nothing is due."""

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
        """Write back a batch of results in one transaction. An outcome whose event is no longer
        leased by `worker_id` is refused (listed in lease_lost) and its payments are not applied.
        Completed outcomes apply their payments exactly as `apply_payments` does. With
        `claim_limit`, the same transaction then claims the next batch as `claim_due_events`
        does (returned in `claimed`): one commit per batch instead of two."""

    def apply_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, source: str, now: datetime
    ) -> ApplyCounts:
        """Apply payment states to orders in one transaction: a payment state whose (payment_id,
        state_key) — status, detail and refunded amount — is already in payment_logs is a
        duplicate and changes nothing; otherwise `rules.decide` runs on the
        order as stored and its decision (log row, order row) is written."""

    def preview_payments(
        self, payments: Sequence[Payment], rules: PaymentRules, now: datetime
    ) -> ApplyCounts:
        """What `apply_payments` would do, counted the same way, with nothing written (the
        decisions run inside a transaction that is rolled back)."""

    def count_due_events(self, now: datetime) -> int:
        """Events a claim at `now` could take: pending and due, or with an expired lease."""

    def recover_expired_leases(self, now: datetime) -> int:
        """Return events whose lease expired to pending, due now. Atomic. Returns how many."""

    # -- dead letters ------------------------------------------------------------------------
    def list_dead_letters(self, filters: DeadLetterFilter) -> list[DeadLetter]:
        """Dead letters newest first. Empty list when none match."""

    def get_dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        """One dead letter with payload, headers and every attempt's error, or None."""

    def replay_dead_letters(self, ids: Sequence[int], now: datetime) -> list[ReplayResult]:
        """Send each queue-backed dead letter back to pending (attempts reset, due now) and mark
        it resolved `replayed`, in one transaction. A resolved one is reported
        `already_resolved`, an unknown id `not_found`, an `invalid` one (no queue row)
        `invalid_payload` and left as it is. Replaying twice changes nothing the second time."""

    def replay_invalid(
        self, dead_letter_id: int, notification: Notification, now: datetime
    ) -> ReplayResult:
        """Queue a re-parsed invalid dead letter as a new event (received_via `replay`) and mark
        the dead letter replayed, atomically. A duplicate key still resolves the dead letter."""

    def discard_dead_letter(self, dead_letter_id: int, note: str, now: datetime) -> bool:
        """Mark an unresolved dead letter `discarded` with a note. False if unknown or resolved."""

    # -- orders ------------------------------------------------------------------------------
    def create_order(self, order: Order) -> None:
        """Insert a new order. Raises ValidationError if the id exists."""

    def set_order_preference(self, order_id: str, preference_id: str, now: datetime) -> None:
        """Record the Checkout Pro preference created for an order."""

    def get_order(self, order_id: str) -> Order | None:
        """One order, or None."""

    def list_orders(self, filters: OrderFilter) -> list[Order]:
        """Orders newest first. Empty list when none match."""

    def payment_logs_for_order(self, order_id: str) -> list[PaymentLog]:
        """Every payment state applied to an order, oldest first."""

    def order_counts(self) -> dict[str, int]:
        """Number of orders per status (statuses with none are absent)."""

    def stale_pending_orders(self, created_before: datetime, limit: int) -> list[Order]:
        """Pending orders created before the given time that have no payment, oldest first."""

    def count_stale_pending_orders(self, created_before: datetime, limit: int) -> int:
        """How many orders `stale_pending_orders` would list, counted up to `limit` (a bounded
        read of the (status, created_at) index range, no order decoded). 0 when none."""

    def mp_orders_to_revisit(
        self, statuses: Sequence[str], created_since: datetime, limit: int
    ) -> list[str]:
        """The Orders-API order ids (`ORD…`) of local orders in one of `statuses`, created at
        or after `created_since`, newest first, at most `limit`. Empty list when none."""

    # -- reconcile ---------------------------------------------------------------------------
    def try_lock(self, name: str, holder: str, now: datetime, stale_after: float) -> bool:
        """Take the named run lock if it is free, held for longer than `stale_after` seconds
        (a hung or crashed holder), or held by a process of this host that no longer exists
        (holders are named `host:pid`, as runtime.worker_id makes them: a run killed mid-way
        is taken over at once instead of after `stale_after`). Atomic test-and-set: the
        holder's liveness is judged inside it. True when taken. A backend whose lock lives
        with a session (PostgreSQL's advisory locks) frees it when the holder's process dies,
        so across processes it needs neither, and cannot honour `stale_after`: a holder that
        hangs without dying keeps the lock."""

    def release_lock(self, name: str, holder: str) -> None:
        """Release the named lock if `holder` holds it; otherwise do nothing."""

    def get_meta(self, key: str) -> str | None:
        """A meta value, or None."""

    def set_meta(self, key: str, value: str, now: datetime) -> None:
        """Insert or replace a meta value."""

    def archive_completed(self, completed_before: datetime, limit: int, now: datetime) -> int:
        """Move up to `limit` completed events finished before the given time from the queue to
        the archive table, in one transaction. Returns how many moved."""

    def count_archivable(self, completed_before: datetime) -> int:
        """Completed events finished before the given time (what archive_completed would move)."""

    def record_reconcile_run(self, run: ReconcileRun) -> int:
        """Insert one reconcile log row; returns its id."""

    def list_reconcile_runs(self, limit: int) -> list[ReconcileRun]:
        """Past runs, newest first."""

    # -- status ------------------------------------------------------------------------------
    def queue_snapshot(
        self, now: datetime, since: datetime, latency_since: datetime
    ) -> QueueSnapshot:
        """Queue figures for `status`; `since` bounds the "last 24 h" counts and latency_since
        the processing-latency sample."""

    def count_rejection(self, reason: str, now: datetime) -> None:
        """Count one refused webhook request under its hour and reason."""

    # -- rate limits and alerts --------------------------------------------------------------
    def hit_rate_limit(
        self, key: str, limit: int, window_seconds: int, now: datetime
    ) -> RateLimitDecision:
        """Count one request against a fixed window; atomic across processes sharing the
        store. `allowed` is False once `limit` requests were counted in the current window."""

    def get_alert_state(self, condition: str) -> dict[str, Any] | None:
        """{"last_fired_at": datetime | None, "pending": str | None} for a condition, or None."""

    def pending_alert_conditions(self) -> list[str]:
        """Conditions holding an alert that could not be delivered yet."""

    def set_alert_state(
        self, condition: str, last_fired_at: datetime | None, pending: str | None, now: datetime
    ) -> None:
        """Insert or replace an alert condition's state."""

    # -- copy --------------------------------------------------------------------------------
    def export_rows(self, table: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        """Every row of a table in primary-key order, in batches, values in the backend-neutral
        form import_rows takes."""

    def import_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows exported by any backend, keeping their ids. Atomic per call."""

    def count_rows(self, table: str) -> int:
        """Number of rows in a table."""

    # -- the money ledger --------------------------------------------------------------------
    # Refunds are written by `apply_payments`/`commit_outcomes` from each applied payment state
    # (once per refund id); chargebacks by `commit_outcomes` from each completed outcome (once
    # per chargeback id, a later state replacing an earlier one, never the reverse).
    def refunds_for_orders(self, order_ids: Sequence[str]) -> list[LedgerRefund]:
        """The refunds of these orders, oldest first. Empty list when there are none."""

    def refunded_totals(self) -> dict[str, tuple[int, Decimal]]:
        """Approved refunds by their order's currency ("" when unknown): how many, and their
        exact sum. Empty dict when there are none."""

    def list_chargebacks(
        self, *, open_only: bool = False, order_id: str | None = None, limit: int = 100
    ) -> list[LedgerChargeback]:
        """Chargebacks, newest first; only undecided ones with `open_only`."""

    def get_chargeback(self, chargeback_id: str) -> LedgerChargeback | None:
        """One chargeback by its id, or None."""

    def chargebacks_to_alert(self, limit: int) -> list[LedgerChargeback]:
        """Chargebacks no alert has announced yet, oldest first."""

    def mark_chargebacks_alerted(self, ids: Sequence[str], now: datetime) -> None:
        """Record that these chargebacks were announced (each at most once)."""

    # -- writes to Mercado Pago (actions.py) --------------------------------------------------
    def record_action(self, plan: ActionPlan, now: datetime) -> ActionPlan:
        """Commit a write's key before its request is sent. Atomic: a key already stored
        counts one more attempt and keeps what was stored. Returns the stored plan."""

    def find_open_action(
        self, kind: str, payment_id: str, amount: Decimal | None
    ) -> ActionPlan | None:
        """The oldest write of this kind, payment and requested amount (None: the whole
        amount) that never got a definite answer, or None."""

    def finish_action(
        self, key: str, status: str, result_id: str | None, error: str | None, now: datetime
    ) -> None:
        """Close a write with Mercado Pago's definite answer: "done" or "refused"."""

    def note_action_attempt(self, key: str, error: str | None, now: datetime) -> None:
        """Keep why a write's answer never came; the write stays open."""

    # -- settlement and release reports (issue 16) --------------------------------------------
    def import_report(
        self, file: ReportFileRecord, batches: Iterable[ReportBatch], now: datetime
    ) -> ReportImportCounts:
        """Insert every row of one report file not stored yet (by row_key), and the file's
        record (once per sha256; a file seen before keeps its first record). The rows come
        encoded as `report_encoding` says (store.rows.report_batches). Atomic: `batches` is
        consumed inside one transaction, so an exception it raises half-way (a bad amount on
        line 900,000) leaves nothing of the file behind. Returns rows read, added, flagged."""

    def report_file(self, sha256: str) -> ReportFileRecord | None:
        """An imported file by its hash, or None."""

    def list_report_files(self, limit: int) -> list[ReportFileRecord]:
        """Imported files, newest first. Empty list when none."""

    def report_rows_between(self, since: datetime, until: datetime) -> list[StoredReportRow]:
        """Rows of either report dated (row_date) in [since, until), oldest first."""

    def report_rows_for_payments(self, payment_ids: Sequence[str]) -> list[StoredReportRow]:
        """Rows whose SOURCE_ID is one of these ids, any date, oldest first."""

    def money_days(self, first_day: str, last_day: str) -> list[MoneyDay]:
        """The report rows' sums per UTC day and currency for days (YYYY-MM-DD) in
        [first_day, last_day], by day then currency; kept in step with every import."""

    def money_mismatches(self) -> list[PaymentMoney]:
        """Payments, of any date, whose settlement rows and what mpcheckout holds disagree:
        settled but never seen, gross or currency unlike the order's, refunds unlike the
        ledger's, a chargeback the ledger lacks; and those with an amount finer than a cent."""

    def unsettled_payments(self, since: datetime, until: datetime) -> list[PaidOrder]:
        """Orders paid (paid_at) in [since, until) by a payment that no settlement row names
        yet, oldest first."""

    def paid_orders(self, since: datetime, until: datetime) -> list[PaidOrder]:
        """Orders with a payment whose paid_at is in [since, until), oldest first."""

    def seen_payments(self, payment_ids: Sequence[str]) -> dict[str, str | None]:
        """Of these payment ids, those mpcheckout ever recorded (a payment log, or an order's
        payment), each with the order it belongs to (None when unknown)."""

    def report_notification(self, transaction_id: str) -> ReportNotificationRecord | None:
        """A report-ready notification already handled, or None."""

    def record_report_notification(self, record: ReportNotificationRecord) -> bool:
        """Record a handled notification; False (and nothing changed) when its transaction id
        was recorded before."""

    # -- doctor ------------------------------------------------------------------------------
    def event_origins(self, since: datetime, limit: int) -> EventOrigins:
        """Whose notifications the queue holds: of the newest `limit` queue events (by id, so
        the read is bounded whatever the queue's size), those received at or after `since`,
        counted by the event's `user_id` and `live_mode` columns (None where the notification
        named none). `limit_reached` tells that older ones were not read."""

    def diagnose(self) -> StoreDiagnosis:
        """What `doctor` checks of the database itself, read only: the backend's location
        (password redacted), schema version, journal mode, `PRAGMA quick_check` and the file's
        permission bits. The last three are None where the backend has no such thing
        (PostgreSQL). Raises StorageError when the database cannot be read at all."""

    # -- status page and metrics (issue 17) -------------------------------------------------
    def lifetime_counts(self) -> LifetimeCounts:
        """Totals since the store was created, each read in O(log n) or from a small table:
        events received (the highest queue id ever handed out, archived ones included; ids are
        never reused), events now pending/processing/dead in the queue, dead letters of
        processing failures (resolved or not), and refused requests by reason."""

    def hourly_activity(self, since: datetime, until: datetime) -> list[HourActivity]:
        """Per UTC hour from `since` to `until`, oldest first: events completed, dead letters,
        and the average and longest received -> completed latency over up to
        HOURLY_LATENCY_SAMPLE of the hour's completions (a backend may use all of them). Hours
        with neither completions nor dead letters are absent. Read through the completed_at
        and dead_at indexes: milliseconds at a million events."""

    def events_for_resources(
        self, resource_ids: Sequence[str], newest: int, limit: int
    ) -> list[QueueEvent]:
        """Events about any of these resources (payment ids) among the `newest` queue rows,
        newest first, at most `limit`. resource_id has no index: the window bounds the scan.
        Empty list when none match."""


def first_of_each(notifications: Sequence[Notification], inserted: set[str]) -> list[bool]:
    """Queued or not, per notification: of a key inserted by this batch, only its first
    occurrence was (the rows insert in batch order); the rest are duplicates."""
    seen: set[str] = set()
    queued = []
    for item in notifications:
        queued.append(item.dedupe_key in inserted and item.dedupe_key not in seen)
        seen.add(item.dedupe_key)
    return queued


@record(slots=True, frozen=True)
class EventOrigin:
    user_id: str | None
    live_mode: bool | None
    count: int


@record(slots=True, frozen=True)
class EventOrigins:
    """Queue events by account and mode (see Store.event_origins)."""

    scanned: int
    limit_reached: bool
    origins: tuple[EventOrigin, ...]


@record(slots=True, frozen=True)
class StoreDiagnosis:
    backend: str
    location: str
    schema_version: int
    journal_mode: str | None
    quick_check: str | None
    file_mode: int | None


def tally_origins(groups: Sequence[tuple[Any, Any, Any, Any]], limit: int) -> EventOrigins:
    """(user_id, live_mode, received since?, count) groups of the newest `limit` events ->
    EventOrigins, biggest first. Both backends group in SQL and decode their values first."""
    counts: dict[tuple[str | None, bool | None], int] = {}
    read = recent = 0
    for user_id, live_mode, is_recent, count in groups:
        read += int(count)
        if is_recent:
            recent += int(count)
            key = (None if user_id is None else str(user_id), live_mode)
            counts[key] = counts.get(key, 0) + int(count)
    origins = tuple(
        EventOrigin(user_id, live_mode, count)
        for (user_id, live_mode), count in sorted(
            counts.items(), key=lambda item: (-item[1], str(item[0]))
        )
    )
    return EventOrigins(recent, read >= limit and recent == read, origins)
