"""The sandbox's clock: real UTC time by default; tests freeze it or move it through the control
API instead of sleeping, and every payment date comes from it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Real time plus an offset, or a frozen moment. Thread-safe: the control API and the runner's
    thread may both touch it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, moment: datetime) -> None:
        with self._lock:
            self._frozen_at = moment.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def use_real_time(self) -> None:
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta()
