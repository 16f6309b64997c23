"""SQLite's money summaries of report rows (migration 0007): after an import has written its
rows, two statements add them to `money_days` and `money_payments`, in the import's
transaction. Set-based rather than a trigger per row: a trigger's two upserts per row cost more
than the insert itself (18 µs against 14 µs a row, measured), these two statements ~6 µs.

Only the rows the import added are read: their rowids are above the table's largest before the
import (rows are never deleted, and a row already known is not inserted again). Amounts become
exact integer cents (`cents`); an amount finer than a cent makes its sum NULL, which `money`
reads as "not held exactly" and never rounds.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter, sub
from typing import Any


def cents(amount: str) -> str:
    """SQL for a decimal text as integer cents: NULL when it is finer than a cent or not a
    plain decimal (exponent form)."""
    as_integer = f"CAST(replace({amount}, '.', '') AS INTEGER)"
    return (
        f"CASE WHEN {amount} GLOB '*.[0-9][0-9]' THEN {as_integer}"
        f"\n            WHEN {amount} GLOB '*.[0-9]' THEN 10 * {as_integer}"
        f"\n            WHEN {amount} GLOB '*[^0-9-]*' THEN NULL"
        f" ELSE 100 * CAST({amount} AS INTEGER) END"
    )


_SETTLED = "kind = 'settlement' AND entry_type = 'SETTLEMENT'"
_REFUND = "kind = 'settlement' AND entry_type GLOB 'REFUND*'"
_CHARGEBACK = "kind = 'settlement' AND entry_type GLOB 'CHARGEBACK*'"
_PAID_OUT = (
    "(coalesce(description, '') IN ('payout', 'withdrawal') OR coalesce(payout_id, '') <> '')"
)
_RELEASE = "kind = 'release' AND NOT summary"

# money_days column -> its amount in one row, in cents (0 where the row does not count).
_DAY_AMOUNTS = {
    "gross": f"CASE WHEN {_SETTLED} THEN {cents('gross')} ELSE 0 END",
    "refunded": f"CASE WHEN {_REFUND} THEN -({cents('gross')}) ELSE 0 END",
    "charged_back": f"CASE WHEN {_CHARGEBACK} THEN -({cents('gross')}) ELSE 0 END",
    **{
        column: f"CASE WHEN kind = 'settlement' THEN {cents(amount)} ELSE 0 END"
        for column, amount in (
            ("fees", "fee_total"), ("mp_fee", "mp_fee"), ("financing_fee", "financing_fee"),
            ("shipping_fee", "shipping_fee"), ("taxes", "taxes"), ("coupon", "coupon"),
            ("net", "net"),
        )
    },
    "released": f"CASE WHEN {_RELEASE} AND NOT {_PAID_OUT} THEN {cents('net')} ELSE 0 END",
    "paid_out": f"CASE WHEN {_RELEASE} AND {_PAID_OUT} THEN -({cents('net')}) ELSE 0 END",
}  # fmt: skip


def _exact_sum(column: str) -> str:
    """sum() skips NULLs; an amount not held in cents must make the whole sum NULL instead."""
    return f"CASE WHEN count({column}) = count(*) THEN sum({column}) END"


def _added_since(columns: list[str]) -> str:
    """The rows an import added, one column per line. LIMIT -1 keeps SQLite from flattening
    the subquery, which would compute each cents expression twice (for count and for sum)."""
    listed = ",\n        ".join(columns)
    return f"(\n    SELECT\n        {listed}\n    FROM report_rows WHERE rowid > ? LIMIT -1\n)"


_ADD_TO_DAY = f"""ON CONFLICT (day, currency) DO UPDATE SET
    rows = rows + excluded.rows, payments = payments + excluded.payments,
    {", ".join(f"{column} = {column} + excluded.{column}" for column in _DAY_AMOUNTS)}
"""
SUMMARIZE_DAYS = f"""
INSERT INTO money_days (day, currency, rows, payments, {", ".join(_DAY_AMOUNTS)})
SELECT day, currency, count(*), sum(settled),
    {", ".join(map(_exact_sum, _DAY_AMOUNTS))}
FROM {
    _added_since(
        [
            "substr(row_date, 1, 10) AS day",
            "coalesce(currency, '') AS currency",
            f"{_SETTLED} AS settled",
            *(f"{amount} AS {column}" for column, amount in _DAY_AMOUNTS.items()),
        ]
    )
}
WHERE day IS NOT NULL
GROUP BY day, currency
{_ADD_TO_DAY}"""
# The same sums computed by the importer (`day_sums`), written as they are.
MERGE_DAYS = f"""
INSERT INTO money_days (day, currency, rows, payments, {", ".join(_DAY_AMOUNTS)})
VALUES ({", ".join("?" * (4 + len(_DAY_AMOUNTS)))})
{_ADD_TO_DAY}"""

_REPORT_REFUND = f"{_REFUND} AND entry_type <> 'REFUND_SHIPPING'"
SUMMARIZE_PAYMENTS = f"""
INSERT INTO money_payments (payment_id, currency, external_reference, settlements, settled_at,
    gross, refunded, refund_at, chargeback_rows, charged_back, chargeback_at)
SELECT payment_id, max(currency), max(external_reference), sum(settled), min(settled_at),
    {_exact_sum("gross")}, {_exact_sum("refunded")}, max(refund_at), sum(chargeback),
    {_exact_sum("charged_back")}, min(chargeback_at)
FROM {
    _added_since(
        [
            "source_id AS payment_id",
            f"CASE WHEN {_SETTLED} THEN currency END AS currency",
            f"CASE WHEN {_SETTLED} THEN external_reference END AS external_reference",
            f"{_SETTLED} AS settled",
            f"CASE WHEN {_SETTLED} THEN row_date END AS settled_at",
            f"CASE WHEN {_SETTLED} THEN {cents('gross')} ELSE 0 END AS gross",
            f"CASE WHEN {_REPORT_REFUND} THEN -({cents('gross')}) ELSE 0 END AS refunded",
            f"CASE WHEN {_REPORT_REFUND} THEN row_date END AS refund_at",
            f"{_CHARGEBACK} AS chargeback",
            f"CASE WHEN {_CHARGEBACK} THEN -({cents('gross')}) ELSE 0 END AS charged_back",
            f"CASE WHEN {_CHARGEBACK} THEN row_date END AS chargeback_at",
            "kind",
        ]
    )
}
WHERE kind = 'settlement'
GROUP BY payment_id
ON CONFLICT (payment_id) DO UPDATE SET
    currency = coalesce(currency, excluded.currency),
    external_reference = coalesce(external_reference, excluded.external_reference),
    settlements = settlements + excluded.settlements,
    settled_at = coalesce(min(settled_at, excluded.settled_at), settled_at, excluded.settled_at),
    gross = gross + excluded.gross,
    refunded = refunded + excluded.refunded,
    refund_at = coalesce(max(refund_at, excluded.refund_at), refund_at, excluded.refund_at),
    chargeback_rows = chargeback_rows + excluded.chargeback_rows,
    charged_back = charged_back + excluded.charged_back,
    chargeback_at = coalesce(
        min(chargeback_at, excluded.chargeback_at), chargeback_at, excluded.chargeback_at
    )
"""

LAST_ROWID = "SELECT coalesce(max(rowid), 0) FROM report_rows"


# -- the day sums in Python ------------------------------------------------------------------
# SUMMARIZE_DAYS reads back every row an import wrote (24 columns each, ~3.5 µs a row) to sum
# a handful of days; the import holds the rows it writes, so when every row of a batch was new
# it sums them here (~2 µs a row) and writes the sums with MERGE_DAYS (else SUMMARIZE_DAYS runs
# over what was written). Same rules, same order of columns: tests/store/test_sqlite_day_sums.py
# holds the two to the same result.
DaySums = dict[tuple[str, str], list[Any]]  # (day, currency) -> rows, payments, _DAY_AMOUNTS
_PAYOUT_DESCRIPTIONS = ("payout", "withdrawal")
_SUMS = 2 + len(_DAY_AMOUNTS)


def text_cents(text: str) -> int | None:
    """`cents` for the text of a stored amount (str of a Decimal): None when it is finer
    than a cent or in exponent form."""
    if text[-3:-2] == ".":
        return int(text.replace(".", ""))
    if text[-2:-1] == ".":
        return 10 * int(text.replace(".", ""))
    if text.lstrip("-").isdigit():
        return 100 * int(text)
    return None


def day_sums(rows: Iterable[tuple[Any, ...]], days: DaySums | None = None) -> DaySums:
    """Add REPORT_ROWS values to per-(day, currency) sums, as SUMMARIZE_DAYS would. Rows are
    grouped by what decides which of their amounts count, then each counted column of a group
    is summed in one pass of C calls (per row, a Python loop over 14 sums cost ~5 µs)."""
    days = {} if days is None else days
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        date = row[15]
        if date is None:
            continue
        key = (date[:10], row[14] or "", row[1], row[4], row[20], _paid_out(row))
        group = groups.get(key)
        if group is None:
            groups[key] = [row]
        else:
            group.append(row)
    for (day, currency, kind, entry_type, summary, paid_out), group in groups.items():
        sums = days.get((day, currency))
        if sums is None:
            sums = days[(day, currency)] = [0] * _SUMS
        sums[0] += len(group)
        sums[1] += len(group) if kind == "settlement" and entry_type == "SETTLEMENT" else 0
        for at, column, sign in _counted(kind, entry_type, summary, paid_out):
            total = _column_cents(list(map(itemgetter(column), group)))
            previous = sums[at]
            sums[at] = None if total is None or previous is None else previous + sign * total
    return days


def _paid_out(row: tuple[Any, ...]) -> bool:
    return row[1] == "release" and (row[5] in _PAYOUT_DESCRIPTIONS or bool(row[18]))


# Where each counted amount goes: (index in a day's sums, REPORT_ROWS index, sign).
_GROSS, _NET = 6, 13
_SETTLEMENT_AMOUNTS = tuple((5 + n, 7 + n, 1) for n in range(7))  # fees .. net


def _counted(
    kind: str, entry_type: str, summary: int, paid_out: bool
) -> tuple[tuple[int, int, int], ...]:
    if kind == "settlement":
        if entry_type == "SETTLEMENT":
            return ((2, _GROSS, 1), *_SETTLEMENT_AMOUNTS)
        if entry_type.startswith("REFUND"):
            return ((3, _GROSS, -1), *_SETTLEMENT_AMOUNTS)
        if entry_type.startswith("CHARGEBACK"):
            return ((4, _GROSS, -1), *_SETTLEMENT_AMOUNTS)
        return _SETTLEMENT_AMOUNTS
    if kind == "release" and not summary:
        return ((13, _NET, -1),) if paid_out else ((12, _NET, 1),)
    return ()


def _column_cents(texts: list[str]) -> int | None:
    """The sum in cents of amounts' texts; None when one is not held in cents. Fast path: every
    text has its point two digits from the end (`-8.85`), checked and summed by C calls."""
    if texts.count("0.00") == len(texts):
        return 0
    try:
        if set(map(sub, map(len, texts), map(str.index, texts, repeat(".")))) == {3}:
            return sum(map(int, map(str.replace, texts, repeat("."), repeat(""))))
    except ValueError:
        pass  # a text without a point, or not digits around it
    total = 0
    for text in texts:
        cents = text_cents(text)
        if cents is None:
            return None
        total += cents
    return total


def day_rows(days: DaySums) -> list[tuple[Any, ...]]:
    """MERGE_DAYS's parameters."""
    return [(day, currency, *sums) for (day, currency), sums in days.items()]
