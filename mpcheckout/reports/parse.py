"""Read a Mercado Pago settlement or release report CSV into typed rows, streaming.

What real files do, and what this module does about it (research mp-wave2 §4.4, §4.5):
- `;` (settlement's default) or `,` (release's default) or a tab: detected from the header,
  unless the caller passes the separator the report was configured with;
- a UTF-8 BOM (spreadsheets add one), UTF-16 with a BOM, or Windows-1252 when the start of the
  file is not UTF-8;
- columns in any order (the report's `columns` setting), unknown ones ignored, optional ones
  missing; only what the arithmetic and the row identity need is required;
- decimal commas (`1.234,56`, `1234,56`) as well as dots; ids kept exactly as written, because
  MP's own sample carries `PACK_ID` `2E+15`, an id a spreadsheet turned into a float.
A row that breaks its report's arithmetic is kept with a flag, never dropped; an amount that is
not a number stops the file (every sum would be wrong), naming the line and column.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, cast

from .columns import AMOUNTS_AT, COLUMNS, FIELDS, KNOWN_COLUMNS, REQUIRED, SIGNATURE, ReportKind
from .errors import ReportFormatError, ReportProblem
from .rows import BadAmountError, PlainSettlement, ReportRow, RowBuilder

HEAD_BYTES = 64 * 1024
SEPARATORS = (";", ",", "\t")


class ReportReader:
    """An opened report: the header is read and judged when it is built (so a file that is not
    a report fails before anything else happens); iterating yields its rows once, streaming."""

    def __init__(
        self, text: io.TextIOBase, *, name: str, kind: ReportKind, separator: str, encoding: str
    ) -> None:
        self.name, self.kind, self.separator, self.encoding = name, kind, separator, encoding
        self._text = text
        self.columns: tuple[str, ...] = ()
        self.header_line = 1

    def __iter__(self) -> Iterator[ReportRow]:
        return cast(Iterator[ReportRow], _rows(self, plain=False))

    def rows_or_plain(self) -> Iterator[ReportRow | PlainSettlement]:
        """The rows, a settlement row written as Mercado Pago writes it as a PlainSettlement
        (for an importer that stores the texts), every other row as a ReportRow."""
        return _rows(self, plain=True)


def open_report(stream: BinaryIO, *, name: str, separator: str | None = None) -> ReportReader:
    """Judge the header of a report read from `stream` (binary); raise ReportFormatError when
    it is not a settlement or release report. `name` is how errors name the file."""
    head = stream.read(HEAD_BYTES)
    encoding = _encoding(head, name)
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream)), encoding=encoding, newline=""
    )
    header_line, header_number = _read_header_line(text, name)
    separator = separator or _detect_separator(header_line)
    columns = tuple(
        column.strip().strip('"').upper()
        for column in next(csv.reader([header_line], delimiter=separator))
    )
    kind = _detect_kind(columns, name)
    reader = ReportReader(text, name=name, kind=kind, separator=separator, encoding=encoding)
    reader.columns, reader.header_line = columns, header_number
    return reader


def read_report(path: Path, *, separator: str | None = None) -> Iterator[ReportRow]:
    """Every row of the report at `path`, streaming; the file is closed when they are read."""
    with path.open("rb") as stream:
        yield from open_report(stream, name=str(path), separator=separator)


def file_sha256(source: Path | BinaryIO) -> str:
    """The hex SHA-256 of a file's bytes: what an importer records to know a file it has seen."""
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return file_sha256(stream)
    digest = hashlib.sha256()
    while chunk := source.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


class _Prefixed(io.RawIOBase):
    """The bytes already read to sniff the file, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _encoding(head: bytes, name: str) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not head.strip().lstrip(codecs.BOM_UTF8).strip():
        raise ReportFormatError(ReportProblem.EMPTY, file=name)
    if b"\x00" in head:
        raise ReportFormatError(ReportProblem.BINARY, file=name)
    try:
        # The head may end inside a multi-byte character; only the rest must decode.
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"  # what a spreadsheet on Windows saves "CSV" as
    return "utf-8-sig"


def _read_header_line(text: io.TextIOBase, name: str) -> tuple[str, int]:
    """The header and its line number (blank lines before it are skipped)."""
    try:
        for number, line in enumerate(text, start=1):
            if line.strip():
                return line, number
    except UnicodeDecodeError:
        raise ReportFormatError(ReportProblem.ENCODING, file=name, line=1) from None
    raise ReportFormatError(ReportProblem.EMPTY, file=name)


def _detect_separator(header_line: str) -> str:
    def recognised(separator: str) -> int:
        parts = header_line.split(separator)
        return sum(part.strip().strip('"').upper() in KNOWN_COLUMNS for part in parts)

    return max(SEPARATORS, key=recognised)


def _detect_kind(columns: tuple[str, ...], name: str) -> ReportKind:
    present = set(columns)
    candidates: list[ReportKind] = [k for k in ("settlement", "release") if present & SIGNATURE[k]]
    if not candidates:
        expected = ", ".join(REQUIRED["settlement"] + REQUIRED["release"])
        raise ReportFormatError(ReportProblem.UNRECOGNISED, file=name, expected=expected)
    missing = {kind: [c for c in REQUIRED[kind] if c not in present] for kind in candidates}
    kind = min(candidates, key=lambda k: len(missing[k]))
    if missing[kind]:
        columns_text = ", ".join(missing[kind])
        raise ReportFormatError(
            ReportProblem.MISSING_COLUMNS, file=name, kind=kind, columns=columns_text
        )
    return kind


def _rows(report: ReportReader, plain: bool) -> Iterator[ReportRow | PlainSettlement]:
    columns, width, offset = report.columns, len(report.columns), report.header_line
    pick, builder = _picker(report.kind, columns), RowBuilder(columns)
    build = builder.settlement if report.kind == "settlement" else builder.release
    quick = builder.plain_settlement if plain and report.kind == "settlement" else None
    rows = csv.reader(report._text, delimiter=report.separator)
    try:
        for values in rows:
            if not values or not (values[0] or any(values)):
                continue  # a blank line, or one of separators only
            if len(values) < width:
                values.extend([""] * (width - len(values)))
            values.append("")  # index -1: what a column the file lacks reads
            fields, line = pick(values), offset + rows.line_num
            if quick is not None and (plain_row := quick(fields, line)) is not None:
                yield plain_row
                continue
            try:
                yield build(fields, line, values)
            except BadAmountError as exc:
                raw = dict(zip(columns, values, strict=False))
                raise _bad_amount(report, offset + rows.line_num, raw, exc.text) from None
    except (UnicodeDecodeError, csv.Error):
        raise ReportFormatError(
            ReportProblem.ENCODING, file=report.name, line=offset + rows.line_num + 1
        ) from None


def _picker(kind: ReportKind, columns: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """One C call per row that takes FIELDS out of a row, in order; a column the file lacks
    points at index -1, the empty string appended to every row."""
    position = {name: index for index, name in reversed(list(enumerate(columns)))}
    names = COLUMNS[kind]
    indexes = [position.get(names.get(field, ""), -1) for field in FIELDS]
    return cast(Callable[[list[str]], tuple[str, ...]], itemgetter(*indexes))


def _bad_amount(report: ReportReader, line: int, raw: Mapping[str, str], value: str) -> Exception:
    amount_columns = {COLUMNS[report.kind].get(field) for field in FIELDS[AMOUNTS_AT]}
    column = next((c for c, v in raw.items() if v == value and c in amount_columns), "?")
    return ReportFormatError(
        ReportProblem.BAD_AMOUNT, file=report.name, line=line, column=column, value=value
    )
