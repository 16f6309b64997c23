"""One contender of bench/report_parse.py, in its own process so that its peak memory is its own:

    python bench/report_parse_child.py CONTENDER REPORT.csv [DB]

    CONTENDER: parser | csv_decimal | csv_executemany | store_import | store_import_in_process
               | csv_same_table

Prints `{"seconds", "rows", "net"}` (seconds of the loop alone, without start-up). Run as a
script, importing only the stdlib and the installed mpcheckout.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
import time
from decimal import Decimal
from pathlib import Path

from mpcheckout.reports.parse import open_report  # imported before the clock starts


def parser(path: Path) -> tuple[int, Decimal]:
    rows, net = 0, Decimal(0)
    with path.open("rb") as stream:
        for row in open_report(stream, name=str(path)):
            rows += 1
            net += row.net
    return rows, net


def csv_decimal(path: Path) -> tuple[int, Decimal]:
    """The floor for reading: csv.reader and a Decimal of the three amounts, nothing else."""
    rows, net = 0, Decimal(0)
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream, delimiter=";")
        header = next(reader)
        gross_at, fee_at, net_at = (
            header.index(name)
            for name in ("TRANSACTION_AMOUNT", "FEE_AMOUNT", "SETTLEMENT_NET_AMOUNT")
        )
        for values in reader:
            Decimal(values[gross_at]), Decimal(values[fee_at])
            net += Decimal(values[net_at])
            rows += 1
    return rows, net


def csv_executemany(path: Path, database: Path) -> tuple[int, Decimal]:
    """What issue 16 measures the import against: every column as text into one table, one
    transaction, WAL and synchronous=NORMAL as mpcheckout's store runs SQLite."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream, delimiter=";")
        header = next(reader)
        connection = sqlite3.connect(database, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        columns = ", ".join(f'"{name}" TEXT' for name in header)
        connection.execute(f"CREATE TABLE report_rows ({columns})")
        marks = ", ".join("?" * len(header))
        connection.execute("BEGIN")
        connection.executemany(f"INSERT INTO report_rows VALUES ({marks})", reader)
        connection.execute("COMMIT")
        rows = connection.execute("SELECT count(*) FROM report_rows").fetchone()[0]
        connection.close()
    return rows, Decimal(0)


def store_import(path: Path, database: Path, helper: bool | None = None) -> tuple[int, Decimal]:
    """The real import: `mpcheckout reports import`'s service into a migrated SQLite store
    (the row identity, Decimals, dates, flags; one transaction). A file this big is parsed in
    a helper process (mpcheckout/report_helper.py) unless `helper` is False."""
    from mpcheckout.clock import SystemClock
    from mpcheckout.report_imports import import_report_file

    imported = import_report_file(_STORE["store"], SystemClock(), path, helper=helper)
    return imported.rows_added, Decimal(0)


def store_import_in_process(path: Path, database: Path) -> tuple[int, Decimal]:
    """The same import with the file parsed in this process, as a small file is."""
    return store_import(path, database, helper=False)


def csv_same_table(path: Path, database: Path) -> tuple[int, Decimal]:
    """The baseline issue 16 names: csv.reader + executemany into the same table (its key and
    indexes), the CSV's text as it is, one transaction."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream, delimiter=";")
        at = {name: index for index, name in enumerate(next(reader))}
        pick = [at[name] for name in _SAME_TABLE_COLUMNS]
        connection = _STORE["connection"]
        marks = ", ".join("?" * 24)
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO report_rows VALUES ({marks})",
            (_same_row(values, pick, n) for n, values in enumerate(reader)),
        )
        connection.execute("COMMIT")
        rows = connection.execute("SELECT count(*) FROM report_rows").fetchone()[0]
    return rows, Decimal(0)


_SAME_TABLE_COLUMNS = (
    "SOURCE_ID", "EXTERNAL_REFERENCE", "TRANSACTION_TYPE", "TRANSACTION_AMOUNT", "FEE_AMOUNT",
    "MKP_FEE_AMOUNT", "FINANCING_FEE_AMOUNT", "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT",
    "COUPON_AMOUNT", "SETTLEMENT_NET_AMOUNT", "SETTLEMENT_CURRENCY", "TRANSACTION_DATE",
    "SETTLEMENT_DATE", "PAYMENT_METHOD",
)  # fmt: skip


def _same_row(values: list[str], pick: list[int], n: int) -> tuple[object, ...]:
    (source, reference, kind, gross, fee, mp_fee, financing, shipping, taxes, coupon, net,
     currency, when, settled, method) = (values[i] for i in pick)  # fmt: skip
    return (
        f"{source}:{n}", "settlement", source, reference, kind, None, gross, fee, mp_fee,
        financing, shipping, taxes, coupon, net, currency, when, settled, None, None, method, 0,
        None, "baseline", n,
    )  # fmt: skip


_STORE: dict[str, object] = {}


def _prepare(which: str, database: Path) -> None:
    """Before the clock: a migrated store (schema and indexes as in production)."""
    from mpcheckout.store import open_store

    store = open_store(str(database))
    if which in ("store_import", "store_import_in_process"):
        _STORE["store"] = store
    else:
        store.close()
        connection = sqlite3.connect(database, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        _STORE["connection"] = connection


def main(argv: list[str]) -> None:
    which, path = argv[0], Path(argv[1])
    stores = {
        "store_import": store_import,
        "store_import_in_process": store_import_in_process,
        "csv_same_table": csv_same_table,
    }
    if which in stores:
        _prepare(which, Path(argv[2]))
    started = time.perf_counter()
    if which in stores:
        rows, net = stores[which](path, Path(argv[2]))
    elif which == "csv_executemany":
        rows, net = csv_executemany(path, Path(argv[2]))
    else:
        rows, net = {"parser": parser, "csv_decimal": csv_decimal}[which](path)
    seconds = time.perf_counter() - started
    cpu = os.times()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": rows,
                "net": str(net),
                "cpu_seconds": cpu.user + cpu.system + cpu.children_user + cpu.children_system,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
