"""`status`: what ops look at first. Every figure is read with an index range or a bounded
sample (never a full scan), so it stays fast on a store with millions of events.

The health verdict uses thresholds from `[health]`, defaults from the operating checklist this
tool grew from: dead letters < 5 per day, error rate < 1 %, p95 processing < 5 s, last
successful reconcile < 2 h ago, no expired lease left unrecovered. Each check is green, yellow
(worth a look) or red (act now); `status --check` fails on red.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from .clock import Clock
from .config import HealthSettings, ReconcileSettings, ReportSettings
from .durations import parse_duration
from .models import LedgerChargeback, ReconcileRun
from .money import ReportsStatus, reports_status
from .records import record
from .store.base import EventOrigins, QueueSnapshot, Store

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
RECENT_RUNS = 20
OPEN_CHARGEBACKS_READ = 1000
# Mercado Pago allows 10 days to send a chargeback's documentation (7 in Chile): under 3 left,
# a person must act today (research mp-wave2.md §3.1).
DOCUMENTATION_URGENT = timedelta(days=3)
STALE_ORDERS_COUNTED = 1000  # "1000" then means "1000 or more": enough to act on, bounded
ORIGINS_READ = 10_000  # newest events whose account and mode are counted: bounded at any size


class Health(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@record(slots=True, frozen=True)
class HealthCheck:
    name: str
    health: Health
    value: float | int | str | None
    threshold: float | int | str | None


@record(slots=True)
class QueueStatus:
    pending_due: int
    pending_later: int
    processing: int
    expired_leases: int
    completed_24h: int
    dead_unresolved: int
    dead_letters_24h: int
    waiting_retry: int
    oldest_pending_seconds: float | None
    next_retry_at: datetime | None
    last_notification_at: datetime | None
    latency_p50_seconds: float | None
    latency_p95_seconds: float | None
    latency_sample: int
    error_rate_24h: float
    rejected_24h: dict[str, int]


@record(slots=True)
class ReconcileStatus:
    last_run: ReconcileRun | None
    last_ok_at: datetime | None
    next_expected_at: datetime | None
    duration_seconds: float | None


@record(slots=True, frozen=True)
class RefundedMoney:
    currency: str
    refunds: int
    total: Decimal


@record(slots=True)
class MoneyStatus:
    refunded: list[RefundedMoney]
    partially_refunded_orders: int
    refunded_orders: int
    chargebacks_open: int
    chargebacks_lost_orders: int
    chargebacks_covered_orders: int
    documentation_required: int  # open chargebacks whose documentation Mercado Pago awaits
    next_documentation_deadline: datetime | None


@record(slots=True)
class StatusReport:
    generated_at: datetime
    verdict: Health
    checks: list[HealthCheck]
    queue: QueueStatus
    reconcile: ReconcileStatus
    orders: dict[str, int]
    amount_mismatches: int
    stale_pending_orders: int
    money: MoneyStatus
    notes: list[str] = field(default_factory=list)
    reports: ReportsStatus | None = None  # settlement/release reports matched to orders


def build_status(
    store: Store,
    clock: Clock,
    health: HealthSettings,
    reconcile: ReconcileSettings,
    reports: ReportSettings | None = None,
) -> StatusReport:
    now = clock.now()
    queue = _queue_status(store.queue_snapshot(now, now - DAY, now - HOUR), now)
    runs = store.list_reconcile_runs(RECENT_RUNS)
    reconcile_status = _reconcile_status(runs, parse_duration(reconcile.interval))
    orders = store.order_counts()
    stale = store.count_stale_pending_orders(
        now - parse_duration(reconcile.stale_after), STALE_ORDERS_COUNTED
    )
    money = _money_status(store, orders)
    checks = _checks(queue, reconcile_status, health, now)
    checks += _order_checks(orders, stale)
    checks.append(_chargeback_check(money, now))
    checks.append(origins_check(store.event_origins(now - DAY, ORIGINS_READ)))
    report_settings = reports or ReportSettings()
    matched = reports_status(store, clock, grace=report_settings.settlement_grace)
    checks.append(_reports_check(matched, report_settings, now))
    verdict = max((check.health for check in checks), key=_severity, default=Health.GREEN)
    return StatusReport(
        now,
        verdict,
        checks,
        queue,
        reconcile_status,
        orders,
        orders.get("amount_mismatch", 0),
        stale,
        money,
        reports=matched,
    )


def _reports_check(matched: ReportsStatus, settings: ReportSettings, now: datetime) -> HealthCheck:
    """Yellow while a discrepancy is older than `discrepancy_age`; red past the threshold."""
    threshold = settings.max_discrepancies
    if matched.discrepancies > threshold:
        return HealthCheck("reports", Health.RED, matched.discrepancies, threshold)
    age = parse_duration(settings.discrepancy_age)
    old = matched.oldest_since is not None and now - matched.oldest_since > age
    return HealthCheck(
        "reports", Health.YELLOW if old else Health.GREEN, matched.discrepancies, threshold
    )


def _money_status(store: Store, orders: dict[str, int]) -> MoneyStatus:
    refunded = [
        RefundedMoney(currency, count, total)
        for currency, (count, total) in sorted(store.refunded_totals().items())
    ]
    open_cases = store.list_chargebacks(open_only=True, limit=OPEN_CHARGEBACKS_READ)
    awaiting = [case for case in open_cases if _awaits_documentation(case)]
    deadlines = [case.documentation_deadline for case in awaiting if case.documentation_deadline]
    return MoneyStatus(
        refunded=refunded,
        partially_refunded_orders=orders.get("partially_refunded", 0),
        refunded_orders=orders.get("refunded", 0),
        chargebacks_open=len(open_cases),
        chargebacks_lost_orders=orders.get("chargeback_lost", 0),
        chargebacks_covered_orders=orders.get("chargeback_covered", 0),
        documentation_required=len(awaiting),
        next_documentation_deadline=min(deadlines, default=None),
    )


def _awaits_documentation(case: LedgerChargeback) -> bool:
    return case.documentation_required and case.documentation_status in (None, "pending")


def _chargeback_check(money: MoneyStatus, now: datetime) -> HealthCheck:
    """Yellow while a chargeback is open; red when its documentation is due within 3 days."""
    deadline = money.next_documentation_deadline
    if deadline is not None and deadline - now < DOCUMENTATION_URGENT:
        left = round((deadline - now).total_seconds() / 86400, 1)
        return HealthCheck("chargebacks_open", Health.RED, left, DOCUMENTATION_URGENT.days)
    health = Health.YELLOW if money.chargebacks_open else Health.GREEN
    return HealthCheck("chargebacks_open", health, money.chargebacks_open, 0)


def _queue_status(snapshot: QueueSnapshot, now: datetime) -> QueueStatus:
    latencies = sorted(snapshot.latency_seconds)
    finished = snapshot.completed_since + snapshot.dead_since
    oldest = snapshot.oldest_pending_at
    return QueueStatus(
        pending_due=snapshot.pending_due,
        pending_later=snapshot.pending_later,
        processing=snapshot.processing,
        expired_leases=snapshot.processing_expired,
        completed_24h=snapshot.completed_since,
        dead_unresolved=snapshot.dead_unresolved,
        dead_letters_24h=snapshot.dead_since,
        waiting_retry=snapshot.retried_since,
        oldest_pending_seconds=(now - oldest).total_seconds() if oldest else None,
        next_retry_at=snapshot.next_retry_at,
        last_notification_at=snapshot.last_received_at,
        latency_p50_seconds=_percentile(latencies, 0.50),
        latency_p95_seconds=_percentile(latencies, 0.95),
        latency_sample=len(latencies),
        error_rate_24h=snapshot.dead_since / finished if finished else 0.0,
        rejected_24h=snapshot.rejections_since,
    )


def _percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return round(ordered[0], 3)
    import statistics  # here: its import (random, hashlib) is a cost every status run paid

    cut = statistics.quantiles(ordered, n=100, method="inclusive")[round(share * 100) - 1]
    return round(cut, 3)


def _reconcile_status(runs: list[ReconcileRun], interval: timedelta) -> ReconcileStatus:
    last = runs[0] if runs else None
    last_ok = next((run for run in runs if run.status == "ok"), None)
    duration = None
    if last and last.finished_at:
        duration = (last.finished_at - last.started_at).total_seconds()
    return ReconcileStatus(
        last_run=last,
        last_ok_at=last_ok.finished_at if last_ok else None,
        next_expected_at=last.started_at + interval if last else None,
        duration_seconds=duration,
    )


def _checks(
    queue: QueueStatus, reconcile: ReconcileStatus, health: HealthSettings, now: datetime
) -> list[HealthCheck]:
    max_age = parse_duration(health.max_reconcile_age)
    return [
        _graded("dead_letters_24h", queue.dead_letters_24h, health.max_dead_letters_per_day),
        _graded("error_rate_24h", round(queue.error_rate_24h, 4), health.max_error_rate),
        _graded(
            "p95_processing_seconds",
            queue.latency_p95_seconds or 0.0,
            health.max_p95_processing_seconds,
        ),
        _reconcile_check(reconcile, max_age, now),
        HealthCheck(
            "expired_leases",
            Health.RED if queue.expired_leases else Health.GREEN,
            queue.expired_leases,
            0,
        ),
    ]


def _graded(name: str, value: float, threshold: float) -> HealthCheck:
    """Red at the threshold, yellow from half of it (and for any dead letter at all)."""
    if value >= threshold and (threshold > 0 or value > 0):
        return HealthCheck(name, Health.RED, value, threshold)
    if value and value >= threshold / 2:
        return HealthCheck(name, Health.YELLOW, value, threshold)
    if name == "dead_letters_24h" and value:
        return HealthCheck(name, Health.YELLOW, value, threshold)
    return HealthCheck(name, Health.GREEN, value, threshold)


def _reconcile_check(reconcile: ReconcileStatus, max_age: timedelta, now: datetime) -> HealthCheck:
    limit = int(max_age.total_seconds())
    if reconcile.last_ok_at is None:
        # A new install that has not reconciled yet: worth a look, not an outage.
        health = Health.YELLOW if reconcile.last_run is None else Health.RED
        return HealthCheck("reconcile_age_seconds", health, None, limit)
    age = int((now - reconcile.last_ok_at).total_seconds())
    return HealthCheck(
        "reconcile_age_seconds", Health.RED if age > limit else Health.GREEN, age, limit
    )


def _order_checks(orders: dict[str, int], stale: int) -> list[HealthCheck]:
    mismatches = orders.get("amount_mismatch", 0)
    return [
        HealthCheck(
            "amount_mismatches", Health.YELLOW if mismatches else Health.GREEN, mismatches, 0
        ),
        HealthCheck("stale_pending_orders", Health.YELLOW if stale else Health.GREEN, stale, 0),
    ]


def origins_check(origins: EventOrigins) -> HealthCheck:
    """Red when the last day's events name more than one account or both modes: one
    installation serves one seller in one environment, and a mix means a webhook URL or a
    token from elsewhere (doctor's event_origins check also compares with the token's
    account). The value names the counts; events that said neither are not a mix."""
    accounts: dict[str, int] = {}
    modes: dict[str, int] = {}
    for origin in origins.origins:
        if origin.user_id is not None:
            accounts[origin.user_id] = accounts.get(origin.user_id, 0) + origin.count
        if origin.live_mode is not None:
            mode = "live" if origin.live_mode else "test"
            modes[mode] = modes.get(mode, 0) + origin.count
    mixed = len(accounts) > 1 or len(modes) > 1
    value = " · ".join(
        part
        for part in (
            ", ".join(f"{account}: {count}" for account, count in accounts.items()),
            ", ".join(f"{mode}: {count}" for mode, count in sorted(modes.items())),
        )
        if part
    )
    return HealthCheck(
        "event_origins_24h", Health.RED if mixed else Health.GREEN, value or "-", "1 · 1"
    )


def _severity(health: Health) -> int:
    return (Health.GREEN, Health.YELLOW, Health.RED).index(health)
