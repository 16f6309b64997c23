"""Migration 0005 (the Orders API) keeps every stored write, on both backends: SQLite rebuilds
mp_actions to let it hold `create_order`, and an open refund keyed before the upgrade is still
found, and resent, after it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from mpcheckout.store import open_store
from mpcheckout.store.migrate import migrations, split_statements

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BEFORE = 3
OPEN_REFUND = (
    "INSERT INTO mp_actions (idempotency_key, kind, payment_id, order_id, requested_amount, "
    "amount, currency, body, status, attempts, created_at, updated_at) VALUES ('key-1', "
    "'refund', '901', 'order-1', '10.00', '10.00', 'ARS', '{\"amount\": 10.0}', 'open', 1, "
    "'2026-11-30T10:00:00.000000Z', '2026-11-30T10:00:00.000000Z')"
)


def statements_before(dialect: str) -> list[str]:
    statements = []
    for migration in migrations(dialect):
        if migration.version <= BEFORE:
            statements += split_statements(migration.sql)
    version = (
        "INSERT INTO meta (key, value, updated_at) VALUES ('schema_version', '3', "
        "'2026-11-30T10:00:00.000000Z')"
    )
    return [*statements, version, OPEN_REFUND]


def upgraded_keeps_open_writes(store) -> None:
    assert store.schema_version() >= 5
    found = store.find_open_action("refund", "901", Decimal("10.00"))
    assert found is not None and found.key == "key-1" and found.body == {"amount": 10.0}
    assert store.get_order("nothing") is None  # the orders table reads with its new columns


def test_sqlite_file_upgrades_and_keeps_open_writes(tmp_path):
    path = tmp_path / "wave2.db"
    with sqlite3.connect(path) as conn:
        for statement in statements_before("sqlite"):
            conn.execute(statement)
    store = open_store(str(path))
    try:
        upgraded_keeps_open_writes(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_schema_upgrades_and_keeps_open_writes(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in statements_before("postgres"):
            conn.execute(statement.replace("'{\"amount\": 10.0}'", "'{\"amount\": 10.0}'::jsonb"))
    store = open_store(postgres_url)
    try:
        upgraded_keeps_open_writes(store)
    finally:
        store.close()
