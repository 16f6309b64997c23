"""Migration 0007 on SQLite sums what was stored before it: report rows, orders, payment logs,
refunds and chargebacks already in a version-6 file land in the summaries exactly as if they
had been written after it (PostgreSQL's summaries are views: nothing to fill)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from mpcheckout.store import open_store
from mpcheckout.store.migrate import migrations, split_statements

BEFORE = 6
ROW = (
    "INSERT INTO report_rows (row_key, kind, source_id, external_reference, entry_type, gross, "
    "fee_total, mp_fee, financing_fee, shipping_fee, taxes, coupon, net, currency, row_date, "
    "summary, file_sha256, line) VALUES ('{key}', 'settlement', '{pid}', '{ref}', '{kind}', "
    "'{gross}', '{fee}', '{fee}', '0.00', '0.00', '0.00', '0.00', '{net}', 'ARS', "
    "'2026-11-20T10:00:00.000000Z', 0, 'f', {n})"
)
STORED = [
    "INSERT INTO orders (id, status, amount, currency, payment_id, payment_status, created_at, "
    "updated_at, paid_at) VALUES ('o1', 'paid', '100.5', 'ARS', '901', 'approved', "
    "'2026-11-19T10:00:00.000000Z', '2026-11-19T10:00:00.000000Z', '2026-11-19T10:00:00.000000Z')",
    "INSERT INTO payment_logs (payment_id, status, external_reference, source, recorded_at, "
    "state_key) VALUES ('905', 'approved', 'o5', 'webhook', '2026-11-19T10:00:00.000000Z', 'x')",
    "INSERT INTO refunds (id, payment_id, amount, status, first_seen_at, updated_at, "
    "date_created) VALUES ('r1', '901', '10', 'approved', '2026-11-21T10:00:00.000000Z', "
    "'2026-11-21T10:00:00.000000Z', '2026-11-21T10:00:00.000000Z')",
    ROW.format(key="a", pid="901", ref="o1", kind="SETTLEMENT", gross="100.50", fee="-5.00",
               net="95.50", n=1),
    ROW.format(key="b", pid="905", ref="o5", kind="SETTLEMENT", gross="7.00", fee="-0.70",
               net="6.30", n=2),
    ROW.format(key="c", pid="906", ref="", kind="SETTLEMENT", gross="3.00", fee="-0.30",
               net="2.70", n=3),
]  # fmt: skip


def test_a_version_six_file_is_summed_on_upgrade(tmp_path):
    path = tmp_path / "v6.db"
    with sqlite3.connect(path) as conn:
        for migration in migrations("sqlite"):
            if migration.version <= BEFORE:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO meta (key, value, updated_at) VALUES ('schema_version', '6', "
            "'2026-11-30T10:00:00.000000Z')"
        )
        for statement in STORED:
            conn.execute(statement)
    store = open_store(str(path))
    assert store.schema_version() >= 7
    (day,) = store.money_days("2026-11-20", "2026-11-20")
    assert (day.rows, day.payments, day.gross, day.fees) == (
        3, 3, Decimal("110.50"), Decimal("-6.00"),
    )  # fmt: skip
    found = {p.payment_id: p for p in store.money_mismatches()}
    assert set(found) == {"901", "906"}  # 905 was seen; 906 never was
    assert (found["901"].ledger_refunded, found["901"].refunded) == (Decimal("10.00"), 0)
    assert found["901"].order_amount == found["901"].gross == Decimal("100.50")
    store.close()


RELEASE = (
    "INSERT INTO report_rows (row_key, kind, source_id, entry_type, description, gross, "
    "fee_total, mp_fee, financing_fee, shipping_fee, taxes, coupon, net, currency, row_date, "
    "summary, file_sha256, line) VALUES ('{key}', 'release', '{pid}', 'payment', {description}, "
    "'{net}', '0.00', '0.00', '0.00', '0.00', '0.00', '0.00', '{net}', 'ARS', "
    "'2026-11-22T10:00:00.000000Z', 0, 'f', {n})"
)


def test_version_eight_counts_a_release_row_without_a_description(tmp_path):
    """0007 summed a release row whose DESCRIPTION is empty as neither released nor paid out;
    0008 sums the days again, and new imports count it as released (as PostgreSQL does)."""
    path = tmp_path / "v7.db"
    with sqlite3.connect(path) as conn:
        for migration in migrations("sqlite"):
            if migration.version == 7:
                conn.execute(
                    RELEASE.format(key="r1", pid="901", description="'payment'", net="40.00", n=1)
                )
                conn.execute(
                    RELEASE.format(key="r2", pid="902", description="NULL", net="2.50", n=2)
                )
            if migration.version <= 7:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO meta (key, value, updated_at) VALUES ('schema_version', '7', "
            "'2026-11-30T10:00:00.000000Z')"
        )
        (released,) = conn.execute("SELECT released FROM money_days").fetchone()
    assert released == 4000  # what 0007 left: the row without a description is missing
    store = open_store(str(path))
    assert store.schema_version() >= 8
    (day,) = store.money_days("2026-11-22", "2026-11-22")
    assert (day.rows, day.released, day.paid_out) == (2, Decimal("42.50"), 0)
    store.close()
