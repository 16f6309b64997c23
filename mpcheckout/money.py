"""The money view (`mpcheckout money`): what Mercado Pago's settlement and release reports say
the shop was paid, matched to the orders and payments mpcheckout knows, and every place where
the two disagree, each a named kind.

Matching (research mp-wave2 §4.6): a row joins to a payment by SOURCE_ID and to an order by
EXTERNAL_REFERENCE, or, where the report leaves it empty, by the order of that payment. Money
is summed in Decimal here, never by SQLite. Settlement rows give gross, fees and net (a
payment's own rows, its refunds and chargebacks); release rows give when money became
available and which payout took it: a release belongs to the first payout of its currency at
or after it (payouts withdraw what was released before them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from .clock import Clock
from .durations import parse_duration, parse_since
from .records import record
from .reports.records import PaidOrder, StoredReportRow
from .store.base import Store

ZERO = Decimal("0.00")
GroupBy = Literal["day", "order", "payout"]
SETTLED = "SETTLEMENT"
REFUND = "REFUND"
CHARGEBACK = "CHARGEBACK"
CHARGED_BACK_STATES = frozenset(
    {"chargeback_open", "chargeback_lost", "chargeback_covered", "charged_back"}
)


class DiscrepancyKind(StrEnum):
    # an approved payment of ours with no settlement row after reports.settlement_grace
    MISSING_SETTLEMENT = "missing_settlement"
    # a settlement row for a payment mpcheckout never saw
    UNKNOWN_PAYMENT = "unknown_payment"
    # a settlement's gross differs from its order's amount
    GROSS_MISMATCH = "gross_mismatch"
    # the report's refunds of a payment differ from the ledger's
    REFUND_MISMATCH = "refund_mismatch"
    # a chargeback row for a payment the ledger does not show charged back
    CHARGEBACK_NOT_IN_LEDGER = "chargeback_not_in_ledger"
    # a row in another currency than its order
    CURRENCY_MISMATCH = "currency_mismatch"


@record(slots=True, frozen=True)
class Discrepancy:
    kind: DiscrepancyKind
    payment_id: str
    order_id: str | None
    expected: str | None  # what mpcheckout holds (an amount or a currency)
    found: str | None  # what the report says
    since: datetime  # when it became a discrepancy

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.payment_id}"


@record(slots=True)
class MoneyLine:
    key: str  # the day (YYYY-MM-DD), order id or payout id
    currency: str
    payments: int = 0
    gross: Decimal = ZERO
    fees: Decimal = ZERO  # every fee the rows took (negative)
    mp_fee: Decimal = ZERO
    financing_fee: Decimal = ZERO
    shipping_fee: Decimal = ZERO
    taxes: Decimal = ZERO
    coupon: Decimal = ZERO
    net: Decimal = ZERO  # what reached the balance: settlements less refunds and chargebacks
    refunded: Decimal = ZERO
    charged_back: Decimal = ZERO
    released: Decimal = ZERO
    paid_out: Decimal = ZERO
    release_date: datetime | None = None
    payout_id: str | None = None


@record(slots=True)
class MoneyReport:
    since: datetime
    until: datetime
    by: GroupBy
    lines: list[MoneyLine]
    totals: list[MoneyLine]  # one per currency
    discrepancies: list[Discrepancy]
    rows: int
    counts: dict[str, int] = field(default_factory=dict)


def money_report(
    store: Store, clock: Clock, *, since: str = "30d", by: GroupBy = "day", grace: str = "3d"
) -> MoneyReport:
    now = clock.now()
    start = parse_since(since, now)
    rows = store.report_rows_between(start, now + timedelta(seconds=1))
    settlement = [r for r in rows if r.kind == "settlement"]
    releases = [r for r in rows if r.kind == "release" and not r.summary]
    paid = store.paid_orders(start, now + timedelta(seconds=1))
    match = _Matching.build(store, settlement, paid)
    lines = _group(by, settlement, releases, match)
    found = find_discrepancies(store, settlement, paid, match, now, parse_duration(grace))
    counts: dict[str, int] = {}
    for item in found:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    return MoneyReport(start, now, by, lines, _totals(lines), found, len(rows), counts)


@record(slots=True)
class _Matching:
    """Payment -> order, for the payments the rows and the paid orders name."""

    order_of: dict[str, str | None]  # payment id -> order id (None: never seen)
    paid: dict[str, PaidOrder]  # payment id -> the order it paid

    @classmethod
    def build(
        cls, store: Store, settlement: Sequence[StoredReportRow], paid: Sequence[PaidOrder]
    ) -> _Matching:
        by_payment = {order.payment_id: order for order in paid}
        order_of: dict[str, str | None] = {pid: o.order_id for pid, o in by_payment.items()}
        others = {r.source_id for r in settlement if r.source_id not in by_payment}
        seen = store.seen_payments(sorted(others)) if others else {}
        for payment_id in others:
            order_of[payment_id] = seen.get(payment_id)
        return cls(order_of, by_payment)

    def order_for(self, row: StoredReportRow) -> str | None:
        return row.external_reference or self.order_of.get(row.source_id)

    def known(self, payment_id: str) -> bool:
        return self.order_of.get(payment_id) is not None


def _group(
    by: GroupBy,
    settlement: Sequence[StoredReportRow],
    releases: Sequence[StoredReportRow],
    match: _Matching,
) -> list[MoneyLine]:
    payout_of = _payouts(releases)
    released_at = {r.source_id: r.release_date for r in releases if r.description == "payment"}
    lines: dict[tuple[str, str], MoneyLine] = {}
    if by == "payout":
        return _by_payout(releases, payout_of)
    for row in settlement:
        key = _day(row.row_date) if by == "day" else (match.order_for(row) or f"mp-{row.source_id}")
        line = lines.setdefault((key, row.currency or ""), MoneyLine(key, row.currency or ""))
        _add_settlement(line, row)
        if by == "order":
            line.release_date = released_at.get(row.source_id) or row.release_date
            line.payout_id = payout_of.get(row.source_id)
    if by == "day":
        for row in releases:
            line = lines.setdefault(
                (_day(row.row_date), row.currency or ""),
                MoneyLine(_day(row.row_date), row.currency or ""),
            )
            _add_release(line, row)
    return [lines[key] for key in sorted(lines)]


def _add_settlement(line: MoneyLine, row: StoredReportRow) -> None:
    if row.entry_type == SETTLED:
        line.payments += 1
        line.gross += row.gross
    elif row.entry_type.startswith(REFUND):
        line.refunded -= row.gross
    elif row.entry_type.startswith(CHARGEBACK):
        line.charged_back -= row.gross
    line.fees += row.fee_total
    line.mp_fee += row.mp_fee
    line.financing_fee += row.financing_fee
    line.shipping_fee += row.shipping_fee
    line.taxes += row.taxes
    line.coupon += row.coupon
    line.net += row.net


def _add_release(line: MoneyLine, row: StoredReportRow) -> None:
    if row.description in ("payout", "withdrawal") or row.payout_id:
        line.paid_out -= row.net
    else:
        line.released += row.net


def _payouts(releases: Sequence[StoredReportRow]) -> dict[str, str]:
    """Payment id -> the payout that withdrew its release (the first at or after it)."""
    payouts = sorted(
        (r for r in releases if r.payout_id and r.release_date),
        key=lambda r: (r.release_date, r.payout_id),
    )
    assigned: dict[str, str] = {}
    for row in releases:
        if row.description != "payment" or row.release_date is None:
            continue
        for payout in payouts:
            if payout.currency == row.currency and payout.release_date >= row.release_date:  # type: ignore[operator]
                assigned[row.source_id] = payout.payout_id or ""
                break
    return assigned


def _by_payout(releases: Sequence[StoredReportRow], payout_of: dict[str, str]) -> list[MoneyLine]:
    lines: dict[str, MoneyLine] = {}
    for row in releases:
        if row.payout_id:
            line = lines.setdefault(row.payout_id, MoneyLine(row.payout_id, row.currency or ""))
            line.paid_out -= row.net
            line.release_date, line.payout_id = row.release_date, row.payout_id
    for row in releases:
        payout = payout_of.get(row.source_id)
        if row.description == "payment" and payout in lines:
            lines[payout].released += row.net
            lines[payout].payments += 1
            lines[payout].gross += row.gross
            lines[payout].fees += row.fee_total
    return sorted(lines.values(), key=lambda line: (line.release_date is None, line.release_date))


def _totals(lines: Iterable[MoneyLine]) -> list[MoneyLine]:
    totals: dict[str, MoneyLine] = {}
    for line in lines:
        total = totals.setdefault(line.currency, MoneyLine("total", line.currency))
        for name in _SUMMED:
            setattr(total, name, getattr(total, name) + getattr(line, name))
    return [totals[currency] for currency in sorted(totals)]


_SUMMED = (
    "payments", "gross", "fees", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon",
    "net", "refunded", "charged_back", "released", "paid_out",
)  # fmt: skip


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "-"


# -- discrepancies ------------------------------------------------------------------------------
def find_discrepancies(
    store: Store,
    settlement: Sequence[StoredReportRow],
    paid: Sequence[PaidOrder],
    match: _Matching,
    now: datetime,
    grace: timedelta,
) -> list[Discrepancy]:
    found = _missing_settlements(store, settlement, paid, now, grace)
    found += _row_discrepancies(store, settlement, match)
    found += _refund_discrepancies(store, settlement, paid, match)
    found += _chargeback_discrepancies(store, settlement, match)
    return sorted(found, key=lambda d: (d.since, d.kind, d.payment_id))


def _missing_settlements(
    store: Store,
    settlement: Sequence[StoredReportRow],
    paid: Sequence[PaidOrder],
    now: datetime,
    grace: timedelta,
) -> list[Discrepancy]:
    settled = {r.source_id for r in settlement if r.entry_type == SETTLED}
    due = [o for o in paid if o.paid_at + grace < now and o.payment_id not in settled]
    if not due:
        return []
    # A settlement dated before the window (a payment approved at its very start) counts too.
    earlier = store.report_rows_for_payments([o.payment_id for o in due])
    settled |= {r.source_id for r in earlier if r.entry_type == SETTLED}
    return [
        Discrepancy(
            DiscrepancyKind.MISSING_SETTLEMENT,
            o.payment_id,
            o.order_id,
            str(o.amount) if o.amount is not None else None,
            None,
            o.paid_at + grace,
        )
        for o in due
        if o.payment_id not in settled
    ]


def _row_discrepancies(
    store: Store, settlement: Sequence[StoredReportRow], match: _Matching
) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    amounts = _order_amounts(store, settlement, match)
    for row in settlement:
        if row.entry_type != SETTLED or row.row_date is None:
            continue
        if not match.known(row.source_id):
            found.append(
                Discrepancy(
                    DiscrepancyKind.UNKNOWN_PAYMENT,
                    row.source_id,
                    row.external_reference,
                    None,
                    str(row.gross),
                    row.row_date,
                )
            )
            continue
        order_id = match.order_of.get(row.source_id)
        amount, currency = amounts.get(order_id or "", (None, None))
        if amount is not None and amount != row.gross:
            found.append(Discrepancy(DiscrepancyKind.GROSS_MISMATCH, row.source_id, order_id,
                                     str(amount), str(row.gross), row.row_date))  # fmt: skip
        if currency and row.currency and currency != row.currency:
            found.append(Discrepancy(DiscrepancyKind.CURRENCY_MISMATCH, row.source_id, order_id,
                                     currency, row.currency, row.row_date))  # fmt: skip
    return found


def _order_amounts(
    store: Store, settlement: Sequence[StoredReportRow], match: _Matching
) -> dict[str, tuple[Decimal | None, str | None]]:
    """Order id -> (amount, currency): from the paid orders, else read (rare: an order that was
    never marked paid, such as an amount_mismatch one)."""
    amounts = {o.order_id: (o.amount, o.currency) for o in match.paid.values()}
    for row in settlement:
        order_id = match.order_of.get(row.source_id)
        if order_id and order_id not in amounts:
            order = store.get_order(order_id)
            amounts[order_id] = (order.amount, order.currency) if order else (None, None)
    return amounts


def _refund_discrepancies(
    store: Store,
    settlement: Sequence[StoredReportRow],
    paid: Sequence[PaidOrder],
    match: _Matching,
) -> list[Discrepancy]:
    reported: dict[str, Decimal] = {}
    latest: dict[str, datetime] = {}
    for row in settlement:
        if row.entry_type.startswith(REFUND) and row.entry_type != "REFUND_SHIPPING":
            reported[row.source_id] = reported.get(row.source_id, ZERO) - row.gross
            if row.row_date:
                latest[row.source_id] = max(latest.get(row.source_id, row.row_date), row.row_date)
    ids = sorted({o.payment_id for o in paid} | set(reported))
    ledger: dict[str, Decimal] = {}
    for refund in store.refunds_for_payments(ids):
        if refund.status == "approved":
            ledger[refund.payment_id] = ledger.get(refund.payment_id, ZERO) + refund.amount
            if refund.date_created:
                moment = latest.get(refund.payment_id, refund.date_created)
                latest[refund.payment_id] = max(moment, refund.date_created)
    return [
        Discrepancy(
            DiscrepancyKind.REFUND_MISMATCH,
            pid,
            match.order_of.get(pid),
            str(ledger.get(pid, ZERO)),
            str(reported.get(pid, ZERO)),
            latest[pid],
        )
        for pid in sorted(set(reported) | set(ledger))
        if ledger.get(pid, ZERO) != reported.get(pid, ZERO) and pid in latest
    ]


def _chargeback_discrepancies(
    store: Store, settlement: Sequence[StoredReportRow], match: _Matching
) -> list[Discrepancy]:
    rows = [r for r in settlement if r.entry_type.startswith(CHARGEBACK)]
    if not rows:
        return []
    cases = {
        case.payment_id for case in store.chargebacks_for_payments([r.source_id for r in rows])
    }
    states = {o.payment_id: o.status for o in match.paid.values()}
    return [
        Discrepancy(
            DiscrepancyKind.CHARGEBACK_NOT_IN_LEDGER,
            r.source_id,
            match.order_of.get(r.source_id),
            None,
            str(-r.gross),
            r.row_date,
        )
        for r in rows
        if r.row_date is not None
        and r.source_id not in cases
        and states.get(r.source_id) not in CHARGED_BACK_STATES
    ]


@record(slots=True)
class ReportsStatus:
    """What `status` shows of the reports: the last import and the discrepancies open now."""

    last_import_at: datetime | None
    discrepancies: int
    by_kind: dict[str, int]
    oldest_since: datetime | None
    window: str
    keys: list[str] = field(default_factory=list)  # Discrepancy.key of each, for alerts


def reports_status(
    store: Store, clock: Clock, *, since: str = "30d", grace: str = "3d"
) -> ReportsStatus:
    """Nothing is computed before a first report is imported: `status` stays cheap then."""
    files = store.list_report_files(1)
    if not files:
        return ReportsStatus(None, 0, {}, None, since)
    report = money_report(store, clock, since=since, grace=grace)
    oldest = min((d.since for d in report.discrepancies), default=None)
    keys = [d.key for d in report.discrepancies]
    return ReportsStatus(
        files[0].imported_at, len(report.discrepancies), report.counts, oldest, since, keys
    )
