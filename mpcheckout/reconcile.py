"""`reconcile`: the hourly job that misses nothing. For a shop without a server it is the only
way payments arrive at all.

One run, under a run lock (a second overlapping run leaves at once): recover expired leases;
process due events within a time budget; sweep Mercado Pago's payment search by
date_last_updated from the stored checkpoint (minus an overlap, for clock skew and late
indexing) up to now, applying every payment found exactly as a webhook would (source
`reconcile`) — this finds payments whose webhook never came; list orders still pending past a
threshold with no payment; archive completed events past retention; write one log row. The
checkpoint advances only when the whole sweep finished, so a failed page is swept again.
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
from .models import Order, Payment, ReconcileRun, RunStatus
from .processor import RULES, Processor, ProcessSummary, build_processor
from .store.base import ApplyCounts, Store

LOCK_NAME = "reconcile"
CHECKPOINT_KEY = "reconcile.checkpoint"
SWEEP_BATCH = 200
ARCHIVE_LIMIT = 50_000
STALE_LIST_LIMIT = 100
# What a sweep changes beyond what webhooks already did: the states nobody told us about.
DRIFT_OUTCOMES = ("applied", "created", "mismatch")


class PaymentSearch(Protocol):
    def search_payments(
        self, updated_from: datetime, updated_to: datetime
    ) -> Iterator[Payment]: ...


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
        run.drift_fixed = sum(self.result.sweep_outcomes.get(key, 0) for key in DRIFT_OUTCOMES)
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

    def _window(self) -> tuple[datetime, datetime]:
        end = self.clock.now()
        checkpoint = parse_iso(self.store.get_meta(CHECKPOINT_KEY))
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
