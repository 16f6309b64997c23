"""Migration 0003 (the money ledger) keeps every wave-1 row, on both backends: each applied
payment state stays applied, and a new money state of the same payment is logged after it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from mpcheckout.models import Payment
from mpcheckout.store import open_store
from mpcheckout.store.migrate import migrations, split_statements
from tests.store.helpers import RULES

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WAVE_ONE = 2
LOG = (
    "INSERT INTO payment_logs (payment_id, status, status_detail, external_reference, amount, "
    "currency, date_last_updated, source, raw, recorded_at) VALUES "
    "('901', 'approved', 'accredited', 'order-1', '100.50', 'ARS', "
    "'2026-11-30T10:00:00.000000Z', 'webhook', '{\"id\": 901}', '2026-11-30T10:00:01.000000Z')"
)
ORDER = (
    "INSERT INTO orders (id, status, amount, currency, payment_id, payment_status, "
    "payment_updated_at, created_at, updated_at, source) VALUES ('order-1', 'paid', '100.50', "
    "'ARS', '901', 'approved', '2026-11-30T10:00:00.000000Z', '2026-11-29T10:00:00.000000Z', "
    "'2026-11-30T10:00:01.000000Z', 'local')"
)


def wave_one_statements(dialect: str) -> list[str]:
    statements = []
    for migration in migrations(dialect):
        if migration.version <= WAVE_ONE:
            statements += split_statements(migration.sql)
    version = (
        "INSERT INTO meta (key, value, updated_at) VALUES ('schema_version', '2', "
        "'2026-11-30T10:00:00.000000Z')"
    )
    return [*statements, version, ORDER, LOG]


def refunded_in_part(updated: datetime) -> Payment:
    return Payment(
        id="901",
        status="approved",
        status_detail="partially_refunded",
        external_reference="order-1",
        amount=Decimal("100.50"),
        currency="ARS",
        date_last_updated=updated,
        date_approved=NOW,
        raw={"id": 901},
        refunded_amount=Decimal("10"),
    )


def upgraded_keeps_wave_one(store) -> None:
    assert store.schema_version() >= 3
    (log,) = store.payment_logs_for_order("order-1")
    assert (log.id, log.status, log.amount) == (1, "approved", Decimal("100.50"))
    counts = store.apply_payments([refunded_in_part(NOW)], RULES, "webhook", NOW)
    assert counts.by_outcome == {"applied": 1}
    assert store.get_order("order-1").status == "partially_refunded"
    assert len(store.payment_logs_for_order("order-1")) == 2


def test_sqlite_wave_one_file_upgrades_and_keeps_every_row(tmp_path):
    path = tmp_path / "wave1.db"
    with sqlite3.connect(path) as conn:
        for statement in wave_one_statements("sqlite"):
            conn.execute(statement)
    store = open_store(str(path))
    try:
        upgraded_keeps_wave_one(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_wave_one_schema_upgrades_and_keeps_every_row(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in wave_one_statements("postgres"):
            conn.execute(statement.replace("'{\"id\": 901}'", "'{\"id\": 901}'::jsonb"))
    store = open_store(postgres_url)
    try:
        upgraded_keeps_wave_one(store)
    finally:
        store.close()
