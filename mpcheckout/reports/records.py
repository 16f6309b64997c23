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


@record(slots=True, frozen=True)
class MoneyDay:
    """One UTC day's sums in one currency, as the database keeps them (table or view
    `money_days`). An amount is None where the day holds one finer than a cent: SQLite's exact
    summary cannot hold it, and no figure is better than a rounded one."""

    day: str  # YYYY-MM-DD
    currency: str
    rows: int
    payments: int
    gross: Decimal | None
    fees: Decimal | None
    mp_fee: Decimal | None
    financing_fee: Decimal | None
    shipping_fee: Decimal | None
    taxes: Decimal | None
    coupon: Decimal | None
    net: Decimal | None
    refunded: Decimal | None
    charged_back: Decimal | None
    released: Decimal | None
    paid_out: Decimal | None

    @property
    def exact(self) -> bool:
        return None not in (
            self.gross, self.fees, self.mp_fee, self.financing_fee, self.shipping_fee,
            self.taxes, self.coupon, self.net, self.refunded, self.charged_back, self.released,
            self.paid_out,
        )  # fmt: skip


@record(slots=True, frozen=True)
class PaymentMoney:
    """One payment as the settlement report tells it beside what mpcheckout holds of it (table
    or view `money_payments`). None amounts: finer than a cent (see MoneyDay)."""

    payment_id: str
    # what mpcheckout holds
    order_id: str | None  # the order this payment pays
    order_amount_text: Decimal | None  # the order's amount as stored
    order_amount: Decimal | None  # the same, None when the summary cannot hold it exactly
    order_currency: str | None
    order_status: str | None
    paid_at: datetime | None
    logged: bool  # mpcheckout has seen a state of this payment
    logged_reference: str | None
    ledger_refunded: Decimal | None  # approved refunds in the ledger
    ledger_refund_at: datetime | None
    ledger_chargebacks: int
    # what the settlement report says
    currency: str | None
    external_reference: str | None
    settlements: int
    settled_at: datetime | None
    gross: Decimal | None
    refunded: Decimal | None  # its refund rows (shipping refunds aside), as a positive amount
    refund_at: datetime | None
    chargeback_rows: int
    charged_back: Decimal | None
    chargeback_at: datetime | None

    @property
    def exact(self) -> bool:
        amounts = (self.gross, self.refunded, self.charged_back, self.ledger_refunded)
        order_held = self.order_amount_text is None or self.order_amount is not None
        return order_held and None not in amounts
