"""SQLite's money_days has two writers with one set of rules: SUMMARIZE_DAYS reads back the rows
an import wrote, and the importer's own `day_sums` (merged with MERGE_DAYS) sums the rows as it
encodes them. Any mix of report rows must give both the same days, to the cent, with a day that
holds an amount finer than a cent unknown (NULL) in both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mpcheckout.store import open_store
from mpcheckout.store.rows import REPORT_ROWS
from mpcheckout.store.sqlite_money import (
    MERGE_DAYS,
    SUMMARIZE_DAYS,
    cents,
    day_rows,
    day_sums,
    text_cents,
)

INSERT = f"INSERT INTO report_rows VALUES ({', '.join('?' * len(REPORT_ROWS.names))})"
ENTRY_TYPES = ["SETTLEMENT", "REFUND", "REFUND_SHIPPING", "CHARGEBACK", "PAYOUT", "FEE"]


@pytest.fixture(scope="module")
def connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("days") / "days.db"
    open_store(str(path)).close()
    conn = sqlite3.connect(path, isolation_level=None)
    yield conn
    conn.close()


# Amounts as a store holds them: the str() of a Decimal, plain or finer than a cent or in
# exponent form.
amounts = st.one_of(
    st.sampled_from(["0.00", "-0.00", "79.00", "-8.85", "12.5", "100", "1E+2", "0.005", "-3"]),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9).map(
        str
    ),
    st.integers(-(10**9), 10**9).map(lambda n: str(Decimal(n).scaleb(-2))),
)


@st.composite
def report_rows(draw: st.DrawFn) -> tuple[object, ...]:
    kind = draw(st.sampled_from(["settlement", "release"]))
    day = draw(st.sampled_from(["2026-01-01", "2026-01-02", None]))
    return (
        draw(st.uuids()).hex,  # row_key
        kind,
        draw(st.sampled_from(["1", "2"])),  # source_id
        None,
        draw(st.sampled_from(ENTRY_TYPES if kind == "settlement" else ["payment", "payout"])),
        draw(st.sampled_from([None, "payment", "payout", "withdrawal", "reserve_for_payout"])),
        *draw(st.lists(amounts, min_size=8, max_size=8)),
        draw(st.sampled_from(["ARS", "BRL", None])),
        None if day is None else f"{day}T12:00:00.000000Z",
        None,
        None,
        draw(st.sampled_from([None, "", "P-1"])),  # payout_id
        None,
        draw(st.sampled_from([0, 0, 1])),  # summary
        None,
        "sha",
        1,
    )


def summed_by_sql(conn: sqlite3.Connection, rows: list[tuple[object, ...]], first: bool) -> list:
    conn.executemany(INSERT, rows)
    conn.execute(SUMMARIZE_DAYS, (0,))
    if not first:  # the same rows once more, under new keys: sums add to what is there
        conn.executemany(INSERT, [(f"again-{row[0]}", *row[1:]) for row in rows])
        conn.execute(SUMMARIZE_DAYS, (len(rows),))
    return conn.execute("SELECT * FROM money_days ORDER BY day, currency").fetchall()


def summed_in_python(conn: sqlite3.Connection, rows: list[tuple[object, ...]], first: bool) -> list:
    for _ in range(1 if first else 2):
        conn.executemany(MERGE_DAYS, day_rows(day_sums(rows)))
    return conn.execute("SELECT * FROM money_days ORDER BY day, currency").fetchall()


def run_rolled_back(conn: sqlite3.Connection, summing, rows, first: bool) -> list:
    conn.execute("BEGIN")
    try:
        return summing(conn, rows, first)
    finally:
        conn.execute("ROLLBACK")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(report_rows(), max_size=40), first=st.booleans())
@example(rows=[], first=True)
def test_python_day_sums_equal_the_sql_summary(
    connection: sqlite3.Connection, rows: list, first: bool
) -> None:
    rows = [(f"{n}-{row[0]}", *row[1:]) for n, row in enumerate(rows)]
    by_sql = run_rolled_back(connection, summed_by_sql, rows, first)
    assert run_rolled_back(connection, summed_in_python, rows, first) == by_sql


def test_a_whole_batch_of_plain_amounts_sums_to_the_cent() -> None:
    rows = [
        ("k1", "settlement", "1", None, "SETTLEMENT", None, "79.00", "-8.85", "-8.85", "0.00",
         "0.00", "0.00", "0.00", "70.15", "BRL", "2026-01-01T10:00:00.000000Z", None, None, None,
         None, 0, None, "sha", 2),
        ("k2", "settlement", "1", None, "REFUND", None, "-20.00", "0.00", "0.00", "0.00",
         "0.00", "0.00", "0.00", "-20.00", "BRL", "2026-01-01T11:00:00.000000Z", None, None,
         None, None, 0, None, "sha", 3),
    ]  # fmt: skip
    (day,) = day_rows(day_sums(rows))
    assert day == ("2026-01-01", "BRL", 2, 1, 7900, 2000, 0, -885, -885, 0, 0, 0, 0, 5015, 0, 0)


@settings(max_examples=300, deadline=None)
@given(text=amounts)
def test_text_cents_is_the_sql_cents(connection: sqlite3.Connection, text: str) -> None:
    (by_sql,) = connection.execute(f"SELECT {cents(':x')}", {"x": text}).fetchone()
    assert text_cents(text) == by_sql
