"""13. `money --json` over 1,000,000 settlement rows and 1,000,000 paid orders (issue 16): the
money service in-process and the whole `mpcheckout money --json` command (a subprocess), in
alternating repetitions, on one store built once. Every order is paid by one payment that has
its settlement row, every 20th also refunded in part (a REFUND row and the ledger's refund), all
inside the default `--since 30d` window; in every 10,000 orders one gross differs, one payment
never settles and one settled payment is unknown: 300 discrepancies a shop would have to read.

    python -m bench.money [--quick] [--json FILE]    (same as python -m bench --only money)
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import tempfile
import time
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
    below,
    compare,
)
from bench.ingest import run_measured
from mpcheckout.clock import SystemClock, utc_iso
from mpcheckout.money import money_report
from mpcheckout.store import open_store

NAME = "money"
TITLE = "13. money at 1M report rows + 1M orders"
SERVICE_TARGET_MS = 1000
CLI_TARGET_MS = 1500
SPAN = timedelta(days=25)  # inside the default 30-day window

_ROW_SQL = (
    "INSERT INTO report_rows (row_key, kind, source_id, external_reference, entry_type, gross, "
    "fee_total, mp_fee, financing_fee, shipping_fee, taxes, coupon, net, currency, row_date, "
    "settlement_date, payment_method, summary, file_sha256, line) "
    "VALUES (?, 'settlement', ?, ?, ?, ?, ?, ?, '0.00', '0.00', '0.00', '0.00', ?, 'BRL', ?, ?, "
    "'master', 0, 'bench', ?)"
)
_REFUND_SQL = (
    "INSERT INTO refunds (id, payment_id, order_id, amount, status, date_created, first_seen_at, "
    "updated_at) VALUES (?, ?, ?, ?, 'approved', ?, ?, ?)"
)
_ORDER_SQL = (
    "INSERT INTO orders (id, status, amount, currency, payment_id, payment_status, created_at, "
    "updated_at, paid_at) VALUES (?, 'paid', ?, 'BRL', ?, 'approved', ?, ?, ?)"
)


def build(path: Path, rows: int, now: datetime) -> None:
    """Rows written straight with SQL in the store's own encoding (what an import stores); the
    store's triggers keep its money summaries as they would for an import."""
    open_store(str(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.executemany(_ORDER_SQL, orders(rows, now))
        conn.executemany(_REFUND_SQL, refunds(rows, now))
        conn.executemany(_ROW_SQL, report_rows(rows, now))


def _moment(n: int, rows: int, now: datetime) -> str:
    return utc_iso(now - SPAN + SPAN * n / rows)


def _amounts(n: int) -> tuple[int, int]:
    cents = 1_000 + (n * 7_919) % 500_000
    return cents, -(cents * 1_121 // 10_000)


def _money(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


def _planted(n: int) -> int:
    """0: an ordinary payment; 1: its gross differs; 2: never settles; 3: settled, unknown."""
    return n % 10_000 if n % 10_000 in (1, 2, 3) else 0


def orders(rows: int, now: datetime) -> Iterator[tuple[object, ...]]:
    for n in range(rows):
        stamp = _moment(n, rows, now)
        cents = _amounts(n)[0] + (1 if _planted(n) == 1 else 0)
        yield f"o{n}", _money(cents), str(5_067_000_000 + n), stamp, stamp, stamp


def refunds(rows: int, now: datetime) -> Iterator[tuple[object, ...]]:
    for n in range(5, rows, 20):
        stamp = _moment(n, rows, now)
        amount = _money(_amounts(n)[0] // 10)
        yield f"r{n}", str(5_067_000_000 + n), f"o{n}", amount, stamp, stamp, stamp


def report_rows(rows: int, now: datetime) -> Iterator[tuple[object, ...]]:
    for n in range(rows):
        stamp = _moment(n, rows, now)
        gross, fee = _amounts(n)
        payment = str(5_067_000_000 + n)
        if _planted(n) != 2:
            money = [_money(cents) for cents in (gross, fee, fee, gross + fee)]
            yield (f"{stamp}:{n}", payment, f"o{n}", "SETTLEMENT", *money, stamp, stamp, n)
        if _planted(n) == 3:
            money = ["7.77", "-0.77", "-0.77", "7.00"]
            yield (f"{stamp}:u{n}", str(9_000_000_000 + n), "", "SETTLEMENT", *money, stamp,
                   stamp, n)  # fmt: skip
        if n % 20 == 5:
            refund = _money(-(gross // 10))
            yield (f"{stamp}:r{n}", payment, f"o{n}", "REFUND", refund, "0.00", "0.00", refund,
                   stamp, stamp, n)  # fmt: skip


def run(scale: Scale) -> BenchResult:
    rows = scale.pick(full=1_000_000, quick=2_000)
    with tempfile.TemporaryDirectory(prefix="bench-money-") as folder:
        store = Path(folder) / "money.db"
        started = time.perf_counter()
        build(store, rows, datetime.now(UTC))
        built = f"built {rows:,} rows + {rows:,} orders in {time.perf_counter() - started:.0f} s"
        built += f" ({store.stat().st_size / 1e6:.0f} MB)"
        # compare() runs one repetition of each contender in turn: service and command alternate.
        contenders = [
            Contender("service", "money service in-process", lambda _: _service(store)),
            Contender("cli", "money --json whole command", lambda _: _cli(store, folder)),
        ]
        title = f"money over {rows:,} report rows and {rows:,} orders"
        comparison = compare(title, "ms", contenders, scale, higher_is_better=False)
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), [built, *_NOTES])


def _service(path: Path) -> Sample:
    store = open_store(str(path))
    started = time.perf_counter()
    report = money_report(store, SystemClock())
    elapsed = time.perf_counter() - started
    store.close()
    details = {"rows": report.rows, "lines": len(report.lines), "found": len(report.discrepancies)}
    return Sample(elapsed * 1000, details)


def _cli(path: Path, folder: str) -> Sample:
    command = [sys.executable, "-m", "mpcheckout", "--db", str(path), "money", "--json"]
    _, seconds, peak_mb = run_measured(command, Path(folder) / "money.json")
    return Sample(seconds * 1000, {"peak_rss_mb": peak_mb})


def _targets(comparison: Comparison) -> list[TargetCheck]:
    service, cli = comparison.get("service"), comparison.get("cli")
    return [
        below(
            f"< {SERVICE_TARGET_MS} ms: money service",
            service.median,
            SERVICE_TARGET_MS,
            f"{service.median:.0f} ms",
        ),
        below(
            f"< {CLI_TARGET_MS} ms: `money --json` whole command",
            cli.median,
            CLI_TARGET_MS,
            f"{cli.median:.0f} ms",
        ),
    ]


_NOTES = ["the store is built once with SQL (not timed); the service's store is opened untimed"]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
