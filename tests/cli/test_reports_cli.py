"""`reports import` and `money` as a user types them, on a real SQLite file: Mercado Pago's own
samples land with their amounts, a second import adds nothing, a file that is not a report
exits 65 with nothing imported, and `money --json` keeps its keys."""

from __future__ import annotations

import shutil
import sqlite3

from tests.store.test_reports_contract import FIXTURES


def copy_samples(workdir):
    for name in ("settlement-report-doc-sample.csv", "release-report-doc-sample.csv"):
        shutil.copy(FIXTURES / name, workdir / name)
    return ["settlement-report-doc-sample.csv", "release-report-doc-sample.csv"]


def rows_in(workdir) -> int:
    with sqlite3.connect(workdir / "mpcheckout.db") as conn:
        return conn.execute("SELECT count(*) FROM report_rows").fetchone()[0]


def test_both_samples_import_once(cli, workdir):
    files = copy_samples(workdir)
    result, document = cli.json("reports", "import", *files)
    assert result.exit_code == 0
    assert [(f["kind"], f["rows_read"], f["rows_added"], f["rows_flagged"]) for f in
            document["files"]] == [("settlement", 3, 3, 0), ("release", 4, 4, 0)]  # fmt: skip
    again, document = cli.json("reports", "import", *files)
    assert again.exit_code == 0 and document["rows_added"] == 0
    assert all(f["already_imported"] for f in document["files"])
    assert rows_in(workdir) == 7
    table = cli("reports", "import", files[0])
    assert "settlement-report-doc-sample.csv (imported before)" in table.stdout


def test_a_file_that_is_not_a_report_exits_65_and_imports_nothing(cli, workdir):
    files = copy_samples(workdir)
    (workdir / "orders.csv").write_text("id,amount\n1,10.00\n")
    result = cli("reports", "import", files[0], "orders.csv")
    assert result.exit_code == 65
    assert "not a Mercado Pago settlement or release report" in result.stderr
    assert rows_in(workdir) == 0


def test_money_json_shows_the_settled_days(cli, workdir):
    files = copy_samples(workdir)
    cli("reports", "import", *files)
    result, document = cli.json("money", "--since", "2019-08-01T00:00:00Z")
    assert result.exit_code == 0
    assert set(document) == {
        "since", "until", "by", "rows", "totals", "lines", "discrepancies", "discrepancy_counts",
    }  # fmt: skip
    (total,) = document["totals"]
    assert (total["currency"], total["gross"], total["fees"], total["net"]) == (
        "BRL",
        "3387.00",
        "-379.35",
        "3007.65",
    )
    kinds = {d["kind"] for d in document["discrepancies"]}
    assert kinds == {"unknown_payment"}  # the sample's payments were never seen here
    _only, short = cli.json("money", "--since", "2019-08-01T00:00:00Z", "--discrepancies")
    assert "lines" not in short and len(short["discrepancies"]) == 3


def test_orders_show_lists_the_orders_report_rows(cli, workdir):
    from datetime import UTC, datetime

    from mpcheckout.store import open_store
    from tests.store.helpers import RULES, payment

    store = open_store(str(workdir / "mpcheckout.db"))
    paid = payment("5067634447", "approved", datetime(2019, 8, 12, 2, 20, tzinfo=UTC),
                   reference="2112818453", amount="79.00", currency="BRL")  # fmt: skip
    store.apply_payments([paid], RULES, "webhook", datetime(2019, 8, 12, 3, 0, tzinfo=UTC))
    store.close()
    cli("reports", "import", *copy_samples(workdir))
    _result, document = cli.json("orders", "show", "2112818453")
    assert [(r["entry_type"], r["net"]) for r in document["report_rows"]] == [
        ("SETTLEMENT", "70.15")
    ]
    shown = cli("orders", "show", "2112818453")
    assert "Money in Mercado Pago's reports" in shown.stdout and "70.15 BRL" in shown.stdout


def test_a_report_saved_as_json_views_imports_and_other_json_exits_65(cli, workdir):
    from tests.unit.test_report_json_views import DOCUMENT

    (workdir / "report.json").write_bytes(DOCUMENT)
    (workdir / "other.json").write_text('{"results": []}')
    refused = cli("reports", "import", "report.json", "other.json")
    assert refused.exit_code == 65 and rows_in(workdir) == 0
    result, document = cli.json("reports", "import", "report.json")
    assert result.exit_code == 0 and document["rows_added"] == 2


def test_a_big_file_imports_through_the_helper_process_and_a_bad_row_in_it_exits_65(cli, workdir):
    """Past HELPER_MIN_BYTES the file is parsed in `python -m mpcheckout.report_helper`: the
    command is the same, its counts are the file's, and a bad row far into it stops the whole
    file (exit 65) with nothing of it kept."""
    from mpcheckout.report_imports import HELPER_MIN_BYTES
    from tests.store.test_report_helper import settlement

    big = settlement(workdir / "big.csv", 100_000)
    assert big.stat().st_size >= HELPER_MIN_BYTES
    result, document = cli.json("reports", "import", "big.csv")
    assert result.exit_code == 0, result.stderr
    assert document["files"][0]["rows_added"] == 100_001 == rows_in(workdir)
    bad = settlement(workdir / "bad.csv", 100_000, bad_at=95_000)
    assert bad.stat().st_size >= HELPER_MIN_BYTES
    refused = cli("reports", "import", "bad.csv")
    assert refused.exit_code == 65
    assert "95002" in refused.stderr and "twelve" in refused.stderr
    assert rows_in(workdir) == 100_001
