"""`reconcile`: the hourly job that misses nothing. For a shop without a server it is the only
way payments arrive at all.

One run, under a run lock (a second overlapping run leaves at once): recover expired leases;
process due events within a time budget; sweep Mercado Pago's payment search by
date_last_updated from the stored checkpoint (minus an overlap, for clock skew and late
indexing) up to now, applying every payment found exactly as a webhook would (source
`reconcile`) — this finds payments whose webhook never came; sweep the Orders API the same
way (its own checkpoint, `reconcile.orders_checkpoint`) and look again at the open local orders
that came from it; list orders still pending past a threshold with no payment; archive
completed events past retention; write one log row. A checkpoint advances only when its whole
sweep finished, so a failed page is swept again.

The Orders search filters on the creation date only (research mp-wave2 §5.2; the sandbox does
the same), so an order created before the window and paid or refunded later is not in it. Rather
than widening every hourly search to a link's whole lifetime (every page of every order of the
last weeks, each hour), the run re-fetches the local orders that came from the Orders API, are
in a state money can still leave (pending, paid, partially refunded, disputed...) and were
created within `orders_revisit` (default 30 days), newest first and at most
`orders_revisit_limit` per run: one GET each, and only for orders this shop knows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from .alerts import AlertOutcome, run_alerts
from .clock import Clock, parse_iso, utc_iso
from .config import ReconcileSettings, Settings
from .durations import parse_duration
from .errors import ExternalServiceError, LockHeldError, MercadoPagoUnavailableError
from .gateway import MercadoPagoGateway
from .models import MpOrder, Order, OrderStatus, Payment, ReconcileRun, RunStatus
from .order_payments import payment_for_mp_order
from .processor import RULES, Processor, ProcessSummary, build_processor
from .store.base import ApplyCounts, Store

LOCK_NAME = "reconcile"
CHECKPOINT_KEY = "reconcile.checkpoint"
ORDERS_CHECKPOINT_KEY = "reconcile.orders_checkpoint"
# Local states an Orders-API order can still leave: they are looked at again.
REVISITED = tuple(
    state.value
    for state in (
        OrderStatus.PENDING,
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.DISPUTED,
        OrderStatus.CHARGEBACK_OPEN,
        OrderStatus.AMOUNT_MISMATCH,
    )
)
SWEEP_BATCH = 200
ARCHIVE_LIMIT = 50_000
STALE_LIST_LIMIT = 100
# What a sweep changes beyond what webhooks already did: the states nobody told us about.
DRIFT_OUTCOMES = ("applied", "created", "mismatch")


class PaymentSearch(Protocol):
    def search_payments(
        self, updated_from: datetime, updated_to: datetime
    ) -> Iterator[Payment]: ...

    def search_orders(self, begin: datetime, end: datetime) -> Iterator[MpOrder]: ...

    def get_order(self, order_id: str) -> MpOrder: ...


@dataclass(slots=True, frozen=True)
class ReconcileOptions:
    since: timedelta = timedelta(days=7)
    overlap: timedelta = timedelta(minutes=10)
    stale_after: timedelta = timedelta(hours=24)
    retention: timedelta = timedelta(days=30)
    budget_seconds: float = 300.0
    lock_timeout: timedelta = timedelta(hours=2)
    dry_run: bool = False
    archive: bool = True
    orders: bool = True  # sweep the Orders API too
    orders_revisit: timedelta = timedelta(days=30)
    orders_revisit_limit: int = 200


@dataclass(slots=True)
class StepReport:
    name: str
    seconds: float = 0.0
    count: int = 0
    error: str | None = None


@dataclass(slots=True)
class ReconcileResult:
    lock_held: bool = False
    dry_run: bool = False
    run: ReconcileRun | None = None
    steps: list[StepReport] = field(default_factory=list)
    sweep_window: tuple[datetime, datetime] | None = None
    sweep_outcomes: dict[str, int] = field(default_factory=dict)
    orders_window: tuple[datetime, datetime] | None = None
    orders_outcomes: dict[str, int] = field(default_factory=dict)
    stale_orders: list[Order] = field(default_factory=list)
    checkpoint_advanced: bool = False
    api_unreachable: bool = False

    @property
    def status(self) -> RunStatus | Literal["skipped"]:
        return self.run.status if self.run else "skipped"


def reconcile(
    store: Store,
    gateway: PaymentSearch,
    processor: Processor,
    clock: Clock,
    holder: str,
    options: ReconcileOptions,
) -> ReconcileResult:
    """One run. Returns `lock_held=True` without doing anything if another run holds the lock
    (an abandoned lock older than `lock_timeout` is taken over)."""
    started = clock.now()
    if not _take_lock(store, holder, started, options):
        return ReconcileResult(lock_held=True, dry_run=options.dry_run)
    try:
        return _Run(store, gateway, processor, clock, options).execute(started)
    finally:
        store.release_lock(LOCK_NAME, holder)


def _take_lock(store: Store, holder: str, now: datetime, options: ReconcileOptions) -> bool:
    """Take the run lock; the store takes over a lock whose holder was a process on this host
    that no longer exists (killed mid-run) at once instead of after `lock_timeout`."""
    return store.try_lock(LOCK_NAME, holder, now, stale_after=options.lock_timeout.total_seconds())


def wait_for_lock(
    store: Store,
    clock: Clock,
    holder: str,
    options: ReconcileOptions,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Block until the run lock is free (then leave it free for `reconcile` to take), or raise
    LockHeldError after `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    while not _take_lock(store, holder, clock.now(), options):
        if time.monotonic() >= deadline:
            raise LockHeldError(hint_key="hint.lock_held", seconds=wait_seconds)
        sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
    store.release_lock(LOCK_NAME, holder)


class _StepFailedError(Exception):
    """A step that failed part-way: what it managed (`count`) still happened."""

    def __init__(self, count: int, cause: ExternalServiceError) -> None:
        super().__init__(str(cause))
        self.count, self.cause = count, cause


class _Run:
    def __init__(
        self,
        store: Store,
        gateway: PaymentSearch,
        processor: Processor,
        clock: Clock,
        options: ReconcileOptions,
    ) -> None:
        self.store, self.gateway, self.processor = store, gateway, processor
        self.clock, self.options = clock, options
        self.result = ReconcileResult(dry_run=options.dry_run)
        self.errors = 0
        self.details: dict[str, object] = {}

    def execute(self, started: datetime) -> ReconcileResult:
        run = ReconcileRun(id=None, started_at=started, finished_at=None, status="ok")
        run.leases_recovered = self._step("recover_leases", self._recover_leases)
        processed = self._process_due()
        run.retried, run.dead_lettered = processed.retried, processed.dead_lettered
        run.swept = self._step("sweep", self._sweep)
        if self.options.orders:
            run.swept += self._step("sweep_orders", self._sweep_orders)
        outcomes = (self.result.sweep_outcomes, self.result.orders_outcomes)
        run.drift_fixed = sum(found.get(key, 0) for found in outcomes for key in DRIFT_OUTCOMES)
        self._step("stale_orders", self._stale_orders)
        run.archived = self._step("archive", self._archive)
        run.finished_at = self.clock.now()
        run.errors = self.errors
        run.status = self._status(run)
        run.details = {"steps": [_step_json(step) for step in self.result.steps], **self.details}
        if not self.options.dry_run:
            run.id = self.store.record_reconcile_run(run)
        self.result.run = run
        return self.result

    def _status(self, run: ReconcileRun) -> RunStatus:
        if not self.errors:
            return "ok"
        sweep = next(step for step in self.result.steps if step.name == "sweep")
        return "failed" if sweep.error and run.swept == 0 else "partial"

    def _step(self, name: str, action: Callable[[], int]) -> int:
        report = StepReport(name)
        started = time.monotonic()
        try:
            report.count = action()
        except _StepFailedError as failed:
            exc = failed.cause
            report.count, report.error = failed.count, f"{exc.code}: {exc.describe()}"
            self.errors += 1
            unreachable = isinstance(exc, MercadoPagoUnavailableError) and exc.status is None
            self.result.api_unreachable = self.result.api_unreachable or unreachable
        report.seconds = round(time.monotonic() - started, 3)
        self.result.steps.append(report)
        return report.count

    # -- steps -------------------------------------------------------------------------------
    def _recover_leases(self) -> int:
        now = self.clock.now()
        if self.options.dry_run:
            return self.store.queue_snapshot(now, now, now).processing_expired
        return self.store.recover_expired_leases(now)

    def _process_due(self) -> ProcessSummary:
        report = StepReport("process")
        started = time.monotonic()
        if self.options.dry_run:
            report.count = self.store.count_due_events(self.clock.now())
            summary = ProcessSummary()
        else:
            summary = self.processor.run_once(deadline=started + self.options.budget_seconds)
            report.count = summary.claimed
            failed = summary.dead_lettered + summary.retried
            if summary.api_unreachable:
                self.result.api_unreachable = True
            if failed:
                self.details["process"] = {
                    "retried": summary.retried,
                    "dead_lettered": summary.dead_lettered,
                }
        report.seconds = round(time.monotonic() - started, 3)
        self.result.steps.append(report)
        return summary

    def _sweep(self) -> int:
        begin, end = self._window()
        self.result.sweep_window = (begin, end)
        counts, batch, failure = ApplyCounts(), [], None
        seen = 0
        try:
            for payment in self.gateway.search_payments(begin, end):
                batch.append(payment)
                if len(batch) == SWEEP_BATCH:
                    counts.merge(self._apply(batch))
                    seen += len(batch)
                    batch = []
        except ExternalServiceError as exc:
            failure = exc
        if batch:  # what arrived before a failure is applied too: it is real and idempotent
            seen += len(batch)
            counts.merge(self._apply(batch))
        self._record_outcomes(counts)
        if failure is not None:
            raise _StepFailedError(seen, failure) from failure
        if not self.options.dry_run:
            self.store.set_meta(CHECKPOINT_KEY, utc_iso(end), self.clock.now())
            self.result.checkpoint_advanced = True
        return seen

    def _sweep_orders(self) -> int:
        """The Orders search over its own window, then a second look at the open orders it
        cannot see (module docstring); each order applied as its payment state."""
        begin, end = self._window(ORDERS_CHECKPOINT_KEY)
        self.result.orders_window = (begin, end)
        applier = _OrdersApplier(self._apply)
        try:
            for order in self.gateway.search_orders(begin, end):
                applier.add(order)
            if not self.options.dry_run:
                self.store.set_meta(ORDERS_CHECKPOINT_KEY, utc_iso(end), self.clock.now())
            for order_id in self._orders_to_revisit(applier.seen):
                applier.add(self.gateway.get_order(order_id))
            return applier.finish()
        except ExternalServiceError as exc:
            raise _StepFailedError(applier.finish(), exc) from exc
        finally:
            self.result.orders_outcomes = dict(applier.counts.by_outcome)
            self.details["orders_sweep"] = {"outcomes": self.result.orders_outcomes}

    def _orders_to_revisit(self, seen: set[str]) -> list[str]:
        since = self.clock.now() - self.options.orders_revisit
        limit = self.options.orders_revisit_limit
        found = self.store.mp_orders_to_revisit(REVISITED, since, limit)
        return [order_id for order_id in found if order_id not in seen]

    def _window(self, key: str = CHECKPOINT_KEY) -> tuple[datetime, datetime]:
        end = self.clock.now()
        checkpoint = parse_iso(self.store.get_meta(key))
        begin = checkpoint - self.options.overlap if checkpoint else end - self.options.since
        return begin, end

    def _apply(self, batch: list[Payment]) -> ApplyCounts:
        if self.options.dry_run:
            return self.store.preview_payments(batch, RULES, self.clock.now())
        return self.store.apply_payments(batch, RULES, "reconcile", self.clock.now())

    def _record_outcomes(self, counts: ApplyCounts) -> None:
        self.result.sweep_outcomes = dict(counts.by_outcome)
        self.details["sweep"] = {"outcomes": dict(counts.by_outcome)}

    def _stale_orders(self) -> int:
        cutoff = self.clock.now() - self.options.stale_after
        self.result.stale_orders = self.store.stale_pending_orders(cutoff, STALE_LIST_LIMIT)
        return len(self.result.stale_orders)

    def _archive(self) -> int:
        if not self.options.archive:
            return 0
        cutoff = self.clock.now() - self.options.retention
        if self.options.dry_run:
            return self.store.count_archivable(cutoff)
        return self.store.archive_completed(cutoff, ARCHIVE_LIMIT, self.clock.now())


class _OrdersApplier:
    """Orders found by the sweep, applied in batches of SWEEP_BATCH as payment states; what
    arrived before a failure is applied too: it is real and idempotent."""

    def __init__(self, apply: Callable[[list[Payment]], ApplyCounts]) -> None:
        self.apply = apply
        self.counts = ApplyCounts()
        self.batch: list[Payment] = []
        self.seen: set[str] = set()
        self.applied = 0

    def add(self, order: MpOrder) -> None:
        if order.id in self.seen:
            return
        self.seen.add(order.id)
        self.batch.append(payment_for_mp_order(order))
        if len(self.batch) == SWEEP_BATCH:
            self.finish()

    def finish(self) -> int:
        """Apply what is waiting; the number of orders applied so far."""
        if self.batch:
            self.counts.merge(self.apply(self.batch))
            self.applied += len(self.batch)
            self.batch = []
        return self.applied


def _step_json(step: StepReport) -> dict[str, object]:
    body: dict[str, object] = {"name": step.name, "seconds": step.seconds, "count": step.count}
    if step.error:
        body["error"] = step.error
    return body


def history(store: Store, limit: int) -> list[ReconcileRun]:
    return store.list_reconcile_runs(limit)


@dataclass(slots=True, frozen=True)
class ReconcileRequest:
    """Per-run choices from the command line; None keeps the `[reconcile]` setting."""

    since: str | None = None
    budget_seconds: float | None = None
    stale_after: str | None = None
    dry_run: bool = False
    archive: bool = True


def options_from_settings(
    settings: ReconcileSettings, request: ReconcileRequest
) -> ReconcileOptions:
    return ReconcileOptions(
        since=parse_duration(request.since or settings.since),
        overlap=parse_duration(settings.overlap),
        stale_after=parse_duration(request.stale_after or settings.stale_after),
        retention=parse_duration(settings.retention),
        budget_seconds=request.budget_seconds or settings.budget_seconds,
        lock_timeout=parse_duration(settings.lock_timeout),
        dry_run=request.dry_run,
        archive=request.archive,
        orders=settings.orders,
        orders_revisit=parse_duration(settings.orders_revisit),
        orders_revisit_limit=settings.orders_revisit_limit,
    )


def run_reconcile(
    store: Store,
    gateway: MercadoPagoGateway,
    clock: Clock,
    settings: Settings,
    holder: str,
    request: ReconcileRequest,
    wait_seconds: float | None = None,
) -> tuple[ReconcileResult, AlertOutcome]:
    """The `reconcile` job: one run (waiting for the lock when asked), then alerts."""
    options = options_from_settings(settings.reconcile, request)
    if wait_seconds:
        wait_for_lock(store, clock, holder, options, wait_seconds)
    processor = build_processor(store, gateway, clock, settings.queue, holder)
    result = reconcile(store, gateway, processor, clock, holder, options)
    if result.lock_held or options.dry_run:
        return result, AlertOutcome()
    return result, run_alerts(store, clock, settings, reconcile_status=result.status)
