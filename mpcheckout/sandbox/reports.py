"""The sandbox's settlement and release reports, made from its own world so that they agree with
it to the cent (research mp-wave2 §4.4, §4.5 for the columns and the arithmetic):

- settlement: a SETTLEMENT row per approved payment (its fee at the rate of its payment type,
  net = gross + fee), a REFUND row per approved refund, a CHARGEBACK row per chargeback;
- release: each settlement's money released `release_days` after approval (`release/payment`),
  refunds and chargebacks taken back when they happen, and one payout a day that withdraws
  what was released that day (`release/payout`, its SOURCE_ID the payout's id).

A report is a task: requested (202), listed as `pending` until a client has looked at it
`ready_after` times, then `processed` with its file. `refuse_next` answers 203 to that many
requests, as Mercado Pago does when it "cannot create the report now".
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .state import Payment, SandboxState

CENT = Decimal("0.01")
DEFAULT_FEE_RATES = {
    "credit_card": Decimal("0.0499"),
    "debit_card": Decimal("0.0299"),
    "account_money": Decimal("0.0399"),
    "ticket": Decimal("0.0349"),
    "bank_transfer": Decimal("0.0099"),
}
DEFAULT_FEE_RATE = Decimal("0.0499")
DEFAULT_RELEASE_DAYS = 14
FIRST_REPORT_ID = 41_000_001
FIRST_PAYOUT_ID = 88_000_000_001
# The moments the sandbox writes dates in, as Mercado Pago does (GMT-4 unless configured).
DISPLAY_OFFSET = timedelta(hours=-4)
SETTLEMENT_COLUMNS = (
    "EXTERNAL_REFERENCE", "SOURCE_ID", "USER_ID", "PAYMENT_METHOD_TYPE", "PAYMENT_METHOD", "SITE",
    "TRANSACTION_TYPE", "TRANSACTION_AMOUNT", "TRANSACTION_CURRENCY", "TRANSACTION_DATE",
    "FEE_AMOUNT", "SETTLEMENT_NET_AMOUNT", "SETTLEMENT_CURRENCY", "SETTLEMENT_DATE",
    "REAL_AMOUNT", "COUPON_AMOUNT", "METADATA", "MKP_FEE_AMOUNT", "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT", "INSTALLMENTS", "MONEY_RELEASE_DATE",
)  # fmt: skip
RELEASE_COLUMNS = (
    "DATE", "SOURCE_ID", "EXTERNAL_REFERENCE", "RECORD_TYPE", "DESCRIPTION", "NET_CREDIT_AMOUNT",
    "NET_DEBIT_AMOUNT", "GROSS_AMOUNT", "MP_FEE_AMOUNT", "FINANCING_FEE_AMOUNT",
    "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT", "COUPON_AMOUNT", "INSTALLMENTS", "PAYMENT_METHOD",
    "CURRENCY",
)  # fmt: skip
# Statuses of a payment whose money reached the seller at some point.
SETTLED = frozenset({"approved", "refunded", "charged_back", "in_mediation"})


@dataclass(slots=True, frozen=True)
class Movement:
    """One money movement of the sandbox's world, before it is written as a report row."""

    kind: str  # SETTLEMENT | REFUND | CHARGEBACK | CHARGEBACK_CANCEL
    payment: Payment
    at: datetime
    gross: Decimal  # signed: a refund or chargeback is negative
    fee: Decimal  # negative
    metadata: str = "[{}]"

    @property
    def net(self) -> Decimal:
        return self.gross + self.fee


@dataclass(slots=True)
class ReportTask:
    id: int
    kind: str
    begin: datetime
    end: datetime
    file_name: str
    content: bytes
    date_created: datetime
    looks: int = 0  # times a client listed it; it is processed after `ready_after`


@dataclass(slots=True)
class ReportBook:
    """The reports one sandbox generated, and how it generates them."""

    fee_rates: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_FEE_RATES))
    release_days: int = DEFAULT_RELEASE_DAYS
    ready_after: int = 1
    refuse_next: int = 0
    withheld: set[int] = field(default_factory=set)  # payments whose settlement row is missing
    download_format: str = "csv"  # or "json": the `document.views` form some downloads take
    tasks: list[ReportTask] = field(default_factory=list)
    requests: int = 0

    def fee_of(self, payment: Payment) -> Decimal:
        rate = self.fee_rates.get(payment.payment_type_id, DEFAULT_FEE_RATE)
        return -(payment.transaction_amount * rate).quantize(CENT, ROUND_HALF_UP)

    def movements(self, state: SandboxState) -> list[Movement]:
        """Every money movement of the world, oldest first."""
        found: list[Movement] = []
        for payment in state.payments.values():
            if payment.date_approved is None or payment.status not in SETTLED:
                continue
            if payment.id not in self.withheld:
                found.append(
                    Movement(
                        "SETTLEMENT",
                        payment,
                        payment.date_approved,
                        payment.transaction_amount,
                        self.fee_of(payment),
                    )
                )
            for refund in payment.refunds:
                if refund.status == "approved":
                    metadata = f'[{{"refund_id":"{refund.id}"}}]'
                    found.append(Movement("REFUND", payment, refund.date_created,
                                          -refund.amount, Decimal("0.00"), metadata))  # fmt: skip
        for chargeback in state.chargebacks.values():
            payment = state.payments[chargeback.payment_id]
            found.append(Movement("CHARGEBACK", payment, chargeback.date_created,
                                  -chargeback.amount, Decimal("0.00")))  # fmt: skip
            if chargeback.coverage_applied:
                # Decided for the shop: the money comes back, as its own row (the settlement
                # report's `show_chargeback_cancel`), so the chargeback nets to zero.
                found.append(Movement("CHARGEBACK_CANCEL", payment, chargeback.date_last_updated,
                                      chargeback.amount, Decimal("0.00")))  # fmt: skip
        return sorted(found, key=lambda m: (m.at, m.payment.id, m.kind))

    def settlement_rows(
        self, state: SandboxState, begin: datetime, end: datetime
    ) -> list[Movement]:
        return [m for m in self.movements(state) if begin <= m.at < end]

    def totals(self, state: SandboxState, begin: datetime, end: datetime) -> dict[str, str]:
        """The world's own sums over a range: what a correct import must add up to."""
        rows = self.settlement_rows(state, begin, end)
        settled = [m for m in rows if m.kind == "SETTLEMENT"]
        return {
            "gross": str(sum((m.gross for m in settled), Decimal("0.00"))),
            "fees": str(sum((m.fee for m in rows), Decimal("0.00"))),
            "net": str(sum((m.net for m in rows), Decimal("0.00"))),
            "refunds": str(-sum((m.gross for m in rows if m.kind == "REFUND"), Decimal("0.00"))),
            "chargebacks": str(
                -sum((m.gross for m in rows if m.kind.startswith("CHARGEBACK")), Decimal("0.00"))
            ),
            "rows": str(len(rows)),
        }


def display(moment: datetime) -> str:
    """`2019-08-11T22:20:19.000-04:00`, as Mercado Pago writes report dates."""
    local = moment.astimezone(UTC) + DISPLAY_OFFSET
    return local.replace(tzinfo=None).isoformat(timespec="milliseconds") + "-04:00"


def settlement_csv(book: ReportBook, state: SandboxState, begin: datetime, end: datetime) -> bytes:
    lines = [";".join(SETTLEMENT_COLUMNS)]
    for m in book.settlement_rows(state, begin, end):
        p, when = m.payment, display(m.at)
        release = (
            display(m.at + timedelta(days=book.release_days)) if m.kind == "SETTLEMENT" else ""
        )
        lines.append(";".join((
            p.external_reference or "", str(p.id), "724484980", p.payment_type_id,
            p.payment_method_id, "MLA", m.kind, str(m.gross), p.currency_id, when, str(m.fee),
            str(m.net), p.currency_id, when, str(m.net), "0.00", m.metadata, str(m.fee), "0.00",
            "0.00", "0.00", "1", release,
        )))  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


@dataclass(slots=True, frozen=True)
class Release:
    at: datetime
    source_id: str
    reference: str
    description: str
    credit: Decimal
    debit: Decimal
    gross: Decimal
    fee: Decimal
    method: str
    currency: str


def releases(book: ReportBook, state: SandboxState) -> list[Release]:
    """Releases of the world, oldest first, each day's closed by a payout of that day's money."""
    found: list[Release] = []
    for m in book.movements(state):
        p = m.payment
        if m.kind == "SETTLEMENT":
            at = m.at + timedelta(days=book.release_days)
            found.append(Release(at, str(p.id), p.external_reference or "", "payment", m.net,
                                 Decimal("0.00"), m.gross, m.fee, p.payment_method_id,
                                 p.currency_id))  # fmt: skip
        else:
            found.append(Release(m.at, str(p.id), p.external_reference or "", m.kind.lower(),
                                 Decimal("0.00"), -m.net, m.gross, m.fee, p.payment_method_id,
                                 p.currency_id))  # fmt: skip
    found.sort(key=lambda r: (r.at, r.source_id))
    return _with_payouts(found)


def _with_payouts(found: list[Release]) -> list[Release]:
    days: dict[tuple[str, str], Decimal] = {}
    for r in found:
        key = (r.at.astimezone(UTC).date().isoformat(), r.currency)
        days[key] = days.get(key, Decimal("0.00")) + r.credit - r.debit
    payouts = []
    for index, ((day, currency), amount) in enumerate(sorted(days.items())):
        if amount <= 0:
            continue
        at = datetime.fromisoformat(day).replace(hour=23, minute=59, second=59, tzinfo=UTC)
        payouts.append(Release(at, str(FIRST_PAYOUT_ID + index), "", "payout", Decimal("0.00"),
                               amount, -amount, Decimal("0.00"), "", currency))  # fmt: skip
    return sorted(found + payouts, key=lambda r: (r.at, r.description == "payout", r.source_id))


def release_csv(book: ReportBook, state: SandboxState, begin: datetime, end: datetime) -> bytes:
    lines = [",".join(RELEASE_COLUMNS)]
    for r in releases(book, state):
        if begin <= r.at < end:
            lines.append(",".join((
                display(r.at), r.source_id, r.reference, "release", r.description, str(r.credit),
                str(r.debit), str(r.gross), str(r.fee), "0.00", "0.00", "0.00", "0.00", "1",
                r.method, r.currency,
            )))  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def report_file_name(kind: str, task_id: int, moment: datetime) -> str:
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d-%H%M%S")
    return f"{kind}-report-724484980-{stamp}-{task_id}.csv"


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def as_json_views(content: bytes, separator: str) -> bytes:
    """A CSV report as the JSON `document.views` some downloads answer with: numbers written as
    JSON numbers, exactly as the CSV wrote them; everything else as strings."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=separator))
    header, records = rows[0], rows[1:]
    body = ", ".join("[" + ", ".join(map(_json_value, record)) + "]" for record in records)
    group = f'{{"column": {json.dumps(header)}, "records": [{body}]}}'
    return f'{{"document": {{"views": [{{"report": {group}}}]}}}}'.encode()


def _json_value(text: str) -> str:
    return text if _NUMBER.fullmatch(text) else json.dumps(text)
