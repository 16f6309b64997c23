"""One contender of bench/report_parse.py, in its own process so that its peak memory is its own:

    python bench/report_parse_child.py parser|csv_decimal|csv_executemany REPORT.csv [DB]

Prints `{"seconds", "rows", "net"}` (seconds of the loop alone, without start-up). Run as a
script, importing only the stdlib and the installed mpcheckout.
"""

from __future__ import annotations

import csv
import json
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


def main(argv: list[str]) -> None:
    which, path = argv[0], Path(argv[1])
    started = time.perf_counter()
    if which == "csv_executemany":
        rows, net = csv_executemany(path, Path(argv[2]))
    else:
        rows, net = {"parser": parser, "csv_decimal": csv_decimal}[which](path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "net": str(net)}))


if __name__ == "__main__":
    main(sys.argv[1:])
