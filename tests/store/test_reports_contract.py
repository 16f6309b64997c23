"""Report files and rows on every backend: a file imported twice, or an overlapping one, adds
nothing; a file that fails half-way leaves nothing; money comes back as the exact Decimal."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mpcheckout.models import Order
from mpcheckout.reports.errors import ReportFormatError
from mpcheckout.reports.parse import open_report
from mpcheckout.reports.records import ReportFileRecord, ReportNotificationRecord
from mpcheckout.store.rows import report_batches
from tests.store.helpers import RULES, order, payment

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mercadopago" / "reports"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEADER = (
    "EXTERNAL_REFERENCE;SOURCE_ID;TRANSACTION_TYPE;TRANSACTION_AMOUNT;TRANSACTION_CURRENCY;"
    "TRANSACTION_DATE;FEE_AMOUNT;SETTLEMENT_NET_AMOUNT;SETTLEMENT_CURRENCY;MKP_FEE_AMOUNT\n"
)


def line(reference: str, source: str, gross: str, fee: str, when: str, kind="SETTLEMENT") -> str:
    net = Decimal(gross) + Decimal(fee)
    return f"{reference};{source};{kind};{gross};ARS;{when};{fee};{net};ARS;{fee}\n"


def record(data: bytes, name: str = "report.csv") -> ReportFileRecord:
    import hashlib

    kind = open_report(io.BytesIO(data), name=name).kind
    return ReportFileRecord(hashlib.sha256(data).hexdigest(), kind, name, "file", NOW)


def import_bytes(store, data: bytes, name: str = "report.csv"):
    file = record(data, name)
    rows = open_report(io.BytesIO(data), name=name)
    batches = report_batches(rows, file.sha256, store.report_encoding, lambda: 0)
    return store.import_report(file, batches, NOW)


def test_the_documented_sample_lands_with_its_amounts_and_twice_adds_nothing(store):
    data = (FIXTURES / "settlement-report-doc-sample.csv").read_bytes()
    first = import_bytes(store, data)
    assert (first.rows_read, first.rows_added, first.rows_flagged) == (3, 3, 0)
    assert not first.file_known
    again = import_bytes(store, data)
    assert (again.rows_read, again.rows_added, again.file_known) == (3, 0, True)
    rows = store.report_rows_for_payments(["5067634447", "5067781790", "5067323570"])
    assert sorted((r.source_id, r.gross, r.fee_total, r.net) for r in rows) == [
        ("5067323570", Decimal("3109.00"), Decimal("-348.21"), Decimal("2760.79")),
        ("5067634447", Decimal("79.00"), Decimal("-8.85"), Decimal("70.15")),
        ("5067781790", Decimal("199.00"), Decimal("-22.29"), Decimal("176.71")),
    ]
    first_row = next(r for r in rows if r.source_id == "5067634447")
    assert first_row.row_date == datetime(2019, 8, 12, 2, 20, 19, tzinfo=UTC)
    assert first_row.currency == "BRL" and first_row.external_reference == "2112818453"
    (stored,) = store.list_report_files(10)
    assert (stored.kind, stored.rows_read, stored.rows_added) == ("settlement", 3, 3)


def test_the_release_sample_keeps_its_balance_lines_apart(store):
    data = (FIXTURES / "release-report-doc-sample.csv").read_bytes()
    counts = import_bytes(store, data)
    assert (counts.rows_read, counts.rows_added, counts.rows_flagged) == (4, 4, 0)
    rows = store.report_rows_between(datetime(2018, 1, 1, tzinfo=UTC), NOW)
    assert [r.summary for r in rows] == [True, False, False, False]
    assert rows[2].net == Decimal("225.96") and rows[2].mp_fee == Decimal("-43.04")


def test_an_overlapping_file_adds_only_its_new_rows(store):
    a = line("o1", "1", "100.00", "-5.00", "2026-11-01T10:00:00.000-04:00")
    b = line("o2", "2", "50.50", "-2.53", "2026-11-02T10:00:00.000-04:00")
    c = line("o3", "3", "10.00", "-0.50", "2026-11-03T10:00:00.000-04:00")
    assert import_bytes(store, (HEADER + a + b).encode()).rows_added == 2
    # The same rows exported with a decimal comma and another offset are the same rows.
    b_again = b.replace("50.50", "50,50").replace("-04:00", "-03:00").replace("T10", "T11")
    second = import_bytes(store, (HEADER + b_again + c).encode(), "other.csv")
    assert (second.rows_read, second.rows_added, second.file_known) == (2, 1, False)
    assert len(store.report_rows_between(NOW - timedelta(days=365), NOW)) == 3


def test_a_file_that_breaks_half_way_leaves_nothing(store):
    good = line("o1", "1", "100.00", "-5.00", "2026-11-01T10:00:00.000-04:00")
    bad = good.replace("100.00", "cien").replace(";1;", ";2;")
    data = (HEADER + good + bad).encode()
    with pytest.raises(ReportFormatError):
        import_bytes(store, data)
    assert store.report_rows_for_payments(["1"]) == []
    assert store.list_report_files(10) == []


def test_a_row_that_breaks_the_arithmetic_is_kept_and_flagged(store):
    broken = "o1;1;SETTLEMENT;100.00;ARS;2026-11-01T10:00:00Z;-5.00;96.00;ARS;-5.00\n"
    counts = import_bytes(store, (HEADER + broken).encode())
    assert (counts.rows_added, counts.rows_flagged) == (1, 1)
    (row,) = store.report_rows_for_payments(["1"])
    assert row.flags == "arithmetic" and row.net == Decimal("96.00")


def test_paid_orders_and_the_payments_mpcheckout_saw(store):
    store.create_order(order("order-1", NOW))
    store.apply_payments([payment("901", "approved", NOW)], RULES, "webhook", NOW)
    store.apply_payments(
        [payment("902", "approved", NOW, reference="order-2", amount="5")], RULES, "webhook", NOW
    )
    paid = store.paid_orders(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert {(p.order_id, p.payment_id, p.amount) for p in paid} == {
        ("order-1", "901", Decimal("100.50")),
        ("order-2", "902", Decimal("5")),
    }
    assert store.paid_orders(NOW + timedelta(days=1), NOW + timedelta(days=2)) == []
    assert store.seen_payments(["901", "902", "999"]) == {"901": "order-1", "902": "order-2"}


def test_a_pending_order_is_not_paid(store):
    store.create_order(Order("order-9", "pending", Decimal(1), "ARS", NOW, NOW))
    assert store.paid_orders(NOW - timedelta(days=1), NOW + timedelta(days=1)) == []


def test_a_report_notification_is_recorded_once(store):
    note = ReportNotificationRecord("tx-1", "settlement", "imported", 1, 3, NOW)
    assert store.record_report_notification(note)
    assert not store.record_report_notification(note)
    assert store.report_notification("tx-1") == note
    assert store.report_notification("tx-2") is None
