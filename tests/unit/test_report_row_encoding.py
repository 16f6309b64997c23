"""The store's text encoding of report rows remembers the last date it wrote (a speed-up for
1,000,000-row imports): the text must still be each row's own instant, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

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


_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=45)),
     timezone(timedelta(hours=-4, seconds=30)), timezone(timedelta(microseconds=7))]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    moments=st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)), _OFFSETS
        ),
        min_size=1,
        max_size=60,
    )
)
def test_the_minute_memory_writes_what_utc_iso_writes(moments) -> None:
    """The encoder works out a minute's UTC text once per minute and offset: any instants, in
    any offset (one in seconds, one in microseconds), read in any order, keep their own text."""
    row = next(read_report(SETTLEMENT))
    encode = report_row_encoder("sha", TEXT_ENCODER)
    at = _names().index("row_date")
    for local, zone in moments:
        moment = local.replace(tzinfo=zone)
        same_minute_later = moment.replace(second=(moment.second + 7) % 60)
        for instant in (moment, same_minute_later):
            assert encode(row._replace(transaction_date=instant))[at] == utc_iso(instant)


def _names() -> tuple[str, ...]:
    from mpcheckout.store.core import REPORT_ROWS

    return tuple(REPORT_ROWS.names)


def _amounts(row: object) -> list[object]:
    names = ("gross", "fee_total", "mp_fee", "financing_fee", "shipping_fee", "taxes", "coupon")
    return [getattr(row, name) for name in (*names, "net")]
