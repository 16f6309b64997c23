"""8. Parsing a 1,000,000-row settlement report (issue 16): mpcheckout's report parser against
the floor of reading (`csv.reader` + a Decimal of the three amounts), and beside them the
baseline the whole import will be held to (`csv.reader` + `executemany` of every column into
one table, one transaction). Each contender runs in its own process (bench/peak_rss.py), so
its peak memory is its own: the parser must stream.

    python -m bench.report_parse [--quick] [--json FILE]
    (the same as python -m bench --only report_parse)
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    at_least,
    below,
    compare,
)
from bench.ingest import run_measured

NAME = "report_parse"
TITLE = "8. Parse a settlement report"
PEAK_RSS_TARGET_MB = 200
IMPORT_RATIO_TARGET = 0.5
CHILD = Path(__file__).with_name("report_parse_child.py")
HEADER = (
    "EXTERNAL_REFERENCE;SOURCE_ID;USER_ID;PAYMENT_METHOD_TYPE;PAYMENT_METHOD;SITE;"
    "TRANSACTION_TYPE;TRANSACTION_AMOUNT;TRANSACTION_CURRENCY;TRANSACTION_DATE;FEE_AMOUNT;"
    "SETTLEMENT_NET_AMOUNT;SETTLEMENT_CURRENCY;SETTLEMENT_DATE;REAL_AMOUNT;COUPON_AMOUNT;"
    "METADATA;MKP_FEE_AMOUNT;FINANCING_FEE_AMOUNT;SHIPPING_FEE_AMOUNT;TAXES_AMOUNT;INSTALLMENTS;"
    "ORDER_ID;SHIPPING_ID;SHIPMENT_MODE;PACK_ID\n"
)
CONTENDERS = (
    ("csv_decimal", "csv.reader + 3 Decimal"),
    ("parser", "mpcheckout report parser"),
    ("csv_executemany", "csv.reader + executemany (own table)"),
    ("csv_same_table", "csv.reader + executemany into report_rows (import baseline)"),
    ("store_import", "mpcheckout reports import (parsed in a helper process)"),
    ("store_import_in_process", "mpcheckout reports import, parsed in-process"),
)
METHODS = (("account_money", "account_money"), ("credit_card", "master"), ("credit_card", "visa"))


def write_settlement(path: Path, rows: int) -> Path:
    """A settlement report shaped like Mercado Pago's doc sample, one row a second, a refund
    every 20th row; every row passes the report's arithmetic."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        out.writelines(_lines(rows))
    return path


def _lines(rows: int) -> Iterator[str]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(rows):
        cents = 1_000 + (n * 7_919) % 500_000
        gross, fee = Decimal(cents).scaleb(-2), -Decimal(cents * 1_121 // 10_000).scaleb(-2)
        kind = "SETTLEMENT"
        if n % 20 == 19:
            kind, gross, fee = "REFUND", -gross, Decimal("0.00")
        when = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000-04:00")
        method_type, method = METHODS[n % 3]
        yield (
            f"{2_112_000_000 + n};{5_067_000_000 + n};123456789;{method_type};{method};MLB;{kind};"
            f"{gross};BRL;{when};{fee};{gross + fee};BRL;{when};{gross + fee};0.00;[{{}}];{fee};"
            f"0.00;0.00;0.00;{1 + n % 12};{2_112_000_000 + n};;;\n"
        )


def run(scale: Scale) -> BenchResult:
    rows = scale.pick(full=1_000_000, quick=2_000)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        report = write_settlement(Path(folder) / "settlement.csv", rows)
        size = report.stat().st_size
        contenders = [
            Contender(name, label, lambda n, name=name: _run(name, report, n))
            for name, label in CONTENDERS
        ]
        title = f"{rows:,} settlement rows, {size / 1e6:.0f} MB, {size / rows:.0f} bytes each"
        comparison = compare(title, "rows/s", contenders, scale)
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), _NOTES)


def _run(which: str, report: Path, repetition: int) -> Sample:
    database = report.with_name(f"import-{repetition}.db")
    command = [sys.executable, str(CHILD), which, str(report), str(database)]
    result, _, peak_mb = run_measured(command, report.with_name(f"{which}.json"))
    for leftover in report.parent.glob(f"{database.name}*"):
        leftover.unlink()
    cpu_us = result["cpu_seconds"] / result["rows"] * 1e6
    return Sample(
        result["rows"] / result["seconds"],
        {"peak_rss_mb": peak_mb, "cpu_us_per_row": round(cpu_us, 1)},
    )


def _targets(comparison: Comparison) -> list[TargetCheck]:
    parser = comparison.get("parser")
    peak = max(detail["peak_rss_mb"] for detail in parser.details)
    real, same = comparison.get("store_import"), comparison.get("csv_same_table")
    real_peak = max(detail["peak_rss_mb"] for detail in real.details)
    ratio = real.median / same.median
    return [
        at_least(
            f"import ≥ {IMPORT_RATIO_TARGET}× csv.reader + executemany into report_rows",
            ratio,
            IMPORT_RATIO_TARGET,
            f"{ratio:.2f}× ({real.median:,.0f} vs {same.median:,.0f} rows/s)",
        ),
        below(
            f"import < {PEAK_RSS_TARGET_MB} MB peak RSS",
            real_peak,
            PEAK_RSS_TARGET_MB,
            f"{real_peak:.0f} MB",
        ),
        below(f"< {PEAK_RSS_TARGET_MB} MB peak RSS", peak, PEAK_RSS_TARGET_MB, f"{peak:.0f} MB"),
    ]


_NOTES = [
    "each contender in its own process; rows/s over its loop, start-up excluded",
    "the import parses a file this big in a helper process while it writes (report_helper.py): "
    "two processes, so cpu_us_per_row (both processes, start-up included) exceeds its wall time",
    "peak_rss_mb: the contender's own peak resident memory (bench/peak_rss.py)",
]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
