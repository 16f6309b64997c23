"""The whole job through the CLI on PostgreSQL, as a shop that outgrew SQLite runs it: ingest,
process, dead letters replayed, reconcile (overlap-safe), status. Mercado Pago is the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from mpcheckout.store import open_store
from mpcheckout.store.migrate import latest_version
from tests.postgres_support import count
from tests.sandbox_support import SANDBOX_TOKEN

pytestmark = pytest.mark.postgres

REVOKED_TOKEN = "APP_USR-revoked-0000-a1b2"


@pytest.fixture
def shop(sandbox, postgres_url, monkeypatch, cli):
    """The CLI pointed at the sandbox and at a PostgreSQL database given with a password
    (trust authentication ignores it; no output may show it). Returns a sandbox control client."""
    url = postgres_url.replace("://postgres@", "://postgres:pg-s3cret@")
    monkeypatch.setenv("MPCHECKOUT_DATABASE__URL", url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    # The flow spans several CLI runs (seconds on a loaded machine) between receipt and
    # completion: not what the processing-latency check is for.
    monkeypatch.setenv("MPCHECKOUT_HEALTH__MAX_P95_PROCESSING_SECONDS", "3600")
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as control:
        yield control


def paid_notifications(shop, workdir, references: list[str]) -> None:
    for reference in references:
        shop.post("/payments", json={"external_reference": reference, "transaction_amount": 10})
    lines = [record["body"] for record in shop.get("/outbox").json()]
    (workdir / "inbox.jsonl").write_text("\n".join(lines) + "\n{not json\n")
    shop.delete("/outbox")


def test_ingest_process_replay_reconcile_and_status_on_postgresql(
    cli, shop, workdir, postgres_url, monkeypatch
):
    paid_notifications(shop, workdir, ["web-1", "web-2"])
    shop.post("/payments", json={"external_reference": "web-3", "notify": False})

    ingest, summary = cli.json("ingest", "inbox.jsonl")
    assert ingest.exit_code == 65  # the broken line is kept as an invalid dead letter
    assert (summary["queued"], summary["invalid"]) == (2, 1)
    assert cli.json("ingest", "inbox.jsonl")[1]["duplicates"] == 2

    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", REVOKED_TOKEN)
    _, processed = cli.json("process")
    assert processed["dead_lettered"] == 2  # 401: permanent at once
    _, letters = cli.json("dead-letters", "list", "--reason", "permanent")
    assert len(letters["dead_letters"]) == 2

    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    _, replayed = cli.json("dead-letters", "replay", "--all", "--reason", "permanent", "--yes")
    assert [r["result"] for r in replayed["results"]] == ["replayed"] * 2
    _, processed = cli.json("process")
    assert (processed["completed"], processed["payments"]) == (2, {"created": 2})

    reconciled = cli("reconcile", "--quiet")
    assert reconciled.exit_code == 0 and reconciled.stdout == reconciled.stderr == ""
    (run,) = cli.json("reconcile", "history")[1]["runs"]
    assert (run["status"], run["drift_fixed"]) == ("ok", 1)  # web-3 was never notified

    _, orders = cli.json("orders", "list", "--status", "paid")
    assert sorted(order["id"] for order in orders["orders"]) == ["web-1", "web-2", "web-3"]
    _, report = cli.json("status")
    assert report["verdict"] == "green" and report["queue"]["completed_24h"] == 2
    assert cli("status", "--check").exit_code == 0
    assert count(postgres_url, "SELECT count(*) FROM payment_logs") == 3
    assert count(postgres_url, "SELECT count(*) FROM webhook_queue WHERE attempts != 1") == 0


def test_an_overlapping_reconcile_exits_0_and_a_waiting_one_75(cli, shop, postgres_url):
    cli("db", "upgrade")
    other = open_store(postgres_url)  # another machine, mid-run
    assert other.try_lock("reconcile", "other-host:1", datetime.now(UTC), stale_after=7200)
    held = cli("reconcile")
    assert held.exit_code == 0 and "holds the lock" in held.stderr
    assert cli("reconcile", "--wait", "0.2").exit_code == 75
    other.close()  # its session ends, and the lock with it
    assert cli("reconcile", "--quiet").exit_code == 0


def test_db_upgrade_and_info_show_postgresql_without_the_password(cli, shop):
    _, blank = cli.json("db", "info")
    assert blank["schema_version"] == 0  # info never migrates
    upgraded = cli("db", "upgrade")
    latest = latest_version("postgres")
    assert f"from schema version 0 to {latest}" in upgraded.stderr
    assert "pg-s3cret" not in upgraded.stderr
    result, info = cli.json("db", "info")
    assert result.exit_code == 0 and info["backend"] == "postgres"
    assert info["schema_version"] == info["latest_version"] == latest
    assert "pg-s3cret" not in result.stdout and "postgres:…@" in info["location"]
    table = cli("db", "info")
    assert "postgres" in table.stdout and "pg-s3cret" not in table.stdout + table.stderr


def test_an_unreachable_server_is_one_clear_line_and_exit_74(cli, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_DATABASE__URL", "postgresql://app:hunter2@127.0.0.1:9/shop")
    result = cli("events", "list")
    assert result.exit_code == 74
    assert "Cannot open the database postgresql://app:…@127.0.0.1:9/shop" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
