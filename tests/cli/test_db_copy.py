"""`mpcheckout db copy --to URL`: a shop's SQLite store into PostgreSQL and back, every row and
value intact, row counts verified; a non-empty target is refused unless --force."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest

from mpcheckout.errors import EXIT_USAGE
from mpcheckout.models import InvalidInput, ReconcileRun
from mpcheckout.store import open_store
from mpcheckout.store.base import TABLES, EventOutcome
from tests.store.helpers import RULES, ipn, order, payment, webhook

pytestmark = pytest.mark.postgres

JSON_COLUMNS = {"headers", "attempt_log", "raw", "details"}


def populate(path: str, clock) -> None:
    """A store that has lived a little: every table holds rows, every kind of value."""
    store = open_store(path)
    store.create_order(order("order-1", clock.now(), amount="100.50"))
    store.create_order(order("order-2", clock.now(), amount="0.10"))
    store.enqueue_many(
        [webhook(n, str(900 + n)) for n in range(6)] + [ipn("77")], "http", clock.now()
    )
    claimed = store.claim_due_events("w1", 6, 60, clock.now())
    paid = payment("900", "approved", clock.now())
    outcomes = [EventOutcome(claimed[0].id, "completed", payments=(paid,))]
    outcomes += [EventOutcome(e.id, "completed") for e in claimed[1:3]]
    outcomes.append(EventOutcome(claimed[3].id, "retry", error="503", next_attempt_at=clock.now()))
    outcomes.append(EventOutcome(claimed[4].id, "dead", error="400", dead_reason="permanent"))
    store.commit_outcomes("w1", outcomes, RULES, clock.now())
    store.record_invalid_many([InvalidInput("{broken \x00 json", "malformed JSON")], clock.now())
    store.archive_completed(clock.now() + timedelta(seconds=1), 2, clock.now())
    store.record_reconcile_run(
        ReconcileRun(None, clock.now(), clock.now(), "ok", swept=1, details={"window": ["a", "b"]})
    )
    store.hit_rate_limit("ip:1", 5, 900, clock.now())
    store.count_rejection("bad_signature", clock.now())
    store.set_alert_state("dead_letters", clock.now(), '{"condition": "dead_letters"}', clock.now())
    store.set_meta("reconcile:checkpoint", "2026-01-15T11:00:00.000000Z", clock.now())
    store.try_lock("reconcile", "crashed-host:1", clock.now(), stale_after=3600)
    store.close()


def snapshot(url: str) -> dict[str, list[dict]]:
    """Every row of every table in the neutral form, JSON parsed (its spacing may differ)."""
    store = open_store(url)
    try:
        return {
            table: [_comparable(row) for batch in store.export_rows(table, 100) for row in batch]
            for table in TABLES
        }
    finally:
        store.close()


def _comparable(row: dict) -> dict:
    return {k: json.loads(v) if k in JSON_COLUMNS and v else v for k, v in row.items()}


def without_runtime_meta(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    meta = [row for row in tables["meta"] if not row["key"].startswith("lock:")]
    return {
        **tables,
        "meta": [
            {**row, "updated_at": None} if row["key"] == "schema_version" else row for row in meta
        ],
    }


def test_sqlite_to_postgresql_and_back_keeps_every_row(cli, workdir, postgres_url, clock):
    populate(str(workdir / "shop.db"), clock)
    result, copied = cli.json(
        "--db", "shop.db", "db", "copy", "--to", postgres_url, "--batch-size", "2"
    )
    assert result.exit_code == 0, result.stderr
    counts = {table["table"]: table for table in copied["tables"]}
    assert counts["webhook_queue"]["copied"] == counts["webhook_queue"]["target_rows"] == 5
    assert counts["webhook_archive"]["copied"] == 2 and counts["payment_logs"]["copied"] == 1
    assert counts["meta"]["skipped"] == 2  # the target's own schema version; a run lock
    assert all(t["source_rows"] == t["copied"] + t["skipped"] for t in copied["tables"])

    result, back = cli.json("--db", postgres_url, "db", "copy", "--to", "back.db")
    assert result.exit_code == 0, result.stderr
    assert back["rows_copied"] == copied["rows_copied"]
    original, returned = snapshot(str(workdir / "shop.db")), snapshot(str(workdir / "back.db"))
    # PostgreSQL text cannot hold NUL: it is kept spelt `\x00`, as ingest spells raw bytes.
    for letter in original["webhook_dead_letter"]:
        letter["payload"] = letter["payload"].replace("\x00", "\\x00")
    assert without_runtime_meta(returned) == without_runtime_meta(original)
    on_postgres = without_runtime_meta(snapshot(postgres_url))
    assert on_postgres["orders"] == original["orders"]  # money and times exactly as they were
    assert on_postgres["webhook_dead_letter"][-1]["payload"] == "{broken \\x00 json"


def test_new_rows_in_postgresql_never_reuse_a_copied_id(cli, workdir, postgres_url, clock):
    populate(str(workdir / "shop.db"), clock)
    cli("--db", "shop.db", "db", "copy", "--to", postgres_url)
    store = open_store(postgres_url)
    store.enqueue_many([webhook(99)], "http", clock.now())
    store.record_invalid_many([InvalidInput("another", "not json")], clock.now())
    archived = max(
        row["id"] for batch in store.export_rows("webhook_archive", 100) for row in batch
    )
    newest = max(row["id"] for batch in store.export_rows("webhook_queue", 100) for row in batch)
    store.close()
    assert newest > archived  # archived events keep queue ids: the queue's sequence passed them


def test_a_target_with_rows_is_refused_unless_forced(cli, workdir, postgres_url, clock):
    populate(str(workdir / "shop.db"), clock)
    assert cli("--db", "shop.db", "db", "copy", "--to", postgres_url).exit_code == 0
    refused = cli("--db", "shop.db", "db", "copy", "--to", postgres_url)
    assert refused.exit_code == EXIT_USAGE
    assert "already holds rows: orders (2)" in refused.stderr and "--force" in refused.stderr
    with psycopg.connect(postgres_url) as conn:  # an interrupted copy: some rows missing
        conn.execute(
            "DELETE FROM webhook_queue WHERE id IN "
            "(SELECT id FROM webhook_queue ORDER BY id DESC LIMIT 2)"
        )
    result, resumed = cli.json("--db", "shop.db", "db", "copy", "--to", postgres_url, "--force")
    assert result.exit_code == 0, result.stderr
    queue = next(t for t in resumed["tables"] if t["table"] == "webhook_queue")
    assert (queue["copied"], queue["target_rows"]) == (
        queue["source_rows"] - 3,
        queue["source_rows"],
    )
    assert resumed["rows_copied"] == queue["copied"]


def test_the_table_and_the_summary(cli, workdir, postgres_url, clock):
    populate(str(workdir / "shop.db"), clock)
    result = cli("--db", "shop.db", "db", "copy", "--to", postgres_url)
    assert "webhook_dead_letter" in result.stdout and "Target rows" in result.stdout
    assert "every table's row count checks out" in result.stderr
