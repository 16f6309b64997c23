"""Columns and row <-> record mapping, once for every backend. A table's columns are named here
in the order every SELECT lists them; what differs between backends is only how a stored value
reads back (SQLite keeps ISO text, decimal strings, JSON text and 0/1 flags; PostgreSQL's driver
returns datetimes, Decimals, parsed JSONB and booleans) and how one is written: a `Decoder` and
an `Encoder` per dialect.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Generic, Literal, NamedTuple, TypeVar, cast

from ..clock import parse_iso, utc_iso
from ..models import (
    ActionPlan,
    Chargeback,
    ChargebackOutcome,
    DeadLetter,
    LedgerChargeback,
    LedgerRefund,
    Order,
    Payment,
    PaymentLog,
    QueueEvent,
    ReconcileRun,
    Refund,
)
from ..payments import payment_state_key
from ..records import record
from ..reports.records import (
    MoneyDay,
    PaymentMoney,
    ReportFileRecord,
    ReportNotificationRecord,
    StoredReportRow,
)
from ..reports.rows import PAYOUT_TRANSACTIONS, PlainSettlement, ReportRow

R = TypeVar("R")
# How a stored value is decoded: a time, money, a flag, a JSON object or list (empty when
# absent). Columns not named in `kinds` read back as they are.
Kind = Literal["time", "money", "summed", "flag", "object", "list", "json"]
Row = tuple[Any, ...]


@record(frozen=True, slots=True)
class Columns(Generic[R]):
    """A table's columns as SELECTs list them, and the record a row of them becomes."""

    names: tuple[str, ...]
    record: Callable[..., R]
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)  # column -> record field

    @property
    def sql(self) -> str:
        return ", ".join(self.names)

    def field_of(self, column: str) -> str:
        return self.fields.get(column, column)


QUEUE = Columns(
    names=(
        "id",
        "dedupe_key",
        "topic",
        "action",
        "resource_id",
        "live_mode",
        "user_id",
        "payload",
        "headers",
        "received_via",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_by",
        "locked_until",
        "last_error",
        "attempt_log",
        "note",
        "received_at",
        "updated_at",
        "completed_at",
    ),
    record=QueueEvent,
    kinds={
        "live_mode": "flag",
        "headers": "object",
        "next_attempt_at": "time",
        "locked_until": "time",
        "attempt_log": "list",
        "received_at": "time",
        "updated_at": "time",
        "completed_at": "time",
    },
    fields={"attempt_log": "errors"},
)
DEAD_LETTERS = Columns(
    names=(
        "id",
        "queue_id",
        "dedupe_key",
        "topic",
        "payload",
        "headers",
        "reason",
        "last_error",
        "attempt_log",
        "attempts",
        "received_via",
        "dead_at",
        "resolved_at",
        "resolution",
        "note",
    ),
    record=DeadLetter,
    kinds={"headers": "object", "attempt_log": "list", "dead_at": "time", "resolved_at": "time"},
    fields={"attempt_log": "errors"},
)
ORDERS = Columns(
    names=(
        "id",
        "status",
        "amount",
        "currency",
        "title",
        "preference_id",
        "payment_id",
        "payment_status",
        "payment_updated_at",
        "created_at",
        "updated_at",
        "paid_at",
        "source",
        "mp_order_id",
        "mp_order_version",
    ),
    record=Order,
    kinds={
        "amount": "money",
        "payment_updated_at": "time",
        "created_at": "time",
        "updated_at": "time",
        "paid_at": "time",
    },
)
PAYMENT_LOGS = Columns(
    names=(
        "id",
        "payment_id",
        "status",
        "status_detail",
        "external_reference",
        "amount",
        "currency",
        "date_last_updated",
        "source",
        "recorded_at",
        "raw",
        "refunded_amount",
    ),
    record=PaymentLog,
    kinds={
        "amount": "money",
        "refunded_amount": "money",
        "date_last_updated": "time",
        "recorded_at": "time",
        "raw": "object",
    },
)
RECONCILE_RUNS = Columns(
    names=(
        "id",
        "started_at",
        "finished_at",
        "status",
        "leases_recovered",
        "retried",
        "swept",
        "drift_fixed",
        "archived",
        "dead_lettered",
        "errors",
        "details",
    ),
    record=ReconcileRun,
    kinds={"started_at": "time", "finished_at": "time", "details": "object"},
)
REFUNDS = Columns(
    names=(
        "id",
        "payment_id",
        "order_id",
        "amount",
        "status",
        "source_type",
        "date_created",
        "first_seen_at",
    ),
    record=LedgerRefund,
    kinds={"amount": "money", "date_created": "time", "first_seen_at": "time"},
)
CHARGEBACKS = Columns(
    names=(
        "id",
        "payment_id",
        "order_id",
        "amount",
        "currency",
        "outcome",
        "coverage_applied",
        "documentation_required",
        "documentation_status",
        "documentation_deadline",
        "date_created",
        "date_last_updated",
        "first_seen_at",
        "updated_at",
        "alerted_at",
    ),
    record=LedgerChargeback,
    kinds={
        "amount": "money",
        "coverage_applied": "flag",
        "documentation_required": "flag",
        "documentation_deadline": "time",
        "date_created": "time",
        "date_last_updated": "time",
        "first_seen_at": "time",
        "updated_at": "time",
        "alerted_at": "time",
    },
)
# A stored write, read back as the plan that made it (its status is not part of the plan).
ACTION_PLANS = Columns(
    names=(
        "kind",
        "payment_id",
        "order_id",
        "requested_amount",
        "amount",
        "currency",
        "body",
        "idempotency_key",
    ),
    record=ActionPlan,
    kinds={"requested_amount": "money", "amount": "money", "body": "json"},
    fields={"requested_amount": "amount", "amount": "effective_amount", "idempotency_key": "key"},
)
REPORT_FILES = Columns(
    names=(
        "sha256",
        "kind",
        "name",
        "source",
        "imported_at",
        "begin_date",
        "end_date",
        "transaction_id",
        "rows_read",
        "rows_added",
        "rows_flagged",
    ),
    record=ReportFileRecord,
    kinds={"imported_at": "time", "begin_date": "time", "end_date": "time"},
)
REPORT_ROWS = Columns(
    names=(
        "row_key",
        "kind",
        "source_id",
        "external_reference",
        "entry_type",
        "description",
        "gross",
        "fee_total",
        "mp_fee",
        "financing_fee",
        "shipping_fee",
        "taxes",
        "coupon",
        "net",
        "currency",
        "row_date",
        "settlement_date",
        "release_date",
        "payout_id",
        "payment_method",
        "summary",
        "flags",
        "file_sha256",
        "line",
    ),
    record=StoredReportRow,
    kinds={
        **dict.fromkeys(
            ("gross", "fee_total", "mp_fee", "financing_fee", "shipping_fee", "taxes"), "money"
        ),
        "coupon": "money",
        "net": "money",
        "row_date": "time",
        "settlement_date": "time",
        "release_date": "time",
        "summary": "flag",
    },
)
REPORT_NOTIFICATIONS = Columns(
    names=("transaction_id", "report_type", "status", "files", "rows_added", "received_at"),
    record=ReportNotificationRecord,
    kinds={"received_at": "time"},
)
_DAY_SUMS = (
    "gross", "fees", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon", "net",
    "refunded", "charged_back", "released", "paid_out",
)  # fmt: skip
MONEY_DAYS = Columns(
    names=("day", "currency", "rows", "payments", *_DAY_SUMS),
    record=MoneyDay,
    kinds=dict.fromkeys(_DAY_SUMS, "summed"),
)
MONEY_PAYMENTS = Columns(
    names=(
        "payment_id", "order_id", "order_amount_text", "order_amount", "order_currency",
        "order_status", "paid_at", "logged", "logged_reference", "ledger_refunded",
        "ledger_refund_at", "ledger_chargebacks", "currency", "external_reference", "settlements",
        "settled_at", "gross", "refunded", "refund_at", "chargeback_rows", "charged_back",
        "chargeback_at",
    ),
    record=PaymentMoney,
    kinds={
        "order_amount_text": "money",
        **dict.fromkeys(
            ("order_amount", "ledger_refunded", "gross", "refunded", "charged_back"), "summed"
        ),
        **dict.fromkeys(
            ("paid_at", "ledger_refund_at", "settled_at", "refund_at", "chargeback_at"), "time"
        ),
        "logged": "flag",
    },
)  # fmt: skip
# What a payment state writes to payment_logs (the id is the table's own).
PAYMENT_LOG_WRITE = (*PAYMENT_LOGS.names[1:], "state_key")


@record(frozen=True, slots=True)
class Decoder:
    """Stored value -> Python value, per dialect; None stays None."""

    time: Callable[[Any], datetime | None]
    money: Callable[[Any], Decimal | None]
    flag: Callable[[Any], bool | None]
    json: Callable[[Any], Any]
    summed: Callable[[Any], Decimal | None]  # an amount of money_days / money_payments


@record(frozen=True, slots=True)
class Encoder:
    """Python value -> what a dialect's statement takes; None stays None."""

    time: Callable[[datetime | None], Any]
    money: Callable[[Decimal | None], Any]
    json: Callable[[Any], Any]
    text: Callable[[str | None], str | None]  # free text (PostgreSQL text cannot hold NUL)
    flag: Callable[[bool | None], Any] = lambda value: value


def unchanged(value: Any) -> Any:
    return value


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _loads(value: Any) -> Any:
    return json.loads(value) if value else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _from_cents(value: Any) -> Decimal | None:
    """SQLite's money summaries hold integer cents (migration 0007)."""
    return None if value is None else Decimal(value).scaleb(-2)


TEXT_DECODER = Decoder(time=parse_iso, money=_decimal, flag=_bool, json=_loads, summed=_from_cents)


def _flag_int(value: bool | None) -> int | None:
    return None if value is None else int(value)


TEXT_ENCODER = Encoder(time=_iso, money=_money_text, json=_dumps, text=unchanged, flag=_flag_int)
NATIVE_DECODER = Decoder(
    time=unchanged, money=unchanged, flag=unchanged, json=unchanged, summed=unchanged
)


def _converter(kind: Kind | None, decode: Decoder) -> Callable[[Any], Any]:
    if kind is None:
        return unchanged
    if kind == "object":
        return lambda value: decode.json(value) or {}
    if kind == "list":
        return lambda value: decode.json(value) or []
    if kind == "json":
        return decode.json
    converter: Callable[[Any], Any] = getattr(decode, kind)
    return converter


def reader(columns: Columns[R], decode: Decoder) -> Callable[[Row], R]:
    """A function from a row of `columns` (in their order) to its record."""
    names = [columns.field_of(name) for name in columns.names]
    converters = [_converter(columns.kinds.get(name), decode) for name in columns.names]
    if _positional(columns.record, names):
        return _positional_reader(columns.record, converters)

    def read(row: Row) -> R:
        return columns.record(
            **{
                name: convert(value)
                for name, convert, value in zip(names, converters, row, strict=True)
            }
        )

    return read


def _positional(record: Callable[..., Any], names: list[str]) -> bool:
    """Whether the record takes the columns positionally: its leading fields are these."""
    if dataclasses.is_dataclass(record):
        fields = [item.name for item in dataclasses.fields(record)]
    else:
        fields = list(getattr(record, "_fields", ()))  # a NamedTuple
    return fields[: len(names)] == names


def _positional_reader(
    record: Callable[..., R], converters: list[Callable[[Any], Any]]
) -> Callable[[Row], R]:
    """Converts only the columns that need it and builds the record without a dict: `money`
    reads tens of thousands of rows at a time."""
    steps = [
        (index, convert) for index, convert in enumerate(converters) if convert is not unchanged
    ]

    def read(row: Row) -> R:
        values = list(row)
        for index, convert in steps:
            values[index] = convert(values[index])
        return record(*values)

    return read


def order_values(order: Order, encode: Encoder) -> tuple[Any, ...]:
    """An order's values in ORDERS order."""
    return (
        order.id,
        order.status,
        encode.money(order.amount),
        order.currency,
        order.title,
        order.preference_id,
        order.payment_id,
        order.payment_status,
        encode.time(order.payment_updated_at),
        encode.time(order.created_at),
        encode.time(order.updated_at),
        encode.time(order.paid_at),
        order.source,
        order.mp_order_id,
        order.mp_order_version,
    )


def payment_log_values(
    payment: Payment, source: str, now: datetime, encode: Encoder
) -> tuple[Any, ...]:
    """A payment state's log row in PAYMENT_LOG_WRITE order."""
    return (
        payment.id,
        payment.status,
        payment.status_detail,
        payment.external_reference,
        encode.money(payment.amount),
        payment.currency,
        encode.time(payment.date_last_updated),
        source,
        encode.time(now),
        encode.json(payment.raw) if payment.raw else None,
        encode.money(payment.refunded_amount),
        payment_state_key(payment),
    )


def refund_values(refund: Refund, order_id: str, now: datetime, encode: Encoder) -> Row:
    """A refund's row: REFUNDS order, then updated_at and raw."""
    return (
        refund.id,
        refund.payment_id,
        order_id,
        encode.money(refund.amount),
        refund.status,
        refund.source_type,
        encode.time(refund.date_created),
        encode.time(now),
        encode.time(now),
        encode.json(refund.raw) if refund.raw else None,
    )


def chargeback_values(
    chargeback: Chargeback,
    payment_id: str | None,
    order_id: str | None,
    outcome: ChargebackOutcome,
    now: datetime,
    encode: Encoder,
) -> Row:
    """A chargeback's row: CHARGEBACKS order up to updated_at, then raw."""
    return (
        chargeback.id,
        payment_id,
        order_id,
        encode.money(chargeback.amount),
        chargeback.currency,
        outcome,
        encode.flag(chargeback.coverage_applied),
        encode.flag(chargeback.documentation_required),
        chargeback.documentation_status,
        encode.time(chargeback.documentation_deadline),
        encode.time(chargeback.date_created),
        encode.time(chargeback.date_last_updated),
        encode.time(now),
        encode.time(now),
        encode.json(chargeback.raw) if chargeback.raw else None,
    )


def action_values(plan: ActionPlan, now: datetime, encode: Encoder) -> Row:
    """A new write's row: ACTION_PLANS order, then status, attempts and the two times."""
    return (
        plan.kind,
        plan.payment_id,
        plan.order_id,
        encode.money(plan.amount),
        encode.money(plan.effective_amount),
        plan.currency,
        encode.json(plan.body),
        plan.key,
        "open",
        1,
        encode.time(now),
        encode.time(now),
    )


# How a store wants report rows encoded, by name, so that a helper process that parses a big
# file (mpcheckout/report_helper.py) can encode for it: SQLite's text, or the driver's types.
ReportEncoding = Literal["text", "native"]
REPORT_ENCODERS: dict[ReportEncoding, Encoder] = {
    "text": TEXT_ENCODER,
    "native": Encoder(time=unchanged, money=unchanged, json=unchanged, text=unchanged),
}
REPORT_BATCH_ROWS = 2_000  # one executemany, and one message from a helper process (~0.5 MB)


class ReportBatch(NamedTuple):
    """Encoded report rows on their way into a store, with what the file's record counts."""

    rows: list[Row]  # REPORT_ROWS values, encoded as the store's `report_encoding` says
    flagged: int  # rows of the batch the parser flagged
    position: int  # bytes of the file read when the batch was full: what progress shows


def report_batches(
    rows: Iterable[ReportRow | PlainSettlement],
    file_sha256: str,
    encoding: ReportEncoding,
    position: Callable[[], int],
) -> Iterator[ReportBatch]:
    """Parsed rows, encoded, in batches of REPORT_BATCH_ROWS; `position` tells how far into
    the file the parser has read. PlainSettlement rows only for the "text" encoding."""
    values, plain = _report_encoders(file_sha256, REPORT_ENCODERS[encoding])
    batch: list[Row] = []
    flagged = 0
    for row in rows:
        batch.append(plain(row) if isinstance(row, PlainSettlement) else values(row))
        if row.flags:
            flagged += 1
        if len(batch) == REPORT_BATCH_ROWS:
            yield ReportBatch(batch, flagged, position())
            batch, flagged = [], 0
    if batch:
        yield ReportBatch(batch, flagged, position())


def report_row_encoder(file_sha256: str, encode: Encoder) -> Callable[[ReportRow], Row]:
    """A function from a parsed row to its REPORT_ROWS values."""
    return _report_encoders(file_sha256, encode)[0]


def _report_encoders(
    file_sha256: str, encode: Encoder
) -> tuple[Callable[[ReportRow], Row], Callable[[PlainSettlement], Row]]:
    """REPORT_ROWS values of a ReportRow, and of a PlainSettlement (text encoding only). Built
    once per file: they run a million times for a big report, so the per-row work is a tuple
    and a few conversions."""
    money, time, flag = encode.money, encode.time, encode.flag
    if encode is TEXT_ENCODER:
        # Per row, at 1,000,000 rows: a report row's amounts are never None, so `str` itself
        # (no wrapper call); the UTC texts of its dates come from _last_iso's memory.
        money, time = str, _last_iso()

    def values(r: ReportRow) -> Row:
        # One unpacking rather than 24 attribute reads (~0.5 µs a row).
        (kind, key, line, source, reference, entry_type, description, gross, fee_total, mp_fee,
         financing, shipping, taxes, coupon, net, _, _, currency, transaction_date, settled,
         released, payout, _, method, _, _, _, _, summary, flags, _, _) = r  # fmt: skip
        date = transaction_date if kind == "settlement" else released  # ReportRow.date
        return (
            key, kind, source, reference or None, entry_type, description or None, money(gross),
            money(fee_total), money(mp_fee), money(financing), money(shipping), money(taxes),
            money(coupon), money(net), currency or None, time(date), time(settled),
            time(released), payout or None, method or None, flag(summary),
            ",".join(flags) if flags else None, file_sha256, line,
        )  # fmt: skip

    def plain(p: PlainSettlement) -> Row:
        if encode is not TEXT_ENCODER:
            raise TypeError("a PlainSettlement's amounts are text: only for a text encoding")
        f, (gross, fee, net, mp_fee, financing, shipping, taxes, coupon) = p.fields, p.amounts
        return (
            p.row_key, "settlement", f[0], f[1] or None, f[2], f[3] or None, gross, fee, mp_fee,
            financing, shipping, taxes, coupon, net, f[12] or f[13] or None,
            time(p.transaction_date), time(p.settlement_date), time(p.release_date),
            (f[0] if f[2] in PAYOUT_TRANSACTIONS else "") or None, f[18] or None, 0,
            ",".join(p.flags) if p.flags else None, file_sha256, p.line,
        )  # fmt: skip

    return values, plain


def _last_iso() -> Callable[[datetime | None], str | None]:
    """utc_iso, for the rows of a big report (utc_iso is ~2 µs a call): an instant equal to
    the last one reuses its text (a settlement date is often the transaction date), and the
    UTC text of a minute is worked out once per minute and fixed offset."""
    last: list[Any] = [None, None]
    minutes: dict[tuple[Any, ...], str] = {}

    def time(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        if moment != last[0]:
            last[0], last[1] = moment, _utc_text(moment, minutes)
        return cast(str, last[1])

    return time


_MINUTE = timedelta(minutes=1)
_MINUTES_KEPT = 10_000  # ~1 MB; a month of rows spans ~43,000 minutes, read in order


def _utc_text(moment: datetime, minutes: dict[tuple[Any, ...], str]) -> str:
    zone = moment.tzinfo
    if type(zone) is not timezone:
        return utc_iso(moment)  # naive, or a zone whose offset changes (DST)
    key = (moment.year, moment.month, moment.day, moment.hour, moment.minute, zone)
    prefix = minutes.get(key)
    if prefix is not None:
        return f"{prefix}:{moment.second:02d}.{moment.microsecond:06d}Z"
    text = utc_iso(moment)
    if not zone.utcoffset(None) % _MINUTE:  # an offset in seconds would move the seconds too
        if len(minutes) >= _MINUTES_KEPT:
            minutes.clear()
        minutes[key] = text[:16]
    return text


def report_file_values(record: ReportFileRecord, encode: Encoder) -> Row:
    """A file's row in REPORT_FILES order."""
    return (
        record.sha256,
        record.kind,
        record.name,
        record.source,
        encode.time(record.imported_at),
        encode.time(record.begin_date),
        encode.time(record.end_date),
        record.transaction_id,
        record.rows_read,
        record.rows_added,
        record.rows_flagged,
    )


def reconcile_run_values(run: ReconcileRun, encode: Encoder) -> tuple[Any, ...]:
    """A reconcile run's values in RECONCILE_RUNS order, without the id."""
    return (
        encode.time(run.started_at),
        encode.time(run.finished_at),
        run.status,
        run.leases_recovered,
        run.retried,
        run.swept,
        run.drift_fixed,
        run.archived,
        run.dead_lettered,
        run.errors,
        encode.json(run.details),
    )


class Readers:
    """Row -> record for every table, with one dialect's decoder."""

    def __init__(self, decode: Decoder) -> None:
        self.decode = decode
        self.queue_event = reader(QUEUE, decode)
        self.dead_letter = reader(DEAD_LETTERS, decode)
        self.order = reader(ORDERS, decode)
        self.payment_log = reader(PAYMENT_LOGS, decode)
        self.reconcile_run = reader(RECONCILE_RUNS, decode)
        self.refund = reader(REFUNDS, decode)
        self.chargeback = reader(CHARGEBACKS, decode)
        self.action_plan = reader(ACTION_PLANS, decode)
        self.report_file = reader(REPORT_FILES, decode)
        self.report_row = reader(REPORT_ROWS, decode)
        self.report_notification = reader(REPORT_NOTIFICATIONS, decode)
        self.money_day = reader(MONEY_DAYS, decode)
        self.payment_money = reader(MONEY_PAYMENTS, decode)
