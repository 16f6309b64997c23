"""`money` on PostgreSQL over the money benchmark's data (bench/money.py: N paid orders, N
settlement rows, refunds, 300 planted discrepancies a million), loaded with COPY into a fresh
schema. PostgreSQL's money_days and money_payments are views computed on every read
(migration 0007), so this shows what a PostgreSQL shop of that size waits for; the issue-16
targets (< 1 s) are judged on the embedded store by bench/money.py.

    python -m bench.postgres_money [--url postgresql://…] [--rows 1000000] [--repetitions 3]

The URL defaults to $MPCHECKOUT_TEST_POSTGRES_URL, else the local test server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from bench.money import orders, refunds, report_rows
from bench.postgres_workers import DEFAULT_URL, drop_schema, fresh_schema
from mpcheckout.clock import SystemClock
from mpcheckout.config import redact_url
from mpcheckout.money import money_report
from mpcheckout.store import open_store

_COPY_ORDERS = (
    "COPY orders (id, amount, payment_id, created_at, updated_at, paid_at, status, currency, "
    "payment_status) FROM STDIN"
)
_COPY_REFUNDS = (
    "COPY refunds (id, payment_id, order_id, amount, date_created, first_seen_at, updated_at, "
    "status) FROM STDIN"
)
_COPY_ROWS = (
    "COPY report_rows (row_key, source_id, external_reference, entry_type, gross, fee_total, "
    "mp_fee, net, row_date, settlement_date, line, kind, financing_fee, shipping_fee, taxes, "
    "coupon, currency, payment_method, summary, file_sha256) FROM STDIN"
)


def load(url: str, rows: int, now: datetime) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor().copy(_COPY_ORDERS) as copy:
            for order in orders(rows, now):
                copy.write_row((*order, "paid", "BRL", "approved"))
        with conn.cursor().copy(_COPY_REFUNDS) as copy:
            for refund in refunds(rows, now):
                copy.write_row((*refund, "approved"))
        with conn.cursor().copy(_COPY_ROWS) as copy:
            for row in report_rows(rows, now):
                copy.write_row(
                    (*row, "settlement", "0.00", "0.00", "0.00", "0.00", "BRL", "master", False,
                     "bench")
                )  # fmt: skip
        conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("MPCHECKOUT_TEST_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=3)
    options = parser.parse_args()
    schema, url = fresh_schema(options.url)
    try:
        open_store(url).close()
        started = time.perf_counter()
        load(url, options.rows, datetime.now(UTC))
        print(f"{redact_url(options.url)}: loaded {options.rows:,} orders and their report rows "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        seconds = []
        store = open_store(url)
        try:
            for _ in range(options.repetitions):
                started = time.perf_counter()
                report = money_report(store, SystemClock())
                seconds.append(time.perf_counter() - started)
                print(f"money service: {seconds[-1]:.2f} s, {report.rows:,} rows, "
                      f"{len(report.discrepancies)} discrepancies")  # fmt: skip
        finally:
            store.close()
        print(f"median {statistics.median(seconds):.2f} s over {len(seconds)} repetitions")
    finally:
        drop_schema(options.url, schema)


if __name__ == "__main__":
    main()
