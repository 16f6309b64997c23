"""The figures `/metrics` exposes, read per scrape with the same bounded queries as `status`
plus store-wide totals that cost O(log n) (see Store.lifetime_counts): cheap on a store with
millions of events, so a scrape every few seconds costs the receiver nothing it would notice."""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .config import HealthSettings, ReconcileSettings
from .status import StatusReport, build_status
from .store.base import LifetimeCounts, Store


@dataclass(slots=True, frozen=True)
class MetricsFigures:
    status: StatusReport
    lifetime: LifetimeCounts

    @property
    def processed_total(self) -> int:
        """Events that reached `completed`: every id handed out, less those still pending,
        processing or dead in the queue. Monotonic: a completed event never goes back, and a
        replayed dead letter moves from dead to pending, not out of either side."""
        waiting = sum(self.lifetime.in_queue.get(s, 0) for s in ("pending", "processing", "dead"))
        return max(self.lifetime.events_received - waiting, 0)


def collect_figures(
    store: Store,
    clock: Clock,
    health: HealthSettings,
    reconcile: ReconcileSettings,
    report: StatusReport | None = None,
) -> MetricsFigures:
    """`report`: one already built (the server shares one per second with /ui/)."""
    if report is None:
        report = build_status(store, clock, health, reconcile)
    return MetricsFigures(report, store.lifetime_counts())
