"""Summary: the health verdict and its checks (the very report `status` prints), queue
counters, 24 hours of throughput and latency by hour, the last reconcile, and what needs a
person now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import Clock
from ..config import Settings
from ..status import StatusReport, build_status
from ..store.base import HourActivity, Store

CHART_HOURS = 24
__all__ = ["Attention", "HourActivity", "SummaryPage", "summary_page"]


@dataclass(slots=True, frozen=True)
class Attention:
    """One thing a person should look at: a message key, how many, and the page that lists them."""

    key: str
    count: int
    link: str


@dataclass(slots=True)
class SummaryPage:
    status: StatusReport
    hours: list[HourActivity]
    attention: list[Attention] = field(default_factory=list)


def summary_page(
    store: Store, clock: Clock, settings: Settings, report: StatusReport | None = None
) -> SummaryPage:
    """`report`: one already built (the server shares one per second with /metrics)."""
    if report is None:
        report = build_status(store, clock, settings.health, settings.reconcile)
    start = _hour_start(clock.now()) - timedelta(hours=CHART_HOURS - 1)
    return SummaryPage(
        report, _every_hour(store.hourly_activity(start, clock.now()), start), _attention(report)
    )


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _every_hour(found: list[HourActivity], start: datetime) -> list[HourActivity]:
    """24 bars, quiet hours included (a gap in a chart reads as missing data)."""
    by_hour = {item.hour: item for item in found}
    hours = (start + timedelta(hours=n) for n in range(CHART_HOURS))
    return [by_hour.get(hour) or HourActivity(hour, 0, 0, None, None) for hour in hours]


def _attention(report: StatusReport) -> list[Attention]:
    queue = report.queue
    candidates = [
        Attention("attention.dead_letters", queue.dead_unresolved, "dead-letters"),
        Attention(
            "attention.amount_mismatch", report.amount_mismatches, "orders?status=amount_mismatch"
        ),
        Attention("attention.stale_pending", report.stale_pending_orders, "orders?status=pending"),
        Attention("attention.expired_leases", queue.expired_leases, "events?status=processing"),
    ]
    return [item for item in candidates if item.count]
