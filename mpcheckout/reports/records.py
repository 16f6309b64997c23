"""What is kept of an imported report: the file, each row as stored, and a report-ready
notification. Plain records; the store writes and reads them, services build them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from ..records import record
from .columns import ReportKind

ReportSource = Literal["file", "api", "webhook"]


@record(slots=True, frozen=True)
class ReportFileRecord:
    sha256: str
    kind: ReportKind
    name: str
    source: ReportSource
    imported_at: datetime
    begin_date: datetime | None = None  # the range asked for, when the file was fetched
    end_date: datetime | None = None
    transaction_id: str | None = None  # the report notification that named it
    rows_read: int = 0
    rows_added: int = 0
    rows_flagged: int = 0


@record(slots=True, frozen=True)
class ReportImportCounts:
    rows_read: int
    rows_added: int
    rows_flagged: int
    file_known: bool  # this very file (same bytes) had been imported before


@record(slots=True, frozen=True)
class StoredReportRow:
    """A report row as stored: the parser's ReportRow less what the matching never reads."""

    row_key: str
    kind: ReportKind
    source_id: str
    external_reference: str | None
    entry_type: str
    description: str | None
    gross: Decimal
    fee_total: Decimal
    mp_fee: Decimal
    financing_fee: Decimal
    shipping_fee: Decimal
    taxes: Decimal
    coupon: Decimal
    net: Decimal
    currency: str | None
    row_date: datetime | None  # settlement TRANSACTION_DATE; release DATE
    settlement_date: datetime | None
    release_date: datetime | None
    payout_id: str | None
    payment_method: str | None
    summary: bool
    flags: str | None  # RowFlag values joined by ","; None when the row passed every check
    file_sha256: str
    line: int


@record(slots=True, frozen=True)
class ReportNotificationRecord:
    transaction_id: str
    report_type: str | None
    status: Literal["imported", "test"]
    files: int
    rows_added: int
    received_at: datetime


class PaidOrder(NamedTuple):
    """An order paid by a payment (orders.payment_id, paid_at set): what `money` matches the
    settlement rows against. A tuple, not an Order: `money` reads a million of them."""

    order_id: str
    payment_id: str
    amount: Decimal | None
    currency: str | None
    status: str
    paid_at: datetime
