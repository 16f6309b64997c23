"""One status report per process, shared by `/ui/` and `/metrics`: both poll every few
seconds and both cost mostly `build_status`, so within `server.status_cache_seconds` (by the
injected clock) the second asker gets the first one's report instead of its queries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from ..clock import Clock
from ..status import StatusReport


class StatusCache:
    def __init__(self, build: Callable[[], StatusReport], clock: Clock, seconds: float) -> None:
        self._build = build
        self._clock = clock
        self._valid_for = timedelta(seconds=seconds)
        self._report: StatusReport | None = None
        # Starlette runs sync work in a threadpool: the lock makes concurrent askers wait for
        # one build rather than each start their own (the very cost this saves).
        self._lock = threading.Lock()

    def report(self) -> StatusReport:
        if self._valid_for <= timedelta(0):
            return self._build()
        with self._lock:
            report = self._report
            if report is None or not self._fresh(report):
                report = self._report = self._build()
            return report

    def _fresh(self, report: StatusReport) -> bool:
        """A clock that went back (a ManualClock in tests, a stepped system clock) rebuilds."""
        now = self._clock.now()
        return report.generated_at <= now < report.generated_at + self._valid_for
