"""The store's text encoding of report rows remembers the last date it wrote (a speed-up for
1,000,000-row imports): the text must still be each row's own instant, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mpcheckout.clock import utc_iso
from mpcheckout.reports.parse import read_report
from mpcheckout.store.rows import TEXT_ENCODER, report_row_encoder

from .test_report_parse import SETTLEMENT


def test_each_row_keeps_its_own_instant_when_dates_repeat_and_change() -> None:
    row = next(read_report(SETTLEMENT))
    minus_four = timezone(timedelta(hours=-4))
    first = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    dates = [first, first.astimezone(minus_four), first + timedelta(seconds=1), first, None]
    encode = report_row_encoder("sha", TEXT_ENCODER)
    written = [
        encode(row._replace(transaction_date=moment, settlement_date=moment)) for moment in dates
    ]
    expected = [utc_iso(moment) if moment else None for moment in dates]
    at = [index for index, name in enumerate(_names()) if name in ("row_date", "settlement_date")]
    assert [[values[i] for i in at] for values in written] == [[text, text] for text in expected]
    assert written[0][6:14] == tuple(str(amount) for amount in _amounts(row))


def _names() -> tuple[str, ...]:
    from mpcheckout.store.core import REPORT_ROWS

    return tuple(REPORT_ROWS.names)


def _amounts(row: object) -> list[object]:
    names = ("gross", "fee_total", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon")
    return [getattr(row, name) for name in (*names, "net")]
