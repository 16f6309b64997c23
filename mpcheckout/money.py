"""The money view (`mpcheckout money`): what Mercado Pago's settlement and release reports say
the shop was paid, matched to the orders and payments mpcheckout knows, and every place where
the two disagree, each a named kind.

Matching (research mp-wave2 §4.6): a row joins to a payment by SOURCE_ID and to an order by
EXTERNAL_REFERENCE, or, where the report leaves it empty, by the order of that payment.
Settlement rows give gross, fees and net (a payment's own rows, its refunds and chargebacks);
release rows give when money became available and which payout took it: a release belongs to
the first payout of its currency at or after it (payouts withdraw what was released before
them).

Per day and the discrepancies come from summaries the database keeps as rows arrive
(`money_days`, `money_payments`: migration 0007), exact integer cents in SQLite and NUMERIC in
PostgreSQL, so that a million rows answer in milliseconds; a day holding an amount finer than a
cent is summed here in Decimal from its rows. Per order and per payout read the window's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, cast

from .clock import Clock
from .durations import parse_duration, parse_since
from .records import record
from .reports.records import MoneyDay, PaidOrder, PaymentMoney, StoredReportRow
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
    # an amount finer than a cent, which the exact summaries cannot hold
    AMOUNT_NOT_IN_CENTS = "amount_not_in_cents"


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
    """The window runs from the start of the UTC day `since` reaches back to, so that no day's
    line is cut in half, until now."""
    now = clock.now()
    start = _start_of_day(parse_since(since, now))
    until = now + timedelta(seconds=1)
    days = store.money_days(start.date().isoformat(), now.date().isoformat())
    if by == "day":
        lines = [_day_line(store, day) for day in days]
    else:
        lines = _row_lines(store, by, start, until)
    found = find_discrepancies(store, start, now, parse_duration(grace))
    counts: dict[str, int] = {}
    for item in found:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    rows = sum(day.rows for day in days)
    return MoneyReport(start, now, by, lines, _totals(lines), found, rows, counts)


def _start_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_line(store: Store, day: MoneyDay) -> MoneyLine:
    if not day.exact:
        return _day_from_rows(store, day)
    line = MoneyLine(day.day, day.currency, day.payments)
    for name in _DAY_SUMS:
        setattr(line, name, getattr(day, name))
    return line


def _day_from_rows(store: Store, day: MoneyDay) -> MoneyLine:
    """A day holding an amount finer than a cent: summed here, in Decimal, from its rows."""
    begin = datetime.fromisoformat(day.day).replace(tzinfo=UTC)
    rows = [r for r in store.report_rows_between(begin, begin + timedelta(days=1))
            if (r.currency or "") == day.currency]  # fmt: skip
    line = MoneyLine(day.day, day.currency)
    for row in rows:
        if row.kind == "settlement":
            _add_settlement(line, row)
        elif not row.summary:
            _add_release(line, row)
    return line


def _row_lines(store: Store, by: GroupBy, start: datetime, until: datetime) -> list[MoneyLine]:
    """Per order or per payout: every row of the window, read and matched here."""
    rows = store.report_rows_between(start, until)
    settlement = [r for r in rows if r.kind == "settlement"]
    releases = [r for r in rows if r.kind == "release" and not r.summary]
    match = _Matching.build(store, settlement, store.paid_orders(start, until))
    return _group(by, settlement, releases, match)


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
    """Lines per order or per payout (per day comes from the database's day sums)."""
    payout_of = _payouts(releases)
    if by == "payout":
        return _by_payout(releases, payout_of)
    released_at = {r.source_id: r.release_date for r in releases if r.description == "payment"}
    lines: dict[tuple[str, str], MoneyLine] = {}
    for row in settlement:
        key = match.order_for(row) or f"mp-{row.source_id}"
        line = lines.setdefault((key, row.currency or ""), MoneyLine(key, row.currency or ""))
        _add_settlement(line, row)
        line.release_date = released_at.get(row.source_id) or row.release_date
        line.payout_id = payout_of.get(row.source_id)
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


_DAY_SUMS = (
    "gross", "fees", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon", "net",
    "refunded", "charged_back", "released", "paid_out",
)  # fmt: skip
_SUMMED = (
    "payments", "gross", "fees", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon",
    "net", "refunded", "charged_back", "released", "paid_out",
)  # fmt: skip


# -- discrepancies ------------------------------------------------------------------------------
def find_discrepancies(
    store: Store, start: datetime, now: datetime, grace: timedelta
) -> list[Discrepancy]:
    """Each payment compares its settlement rows with what mpcheckout holds in one row the
    database keeps (money_payments); a discrepancy counts when it arose in the window."""
    found = [d for payment in store.money_mismatches() for d in _mismatches(payment, start)]
    for order in store.unsettled_payments(start, now + timedelta(seconds=1)):
        if order.paid_at + grace < now:
            found.append(
                Discrepancy(
                    DiscrepancyKind.MISSING_SETTLEMENT,
                    order.payment_id,
                    order.order_id,
                    _text(order.amount),
                    None,
                    order.paid_at + grace,
                )
            )
    return sorted(found, key=lambda d: (d.since, d.kind, d.payment_id))


def _mismatches(payment: PaymentMoney, start: datetime) -> list[Discrepancy]:
    if not payment.exact:
        return _not_in_cents(payment, start)
    found = _settlement_mismatches(payment, start) if _within(payment.settled_at, start) else []
    refund_at = max((d for d in (payment.refund_at, payment.ledger_refund_at) if d), default=None)
    if payment.refunded != payment.ledger_refunded and refund_at and refund_at >= start:
        found.append(
            Discrepancy(
                DiscrepancyKind.REFUND_MISMATCH,
                payment.payment_id,
                _order_of(payment),
                str(payment.ledger_refunded),
                str(payment.refunded),
                refund_at,
            )
        )
    if _chargeback_not_in_ledger(payment) and _within(payment.chargeback_at, start):
        found.append(
            Discrepancy(
                DiscrepancyKind.CHARGEBACK_NOT_IN_LEDGER,
                payment.payment_id,
                _order_of(payment),
                None,
                str(payment.charged_back),
                cast(datetime, payment.chargeback_at),
            )
        )
    return found


def _settlement_mismatches(payment: PaymentMoney, start: datetime) -> list[Discrepancy]:
    pid, since = payment.payment_id, cast(datetime, payment.settled_at)
    if payment.order_id is None and not payment.logged:
        return [
            Discrepancy(
                DiscrepancyKind.UNKNOWN_PAYMENT,
                pid,
                payment.external_reference,
                None,
                str(payment.gross),
                since,
            )
        ]
    found = []
    if payment.order_amount is not None and payment.order_amount != payment.gross:
        found.append(
            Discrepancy(
                DiscrepancyKind.GROSS_MISMATCH,
                pid,
                payment.order_id,
                _text(payment.order_amount_text),
                str(payment.gross),
                since,
            )
        )
    currencies = (payment.order_currency, payment.currency)
    if all(currencies) and currencies[0] != currencies[1]:
        found.append(
            Discrepancy(
                DiscrepancyKind.CURRENCY_MISMATCH,
                pid,
                payment.order_id,
                payment.order_currency,
                payment.currency,
                since,
            )
        )
    return found


def _chargeback_not_in_ledger(payment: PaymentMoney) -> bool:
    return (
        payment.chargeback_rows > 0
        and payment.ledger_chargebacks == 0
        and payment.order_status not in CHARGED_BACK_STATES
    )


def _not_in_cents(payment: PaymentMoney, start: datetime) -> list[Discrepancy]:
    """An amount finer than a cent: the summary cannot compare it exactly, so a person does."""
    moments = (payment.settled_at, payment.refund_at, payment.chargeback_at, payment.paid_at)
    since = min((m for m in moments if m), default=None)
    if since is None or since < start:
        return []
    return [
        Discrepancy(
            DiscrepancyKind.AMOUNT_NOT_IN_CENTS,
            payment.payment_id,
            _order_of(payment),
            _text(payment.order_amount_text),
            None,
            since,
        )
    ]


def _order_of(payment: PaymentMoney) -> str | None:
    """The order a payment belongs to, as far as mpcheckout knows (mp-<id> when only seen)."""
    if payment.order_id:
        return payment.order_id
    if payment.logged:
        return payment.logged_reference or f"mp-{payment.payment_id}"
    return payment.external_reference


def _within(moment: datetime | None, start: datetime) -> bool:
    return moment is not None and moment >= start


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


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
