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
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple, cast

from .errors import ReportFormatError, ReportProblem

ReportKind = Literal["settlement", "release"]

ZERO = Decimal("0.00")
HEAD_BYTES = 64 * 1024
SEPARATORS = (";", ",", "\t")
# Rows identical in every identity field are told apart by their order of appearance among the
# last this-many distinct rows (see `_Twins`); 4,096 keys cost ~0.5 MB.
TWIN_WINDOW = 4096


class RowFlag(StrEnum):
    ARITHMETIC = (
        "arithmetic"  # settlement: net != gross + fee; release: credit - debit != gross + fees
    )
    UNREADABLE_DATE = "unreadable_date"  # a date column that is not ISO 8601; the row keeps None


class ReportRow(NamedTuple):
    """One row of either report, in one shape. Amounts are Decimal with Mercado Pago's signs
    (fees negative, money out negative); a breakdown column the file lacks reads 0, so
    `fee_total` is the figure to sum. A NamedTuple rather than a frozen dataclass: with 31
    fields a frozen dataclass took 4.7 µs to build and this 0.4 µs, a third of the parser's
    budget per row at 1,000,000 rows (see bench/report_parse.py)."""

    kind: ReportKind
    row_key: str  # stable identity, the same whichever file brings the row (see `row_identity`)
    line: int  # where it was in this file (1 = the header); not part of the identity
    source_id: str  # the payment (or refund, withdrawal...) id at Mercado Pago, as written
    external_reference: str  # the order's reference; may be empty
    entry_type: str  # settlement TRANSACTION_TYPE (SETTLEMENT, REFUND...); release RECORD_TYPE
    description: (
        str  # release DESCRIPTION (payment, payout, pre_payout_<id>...); settlement's if any
    )
    gross: Decimal  # TRANSACTION_AMOUNT / GROSS_AMOUNT
    fee_total: Decimal  # settlement FEE_AMOUNT; release the sum of its five fee columns
    mp_fee: Decimal  # settlement MKP_FEE_AMOUNT; release MP_FEE_AMOUNT
    financing_fee: Decimal
    shipping_fee: Decimal
    taxes: Decimal
    coupon: Decimal
    net: Decimal  # settlement SETTLEMENT_NET_AMOUNT; release NET_CREDIT - NET_DEBIT
    credit: Decimal | None  # release NET_CREDIT_AMOUNT (money in); None on settlement rows
    debit: Decimal | None  # release NET_DEBIT_AMOUNT (money out, positive); None on settlement
    currency: str  # SETTLEMENT_CURRENCY (else TRANSACTION_CURRENCY) / release CURRENCY; may be ""
    transaction_date: datetime | None  # TRANSACTION_DATE / release TRANSACTION_APPROVAL_DATE
    settlement_date: datetime | None  # settlement SETTLEMENT_DATE
    release_date: datetime | None  # release DATE / settlement MONEY_RELEASE_DATE
    payout_id: str  # the payout or withdrawal this row belongs to, when the row says so
    installments: int | None
    payment_method: str
    payment_method_type: str
    order_id: str
    pack_id: str
    shipping_id: str
    summary: (
        bool  # a balance line of the release report (initial, subtotal, total...), not money moving
    )
    flags: tuple[RowFlag, ...]
    raw: Mapping[str, str]  # the row as read: header name -> text, unknown columns included

    @property
    def date(self) -> datetime | None:
        """The row's own date: when the money moved in this report's terms."""
        return self.transaction_date if self.kind == "settlement" else self.release_date


# Logical fields read from each row, in this order, by one itemgetter; None: not in that report.
FIELDS = (
    "source_id",
    "external_reference",
    "entry_type",
    "description",
    "gross",
    "fee",
    "net",
    "credit",
    "debit",
    "mp_fee",
    "financing_fee",
    "shipping_fee",
    "taxes",
    "coupon",
    "currency",
    "currency_fallback",
    "transaction_date",
    "settlement_date",
    "release_date",
    "installments",
    "payment_method",
    "payment_method_type",
    "order_id",
    "pack_id",
    "shipping_id",
)
_COMMON = {
    "source_id": "SOURCE_ID",
    "external_reference": "EXTERNAL_REFERENCE",
    "description": "DESCRIPTION",
    "financing_fee": "FINANCING_FEE_AMOUNT",
    "shipping_fee": "SHIPPING_FEE_AMOUNT",
    "taxes": "TAXES_AMOUNT",
    "coupon": "COUPON_AMOUNT",
    "installments": "INSTALLMENTS",
    "payment_method": "PAYMENT_METHOD",
    "payment_method_type": "PAYMENT_METHOD_TYPE",
    "order_id": "ORDER_ID",
    "pack_id": "PACK_ID",
    "shipping_id": "SHIPPING_ID",
}
COLUMNS: dict[ReportKind, dict[str, str]] = {
    "settlement": {
        **_COMMON,
        "entry_type": "TRANSACTION_TYPE",
        "gross": "TRANSACTION_AMOUNT",
        "fee": "FEE_AMOUNT",
        "net": "SETTLEMENT_NET_AMOUNT",
        "mp_fee": "MKP_FEE_AMOUNT",
        "currency": "SETTLEMENT_CURRENCY",
        "currency_fallback": "TRANSACTION_CURRENCY",
        "transaction_date": "TRANSACTION_DATE",
        "settlement_date": "SETTLEMENT_DATE",
        "release_date": "MONEY_RELEASE_DATE",
    },
    "release": {
        **_COMMON,
        "entry_type": "RECORD_TYPE",
        "gross": "GROSS_AMOUNT",
        "credit": "NET_CREDIT_AMOUNT",
        "debit": "NET_DEBIT_AMOUNT",
        "mp_fee": "MP_FEE_AMOUNT",
        "currency": "CURRENCY",
        "transaction_date": "TRANSACTION_APPROVAL_DATE",
        "release_date": "DATE",
    },
}
# What the arithmetic and the identity cannot do without.
REQUIRED: dict[ReportKind, tuple[str, ...]] = {
    "settlement": (
        "SOURCE_ID",
        "TRANSACTION_TYPE",
        "TRANSACTION_DATE",
        "TRANSACTION_AMOUNT",
        "FEE_AMOUNT",
        "SETTLEMENT_NET_AMOUNT",
    ),
    "release": (
        "DATE",
        "SOURCE_ID",
        "RECORD_TYPE",
        "DESCRIPTION",
        "NET_CREDIT_AMOUNT",
        "NET_DEBIT_AMOUNT",
        "GROSS_AMOUNT",
    ),
}
# Columns only one report has: how a header tells which report it is.
SIGNATURE: dict[ReportKind, frozenset[str]] = {
    "settlement": frozenset({"TRANSACTION_TYPE", "SETTLEMENT_NET_AMOUNT", "FEE_AMOUNT"}),
    "release": frozenset({"RECORD_TYPE", "NET_CREDIT_AMOUNT", "NET_DEBIT_AMOUNT"}),
}
AMOUNT_FIELDS = (
    "gross",
    "fee",
    "net",
    "credit",
    "debit",
    "mp_fee",
    "financing_fee",
    "shipping_fee",
    "taxes",
    "coupon",
)
SUMMARY_RECORDS = frozenset({"initial_available_balance", "subtotal", "total", "available_balance"})
BALANCE_PAYOUT_PREFIXES = ("pre_payout_", "pos_payout_", "pre_withdrawal_", "pos_withdrawal_")
PAYOUT_DESCRIPTIONS = frozenset({"payout", "withdrawal"})
PAYOUT_TRANSACTIONS = frozenset({"PAYOUT", "WITHDRAWAL", "WITHDRAWAL_CANCEL"})


class _BadAmountError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is not an amount")
        self.text = text


def parse_amount(text: str) -> Decimal:
    """`79.00`, `-8,85`, `1.234,56`, `1,234.56` or empty (0.00) as a Decimal; ValueError for
    anything else (NaN and infinities included)."""
    if not text:
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = _localised_amount(text)
    if not value.is_finite():
        raise _BadAmountError(text)
    return value


def _localised_amount(text: str) -> Decimal:
    # The rightmost of `,` and `.` is the decimal mark, the other groups thousands; a lone comma
    # is a decimal comma. `1.234` alone stays 1.234: Mercado Pago writes two decimals.
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    comma, dot = cleaned.rfind(","), cleaned.rfind(".")
    if comma > dot and cleaned.count(",") == 1:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise _BadAmountError(text) from None


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
        return _rows(self)


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
        return sum(part.strip().strip('"').upper() in _KNOWN_COLUMNS for part in parts)

    return max(SEPARATORS, key=recognised)


_KNOWN_COLUMNS = frozenset(name for columns in COLUMNS.values() for name in columns.values())


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


def _rows(report: ReportReader) -> Iterator[ReportRow]:
    columns, width = report.columns, len(report.columns)
    pick = _picker(report.kind, columns)
    build = _settlement_row if report.kind == "settlement" else _release_row
    twins, offset = _Twins(), report.header_line
    rows = csv.reader(report._text, delimiter=report.separator)
    try:
        for values in rows:
            if not any(values):
                continue  # a blank line, or one of separators only
            raw = dict(zip(columns, values, strict=False))
            if len(values) < width:
                values.extend([""] * (width - len(values)))
            values.append("")  # index -1: what a column the file lacks reads
            try:
                yield build(pick(values), offset + rows.line_num, raw, twins)
            except _BadAmountError as exc:
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
    amount_columns = {COLUMNS[report.kind].get(field) for field in AMOUNT_FIELDS}
    column = next((c for c, v in raw.items() if v == value and c in amount_columns), "?")
    return ReportFormatError(
        ReportProblem.BAD_AMOUNT, file=report.name, line=line, column=column, value=value
    )


def _settlement_row(
    fields: tuple[str, ...], line: int, raw: Mapping[str, str], twins: _Twins
) -> ReportRow:
    (source_id, reference, entry_type, description, gross_text, fee_text, net_text, _, _) = fields[
        :9
    ]
    gross, fee, net = parse_amount(gross_text), parse_amount(fee_text), parse_amount(net_text)
    dates = _dates(fields[16], fields[17], fields[18])
    flags = dates[3]
    if net != gross + fee:
        flags += (RowFlag.ARITHMETIC,)
    key = twins.key(
        "settlement", source_id, entry_type, "", _date_key(dates[0], fields[16]), gross, fee, net
    )
    payout_id = source_id if entry_type in PAYOUT_TRANSACTIONS else ""
    fees = _fees(fields)
    return ReportRow(
        "settlement", key, line, source_id, reference, entry_type, description, gross, fee,
        *fees, net, None, None, fields[14] or fields[15], dates[0], dates[1], dates[2],
        payout_id, _installments(fields[19]), fields[20], fields[21], fields[22], fields[23],
        fields[24], False, flags, raw,
    )  # fmt: skip


def _release_row(
    fields: tuple[str, ...], line: int, raw: Mapping[str, str], twins: _Twins
) -> ReportRow:
    source_id, reference, entry_type, description, gross_text = fields[:5]
    gross = parse_amount(gross_text)
    credit, debit = parse_amount(fields[7]), parse_amount(fields[8])
    fees = _fees(fields)
    fee_total = fees[0] + fees[1] + fees[2] + fees[3] + fees[4]
    net = credit - debit
    dates = _dates(fields[16], "", fields[18])
    flags = dates[3]
    if net != gross + fee_total:
        flags += (RowFlag.ARITHMETIC,)
    date_key = _date_key(dates[2], fields[18])
    key = twins.key("release", source_id, entry_type, description, date_key, credit, debit, gross)
    return ReportRow(
        "release", key, line, source_id, reference, entry_type, description, gross, fee_total,
        *fees, net, credit, debit, fields[14], dates[0], None, dates[2],
        _release_payout(entry_type, description, source_id), _installments(fields[19]),
        fields[20], fields[21], fields[22], fields[23], fields[24], entry_type in SUMMARY_RECORDS,
        flags, raw,
    )  # fmt: skip


def _fees(fields: tuple[str, ...]) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    return (
        parse_amount(fields[9]),
        parse_amount(fields[10]),
        parse_amount(fields[11]),
        parse_amount(fields[12]),
        parse_amount(fields[13]),
    )


def _release_payout(entry_type: str, description: str, source_id: str) -> str:
    if description.startswith(BALANCE_PAYOUT_PREFIXES):
        return description.split("_", 2)[2]
    return source_id if description in PAYOUT_DESCRIPTIONS else ""


def _installments(text: str) -> int | None:
    return int(text) if text.isdigit() else None


_NO_FLAGS: tuple[RowFlag, ...] = ()
_UNREADABLE_DATE = (RowFlag.UNREADABLE_DATE,)


def _dates(
    *texts: str,
) -> tuple[datetime | None, datetime | None, datetime | None, tuple[RowFlag, ...]]:
    parsed: list[datetime | None] = []
    flags = _NO_FLAGS
    for text in texts:
        if not text:
            parsed.append(None)
            continue
        try:
            parsed.append(datetime.fromisoformat(text))
        except ValueError:
            parsed.append(None)
            flags = _UNREADABLE_DATE
    return parsed[0], parsed[1], parsed[2], flags


def _date_key(value: datetime | None, text: str) -> str:
    # The instant, not the text: a report exported with another `display_timezone` writes the
    # same moment with another offset, and must still name the same rows.
    if value is None or value.tzinfo is None:
        return text
    return repr(value.timestamp())


_CENTS = Decimal("0.00")


class _Twins:
    """Row identity, and the one case it must count: two rows identical in every identity
    field (two partial refunds of the same amount in the same second) are two movements of
    money, so the second gets `#1` in its key. Identical rows share their date, so every report
    that holds one holds both, in the same order; counting among the last TWIN_WINDOW distinct
    rows keeps memory flat on a 1,000,000-row file and is exact for any file sorted by a date
    (Mercado Pago's are)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._order: deque[str] = deque()

    def key(self, kind: str, *parts: str | Decimal) -> str:
        # Amounts keyed with at least two decimals: `79`, `79.0` and `79,00` are the same money.
        content = "\x1f".join(
            [kind, *(str(p + _CENTS) if isinstance(p, Decimal) else p for p in parts)]
        )
        digest = hashlib.sha256(content.encode()).hexdigest()
        seen = self._seen.get(digest, 0)
        self._seen[digest] = seen + 1
        if seen:
            return hashlib.sha256(f"{digest}#{seen}".encode()).hexdigest()
        self._order.append(digest)
        if len(self._order) > TWIN_WINDOW:
            del self._seen[self._order.popleft()]
        return digest
