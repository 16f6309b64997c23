"""`reports fetch`: ask Mercado Pago for settlement or release reports over a range, wait for
them to be generated, download and import each.

Mercado Pago's rules (research mp-wave2 §4.2, §4.3): at most 60 days per report and at least
one; dates in UTC as `YYYY-MM-DDTHH:MM:SSZ`; a request answers 202 (generated asynchronously:
the file appears in `/list` when done) or 203 ("not possible now: request it again"). Waiting
is bounded (`reports.fetch_timeout`) and backs off; the sleep is injected, so tests never wait.
A download cut short raises before anything is imported; the next run imports the whole file.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from .clock import Clock
from .config import ReportSettings
from .durations import parse_duration, parse_since
from .errors import MercadoPagoUnavailableError, ValidationError
from .gateway import ReportCreation, ReportListing
from .report_imports import FileOrigin, ImportedFile, import_report_file
from .store.base import Store

MAX_WINDOW = timedelta(days=60)
MIN_WINDOW = timedelta(days=1)
MAX_POLL_SECONDS = 60.0
MAX_203_RETRIES = 5
# Statuses of a listed task that will never become a file.
FAILED_STATUSES = frozenset({"failed", "deleted"})
READY_STATUSES = frozenset({"processed", "done", "available", "ready"})


class ReportGateway(Protocol):
    """The gateway's report calls (MercadoPagoGateway has them)."""

    def request_report(self, kind: str, begin: datetime, end: datetime) -> ReportCreation: ...

    def list_reports(self, kind: str) -> list[ReportListing]: ...

    def download_report(self, kind: str, file_name: str, destination: BinaryIO) -> int: ...


@dataclass(slots=True, frozen=True)
class FetchRequest:
    kind: str
    begin: datetime
    end: datetime

    @classmethod
    def parse(
        cls, kind: str, since: str | None, begin: str | None, end: str | None, now: datetime
    ) -> FetchRequest:
        """`--since 30d`, or `--from D --to D` (ISO dates; `--to` defaults to now)."""
        if since and (begin or end):
            raise ValidationError("error.report_range_both")
        if begin:
            start = parse_since(begin, now)
            finish = parse_since(end, now) if end else now
        else:
            start, finish = parse_since(since or "30d", now), now
        if finish <= start:
            raise ValidationError("error.report_range_empty", begin=begin or "", end=end or "")
        return cls(kind, start.replace(microsecond=0), finish.replace(microsecond=0))


@dataclass(slots=True)
class FetchResult:
    kind: str
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    requests: int = 0  # report requests sent (a 203 retried counts again)
    retried: int = 0  # 203 answers retried
    files: list[ImportedFile] = field(default_factory=list)

    @property
    def rows_added(self) -> int:
        return sum(item.rows_added for item in self.files)


def windows(begin: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[begin, end) cut into reports of at most 60 days; a last piece shorter than a day starts
    a day before `end` instead (it overlaps the one before: rows are imported once anyway)."""
    pieces, start = [], begin
    while start < end:
        stop = min(start + MAX_WINDOW, end)
        if stop - start < MIN_WINDOW:
            start = max(stop - MIN_WINDOW, begin)
        pieces.append((start, stop))
        start = stop
    return pieces


def fetch_reports(
    store: Store,
    gateway: ReportGateway,
    clock: Clock,
    request: FetchRequest,
    settings: ReportSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    result = FetchResult(request.kind)
    waiter = _Waiter(clock, sleep, settings)
    for begin, end in windows(request.begin, request.end):
        result.windows.append((begin, end))
        file_name = _generate(gateway, request.kind, begin, end, waiter, result)
        origin = FileOrigin("api", begin, end)
        imported = download_and_import(
            store, gateway, clock, request.kind, file_name, origin, settings
        )
        result.files.append(imported)
    return result


class _Waiter:
    """The bounded, backing-off wait for one report."""

    def __init__(self, clock: Clock, sleep: Callable[[float], None], settings: ReportSettings):
        self.clock, self.sleep = clock, sleep
        self.first = settings.poll_seconds
        self.limit = parse_duration(settings.fetch_timeout)

    def pauses(self) -> Callable[[float | None], bool]:
        """A function that waits before the next try (its argument: a wait Mercado Pago
        asked for) and answers False once the deadline has passed."""
        deadline, pause = self.clock.now() + self.limit, self.first

        def wait(asked: float | None = None) -> bool:
            nonlocal pause
            if self.clock.now() >= deadline:
                return False
            self.sleep(min(asked if asked is not None else pause, MAX_POLL_SECONDS))
            pause = min(pause * 2, MAX_POLL_SECONDS)
            return True

        return wait


def _generate(
    gateway: ReportGateway,
    kind: str,
    begin: datetime,
    end: datetime,
    waiter: _Waiter,
    result: FetchResult,
) -> str:
    """Request the report and wait until its file is listed; its file name."""
    before = {item.id for item in gateway.list_reports(kind)}
    wait = waiter.pauses()
    creation = _request(gateway, kind, begin, end, wait, result)
    # Only a report made at once names its file; a 202's task is listed when it is done.
    named = _file_name_in(creation.body) if creation.status in (200, 201) else None
    while True:
        found = _listed(gateway.list_reports(kind), before, begin, end) or named
        if found:
            return found
        if not wait(None):
            raise MercadoPagoUnavailableError(mp_message=f"the {kind} report was not generated")


def _request(
    gateway: ReportGateway,
    kind: str,
    begin: datetime,
    end: datetime,
    wait: Callable[[float | None], bool],
    result: FetchResult,
) -> ReportCreation:
    for _attempt in range(MAX_203_RETRIES + 1):
        result.requests += 1
        creation = gateway.request_report(kind, begin, end)
        if creation.status != 203:
            return creation
        result.retried += 1  # "request it again with the dates indicated"
        if not wait(creation.retry_after):
            break
    raise MercadoPagoUnavailableError(mp_message=f"the {kind} report was refused (203)")


def _listed(
    items: list[ReportListing], before: set[str], begin: datetime, end: datetime
) -> str | None:
    """The file of a new listed report over exactly this range, once it is ready."""
    for item in items:
        if item.id in before or not item.file_name or item.status in FAILED_STATUSES:
            continue
        if item.status is not None and item.status not in READY_STATUSES:
            continue
        if item.begin_date == begin and item.end_date == end:
            return str(item.file_name)
    return None


def _file_name_in(body: object) -> str | None:
    """A 200/201 answer that names its file at once."""
    if isinstance(body, dict) and isinstance(body.get("file_name"), str):
        return str(body["file_name"])
    return None


def download_and_import(
    store: Store,
    gateway: ReportGateway,
    clock: Clock,
    kind: str,
    file_name: str,
    origin: FileOrigin,
    settings: ReportSettings,
) -> ImportedFile:
    """Download into a private temporary folder, then import; a cut download raises first."""
    with tempfile.TemporaryDirectory(prefix="mpcheckout-report-") as folder:
        path = Path(folder) / Path(file_name).name
        with path.open("wb") as destination:
            gateway.download_report(kind, file_name, destination)
        return import_report_file(
            store, clock, path, separator=settings.separator or None, origin=origin
        )
