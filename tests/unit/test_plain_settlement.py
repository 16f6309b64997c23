"""A settlement row written as Mercado Pago writes it is taken as text (PlainSettlement), any
other row through Decimals (ReportRow). Whatever the file, the two ways must store the very same
values: identity (twins included), amounts, dates, flags."""

from __future__ import annotations

import io
from contextlib import suppress
from decimal import Decimal, InvalidOperation

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mpcheckout.reports.parse import open_report
from mpcheckout.reports.rows import PlainSettlement
from mpcheckout.store.rows import report_batches

HEADER = (
    "SOURCE_ID;EXTERNAL_REFERENCE;TRANSACTION_TYPE;TRANSACTION_AMOUNT;FEE_AMOUNT;"
    "SETTLEMENT_NET_AMOUNT;MKP_FEE_AMOUNT;COUPON_AMOUNT;SETTLEMENT_CURRENCY;TRANSACTION_DATE;"
    "SETTLEMENT_DATE;MONEY_RELEASE_DATE;PAYMENT_METHOD\n"
)
AMOUNTS = st.sampled_from(
    ["79.00", "-8.85", "70.15", "0.00", "", "-0.00", "0,00", "1.234,56", "079.00", "7.5",
     "0.005", "1E+2", "-0.05", "12", "100.10"]
)  # fmt: skip
DATES = st.sampled_from(
    ["2026-01-01T10:00:00.000-04:00", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00",
     "2026-01-01T10:00:00.123456+05:45", "2026-01-01 10:00:01-03:00", "01/01/2026 10:00", ""]
)  # fmt: skip
KINDS = st.sampled_from(["SETTLEMENT", "REFUND", "CHARGEBACK", "PAYOUT", "WITHDRAWAL"])


@st.composite
def lines(draw: st.DrawFn) -> str:
    gross, fee, net, mp_fee, coupon = (draw(AMOUNTS) for _ in range(5))
    if draw(st.booleans()):  # a row whose arithmetic holds, when its amounts read plainly
        with suppress(InvalidOperation):
            net = str(Decimal(gross or "0") + Decimal(fee or "0"))
    when = draw(DATES)
    settled = when if draw(st.booleans()) else draw(DATES)
    return (
        f"{draw(st.sampled_from(['51', '52', '']))};{draw(st.sampled_from(['o1', '']))};"
        f"{draw(KINDS)};{gross};{fee};{net};{mp_fee};{coupon};"
        f"{draw(st.sampled_from(['ARS', '']))};{when};{settled};{draw(DATES)};visa\n"
    )


def encoded(data: bytes, plain: bool) -> tuple[list[tuple[object, ...]], int]:
    reader = open_report(io.BytesIO(data), name="r.csv")
    rows = reader.rows_or_plain() if plain else iter(reader)
    batches = list(report_batches(rows, "sha", "text", lambda: 0))
    return [row for batch in batches for row in batch.rows], sum(b.flagged for b in batches)


@settings(max_examples=400, deadline=None)
@given(body=st.lists(lines(), min_size=1, max_size=30), twins=st.lists(st.integers(0, 29)))
@example(
    body=["51;o1;SETTLEMENT;79.00;-8.85;70.15;-8.85;;ARS;2026-01-01T10:00:00Z;;;visa\n"],
    twins=[0, 0],
)
def test_plain_rows_store_what_decimal_rows_store(body: list[str], twins: list[int]) -> None:
    for at in twins:  # a row repeated right after itself: two movements, keyed apart
        if at < len(body):
            body.insert(at, body[at])
    data = (HEADER + "".join(body)).encode()
    assert encoded(data, plain=True) == encoded(data, plain=False)


def test_mercado_pagos_own_spelling_takes_the_plain_way() -> None:
    data = (
        HEADER
        + "51;o1;SETTLEMENT;79.00;-8.85;70.15;-8.85;;ARS;2026-01-01T10:00:00.000-04:00;;;visa\n"
        + "51;o1;REFUND;-79.00;0.00;-79.00;0.00;0.00;ARS;2026-01-02T10:00:00Z;;;visa\n"
        + "52;o2;SETTLEMENT;7,50;-0,85;6,65;-0,85;;ARS;2026-01-02T10:00:00Z;;;visa\n"
    ).encode()
    reader = open_report(io.BytesIO(data), name="r.csv")
    kinds = [type(row).__name__ for row in reader.rows_or_plain()]
    assert kinds == [PlainSettlement.__name__, PlainSettlement.__name__, "ReportRow"]
