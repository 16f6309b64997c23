"""Queued notifications -> correct order states.

A worker claims due events in batches (one transaction each, with a lease), fetches each
resource from Mercado Pago concurrently (always the current state: never trust a notification's
body), and writes results back per batch: payments applied exactly once, events completed,
retried on the policy's schedule, or dead-lettered. A killed worker's leases expire and another
worker finishes its events; a late worker's results are refused by the store.

On SQLite one writer at a time is the rule (DESIGN.md measured a second writer process adding
only 1.1-1.3x), so parallelism lives in the API fetches, not in more writer threads: this thread
claims and commits, a pool fetches, and claiming the next batch overlaps the fetches in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .alerts import AlertOutcome, run_alerts
from .clock import Clock
from .config import QueueSettings, Settings
from .errors import ExternalServiceError, MercadoPagoUnavailableError
from .models import Chargeback, ClaimedEvent, MerchantOrder, MpOrder, Payment, ReceivedVia
from .not_found_hints import Account, NotFoundExplainer
from .order_payments import payment_for_mp_order
from .order_states import pending_reason
from .payments import decide, money_notes, order_id_for
from .retry import RetryPolicy
from .store.base import EventOutcome, PaymentRules, Store

RULES = PaymentRules(order_id_for=order_id_for, decide=decide)
PAYMENT_TOPICS = frozenset({"payment", "payments"})
MERCHANT_ORDER_TOPICS = frozenset({"merchant_order", "topic_merchant_order_wh"})
CHARGEBACK_TOPICS = frozenset({"chargebacks", "topic_chargebacks_wh"})
ORDER_TOPICS = frozenset({"order"})  # the Orders API (`type: "order"`, data.id `ORD…`)


class PaymentSource(Protocol):
    """What the processor needs of the gateway (tests may pass any object with these)."""

    def get_payment(self, payment_id: str) -> Payment: ...

    def get_merchant_order(self, merchant_order_id: str) -> MerchantOrder: ...

    def get_chargeback(self, chargeback_id: str) -> Chargeback: ...

    def get_order(self, order_id: str) -> MpOrder: ...

    def get_user_me(self) -> Account: ...  # only to explain a 404


@dataclass(slots=True, frozen=True)
class Fetched:
    """What one event's resource turned out to be, fetched fresh from Mercado Pago."""

    payments: tuple[Payment, ...] = ()
    chargebacks: tuple[Chargeback, ...] = ()
    note: str | None = None


@dataclass(slots=True)
class ProcessSummary:
    claimed: int = 0
    completed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lease_lost: int = 0
    without_payments: int = 0  # completed with nothing to apply (a topic not acted on, ...)
    payments: dict[str, int] = field(default_factory=dict)
    api_failures: int = 0
    api_unreachable_failures: int = 0
    seconds: float = 0.0

    @property
    def api_unreachable(self) -> bool:
        """Every API call of the run failed to reach Mercado Pago at all."""
        return self.claimed > 0 and self.api_unreachable_failures == self.claimed

    def add_payments(self, counts: dict[str, int]) -> None:
        for outcome, count in counts.items():
            self.payments[outcome] = self.payments.get(outcome, 0) + count


@dataclass(slots=True, frozen=True)
class ProcessorOptions:
    worker_id: str
    batch_size: int = 50
    concurrency: int = 8
    lease_seconds: float = 120.0


class Processor:
    def __init__(
        self,
        store: Store,
        gateway: PaymentSource,
        clock: Clock,
        policy: RetryPolicy,
        options: ProcessorOptions,
    ) -> None:
        self.store, self.gateway, self.clock, self.policy = store, gateway, clock, policy
        self.options = options
        self.not_found = NotFoundExplainer(store, gateway)

    def run_once(
        self,
        *,
        limit: int | None = None,
        deadline: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        on_event: Callable[[int], None] | None = None,
    ) -> ProcessSummary:
        """Drain what is due now (up to `limit` events, until `deadline` on the monotonic
        clock, or until `should_stop`), finishing every event already claimed."""
        started = time.monotonic()
        summary = ProcessSummary()
        run = _Run(self, summary, limit, deadline, should_stop, on_event)
        if self.options.concurrency == 1:
            run.drain(None)
        else:
            with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="fetch") as pool:
                run.drain(pool)
        summary.seconds = time.monotonic() - started
        return summary

    def watch(
        self, stop: threading.Event, idle_seconds: float, on_pass: Callable[[ProcessSummary], None]
    ) -> ProcessSummary:
        """Keep draining until `stop` is set; in-flight work always finishes first."""
        total = ProcessSummary()
        while not stop.is_set():
            summary = self.run_once(should_stop=stop.is_set)
            _accumulate(total, summary)
            on_pass(summary)
            if summary.claimed == 0:
                stop.wait(idle_seconds)
        return total

    # -- one event (runs on a pool thread) -----------------------------------------------------
    def resolve(self, event: ClaimedEvent) -> tuple[EventOutcome, bool]:
        """The event's outcome, and whether Mercado Pago could not be reached at all."""
        source = "replay" if event.received_via == ReceivedVia.REPLAY else "webhook"
        try:
            fetched = self._fetch(event)
        except Exception as exc:  # every failure is decided by the policy, none escapes
            unreachable = isinstance(exc, MercadoPagoUnavailableError) and exc.status is None
            return self._failed(event, exc), unreachable
        notes = [note for payment in fetched.payments for note in money_notes(payment)]
        outcome = EventOutcome(
            event.id,
            "completed",
            payments=fetched.payments,
            chargebacks=fetched.chargebacks,
            note="; ".join(filter(None, [fetched.note, *notes])) or None,
            source=source,
        )
        return outcome, False

    def _fetch(self, event: ClaimedEvent) -> Fetched:
        if event.topic in PAYMENT_TOPICS:
            return Fetched((self.gateway.get_payment(self._resource(event)),))
        if event.topic in MERCHANT_ORDER_TOPICS:
            order = self.gateway.get_merchant_order(self._resource(event))
            payments = tuple(self.gateway.get_payment(pid) for pid in order.payment_ids)
            note = None if payments else f"merchant order {order.id} has no payments yet"
            return Fetched(payments, note=note)
        if event.topic in ORDER_TOPICS:
            return fetched_order(self.gateway.get_order(self._resource(event)))
        if event.topic in CHARGEBACK_TOPICS:
            chargeback = self.gateway.get_chargeback(self._resource(event))
            payments = tuple(self.gateway.get_payment(pid) for pid in chargeback.payment_ids)
            return Fetched(payments, (chargeback,))
        return Fetched(note=f"topic {event.topic} is not acted on")

    @staticmethod
    def _resource(event: ClaimedEvent) -> str:
        if not event.resource_id:
            from .errors import MercadoPagoRejectedError

            raise MercadoPagoRejectedError(transient=False, mp_message="no resource id")
        return event.resource_id

    def _failed(self, event: ClaimedEvent, error: Exception) -> EventOutcome:
        decision = self.policy.decide(event.attempts, error, self.clock.now())
        hint = self.not_found.explain(event, error, decision.retry)
        message = describe_error(error, hint)
        if decision.retry:
            return EventOutcome(
                event.id,
                "retry",
                error=message,
                next_attempt_at=decision.next_attempt_at,
                hint=hint,
            )
        return EventOutcome(
            event.id, "dead", error=message, dead_reason=decision.dead_reason, hint=hint
        )


def fetched_order(order: MpOrder) -> Fetched:
    """An Orders-API order as the payment state the ledger applies (the notification's own
    snapshot is never trusted: this is the order as GET answered it). A waiting order says
    why it waits in the event's note."""
    reason = pending_reason(order.status, order.status_detail)
    note = f"order {order.id} {order.status}: {reason}" if reason else None
    return Fetched((payment_for_mp_order(order),), note=note)


def describe_error(error: Exception, hint: Mapping[str, Any] | None = None) -> str:
    """One line for the attempt log; a 404's hint code rides along for `events list`."""
    if isinstance(error, ExternalServiceError):
        text = f"{error.code}: {error.describe()}"
    else:
        text = f"{type(error).__name__}: {error}"[:500]
    return f"{text} [hint: {hint['hint_code']}]" if hint else text


def _accumulate(total: ProcessSummary, summary: ProcessSummary) -> None:
    for name in (
        "claimed",
        "completed",
        "retried",
        "dead_lettered",
        "lease_lost",
        "without_payments",
        "api_failures",
        "api_unreachable_failures",
        "seconds",
    ):
        setattr(total, name, getattr(total, name) + getattr(summary, name))
    total.add_payments(summary.payments)


class _Run:
    """One draining pass: keeps the fetch pool busy and commits finished work per batch; each
    commit claims the next batch in the same transaction. With concurrency 1 there is no pool:
    events are resolved inline, which is all an instant gateway needs."""

    def __init__(
        self,
        processor: Processor,
        summary: ProcessSummary,
        limit: int | None,
        deadline: float | None,
        should_stop: Callable[[], bool],
        on_event: Callable[[int], None] | None,
    ) -> None:
        self.p = processor
        self.summary = summary
        self.limit, self.deadline, self.should_stop = limit, deadline, should_stop
        self.on_event = on_event
        self.in_flight: dict[Future[tuple[EventOutcome, bool]], ClaimedEvent] = {}
        self.finished: list[tuple[EventOutcome, bool]] = []
        self.exhausted = False

    def drain(self, pool: ThreadPoolExecutor | None) -> None:
        """Keep every fetch worker busy: whenever one idles, commit what finished and claim
        more in the same transaction; otherwise commit per batch. At most one batch waits
        beyond what the workers hold, so leases are not spent queueing."""
        batch_size, concurrency = self.p.options.batch_size, self.p.options.concurrency
        batch = self._claim_alone(batch_size)
        try:
            while batch or self.in_flight or self.finished:
                self._start(pool, batch)
                self._collect()
                room = min(batch_size, concurrency + batch_size - len(self.in_flight))
                idle = len(self.in_flight) < concurrency
                if self.finished and (idle or len(self.finished) >= batch_size):
                    batch = self._commit(claim=room if idle else 0)
                elif idle:
                    batch = self._claim_alone(room)
                else:
                    batch = []
        finally:
            for future in list(self.in_flight):  # finish what was claimed, even on error
                self.finished.append(future.result())
            self.in_flight.clear()
            if self.finished:
                self._commit(claim=0)

    def _start(self, pool: ThreadPoolExecutor | None, events: list[ClaimedEvent]) -> None:
        for event in events:
            if pool is None:
                self.finished.append(self.p.resolve(event))
            else:
                self.in_flight[pool.submit(self.p.resolve, event)] = event

    def _collect(self) -> None:
        if not self.in_flight:
            return
        done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            self.in_flight.pop(future)
            self.finished.append(future.result())

    def _claim_size(self, wanted: int) -> int:
        if self.exhausted or self.should_stop() or wanted <= 0:
            return 0
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 0
        if self.limit is not None:
            wanted = min(wanted, self.limit - self.summary.claimed)
        return max(wanted, 0)

    def _claim_alone(self, wanted: int) -> list[ClaimedEvent]:
        size = self._claim_size(wanted)
        if not size:
            return []
        options = self.p.options
        events = self.p.store.claim_due_events(
            options.worker_id, size, options.lease_seconds, self.p.clock.now()
        )
        return self._claimed(events, size)

    def _claimed(self, events: list[ClaimedEvent], size: int) -> list[ClaimedEvent]:
        if len(events) < size:
            self.exhausted = True
        self.summary.claimed += len(events)
        return events

    def _commit(self, claim: int) -> list[ClaimedEvent]:
        batch, self.finished = self.finished, []
        size = self._claim_size(claim)
        options = self.p.options
        result = self.p.store.commit_outcomes(
            options.worker_id,
            [outcome for outcome, _ in batch],
            RULES,
            self.p.clock.now(),
            claim_limit=size,
            lease_seconds=options.lease_seconds,
        )
        lost = set(result.lease_lost)
        for outcome, unreachable in batch:
            if outcome.event_id not in lost:
                self._count(outcome, unreachable)
        self.summary.lease_lost += len(lost)
        self.summary.add_payments(result.applied.by_outcome)
        if self.on_event and batch:
            self.on_event(len(batch))
        return self._claimed(result.claimed, size) if size else []

    def _count(self, outcome: EventOutcome, unreachable: bool) -> None:
        summary = self.summary
        if outcome.kind == "completed":
            summary.completed += 1
            summary.without_payments += not outcome.payments
            return
        summary.api_failures += 1
        summary.api_unreachable_failures += unreachable
        if outcome.kind == "retry":
            summary.retried += 1
        else:
            summary.dead_lettered += 1


def next_due(store: Store, now: datetime) -> int:
    """How many events are due now (for a progress bar's total)."""
    return store.count_due_events(now)


def build_processor(
    store: Store,
    gateway: PaymentSource,
    clock: Clock,
    queue: QueueSettings,
    worker_id: str,
    *,
    concurrency: int | None = None,
    batch_size: int | None = None,
) -> Processor:
    """A processor configured from the `[queue]` settings, with per-run overrides."""
    policy = RetryPolicy.from_minutes(
        queue.retry_schedule_minutes,
        jitter=queue.retry_jitter,
        not_found_retries=queue.not_found_retries,
    )
    options = ProcessorOptions(
        worker_id=worker_id,
        batch_size=batch_size or queue.batch_size,
        concurrency=concurrency or queue.concurrency,
        lease_seconds=queue.lease_seconds,
    )
    return Processor(store, gateway, clock, policy, options)


def run_processing(
    store: Store,
    gateway: PaymentSource,
    clock: Clock,
    settings: Settings,
    worker: str,
    *,
    limit: int | None = None,
    concurrency: int | None = None,
    batch_size: int | None = None,
    on_event: Callable[[int], None] | None = None,
) -> tuple[ProcessSummary, AlertOutcome]:
    """The `process --once` job: drain what is due, then evaluate alerts (dead letters...)."""
    processor = build_processor(
        store,
        gateway,
        clock,
        settings.queue,
        worker,
        concurrency=concurrency,
        batch_size=batch_size,
    )
    summary = processor.run_once(limit=limit, on_event=on_event)
    return summary, run_alerts(store, clock, settings)
