"""Importing settlement and release reports into the store: the files a person downloaded from
Mercado Pago's panel (`reports import`), the files `reports fetch` and the report webhook
download. Each file is one transaction: a file that fails half-way leaves nothing, and a file
(or an overlapping one) imported again adds nothing (rows are stored once by their identity)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .clock import Clock
from .errors import NotFoundError
from .report_helper import HelperBatches
from .reports.json_views import looks_like_json, views_to_csv
from .reports.parse import ReportReader, file_sha256, open_report
from .reports.records import ReportFileRecord, ReportSource
from .store.base import Store
from .store.rows import ReportBatch, report_batches

HELPER_MIN_BYTES = 8 * 1024 * 1024  # ~40,000 settlement rows
# Called with the bytes read since the last call, as a file streams in.
Progress = Callable[[int], None]


@dataclass(slots=True, frozen=True)
class ImportedFile:
    name: str
    kind: str
    sha256: str
    rows_read: int
    rows_added: int
    rows_flagged: int
    already_imported: bool  # these very bytes were imported before


@dataclass(slots=True, frozen=True)
class ImportResult:
    files: list[ImportedFile]

    @property
    def rows_added(self) -> int:
        return sum(item.rows_added for item in self.files)


@dataclass(slots=True, frozen=True)
class FileOrigin:
    """Where a file came from, as its record keeps it."""

    source: ReportSource = "file"
    begin: datetime | None = None
    end: datetime | None = None
    transaction_id: str | None = None


def import_report_files(
    store: Store,
    clock: Clock,
    paths: Sequence[Path],
    *,
    separator: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import each file in turn. Every header is judged first, so a file that is not a report
    stops the command (ReportFormatError, exit 65) before any file is imported."""
    for path in paths:
        _check_header(path, separator)
    return ImportResult(
        [import_report_file(store, clock, p, separator=separator, progress=progress) for p in paths]
    )


def import_report_file(
    store: Store,
    clock: Clock,
    path: Path,
    *,
    separator: str | None = None,
    origin: FileOrigin | None = None,
    progress: Progress | None = None,
    helper: bool | None = None,
) -> ImportedFile:
    """Import one file. `helper`: parse it in a helper process (report_helper.py); None
    decides by size (HELPER_MIN_BYTES)."""
    origin = origin or FileOrigin()
    digest = file_sha256(_existing(path))
    with _report_bytes(path) as stream, ExitStack() as stack:
        reader = open_report(stream, name=path.name, separator=separator or None)
        record = ReportFileRecord(
            digest,
            reader.kind,
            path.name,
            origin.source,
            clock.now(),
            origin.begin,
            origin.end,
            origin.transaction_id,
        )
        batches = _batches(store, reader, stream, path, digest, helper, stack)
        if progress:
            batches = _reporting(batches, path.stat().st_size, progress)
        counts = store.import_report(record, batches, clock.now())
    return ImportedFile(
        path.name,
        reader.kind,
        digest,
        counts.rows_read,
        counts.rows_added,
        counts.rows_flagged,
        counts.file_known,
    )


def _batches(
    store: Store,
    reader: ReportReader,
    stream: BinaryIO,
    path: Path,
    digest: str,
    helper: bool | None,
    stack: ExitStack,
) -> Iterable[ReportBatch]:
    """The file's rows encoded for the store: from a helper process (stopped when `stack`
    closes), or parsed here."""
    if store.report_encoding == "text" and _worth_a_helper(stream, path, helper):
        helper_batches = HelperBatches(
            path, name=path.name, separator=reader.separator, file_sha256=digest
        )
        return stack.enter_context(helper_batches)
    rows = reader.rows_or_plain() if store.report_encoding == "text" else iter(reader)
    return report_batches(rows, digest, store.report_encoding, stream.tell)


def _worth_a_helper(stream: BinaryIO, path: Path, helper: bool | None) -> bool:
    """Only a file read from disk (a JSON report was turned into CSV in memory), and by default
    only a big one: the helper's start costs what parsing ~10,000 rows does."""
    if isinstance(stream, io.BytesIO) or helper is False:
        return False
    return helper is True or path.stat().st_size >= HELPER_MIN_BYTES


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise NotFoundError("error.input_missing", path=str(path))
    return path


def _check_header(path: Path, separator: str | None) -> None:
    with _report_bytes(_existing(path)) as stream:
        open_report(stream, name=path.name, separator=separator or None)


def _report_bytes(path: Path) -> BinaryIO:
    """The report's CSV bytes: the file itself, or, for a report delivered as JSON, its rows
    as CSV (held in memory: Mercado Pago sends JSON for a download, not for big files)."""
    stream = path.open("rb")
    head = stream.read(64)
    stream.seek(0)
    if not looks_like_json(head):
        return stream
    with stream:
        return io.BytesIO(views_to_csv(stream.read(), name=path.name))


def _reporting(
    batches: Iterable[ReportBatch], size: int, progress: Progress
) -> Iterator[ReportBatch]:
    told = 0
    for batch in batches:
        position = min(batch.position, size)
        progress(position - told)
        told = position
        yield batch
    progress(size - told)


def total_bytes(paths: Sequence[Path]) -> int:
    """What a progress bar over these files counts up to."""
    return sum(path.stat().st_size for path in paths if path.is_file())
