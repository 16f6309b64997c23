"""A big report is parsed in a helper process (mpcheckout/report_helper.py) while this process
writes it: the store must end up exactly as when the file is parsed in-process, an unreadable
row must fail the same way, and a helper that stops half-way must leave nothing imported."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from mpcheckout.clock import ManualClock
from mpcheckout.report_helper import HelperBatches, ReportReaderError, helper_command
from mpcheckout.report_imports import import_report_file
from mpcheckout.reports.errors import ReportFormatError
from mpcheckout.reports.parse import file_sha256
from mpcheckout.reports.records import ReportFileRecord
from mpcheckout.store import open_store
from mpcheckout.store.rows import REPORT_BATCH_ROWS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mercadopago" / "reports"
HEADER = (
    "EXTERNAL_REFERENCE;SOURCE_ID;TRANSACTION_TYPE;TRANSACTION_AMOUNT;TRANSACTION_CURRENCY;"
    "TRANSACTION_DATE;FEE_AMOUNT;SETTLEMENT_NET_AMOUNT;SETTLEMENT_CURRENCY;MKP_FEE_AMOUNT;"
    "COUPON_AMOUNT\n"
)
TABLES = ("report_rows", "money_days", "money_payments")


def settlement(path: Path, rows: int, bad_at: int | None = None) -> Path:
    """Several batches of rows: refunds, a chargeback, amounts with a decimal comma, one finer
    than a cent, dates in two offsets, twins (two equal refunds in the same second)."""
    lines = [HEADER]
    for n in range(rows):
        gross = Decimal(1_000 + n * 37 % 90_000).scaleb(-2)
        fee = -(gross * Decimal("0.0499")).quantize(Decimal("0.01"))
        kind = ("SETTLEMENT", "SETTLEMENT", "REFUND", "CHARGEBACK")[n % 4 if n % 50 == 3 else 0]
        offset = "-03:00" if n % 2 else "Z"
        when = f"2026-02-{1 + n // 2_000 % 28:02d}T{n // 60 % 24:02d}:{n % 60:02d}:07.250{offset}"
        amount = str(gross).replace(".", ",") if n % 7 == 0 else str(gross)
        coupon = "0.005" if n == 11 else "0.00"
        if bad_at == n:
            amount = "twelve"
        lines.append(
            f"R{n};{900_000 + n // 2};{kind};{amount};ARS;{when};{fee};{gross + fee};ARS;{fee};"
            f"{coupon}\n"
        )
    lines.append(lines[-1])  # a twin: the same refund twice in one second is two movements
    path.write_text("".join(lines), encoding="utf-8")
    return path


def dump(database: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(database)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}
    finally:
        conn.close()


def imported(tmp_path: Path, name: str, report: Path, helper: bool, **kwargs):
    database = tmp_path / f"{name}.db"
    store = open_store(str(database))
    try:
        result = import_report_file(store, ManualClock(), report, helper=helper, **kwargs)
    finally:
        store.close()
    return result, dump(database)


@pytest.mark.parametrize(
    "report",
    ["big", "settlement-report-doc-sample.csv", "release-report-doc-sample.csv"],
)
def test_the_helper_stores_exactly_what_parsing_in_process_stores(tmp_path, report):
    path = (
        settlement(tmp_path / "big.csv", 3 * REPORT_BATCH_ROWS + 17)
        if report == "big"
        else FIXTURES / report
    )
    by_helper, helper_tables = imported(tmp_path, "helper", path, helper=True)
    in_process, in_process_tables = imported(tmp_path, "in-process", path, helper=False)
    assert by_helper == in_process
    assert helper_tables == in_process_tables
    assert len(helper_tables["report_rows"]) == by_helper.rows_added > 0


def test_the_big_file_sums_to_the_cent_with_its_sub_cent_day_unknown(tmp_path):
    path = settlement(tmp_path / "big.csv", 3 * REPORT_BATCH_ROWS + 17)
    result, tables = imported(tmp_path, "helper", path, helper=True)
    assert (result.rows_read, result.rows_added) == (3 * REPORT_BATCH_ROWS + 18,) * 2
    conn = sqlite3.connect(tmp_path / "helper.db")
    by_day = dict(
        conn.execute("SELECT substr(row_date, 1, 10), count(*) FROM report_rows GROUP BY 1")
    )
    days = {row[0]: row for row in tables["money_days"]}
    assert {day: row[2] for day, row in days.items()} == by_day
    exact = [d for d in days if days[d][10] is not None]  # coupon: one row has 0.005
    for day in exact:
        (gross,) = conn.execute(
            "SELECT sum(CAST(replace(replace(gross, ',', ''), '.', '') AS INTEGER)) "
            "FROM report_rows WHERE substr(row_date, 1, 10) = ? AND entry_type = 'SETTLEMENT'",
            (day,),
        ).fetchone()
        assert days[day][4] == gross
    assert len(exact) == len(days) - 1


def test_a_file_imported_again_through_the_helper_adds_nothing(tmp_path):
    path = settlement(tmp_path / "big.csv", REPORT_BATCH_ROWS + 5)
    database = tmp_path / "again.db"
    store = open_store(str(database))
    try:
        first = import_report_file(store, ManualClock(), path, helper=True)
        before = dump(database)
        again = import_report_file(store, ManualClock(), path, helper=True)
    finally:
        store.close()
    assert (first.rows_added, again.rows_added, again.already_imported) == (
        REPORT_BATCH_ROWS + 6,
        0,
        True,
    )
    assert dump(database) == before


def test_a_bad_amount_fails_as_in_process_and_leaves_nothing(tmp_path):
    path = settlement(
        tmp_path / "bad.csv", 2 * REPORT_BATCH_ROWS + 40, bad_at=REPORT_BATCH_ROWS + 9
    )
    errors = []
    for helper in (True, False):
        with pytest.raises(ReportFormatError) as caught:
            imported(tmp_path, f"bad-{helper}", path, helper=helper)
        errors.append((caught.value.reason, caught.value.message_key, caught.value.details))
        assert dump(tmp_path / f"bad-{helper}.db") == {table: [] for table in TABLES}
    assert errors[0] == errors[1]
    assert errors[0][2]["line"] == REPORT_BATCH_ROWS + 11 and errors[0][2]["value"] == "twelve"


def test_a_helper_that_stops_half_way_fails_the_import_and_leaves_nothing(tmp_path):
    path = settlement(tmp_path / "big.csv", 3 * REPORT_BATCH_ROWS)
    # The real helper, its output cut after its first ~1.5 batches.
    cut = [
        "sh",
        "-c",
        f'"{sys.executable}" -m mpcheckout.report_helper "$@" | head -c 700000',
        "helper",
    ]
    store = open_store(str(tmp_path / "cut.db"))
    digest = file_sha256(path)
    record = ReportFileRecord(digest, "settlement", path.name, "file", ManualClock().now())
    try:
        with (
            pytest.raises(ReportReaderError) as caught,
            HelperBatches(
                path, name=path.name, separator=";", file_sha256=digest, command=cut
            ) as batches,
        ):
            store.import_report(record, batches, ManualClock().now())
    finally:
        store.close()
    assert caught.value.params["file"] == "big.csv"
    assert dump(tmp_path / "cut.db") == {table: [] for table in TABLES}


def test_a_helper_that_cannot_start_its_module_fails_with_its_exit_status(tmp_path):
    path = settlement(tmp_path / "small.csv", 10)
    command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with (
        pytest.raises(ReportReaderError) as caught,
        HelperBatches(
            path, name=path.name, separator=";", file_sha256="x", command=command
        ) as batches,
    ):
        list(batches)
    assert caught.value.params == {"file": "small.csv", "status": 3}


def test_progress_through_the_helper_counts_every_byte_once(tmp_path):
    path = settlement(tmp_path / "big.csv", 3 * REPORT_BATCH_ROWS)
    told: list[int] = []
    imported(tmp_path, "progress", path, helper=True, progress=told.append)
    assert sum(told) == path.stat().st_size
    assert len(told) >= 4 and all(step >= 0 for step in told)


def test_a_helper_whose_reader_goes_away_ends_quietly(tmp_path):
    """The importing process failed or was stopped: the helper ends (status 1) without a
    traceback on the terminal."""
    path = settlement(tmp_path / "big.csv", 3 * REPORT_BATCH_ROWS)
    argv = [*helper_command(), str(path), path.name, ";", "x"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(1000)
    process.stdout.close()
    assert process.wait(timeout=60) == 1
    assert process.stderr.read() == b""
